-- Set DuckDB's memory limit (for the whole database instance) to $memory_limit, e.g. '384MB'.
set memory_limit = $memory_limit
