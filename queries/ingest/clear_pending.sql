-- Clear pending traces
-- In the derivation's transaction, after every pending trace was rebuilt.
delete from pending_traces
