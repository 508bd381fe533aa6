-- Session exists
-- The session ids equal to $session_id or starting with it (a unique prefix names a session).
select distinct session_id from runs
where session_id = $session_id or starts_with(session_id, $session_id)
order by session_id
limit 11
