"""Classify each run's bottleneck and name the lever, with evidence and savings. The rules are
SQL (queries/diagnose/rules/*.sql, one rule per file); this module runs them in order over a
scope of runs and assembles one result document."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from agentprof import sql, store
from agentprof.errors import InputError, read_toml
from agentprof.resources import data_dir
from agentprof.units import duration, money, plural

BOTTLENECKS = (
    "long_inputs",
    "context_growth",
    "too_many_ticks",
    "slow_tool",
    "slow_model",
    "untraced_gap",
    "healthy",
)
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
    "context_pressure",
    "cache_write_unpaid",
)
# Every name `--fail-on` accepts: the bottleneck classes and the findings (stable names).
KINDS = BOTTLENECKS[:-1] + FINDINGS
SORTS = ("cost", "saving", "started")
# Runs diagnosed at a time: the temporary tables hold one chunk's ticks and tool calls (about
# 250 MB for 35,000 runs of the bench data, i.e. 1M spans), so memory stays flat however large the
# fleet and the time grows with the number of runs. Smaller chunks cost more: each chunk scans the
# id columns of ticks, tool calls and spans again.
CHUNK_RUNS = 35_000
# DuckDB's memory limit while diagnosing, unless AGENTPROF_MEMORY_LIMIT sets one: a chunk's tables
# fit in it, and what DuckDB caches beyond it (blocks of the tables it read) would sit beside the
# Python objects of the result. Without it a fleet diagnosis of 3M spans peaked at 1.3 GB; with
# it, 0.85 GB for about 7% more CPU (blocks read again). The report, which holds more in Python,
# uses a smaller one (report.REPORT_MEMORY_LIMIT).
DIAGNOSE_MEMORY_LIMIT = "512MB"

# Temporary tables built once for the whole scope, in this order (see each file's header).
_SCOPE = ("macros", "scope", "batching_windows", "kept")
# Temporary tables the rules read, built for each chunk of the scope in this order.
_PREPARE = (
    "chunk",
    "tick_facts",
    "tool_ticks",
    "tool_repeats",
    "tool_kinds",
    "caps",
    "waste_ticks",
    "context",
    "model_spikes",
    "findings_table",
)


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
    waste_share: float = 0.10
    ticks_vs_median: float = 2.0
    min_comparable_runs: int = 3
    slow_tool_share: float = 0.5
    cache_broken_hit_ratio: float = 0.5
    cache_ttl_s: float = 300.0
    cache_ttl_1h_s: float = 3600.0
    slow_model_factor: float = 3.0
    slow_model_min_excess_ms: float = 1000.0
    slow_model_min_samples: int = 3
    slow_model_share: float = 0.5
    harness_share: float = 0.4
    untraced_share: float = 0.5
    context_min_ticks: int = 5
    context_history_share: float = 0.5
    context_compact_tokens: int = 80_000
    context_summary_tokens: int = 4_000
    context_pressure_share: float = 0.8
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


@dataclass(frozen=True)
class ToolRules:
    """The config's [tools] table: glob patterns (case-sensitive) of tool names a result cache may
    serve (`cacheable`) or must not (`stateful`), ahead of the built-in table and the name
    heuristics of queries/diagnose/tool_kinds.sql. A name matching both lists is stateful."""

    cacheable: tuple[str, ...] = ()
    stateful: tuple[str, ...] = ()

    def as_params(self) -> dict[str, list[str]]:
        return {"cacheable_tools": list(self.cacheable), "stateful_tools": list(self.stateful)}


def load_tool_rules(config: Path | None) -> ToolRules:
    """A TOML config file's [tools] table: `cacheable = [...]`, `stateful = [...]`."""
    if config is None:
        return ToolRules()
    table = read_toml(config, InputError).get("tools", {})
    where = str(config)
    if not isinstance(table, dict):
        raise InputError(where, "[tools] must be a table with cacheable and stateful lists")
    known = ("cacheable", "stateful")
    for key in table:
        if key not in known:
            raise InputError(where, f"unknown key {key!r} in [tools]", "known: " + ", ".join(known))
    lists: dict[str, tuple[str, ...]] = {}
    for key in known:
        value = table.get(key, [])
        if not isinstance(value, list):
            raise InputError(
                where, f"[tools] {key} must be a list of tool names or glob patterns, not {value!r}"
            )
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise InputError(
                    where, f"[tools] {key} must hold tool names or glob patterns, not {item!r}"
                )
            if item.count("[") != item.count("]"):
                raise InputError(where, f"[tools] {key}: {item!r} has an unclosed [ in its pattern")
        lists[key] = tuple(value)
    return ToolRules(**lists)


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
            "headline": headline(self),
            "thresholds": self.thresholds.as_json(),
            "runs": self.runs,
            "distribution": self.distribution,
            "total_saving_usd": self.total_saving_usd,
            "total_saving_ms": self.total_saving_ms,
        }


# The lever of each bottleneck class in a few words, for the headline.
LEVER_WORDS = {
    "long_inputs": "prompt caching of the replayed prefix",
    "context_growth": "compacting the context at a threshold",
    "too_many_ticks": "cutting the ticks the runs show to be waste",
    "slow_tool": "speeding up the slowest tool",
    "slow_model": "a timeout and retry for slow model calls",
    "untraced_gap": "tracing what fills the untraced gaps",
}


def headline(diagnosis: Diagnosis) -> list[str]:
    """Two or three sentences that say where the money and the time went and which lever saves
    most, weighted by cost and time (not by run counts). Every number is a sum over the runs of
    the diagnosis, so it agrees with the distribution and the totals."""
    runs = diagnosis.runs
    if not runs:
        return []
    cost = sum(r["cost_usd"] or 0.0 for r in runs)
    ticks = sum(r["ticks"] or 0 for r in runs)
    by_class: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_class.setdefault(r["bottleneck"], []).append(r)
    out = []
    money_parts = []
    for cls, members in sorted(
        by_class.items(), key=lambda kv: (-sum(r["cost_usd"] or 0.0 for r in kv[1]), kv[0])
    )[:3]:
        share = sum(r["cost_usd"] or 0.0 for r in members) / cost if cost else 0.0
        if cls == "healthy":
            money_parts.append(f"{share:.0%} to {plural(len(members), 'healthy run')}")
        else:
            what = cls.replace("_", " ")
            money_parts.append(f"{share:.0%} to {what} ({plural(len(members), 'run')})")
    unpriced = sum(1 for r in runs if r["unpriced_ticks"])
    tail = f"; {plural(unpriced, 'run')} not priced" if unpriced else ""
    out.append(
        f"{money(cost)} over {plural(len(runs), 'run')} and {plural(ticks, 'tick')}: "
        + ", ".join(money_parts)
        + tail
        + "."
    )
    wall = sum(r["wall_ms"] or 0.0 for r in runs)
    if wall > 0:
        split = {
            k: sum(r[f"{k}_ms"] or 0.0 for r in runs) / wall for k in ("model", "tool", "harness")
        }
        out.append(
            f"Wall-clock {duration(wall)} in all: model calls {split['model']:.0%}, tools "
            f"{split['tool']:.0%}, covered by no span {split['harness']:.0%}."
        )
    usd = {c: sum(r["saving_usd"] or 0.0 for r in m) for c, m in by_class.items() if c != "healthy"}
    ms = {c: sum(r["saving_ms"] or 0.0 for r in m) for c, m in by_class.items() if c != "healthy"}
    levers = []
    best_usd = max(usd, key=lambda c: (usd[c], c), default=None)
    if best_usd is not None and usd[best_usd] > 0:
        share = f" ({usd[best_usd] / cost:.0%} of the cost)" if cost else ""
        levers.append(
            f"{LEVER_WORDS.get(best_usd, best_usd)} saves {money(usd[best_usd])}{share} on "
            f"{plural(len(by_class[best_usd]), 'run')}"
        )
    best_ms = max(ms, key=lambda c: (ms[c], c), default=None)
    if best_ms is not None and ms[best_ms] > 0 and best_ms != best_usd:
        levers.append(
            f"{LEVER_WORDS.get(best_ms, best_ms)} saves {duration(ms[best_ms])} on "
            f"{plural(len(by_class[best_ms]), 'run')}"
        )
    if levers:
        out.append("Biggest lever: " + "; in time, ".join(levers) + ".")
    else:
        out.append("No lever saves anything measurable: no slice of these runs dominates.")
    return out


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
    tools: ToolRules | None = None,
    chunk_runs: int = CHUNK_RUNS,
) -> Diagnosis:
    """Diagnose the runs in scope, `chunk_runs` at a time. `detail` adds each run's tick ledger
    and tool calls (the one-run view)."""
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
        "chunk_runs": max(chunk_runs, 1),
        **th.as_json(),
        **(tools or ToolRules()).as_params(),
    }
    verdicts: dict[str, dict[str, Any]] = {}
    findings: dict[str, list[dict[str, Any]]] = {}
    with bounded_memory(con):
        for name in _SCOPE:
            sql.execute(con, f"diagnose/{name}", params)
        (chunks,) = sql.run(con, "diagnose/chunks").rows[0]
        for chunk in range(chunks):
            params["chunk"] = chunk
            for name in _PREPARE:
                sql.execute(con, f"diagnose/{name}", params)
            for rule in rule_names():
                sql.execute(con, rule, params)
            sql.execute(con, "diagnose/verdicts", params)
            sql.execute(con, "diagnose/keep", params)
            for row in sql.run(con, "diagnose/verdicts_list").records():
                verdicts[row["run_id"]] = row
            for row in sql.run(con, "diagnose/findings").records():
                findings.setdefault(row.pop("run_id"), []).append(row)
        distribution = sql.run(con, "diagnose/distribution").records()
        sql.execute(con, "diagnose/drop")
        run_rows = sql.run(con, "report/runs", params)
    runs = []
    # one dict at a time: the rows of a large fleet are not held twice
    while run_rows.rows:
        run = dict(zip(run_rows.columns, run_rows.rows.pop(), strict=True))
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
    return Diagnosis(th, runs, distribution)


_BOUNDED: set[int] = set()  # connections inside bounded_memory()


@contextlib.contextmanager
def bounded_memory(
    con: duckdb.DuckDBPyConnection, limit: str = DIAGNOSE_MEMORY_LIMIT
) -> Iterator[None]:
    """DuckDB's memory `limit` inside (unless AGENTPROF_MEMORY_LIMIT is set), then the limit every
    connection has (store.memory_limit(): DuckDB shows the limit rounded, so the value it shows
    would not restore it exactly). Nested uses keep the outer one's."""
    if os.environ.get("AGENTPROF_MEMORY_LIMIT") or id(con) in _BOUNDED:
        yield
        return
    sql.execute(con, "diagnose/set_memory_limit", {"memory_limit": limit})
    _BOUNDED.add(id(con))
    try:
        yield
    finally:
        _BOUNDED.discard(id(con))
        sql.execute(con, "diagnose/set_memory_limit", {"memory_limit": store.memory_limit()})


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
