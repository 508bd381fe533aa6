"""agentprof: a profiler for AI agents, from exported telemetry to a per-tick ledger."""

__version__ = "0.1.0"

# The Python API (read access to a database): agentprof.open(path) -> Database.
from agentprof.api import Database, open  # noqa: E402

__all__ = ["Database", "__version__", "open"]
