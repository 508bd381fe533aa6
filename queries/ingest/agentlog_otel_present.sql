-- Claude Code OTel events present
-- Whether any Claude Code OTel event span is staged or stored: only then can a transcript span
-- stand for one (ingest/otel_logs_superseded finds no pair without one, so its four statements
-- are skipped; a folder of transcripts alone pays a scan of the scope_name column, not the
-- session.id lookups of every stored transcript span).
select exists (from agentlog_batch where scope_name = 'agentprof.claude_code_otel')
    or exists (from spans where scope_name = 'agentprof.claude_code_otel')
