-- Set source watermark
-- Inside the transaction that stored a database source's spans: how far it has now been read.
-- A run that read nothing keeps the watermark it had.
insert or replace into source_watermarks
values ($source, $watermark_ns, now()::timestamp)
