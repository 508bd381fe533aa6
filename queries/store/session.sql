-- Session settings of every connection
-- No progress bar: DuckDB draws one on stdout for a query that runs past 2 s, which would land in
-- the middle of `--json` output (a fleet diagnose on a busy machine or a large database).
set enable_progress_bar = false
