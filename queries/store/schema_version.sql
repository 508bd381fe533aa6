-- Schema version
-- The highest schema file applied to this database.
select cast(value as integer) as schema_version from meta where key = 'schema_version'
