-- Insert quarantine
-- Records that could not be ingested, with their file, path:line and the reason.
insert into quarantine
select file_sha256, path, line, reason, excerpt, now()::timestamp from quarantine_batch
