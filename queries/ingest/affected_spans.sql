-- Affected spans
-- Every stored span of the traces being derived (affected_traces), with `a` as a short name for
-- its attributes: what the derive_* queries read. Bounded by trace id, never a scan of every
-- stored row's attributes: ingest/affected_rowids found the rows from the trace_id column alone,
-- and this view fetches them by row id, so only the row groups that hold them are read (DuckDB
-- pushes the row ids into the scan). Valid while the derivation's transaction changes no span.
create or replace temp view affected_spans as
select sp.*, sp.attributes as a
from spans sp
where sp.rowid in (select r from affected_rowids)
