-- Replaced spans: delete
-- The spans the earlier versions of a rewritten log stored ($replaced_batch: one sha256 column);
-- the whole re-read stores what the file holds now.
delete from spans where file_sha256 in (select sha256 from replaced_batch)
