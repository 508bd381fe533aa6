-- Save file state
-- What is now known of some paths ($state_batch: path, size_bytes, mtime_ns, sha256, history,
-- resume_offset, resume_block_sha256, resume_state): the files a transaction stored, or those
-- found stored already under a new size or mtime. A row with a resume offset but no state keeps
-- the stored state (the same content, touched): its reading stays resumable.
insert into file_state
select path, size_bytes, mtime_ns, sha256, history, resume_offset, resume_block_sha256,
    resume_state, now()::timestamp
from state_batch
on conflict (path) do update set
    size_bytes = excluded.size_bytes,
    mtime_ns = excluded.mtime_ns,
    sha256 = excluded.sha256,
    history = excluded.history,
    resume_offset = excluded.resume_offset,
    resume_block_sha256 = excluded.resume_block_sha256,
    resume_state = case
        when excluded.resume_offset is not null and excluded.resume_state is null
            then file_state.resume_state
        else excluded.resume_state
    end,
    updated_at = excluded.updated_at
