-- All ids
-- Every run id and session id in the database: the set against which a shown id must be a
-- unique prefix (agentprof/ids.py), and in which a pasted prefix is looked up.
select run_id as id from runs
union
select session_id from runs where session_id is not null
order by id
