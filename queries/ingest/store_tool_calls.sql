-- Store tool calls
-- The tool calls ingest/derive_tool_calls derived for the affected traces (its temp table, in
-- tool_calls' column order), once derive_runs has read them.
insert into tool_calls
select * from derived_tool_calls
