-- Files seen
-- The contents (SHA-256) ingested so far: a file with the same bytes, under any path, is skipped.
select sha256 from files
