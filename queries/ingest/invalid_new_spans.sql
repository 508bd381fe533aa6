-- Invalid new spans
-- Spans this file just added whose ids or times the OTLP spec would reject: trace id not 32 hex
-- characters, span/parent id not 16, missing start or end. The native fast path undoes the file
-- and lets the Python decoder quarantine these one by one.
select count(*) as invalid
from spans
where file_sha256 = $file_sha256
  and (not regexp_full_match(coalesce(trace_id, ''), '[0-9a-f]{32}')
       or not regexp_full_match(coalesce(span_id, ''), '[0-9a-f]{16}')
       or (parent_span_id is not null and not regexp_full_match(parent_span_id, '[0-9a-f]{16}'))
       or start_ns is null or end_ns is null
       or list_bool_or(list_transform(links, lambda l: not regexp_full_match(coalesce(l.trace_id, ''), '[0-9a-f]{32}'))))
