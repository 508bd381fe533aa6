-- Insert usage buckets
-- The buckets of one report file ($file_sha256); a bucket repeated inside the file is kept once.
insert into usage_buckets
select
    bucket_key, report, starting_at, ending_at, provider, model, api_key, workspace, service_tier,
    line_item, requests, input_uncached_tokens, cache_read_tokens, cache_write_5m_tokens,
    cache_write_1h_tokens, output_tokens, cost_usd, $file_sha256, line
from bucket_batch
qualify row_number() over (partition by bucket_key order by line desc) = 1
