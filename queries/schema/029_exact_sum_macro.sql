-- Exact sum macro
-- The sum of a group of doubles (costs, durations) computed exactly: each value rounded to 12
-- decimals, summed as a decimal, returned as a double. A plain floating-point sum depends on the
-- order DuckDB meets the rows in (threads, the order files were ingested), so equivalent databases
-- would print different last digits; this one gives the same bytes in --json and HTML whatever
-- the order. Use it in an aggregate query, as sum().
create or replace macro exact_sum(x) as sum(round(x, 12)::decimal(38, 12))::double;
