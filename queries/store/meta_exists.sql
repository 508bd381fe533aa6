-- Meta table exists
-- 1 when this file already holds agentprof's meta table; `tables` counts every table, so a DuckDB
-- file that belongs to something else is refused rather than written into.
select
    count(*) filter (where table_name = 'meta') as meta_tables,
    count(*) as tables
from information_schema.tables
