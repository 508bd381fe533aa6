-- Pending count
-- How many traces await derivation (an ingest stopped between storing spans and deriving).
select count(distinct trace_id) as traces from pending_traces
