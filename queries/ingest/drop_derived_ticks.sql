-- Drop derived ticks
-- The derivation's working table (ingest/derive_ticks), once price_ticks has stored its rows.
drop table if exists temp.derived_ticks
