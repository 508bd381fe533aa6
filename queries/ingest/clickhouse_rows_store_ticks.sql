-- Rows ClickHouse derived: store ticks
-- A stream of derive_ticks.sql's rows (ch_ticks), as they come.
insert into clickhouse_ticks by name
select * from ch_ticks
