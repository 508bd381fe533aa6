-- Pending traces
-- Traces whose spans changed but whose runs, ticks and tool calls are not rebuilt yet. Each file's
-- transaction adds its traces here; one derivation at the end of the ingest rebuilds them all and
-- empties the table. Rows left over mean an ingest stopped between the two: the next one (even
-- of unchanged files) finishes them, and read commands say so meanwhile.
create table if not exists pending_traces (trace_id varchar not null);
