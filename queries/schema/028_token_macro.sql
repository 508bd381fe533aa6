-- Token count and duration unit macros
-- A token count read from an attribute, NULL unless it is a whole number in 0..10^12 (the range
-- ingest validates). Ingest quarantines such spans, but a database written by an older agentprof
-- may hold them: derivation reads them as "not reported" instead of overflowing or storing a
-- negative count.
create or replace macro token_count(x) as
    case when tok(x) between 0 and 1000000000000 then tok(x) end;
-- A duration attribute whose unit instrumentations disagree on (TTFT: seconds in the GenAI
-- conventions and Sentry's, milliseconds in others), in milliseconds: read as seconds when that
-- fits within the call's latency, else as milliseconds.
create or replace macro seconds_or_ms(v, latency_ms) as
    case when v is null or v < 0 then null
         when v * 1000 <= latency_ms then v * 1000
         when v <= latency_ms then v end;
