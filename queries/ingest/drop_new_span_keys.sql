-- Drop new span keys
-- The working table of ingest/new_span_keys, once the drop statements have read it: a later
-- statement can never read a stale one.
drop table if exists temp.new_span_keys
