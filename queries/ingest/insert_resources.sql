-- Insert resources
-- The resources of a span stream ($resource_batch: resource_id, attributes; one row per id, from
-- ingest.py's resource split of protobuf and Python-decoded spans) that are not stored yet.
insert into resources
select b.resource_id, b.attributes
from resource_batch b
anti join resources r on r.resource_id = b.resource_id
