"""agentprof: a profiler for AI agents, from exported telemetry to a per-tick ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Database", "__version__", "open"]

if TYPE_CHECKING:
    from agentprof.api import Database, open


def __getattr__(name: str) -> Any:
    """The Python API (read access to a database: agentprof.open(path) -> Database), imported on
    first use, so the command line does not load pyarrow for commands that never touch it."""
    if name in ("Database", "open"):
        from agentprof import api

        return getattr(api, name)
    raise AttributeError(f"module 'agentprof' has no attribute {name!r}")
