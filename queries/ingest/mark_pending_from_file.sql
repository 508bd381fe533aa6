-- Mark pending traces of a file
-- The traces that gained spans from this file ($file_sha256): only new spans carry its hash. Used
-- by the native JSON-lines path, where the spans never pass through Python.
insert into pending_traces
select distinct trace_id from spans where file_sha256 = $file_sha256
