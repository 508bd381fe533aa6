-- File seen
-- Whether these exact bytes were ingested before (and under which path).
select path from files where sha256 = $sha256
