-- Files
-- Every input file ingested, keyed by the SHA-256 of its bytes so that re-ingesting the same content
-- is a no-op whatever its path. `records` counts spans (or lines/frames that could not be read).
create table if not exists files (
    sha256 varchar primary key,
    path varchar not null,
    format varchar not null,
    size_bytes bigint not null,
    records bigint not null,
    records_skipped bigint not null,
    spans_new bigint not null,
    ingested_at timestamp not null
);
