-- Quarantine
-- Records that could not be ingested, with where they were and why. Nothing is dropped silently.
create table if not exists quarantine (
    file_sha256 varchar,
    path varchar not null,
    line bigint,
    reason varchar not null,
    excerpt varchar,
    recorded_at timestamp not null
);
