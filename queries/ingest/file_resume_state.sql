-- File resume state
-- The stored reader state of one path, to read only the new end of the grown log.
select resume_state from file_state where path = $path
