-- Table columns
-- ClickHouse SQL. The columns of {table} in the connection's database: tells an otel_traces
-- table from an otel_logs one (the exporter lets a team rename both) and a missing table from
-- a wrong one.
select name
from system.columns
where database = currentDatabase() and table = {table:String}
order by position
