"""Classify each run's bottleneck and name the lever, with evidence and savings. The rules are
SQL (queries/diagnose/rules/*.sql, one rule per file); this module runs them in order over a
scope of runs and assembles one result document."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from agentprof import sql
from agentprof.errors import InputError, read_toml
from agentprof.resources import data_dir

BOTTLENECKS = ("long_inputs", "too_many_ticks", "slow_tool", "healthy")
FINDINGS = (
    "cache_not_used",
    "cache_broken",
    "cache_expiring",
    "repeated_tool_calls",
    "serial_tool_calls",
    "batching_candidate",
    "slow_model_call",
    "harness_overhead",
    "runaway_loop",
)
# Every name `--fail-on` accepts: the bottleneck classes and the findings (stable names).
KINDS = BOTTLENECKS[:3] + FINDINGS
SORTS = ("cost", "saving", "started")

# Temporary tables the rules read, built in this order (see each file's header).
_PREPARE = ("macros", "scope", "tick_facts", "tool_ticks", "tool_repeats", "caps", "findings_table")


@dataclass(frozen=True)
class Thresholds:
    """Defaults from PRODUCT.md §3; each is explained in the SQL rule that reads it."""

    long_inputs_share: float = 0.70
    long_inputs_tick_share: float = 0.5
    min_cacheable_tokens: int = 1024
    min_saving_share: float = 0.05
    min_saving_ms: float = 100.0
    cache_working_share: float = 0.8
    max_ticks: int = 10
    ticks_vs_median: float = 2.0
    min_comparable_runs: int = 3
    slow_tool_share: float = 0.5
    cache_broken_hit_ratio: float = 0.5
    cache_ttl_s: float = 300.0
    cache_ttl_1h_s: float = 3600.0
    slow_model_factor: float = 3.0
    slow_model_min_excess_ms: float = 1000.0
    slow_model_min_samples: int = 5
    harness_share: float = 0.4
    harness_min_ms: float = 1000.0
    batching_window_ms: float = 1000.0
    batching_min_runs: int = 3

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_overrides(self, values: dict[str, Any], where: str) -> Thresholds:
        """Apply `name = value` overrides (from a config file or the command line)."""
        changes: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(self)}
        for name, raw in values.items():
            if name not in types:
                raise InputError(
                    where, f"unknown threshold {name!r}", "known: " + ", ".join(self.names())
                )
            try:
                value = int(raw) if types[name] in (int, "int") else float(raw)
            except (TypeError, ValueError):
                raise InputError(where, f"threshold {name} must be a number, not {raw!r}") from None
            if value < 0:
                raise InputError(where, f"threshold {name} must not be negative")
            changes[name] = value
        return replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def load_thresholds(config: Path | None, overrides: list[str]) -> Thresholds:
    """Defaults, then a TOML config file's [thresholds] table, then NAME=VALUE overrides."""
    thresholds = Thresholds()
    if config is not None:
        table = read_toml(config, InputError).get("thresholds", {})
        if not isinstance(table, dict):
            raise InputError(str(config), "[thresholds] must be a table of name = number")
        thresholds = thresholds.with_overrides(table, str(config))
    pairs: dict[str, str] = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--threshold {item}", "expected NAME=VALUE")
        pairs[name.strip()] = value.strip()
    return thresholds.with_overrides(pairs, "--threshold")


@dataclass
class Diagnosis:
    thresholds: Thresholds
    runs: list[dict[str, Any]]
    distribution: list[dict[str, Any]]

    @property
    def total_saving_usd(self) -> float:
        return sum(r["saving_usd"] or 0.0 for r in self.runs)

    @property
    def total_saving_ms(self) -> float:
        return sum(r["saving_ms"] or 0.0 for r in self.runs)

    def as_json(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds.as_json(),
            "runs": self.runs,
            "distribution": self.distribution,
            "total_saving_usd": self.total_saving_usd,
            "total_saving_ms": self.total_saving_ms,
        }


def rule_names() -> list[str]:
    folder = data_dir("queries") / "diagnose" / "rules"
    return [f"diagnose/rules/{p.stem}" for p in sorted(folder.glob("*.sql"))]


def diagnose(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    agent: str | None = None,
    thresholds: Thresholds | None = None,
    sort: str = "cost",
    detail: bool = False,
) -> Diagnosis:
    """Diagnose the runs in scope. `detail` adds each run's tick ledger and tool calls (the
    one-run view)."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}")
    th = thresholds or Thresholds()
    params: dict[str, Any] = {
        "run_id": run_id,
        "since": since,
        "until": until,
        "source": source,
        "agent": agent,
        "sort": "started",
        **th.as_json(),
    }
    for name in _PREPARE:
        sql.execute(con, f"diagnose/{name}", params)
    for rule in rule_names():
        sql.execute(con, rule, params)
    sql.execute(con, "diagnose/verdicts", params)

    verdicts = {row["run_id"]: row for row in sql.run(con, "diagnose/verdicts_list").records()}
    findings: dict[str, list[dict[str, Any]]] = {}
    for row in sql.run(con, "diagnose/findings").records():
        findings.setdefault(row.pop("run_id"), []).append(row)
    runs = []
    for run in sql.run(con, "report/runs", params).records():
        verdict = verdicts.get(run["run_id"])
        if verdict is None:
            continue  # outside the scope (the run_id filter)
        run.update(
            bottleneck=verdict["bottleneck"],
            saving_usd=verdict["saving_usd"],
            saving_ms=verdict["saving_ms"],
            top_finding=verdict["top_finding"],
            findings=findings.get(run["run_id"], []),
        )
        if detail:
            run["tick_ledger"] = sql.run(con, "report/ticks", {"run_id": run["run_id"]}).records()
            run["tool_timeline"] = sql.run(
                con, "report/tool_timeline", {"run_ids": [run["run_id"]]}
            ).records()
        runs.append(run)
    runs.sort(key=_sort_key(sort))
    distribution = sql.run(con, "diagnose/distribution").records()
    return Diagnosis(th, runs, distribution)


def _sort_key(sort: str) -> Any:
    if sort == "cost":
        return lambda r: (-(r["cost_usd"] or 0.0), r["started_at"] or "", r["run_id"])
    if sort == "saving":
        return lambda r: (
            -(r["saving_usd"] or 0.0),
            -(r["saving_ms"] or 0.0),
            r["started_at"] or "",
            r["run_id"],
        )
    return lambda r: (r["started_at"] or "", r["run_id"])


def failing_runs(diagnosis: Diagnosis, kinds: set[str]) -> list[tuple[str, str]]:
    """(run_id, kind) for every run whose bottleneck or a finding is one of `kinds`."""
    hits: list[tuple[str, str]] = []
    for run in diagnosis.runs:
        present = {run["bottleneck"]} | {f["kind"] for f in run["findings"]}
        hits.extend((run["run_id"], kind) for kind in sorted(present & kinds))
    return hits
