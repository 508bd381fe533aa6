-- Affected spans
-- Every stored span of the traces the current file touched, with `a` as a short name for its
-- attributes: what the derive_* queries read.
create or replace temp view affected_spans as
select sp.*, sp.attributes as a
from spans sp
where sp.trace_id in (select trace_id from affected_traces)
