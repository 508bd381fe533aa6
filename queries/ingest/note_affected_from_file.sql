-- Note affected traces of a file
-- Traces that gained spans from this file ($file_sha256): only new spans carry its hash.
insert into affected_traces
select distinct trace_id from spans
where file_sha256 = $file_sha256 and trace_id not in (select trace_id from affected_traces)
