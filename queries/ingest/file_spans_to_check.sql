-- File spans to check
-- The columns validate.span_problems reads, for the spans the native JSON-lines path just
-- inserted from one file: any span it refuses sends the file to the Python decoder, which
-- quarantines exactly those spans (both paths accept the same records).
select trace_id, span_id, name, start_ns, end_ns, attributes, events, line
from spans
where file_sha256 = $file_sha256
