-- Meta
-- Key/value facts about this database file, notably `schema_version` (the highest schema file applied).
create table if not exists meta (
    key varchar primary key,
    value varchar not null
);
