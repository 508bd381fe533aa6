"""The CI gate: fleet metrics, budgets (`check`), baselines (`baseline save`) and `compare`.
A gate that passes on no data never fails, so an empty selection is an error here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from agentprof import __version__, sql, store
from agentprof.diagnose import diagnose
from agentprof.errors import AgentprofError

BASELINE_FORMAT = 1
# Metrics where a higher value is worse, compared against a baseline by relative increase; the
# cache hit ratio is compared by relative decrease.
REGRESSION_METRICS = (
    "cost_per_run_mean_usd",
    "cost_per_run_p50_usd",
    "cost_per_run_p95_usd",
    "ticks_per_run_mean",
    "ticks_per_run_p95",
    "wall_p50_ms",
    "wall_p95_ms",
    "cache_hit_ratio",
)
HIGHER_IS_BETTER = frozenset({"cache_hit_ratio"})
# The per-run column each fleet metric is made of, to name the runs responsible for a failure.
RUN_COLUMN = {
    "cost_per_run": "cost_usd",
    "ticks_per_run": "ticks",
    "wall": "wall_ms",
    "cache_hit": "cache_hit_ratio",
}
RESPONSIBLE_RUNS = 10


class GateError(AgentprofError):
    """A gate that cannot be evaluated: no runs, a metric no run reports, a bad baseline."""


@dataclass(frozen=True)
class Filters:
    since: Any = None
    until: Any = None
    source: str | None = None
    agent: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "source": self.source,
            "agent": self.agent,
        }

    def as_json(self) -> dict[str, Any]:
        return {k: (str(v) if v is not None else None) for k, v in self.params().items()}


@dataclass(frozen=True)
class Budget:
    """One budget: `metric` must stay at most (or, for kind "min", at least) `limit`."""

    flag: str
    metric: str
    limit: float
    kind: str = "max"  # "max" | "min"


@dataclass
class CheckOutcome:
    flag: str
    metric: str
    budget: float
    actual: float
    passed: bool
    excess: float  # how far past the budget (positive = worse), in the metric's unit
    excess_ratio: float | None  # excess ÷ budget
    runs: list[str] = field(default_factory=list)  # runs responsible, worst first
    baseline: float | None = None
    kind: str = "max"

    def as_json(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "metric": self.metric,
            "kind": self.kind,
            "budget": self.budget,
            "actual": self.actual,
            "baseline": self.baseline,
            "passed": self.passed,
            "excess": self.excess,
            "excess_ratio": self.excess_ratio,
            "runs": self.runs,
        }


@dataclass
class CheckResult:
    runs: int
    metrics: dict[str, Any]
    checks: list[CheckOutcome]
    notes: list[str]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "runs": self.runs,
            "failed": sum(not c.passed for c in self.checks),
            "checks": [c.as_json() for c in self.checks],
            "metrics": self.metrics,
            "notes": self.notes,
        }


# ---------------------------------------------------------------------------------------------
# Fleet metrics


def diagnosis(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """`agentprof diagnose --json` for the selection."""
    result = diagnose(
        con,
        since=filters.since,
        until=filters.until,
        source=filters.source,
        agent=filters.agent,
        sort="cost",
    )
    return result.as_json()


def bottleneck_shares(diag: dict[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    """Per bottleneck class: runs, share of runs, cost; None without a diagnosis."""
    if diag is None:
        return None
    total = sum(int(d["runs"]) for d in diag["distribution"]) or 1
    return {
        d["bottleneck"]: {
            "runs": int(d["runs"]),
            "share_ratio": int(d["runs"]) / total,
            "cost_usd": d.get("cost_usd"),
            "saving_usd": d.get("saving_usd"),
        }
        for d in diag["distribution"]
    }


def fleet_metrics(
    con: duckdb.DuckDBPyConnection, filters: Filters, *, with_diagnosis: bool = True
) -> dict[str, Any]:
    """gate/run_metrics as one dict, plus `bottlenecks` (class → runs/share/cost) when diagnose is
    available. Raises GateError when the selection holds no runs."""
    metrics = sql.run(con, "gate/run_metrics", filters.params()).records()[0]
    if not metrics["runs"]:
        raise GateError(
            "runs",
            "no runs match the selection",
            "ingest traces first or widen --since/--until/--source/--agent "
            "(a gate that passes on no data never fails)",
        )
    metrics["bottlenecks"] = bottleneck_shares(diagnosis(con, filters)) if with_diagnosis else None
    return metrics


def baseline_document(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """What `agentprof baseline save` writes: the metrics and where they came from, no clock."""
    return {
        "agentprof_baseline": BASELINE_FORMAT,
        "agentprof_version": __version__,
        "filters": filters.as_json(),
        "metrics": fleet_metrics(con, filters),
    }


def load_baseline(path: Path, filters: Filters, wait_s: float = 30.0) -> dict[str, Any]:
    """Baseline metrics from a JSON file written by `baseline save` or from another database
    (with the same filters applied)."""
    if not path.exists():
        raise GateError(str(path), "no such baseline file")
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
    if head.startswith(b"{"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise GateError(str(path), f"not a baseline JSON file ({exc})") from None
        if not isinstance(doc, dict) or doc.get("agentprof_baseline") != BASELINE_FORMAT:
            raise GateError(
                str(path),
                f"not an agentprof baseline (format {BASELINE_FORMAT} expected)",
                "write one with `agentprof baseline save -o FILE`",
            )
        metrics: dict[str, Any] = doc["metrics"]
        return metrics
    con = store.connect(path, read_only=True, wait_s=wait_s)
    try:
        return fleet_metrics(con, filters)
    except GateError as exc:
        raise GateError(str(path), exc.what, "the baseline database has no runs") from None
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# check


def _responsible(runs: list[dict[str, Any]], metric: str, limit: float, kind: str) -> list[str]:
    """The runs whose own value breaks the budget, worst first."""
    column = next((col for prefix, col in RUN_COLUMN.items() if metric.startswith(prefix)), None)
    if column is None:
        return []
    vals = [(r[column], r["run_id"]) for r in runs if r[column] is not None]
    if kind == "max":
        bad = sorted(((-v, rid) for v, rid in vals if v > limit))
    else:
        bad = sorted(((v, rid) for v, rid in vals if v < limit))
    return [rid for _, rid in bad[:RESPONSIBLE_RUNS]]


def _outcome(
    budget: Budget, actual: float, runs: list[str], baseline: float | None = None
) -> CheckOutcome:
    excess = actual - budget.limit if budget.kind == "max" else budget.limit - actual
    passed = excess <= 0
    return CheckOutcome(
        flag=budget.flag,
        metric=budget.metric,
        budget=budget.limit,
        actual=actual,
        passed=passed,
        excess=excess,
        excess_ratio=excess / budget.limit if budget.limit else None,
        runs=[] if passed else runs,
        baseline=baseline,
        kind=budget.kind,
    )


def _unreported(metric: str) -> GateError:
    return GateError(
        metric,
        "not reported by any selected run, so this budget cannot be checked",
        "cost needs priced models (see --prices); the cache hit ratio needs cache token counts",
    )


def check(
    con: duckdb.DuckDBPyConnection,
    budgets: list[Budget],
    filters: Filters,
    *,
    max_shares: dict[str, float] | None = None,
    baseline: dict[str, Any] | None = None,
    max_regression: float | None = None,
) -> CheckResult:
    """Evaluate every budget; each outcome carries the budget, the actual value, how far past it
    and the runs responsible. Raises GateError when there is nothing to check against."""
    max_shares = max_shares or {}
    metrics = fleet_metrics(con, filters, with_diagnosis=bool(max_shares))
    runs = sql.run(
        con, "report/runs", {**filters.params(), "sort": "cost", "run_id": None}
    ).records()
    notes: list[str] = []
    if metrics["priced_runs"] < metrics["runs"] and any(
        b.metric.startswith("cost") for b in budgets
    ):
        notes.append(
            f"{metrics['runs'] - metrics['priced_runs']} of {metrics['runs']} runs have no price; "
            "cost budgets cover the priced runs only"
        )
    outcomes: list[CheckOutcome] = []
    for b in budgets:
        actual = metrics.get(b.metric)
        if actual is None:
            raise _unreported(b.metric)
        outcomes.append(_outcome(b, float(actual), _responsible(runs, b.metric, b.limit, b.kind)))
    if max_shares:
        outcomes.extend(_share_outcomes(con, filters, metrics, max_shares))
    if baseline is not None:
        outcomes.extend(_regressions(metrics, baseline, max_regression or 0.0, runs, notes))
    return CheckResult(runs=int(metrics["runs"]), metrics=metrics, checks=outcomes, notes=notes)


def _share_outcomes(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    metrics: dict[str, Any],
    max_shares: dict[str, float],
) -> list[CheckOutcome]:
    shares = metrics["bottlenecks"]
    diag = diagnosis(con, filters)
    out = []
    for cls, limit in max_shares.items():
        share = shares.get(cls, {"share_ratio": 0.0})["share_ratio"]
        in_class = [r["run_id"] for r in diag["runs"] if r.get("bottleneck") == cls]
        budget = Budget(f"--max-share {cls}", f"share_{cls}_ratio", limit)
        out.append(_outcome(budget, float(share), in_class[:RESPONSIBLE_RUNS]))
    return out


def _regressions(
    metrics: dict[str, Any],
    baseline: dict[str, Any],
    max_regression: float,
    runs: list[dict[str, Any]],
    notes: list[str],
) -> list[CheckOutcome]:
    out = []
    for m in REGRESSION_METRICS:
        old, new = baseline.get(m), metrics.get(m)
        if old is None or new is None or float(old) == 0:
            notes.append(f"{m}: not compared with the baseline (a value is missing or zero)")
            continue
        old = float(old)
        if m in HIGHER_IS_BETTER:
            limit = old * (1 - max_regression)
            budget = Budget("--max-regression", m, limit, "min")
        else:
            limit = old * (1 + max_regression)
            budget = Budget("--max-regression", m, limit, "max")
        outcome = _outcome(budget, float(new), _responsible(runs, m, limit, budget.kind), old)
        out.append(outcome)
    return out


# ---------------------------------------------------------------------------------------------
# compare

COMPARE_METRICS = (
    "runs",
    "cost_usd",
    "cost_per_run_mean_usd",
    "cost_per_run_p50_usd",
    "cost_per_run_p95_usd",
    "ticks",
    "ticks_per_run_mean",
    "ticks_per_run_p50",
    "ticks_per_run_p95",
    "wall_p50_ms",
    "wall_p95_ms",
    "cache_hit_ratio",
)


@dataclass
class Comparison:
    old: dict[str, Any]
    new: dict[str, Any]

    def metric_rows(self) -> list[dict[str, Any]]:
        rows = []
        for m in COMPARE_METRICS:
            rows.append({"metric": m, **_change(self.old.get(m), self.new.get(m), m)})
        return rows

    def bottleneck_rows(self) -> list[dict[str, Any]] | None:
        old_b, new_b = self.old.get("bottlenecks"), self.new.get("bottlenecks")
        if old_b is None or new_b is None:
            return None
        rows = []
        for cls in sorted(set(old_b) | set(new_b)):
            o = old_b.get(cls, {"runs": 0, "share_ratio": 0.0, "cost_usd": None})
            n = new_b.get(cls, {"runs": 0, "share_ratio": 0.0, "cost_usd": None})
            rows.append(
                {
                    "bottleneck": cls,
                    "old_runs": o["runs"],
                    "new_runs": n["runs"],
                    "old_share_ratio": o["share_ratio"],
                    "new_share_ratio": n["share_ratio"],
                    "share_change_ratio": n["share_ratio"] - o["share_ratio"],
                    "old_cost_usd": o.get("cost_usd"),
                    "new_cost_usd": n.get("cost_usd"),
                }
            )
        return rows

    def as_json(self) -> dict[str, Any]:
        return {"metrics": self.metric_rows(), "bottlenecks": self.bottleneck_rows()}


def _change(old: Any, new: Any, metric: str) -> dict[str, Any]:
    change = ratio = None
    worse = None
    if old is not None and new is not None:
        change = float(new) - float(old)
        ratio = change / float(old) if float(old) else None
        if metric in REGRESSION_METRICS and change:
            worse = (change < 0) if metric in HIGHER_IS_BETTER else (change > 0)
    return {"old": old, "new": new, "change": change, "change_ratio": ratio, "worse": worse}


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """What moved between two sets of fleet metrics (from fleet_metrics or load_baseline)."""
    return Comparison(old=old, new=new)
