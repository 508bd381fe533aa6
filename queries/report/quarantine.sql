-- Quarantine
-- Records that could not be ingested, newest first, with path:line and reason.
select path, line, reason, excerpt, strftime(recorded_at, '%Y-%m-%dT%H:%M:%SZ') as recorded_at
from quarantine
order by recorded_at desc, path, line
