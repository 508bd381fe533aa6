-- File state
-- Where each input path stood when it was last read, so that a re-run skips an unchanged file by
-- its size and modification time without reading a byte, and reads only the new end of an
-- append-only agent log (Claude Code transcript, Codex rollout) that grew. One row per path
-- (absolute); `files` stays keyed by content.
-- - sha256: the content last stored from the path, or found stored already.
-- - history: the contents stored from this path since it was last read whole (its spans carry
--   these file_sha256 values); a re-read after its start was rewritten replaces their spans.
-- - resume_offset, resume_block_sha256, resume_state: where the reading stopped (just past the
--   last whole line), the SHA-256 of the 4 KiB before it, and the reader's state there (zstd'd;
--   zlib'd before 2026-12-06: both are read) pickle of the reader's own classes only. NULL:
--   the next change reads the file whole.
create table if not exists file_state (
    path varchar primary key,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    sha256 varchar not null,
    history varchar[] not null,
    resume_offset bigint,
    resume_block_sha256 varchar,
    resume_state blob,
    updated_at timestamp not null
);
