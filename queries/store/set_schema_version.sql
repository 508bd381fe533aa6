-- Set schema version
insert or replace into meta values ('schema_version', cast($version as varchar))
