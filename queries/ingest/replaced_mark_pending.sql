-- Replaced spans: mark pending
-- A grown log whose start was rewritten is read whole again and replaces the spans its earlier
-- versions stored ($replaced_batch: one sha256 column, their contents): their traces are rebuilt.
insert into pending_traces
select distinct trace_id from spans
where file_sha256 in (select sha256 from replaced_batch) and trace_id is not null
