-- Server features
-- ClickHouse SQL. Whether the server has materialized CTEs (the enable_materialized_cte
-- setting): derive_ticks.sql and derive_tool_calls.sql then compute each step they read more than
-- once a single time.
select count() as materialized_cte
from system.settings
where name = 'enable_materialized_cte'
