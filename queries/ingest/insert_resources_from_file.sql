-- Insert resources of a file (native JSON-lines path)
-- After ingest/insert_spans_jsonl: the resources whose map the file's first span of each resource
-- carries, each once, unless stored already (an earlier file, another request of this one).
insert into resources
select s.resource_id, any_value(s.resource_attributes) as attributes
from spans s
where s.file_sha256 = $file_sha256
  and s.resource_id is not null
  and s.resource_attributes is not null
  and s.resource_id not in (select resource_id from resources)
group by s.resource_id
