-- Run exists
-- The run ids matching $run_id exactly or as a unique prefix (so users can paste a short id).
select run_id from runs where run_id = $run_id or starts_with(run_id, $run_id) order by run_id limit 2
