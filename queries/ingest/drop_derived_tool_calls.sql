-- Drop derived tool calls
-- The derivation's working table (ingest/derive_tool_calls), once store_tool_calls has stored its
-- rows.
drop table if exists temp.derived_tool_calls
