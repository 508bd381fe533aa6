-- File spans to check
-- What validate.span_problems reads, for the spans the native JSON-lines path just inserted from
-- one file: any span it refuses sends the file to the Python decoder, which quarantines exactly
-- those spans (both paths accept the same records). Only the attributes the check looks at cross
-- ($checked_keys: token counts, costs, the invalid mark) and events without their attributes:
-- a whole file's spans with every map took 1.1 GB more memory at 1M spans.
select trace_id, span_id, name, start_ns, end_ns,
    map_from_entries(list_filter(map_entries(attributes), lambda e: list_contains($checked_keys, e.key)))
        as attributes,
    list_transform(events, lambda e: {'name': e.name, 'time_ns': e.time_ns}) as events,
    line
from spans
where file_sha256 = $file_sha256
