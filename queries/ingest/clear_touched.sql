-- Clear touched traces
-- Every trace rebuilt during one `ingest` call, across its files (for the summary).
create or replace temp table touched_traces (trace_id varchar)
