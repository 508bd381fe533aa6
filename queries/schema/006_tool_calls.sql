-- Tool calls
-- One tool execution span, linked to the tick that requested it: by the tool-call id found in that
-- tick's recorded output where the trace has it, otherwise the last tick that ended before it started.
-- args_fingerprint is a hash of the sorted-key JSON arguments; no argument text is copied here.
create table if not exists tool_calls (
    run_id varchar not null,
    span_id varchar not null,
    tool_name varchar,
    call_id varchar,
    tick integer,
    tick_link varchar,
    start_ns bigint,
    end_ns bigint,
    started_at timestamp,
    duration_ms double,
    status varchar,
    args_fingerprint varchar
);
