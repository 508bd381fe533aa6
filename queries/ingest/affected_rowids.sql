-- Affected row ids
-- The row ids of every stored span of the traces being derived (affected_traces), read from the
-- trace_id column alone: DuckDB pushes the affected trace ids into that scan as a filter, so it
-- costs a pass over one narrow column, not over the spans' attribute maps. ingest/affected_spans
-- fetches the rows by these ids.
create or replace temp table affected_rowids as
select rowid as r from spans where trace_id in (select trace_id from affected_traces)
