-- Insert rejected
-- Requests `agentprof serve` answered with 400 (a body that is not OTLP, or whose every span is
-- malformed), kept in quarantine with the reason the client was given. `path` is
-- `serve:/v1/traces` or `serve:/v1/logs`; `line` numbers the request since that serve started.
insert into quarantine
select $file_sha256, path, line, reason, excerpt, recorded_at from rejected_batch
