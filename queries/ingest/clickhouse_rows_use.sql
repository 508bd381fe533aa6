-- Rows ClickHouse derived: use them
-- Run by the derivation (ingest._derive) after derive_ticks and derive_tool_calls:
-- for the affected traces ClickHouse derived, its rows replace what DuckDB derived from their
-- stored spans (which carry only the keys the later stages read). Pricing, runs and the stored
-- tables then read derived_ticks and derived_tool_calls as for any trace.
delete from derived_ticks where run_id in (
    select trace_id from clickhouse_traces where trace_id in (select trace_id from affected_traces));
insert into derived_ticks by name
select *, ns_to_ts(start_ns) as started_at, ns_to_ts(end_ns) as ended_at
from clickhouse_ticks where run_id in (select trace_id from affected_traces);
delete from derived_tool_calls where run_id in (
    select trace_id from clickhouse_traces where trace_id in (select trace_id from affected_traces));
insert into derived_tool_calls by name
select * from clickhouse_tool_calls where run_id in (select trace_id from affected_traces);
