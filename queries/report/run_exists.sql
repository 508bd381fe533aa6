-- Run exists
-- The run ids matching $run_id exactly or as a prefix (so users can paste a short id); up to 11,
-- so an ambiguous prefix can list its first 10 candidates.
select run_id from runs where run_id = $run_id or starts_with(run_id, $run_id) order by run_id limit 11
