-- Cache write macro
-- Cache-write tokens of a group of rows (use it in an aggregate query): 5-minute plus 1-hour
-- writes; NULL ("not reported") when no row reported either, never 0.
create or replace macro cache_write_sum(p_write_5m, p_write_1h) as
    case when count(p_write_5m) + count(p_write_1h) > 0
         then coalesce(sum(p_write_5m), 0) + coalesce(sum(p_write_1h), 0)
    end;
