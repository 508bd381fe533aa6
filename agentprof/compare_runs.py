"""Two runs of one database side by side (`agentprof compare RUN_A RUN_B`): ticks aligned by
index, the tool sets, the first tick where the runs diverge, and the totals. The comparison of two
databases or baselines is gate.compare; this one reads a single ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from agentprof import sql


@dataclass
class RunComparison:
    """report/compare_runs, compare_totals, compare_ticks and compare_tools for runs A and B."""

    runs: sql.Result
    totals: sql.Result
    ticks: sql.Result
    tools: sql.Result

    def first_divergence(self) -> dict[str, Any] | None:
        """The first tick where the runs choose differently (compare_ticks.diverges)."""
        return next((t for t in self.ticks.records() if t["diverges"]), None)

    def as_json(self) -> dict[str, Any]:
        first = self.first_divergence()
        return {
            "runs": self.runs.records(),
            "first_divergent_tick": first["tick"] if first else None,
            "divergence": first["divergence"] if first else None,
            "totals": self.totals.records(),
            "ticks": self.ticks.records(),
            "tools": self.tools.records(),
        }


def compare_runs(con: duckdb.DuckDBPyConnection, run_a: str, run_b: str) -> RunComparison:
    """Compare two runs given by their full ids (the caller resolves prefixes)."""
    params = {"run_a": run_a, "run_b": run_b}
    return RunComparison(
        runs=sql.run(con, "report/compare_runs", params),
        totals=sql.run(con, "report/compare_totals", params),
        ticks=sql.run(con, "report/compare_ticks", params),
        tools=sql.run(con, "report/compare_tools", params),
    )
