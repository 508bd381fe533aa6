-- Note touched traces
insert into touched_traces
select trace_id from affected_traces where trace_id not in (select trace_id from touched_traces)
