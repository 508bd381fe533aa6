-- Macros
-- Small helpers every derivation query uses. Attribute values are stored as text, so counts may
-- arrive as "1521", "1521.0" or 1521: tok() reads any of them as an integer, NULL when absent.
create or replace macro tok(x) as try_cast(try_cast(x as double) as bigint);
create or replace macro num(x) as try_cast(x as double);
create or replace macro ns_to_ts(ns) as make_timestamp(ns // 1000);
-- A span's outcome: OTLP status ERROR, Claude Code's success=false, or an OTel error.type.
create or replace macro span_status(status_code, a) as case
    when status_code = 2 or a['success'] = 'false' or a['error.type'] is not null then 'error'
    when status_code = 1 then 'ok'
    else 'unset'
end;
