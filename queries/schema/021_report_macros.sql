-- Report macros
-- The runs a reading command selects: started in [p_since, p_until), from source p_source, of agent
-- p_agent; a NULL bound or filter selects everything. Every report, gate and diagnose query reads
-- runs through this one macro so `--since/--until/--source/--agent` mean the same everywhere.
-- (Parameters are prefixed: a parameter named like a column would replace that column.)
create or replace macro selected_runs(p_since, p_until, p_source, p_agent) as table
    select * from runs
    where (p_since is null or started_at >= p_since)
      and (p_until is null or started_at < p_until)
      and (p_source is null or source = p_source)
      and (p_agent is null or agent = p_agent);
-- Token-weighted cache hit ratio of a group of ticks (use it in an aggregate query): cache reads ÷
-- all prompt tokens (uncached + reads + writes); NULL ("not reported") when no tick of the group
-- reported any cache count, so an unreported cache never shows as 0%.
create or replace macro cache_hit_ratio(uncached, cache_read, write_5m, write_1h) as
    case when count(cache_read) + count(write_5m) + count(write_1h) > 0
         then coalesce(sum(cache_read), 0) / nullif(
                coalesce(sum(uncached), 0) + coalesce(sum(cache_read), 0)
              + coalesce(sum(write_5m), 0) + coalesce(sum(write_1h), 0), 0)
    end;
