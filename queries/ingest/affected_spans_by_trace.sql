-- Affected spans, by trace
-- ingest/affected_spans for a derivation that reads a large share of the stored spans (a first
-- ingest, a backfill): the trace ids filter the scan directly, which costs less than fetching so
-- many rows by row id. The same rows, the same columns.
create or replace temp view affected_spans as
select sp.*, sp.attributes as a
from spans sp
where sp.trace_id in (select trace_id from affected_traces)
