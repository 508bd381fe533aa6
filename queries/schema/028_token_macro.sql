-- Token count macro
-- A token count read from an attribute, NULL unless it is a whole number in 0..10^12 (the range
-- ingest validates). Ingest quarantines such spans, but a database written by an older agentprof
-- may hold them: derivation reads them as "not reported" instead of overflowing or storing a
-- negative count.
create or replace macro token_count(x) as
    case when tok(x) between 0 and 1000000000000 then tok(x) end;
