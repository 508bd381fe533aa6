-- Pending trace ids
-- Every trace awaiting derivation, in a stable order (the one-by-one fallback of derive_pending).
select distinct trace_id from pending_traces order by trace_id
