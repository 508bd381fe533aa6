"""agentprof: a profiler for AI agents, from exported telemetry to a per-tick ledger."""

__version__ = "0.1.0"
