-- Affected share
-- How many stored spans the derivation reads (ingest/affected_rowids) and how many are stored:
-- ingest.derive_pending fetches the rows by row id when they are a small share, by trace id
-- otherwise.
select (select count(*) from affected_rowids) as affected, (select count(*) from spans) as spans
