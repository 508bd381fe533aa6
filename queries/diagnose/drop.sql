-- Drop the diagnosis's temporary tables: their memory goes back before the results are assembled.
drop table if exists diag_scope;
drop table if exists diag_runs;
drop table if exists diag_batching_windows;
drop table if exists diag_kept;
drop table if exists diag_ticks;
drop table if exists diag_tool_ticks;
drop table if exists diag_tool_repeats;
drop table if exists diag_tool_kinds;
drop table if exists diag_caps;
drop table if exists diag_waste;
drop table if exists diag_context;
drop table if exists diag_model_spikes;
drop table if exists diag_findings;
drop table if exists diag_verdicts
