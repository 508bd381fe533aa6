-- Spans by file
-- How many stored spans came from each file of a batch ($file_batch: one sha256 column): new
-- spans, and for agent logs also more complete copies that replaced a stored one.
select s.file_sha256, count(*) as spans
from spans s
where s.file_sha256 in (select sha256 from file_batch)
group by s.file_sha256
