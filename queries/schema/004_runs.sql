-- Runs
-- One agent task: an OTLP trace (run_id = trace id). Timing is split into disjoint slices:
-- wall = model + tool + harness, where tool time excludes moments already covered by a model call
-- and overlapping tool calls count once; tool_serial_ms is the plain sum of tool durations.
create table if not exists runs (
    run_id varchar primary key,
    parent_run_id varchar,
    source varchar not null,
    agent varchar,
    service_name varchar,
    session_id varchar,
    started_at timestamp,
    ended_at timestamp,
    wall_ms double,
    model_ms double,
    tool_ms double,
    tool_serial_ms double,
    harness_ms double,
    status varchar
);
