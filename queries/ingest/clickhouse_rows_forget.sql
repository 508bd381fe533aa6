-- Rows ClickHouse derived: forget the pulled traces' old rows
-- The traces a pull touched (ch_traces: one trace_id column) are derived again in
-- ClickHouse, whole: their stored rows go, they are recorded as ClickHouse's, and they are
-- marked pending so the ingest's derivation rebuilds them (with ingest/clickhouse_rows_use).
delete from clickhouse_ticks where run_id in (select trace_id from ch_traces);
delete from clickhouse_tool_calls where run_id in (select trace_id from ch_traces);
delete from clickhouse_traces where trace_id in (select trace_id from ch_traces);
insert into clickhouse_traces select distinct trace_id from ch_traces;
insert into pending_traces select distinct trace_id from ch_traces;
