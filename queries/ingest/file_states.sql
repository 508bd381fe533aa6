-- File states
-- What is known of the paths about to be read ($paths: their absolute paths), without the reader
-- states (schema/031_file_state.sql): an unchanged size and modification time skip a file
-- before any hashing.
select path, size_bytes, mtime_ns, sha256, history, resume_offset, resume_block_sha256
from file_state
where path in (select unnest($paths::varchar[]))
