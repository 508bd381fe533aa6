-- Mark pending traces
-- The traces of the span batch a file just stored ($trace_batch: one trace_id column), to be
-- rebuilt by the ingest's derivation step.
insert into pending_traces
select distinct trace_id from trace_batch where trace_id is not null
