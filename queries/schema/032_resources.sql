-- Resources
-- The attributes of each OTLP resource (a service instance: service.name, host, SDK, ...), stored
-- once instead of on every span: spans.resource_id names the row. The id is resource_key() of the
-- attribute map, computed the same way by the native JSON-lines path (in SQL) and by the Arrow
-- path that protobuf and the Python decoder take (agentprof/ingest.py, resource_ids), so the same
-- resource read from either format is one row. The map keeps its order as written: a resource
-- whose attributes come in another order is another row, and reads back exactly as written.
-- Writers that do not use resources (agent logs, ClickHouse, databases ingested before this table
-- existed) keep the per-span map in spans.resource_attributes and a NULL resource_id; the native
-- JSON-lines path leaves the map on the first span of each resource of a request as well as the
-- id. Read per-span resource attributes through spans_with_resource, which gives either.
create table if not exists resources (
    resource_id varchar primary key,
    attributes map(varchar, varchar) not null
);

alter table spans add column if not exists resource_id varchar;

-- The canonical text of an attribute map, hashed: each entry in order as <bytes>:<key>, then
-- <bytes>:<value>, or '-' for a NULL value (lengths make it unambiguous whatever the text holds).
create or replace macro resource_key(m) as md5(array_to_string(list_transform(map_entries(m),
    lambda e: strlen(e.key)::varchar || ':' || e.key
              || coalesce(strlen(e.value)::varchar || ':' || e.value, '-')), ''));

-- Every span with its resource attributes, wherever they are stored.
create or replace view spans_with_resource as
select s.* replace (coalesce(s.resource_attributes, r.attributes) as resource_attributes)
from spans s
left join resources r on r.resource_id = s.resource_id;
