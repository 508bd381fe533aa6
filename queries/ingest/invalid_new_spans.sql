-- Invalid new spans
-- Spans this file just added whose ids or times the OTLP spec would reject (trace id not 32 hex
-- characters, span/parent id not 16, missing start or end), and copies of a span the file holds
-- twice. The native fast path undoes the file and lets the Python decoder quarantine the bad ones
-- and keep the first copy.
select count(*) filter (where not valid) + count(*) - count(distinct (trace_id, span_id)) as invalid
from (
    select
        trace_id,
        span_id,
        regexp_full_match(coalesce(trace_id, ''), '[0-9a-f]{32}')
        and regexp_full_match(coalesce(span_id, ''), '[0-9a-f]{16}')
        and (parent_span_id is null or regexp_full_match(parent_span_id, '[0-9a-f]{16}'))
        and start_ns is not null and end_ns is not null
        and not coalesce(list_bool_or(list_transform(links,
                lambda l: not regexp_full_match(coalesce(l.trace_id, ''), '[0-9a-f]{32}'))), false) as valid
    from spans
    where file_sha256 = $file_sha256
)
