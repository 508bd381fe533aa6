-- Rows ClickHouse derived: whether any exist
-- Whether this database ever pulled from ClickHouse: every derivation asks,
-- and only then reads the tables.
select count(*) from (select 1 from clickhouse_traces limit 1)
