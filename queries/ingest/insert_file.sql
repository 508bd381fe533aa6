-- Insert file
-- Marks a file's content as ingested; the same bytes under any path are skipped from now on.
insert into files values (
    $sha256, $path, $format, $size_bytes, $records, $records_skipped, $spans_new, now()::timestamp
)
