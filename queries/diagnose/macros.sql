-- Diagnosis macros
-- How evidence sentences print numbers: USD with enough decimals to be non-zero for cheap runs,
-- milliseconds and tokens with thousands separators, shares as whole percentages. Temporary, so a
-- read-only database can be diagnosed.
create or replace temp macro usd_text(x) as case
    when x is null then 'an unknown amount (model not priced)'
    when abs(x) >= 1 then format('${:,.2f}', x)
    when abs(x) >= 0.01 then format('${:.3f}', x)
    else format('${:.5f}', x)
end;
create or replace temp macro ms_text(x) as format('{:,.0f} ms', x);
create or replace temp macro tokens_text(x) as format('{:,}', x::bigint);
create or replace temp macro pct_text(x) as format('{:.0f}%', 100 * x);
-- The share of a run a saving represents: the larger of its cost share and its wall-clock share.
create or replace temp macro saving_share(usd, ms, cost, wall) as greatest(
    coalesce(usd / nullif(cost, 0), 0), coalesce(ms / nullif(wall, 0), 0));
