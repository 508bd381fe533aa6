-- Rows ClickHouse derived: store tool calls
-- A stream of derive_tool_calls.sql's rows (ch_tool_calls): the arguments are hashed
-- here (args_fingerprint, agentprof's canonical sorted-key JSON hash) and not kept.
insert into clickhouse_tool_calls by name
select * exclude (args), ns_to_ts(start_ns) as started_at, args_fingerprint(args) as args_fingerprint
from ch_tool_calls
