-- Delete replaced usage buckets
-- Buckets that the report file being ingested carries again (same report, period and group).
delete from usage_buckets where bucket_key in (select bucket_key from bucket_batch)
