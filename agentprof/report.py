"""Gather everything the fleet report shows into one object; the HTML renderer (html.py) and
`report --json` both read it. No clock here: the generation time is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from agentprof import __version__, gate, spans, sql
from agentprof.diagnose import bounded_memory
from agentprof.gate import Filters

SORTS = ("cost", "saving", "ticks", "wall")
# Rows of the HTML runs table: the top runs by the drill-down sort; the others are summed into one
# "N more runs" row, so the page stays the same size however large the fleet (`report --json`
# and `runs --json` keep every run).
TABLE_RUNS = 200
# DuckDB's memory limit while the report is built (diagnose.DIAGNOSE_MEMORY_LIMIT explains why):
# smaller than the diagnosis's, since the report also holds every run's row in Python (3M spans:
# 0.94 GB peak, against 1.8 GB with the default 1 GB limit).
REPORT_MEMORY_LIMIT = "384MB"


@dataclass
class RunDetail:
    """One run's drill-down: its runs.sql row (plus bottleneck fields when diagnosed), its tick
    ledger, its tool calls and its findings."""

    run: dict[str, Any]
    ticks: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    findings: list[dict[str, Any]] = field(default_factory=list)
    # report/span_tree rows, capped and cut for the page (spans.HTML_*); not in `report --json`:
    # `agentprof spans RUN_ID --json` has every span whole.
    spans: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {**self.run, "ticks": self.ticks, "tool_calls": self.tools}


@dataclass
class Report:
    filters: Filters
    generated_at: str | None
    totals: dict[str, Any]
    runs: sql.Result
    by_agent: sql.Result
    by_model: sql.Result
    by_tool: sql.Result
    diagnosis: dict[str, Any] | None
    details: list[RunDetail]
    detail_sort: str
    comparison: gate.Comparison | None = None
    version: str = __version__
    # The runs table of the page: its rows, and the sums of the runs left out (None: none was).
    table: list[dict[str, Any]] = field(default_factory=list)
    rest: dict[str, Any] | None = None
    # top_savings(diagnosis), computed while the diagnosis still has every run's findings (build
    # keeps the findings of the drill-down runs only: they are most of its memory).
    savings: list[dict[str, Any]] | None = None

    def run_records(self) -> list[dict[str, Any]]:
        """Every selected run, with the diagnosis fields merged in when there is one."""
        records = self.runs.records()
        if self.diagnosis is None:
            return records
        by_id = {r["run_id"]: r for r in self.diagnosis["runs"]}
        return [{**r, **_diag_fields(by_id.get(r["run_id"]))} for r in records]

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "agentprof_version": self.version,
            "filters": self.filters.as_json(),
            "fleet_totals": self.totals,
            "distribution": self.diagnosis["distribution"] if self.diagnosis else None,
            "total_saving_usd": self.diagnosis["total_saving_usd"] if self.diagnosis else None,
            "total_saving_ms": self.diagnosis["total_saving_ms"] if self.diagnosis else None,
            "top_savings": self.savings,
            "cost_by_agent": self.by_agent.records(),
            "cost_by_model": self.by_model.records(),
            "time_by_tool": self.by_tool.records(),
            "runs": self.run_records(),
            "run_details": [d.as_json() for d in self.details],
            "comparison": self.comparison.as_json() if self.comparison else None,
        }


def _diag_fields(d: dict[str, Any] | None) -> dict[str, Any]:
    keys = ("bottleneck", "saving_usd", "saving_ms", "top_finding")
    return {k: (d or {}).get(k) for k in keys}


def top_savings(diagnosis: dict[str, Any] | None, limit: int = 10) -> list[dict[str, Any]] | None:
    """The levers that would save the most across the fleet: each run's primary finding grouped
    by kind and lever, with the runs they apply to and the summed saving (USD first, then ms).
    Secondary findings are left out, as in the total: a lever is never counted twice, so these
    rows add up to the possible saving."""
    if diagnosis is None:
        return None
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for run in diagnosis["runs"]:
        for f in run.get("findings", []):
            if not f.get("primary"):
                continue
            key = (f["kind"], f["lever"])
            g = groups.setdefault(
                key,
                {
                    "kind": f["kind"],
                    "lever": f["lever"],
                    "runs": 0,
                    "saving_usd": None,
                    "saving_ms": None,
                },
            )
            g["runs"] += 1
            for unit in ("saving_usd", "saving_ms"):
                if f.get(unit) is not None:
                    g[unit] = (g[unit] or 0.0) + float(f[unit])
    ranked = sorted(
        groups.values(),
        key=lambda g: (-(g["saving_usd"] or 0.0), -(g["saving_ms"] or 0.0), g["kind"], g["lever"]),
    )
    return ranked[:limit]


def _ranked(records: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    key_col = {"cost": "cost_usd", "saving": "saving_usd", "ticks": "ticks", "wall": "wall_ms"}[
        sort
    ]
    return sorted(
        records, key=lambda r: (-(r.get(key_col) or 0), r["started_at"] or "", r["run_id"])
    )


def _pick(records: list[dict[str, Any]], sort: str, top: int | None) -> list[str]:
    ranked = _ranked(records, sort)
    chosen = ranked if top is None else ranked[:top]
    return [r["run_id"] for r in chosen]


# Columns of the runs table summed over the runs it leaves out. A sum over runs none of which
# reports the column stays None (unknown, not 0).
REST_SUMS = ("ticks", "tool_calls", "cost_usd", "unpriced_ticks", "wall_ms", "saving_usd")


def table_rows(
    records: list[dict[str, Any]], sort: str, limit: int | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The runs table of the page: every run when they are `limit` or fewer (or `limit` is
    None), else the first `limit` runs by `sort`, in that order, and one summary of the rest: how
    many, and the sums of REST_SUMS (cost_usd sums the priced runs; unpriced_runs counts the runs
    with a tick that has no price)."""
    if limit is None or len(records) <= limit:
        return records, None
    ranked = _ranked(records, sort)
    shown, rest = ranked[:limit], ranked[limit:]
    summary: dict[str, Any] = {"runs": len(rest)}
    for col in REST_SUMS:
        values = [r.get(col) for r in rest if r.get(col) is not None]
        summary[col] = sum(values) if values else None
    summary["unpriced_runs"] = sum(1 for r in rest if r.get("unpriced_ticks"))
    return shown, summary


def build(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    top: int | None = 50,
    sort: str = "cost",
    generated_at: str | None = None,
    baseline: dict[str, Any] | None = None,
    table_runs: int | None = TABLE_RUNS,
) -> Report:
    """The whole report for the selected runs. `top` bounds the per-run drill-downs (None: all)
    chosen by `sort`; the runs table lists the first `table_runs` runs by the same sort, at least
    the drill-downs (every run when `top` or `table_runs` is None), and sums up the rest;
    `baseline` (metrics from gate.load_baseline) adds a "what changed" section."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}")
    with bounded_memory(con, REPORT_MEMORY_LIMIT):
        return _build(con, filters, top, sort, generated_at, baseline, table_runs)


def _build(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    top: int | None,
    sort: str,
    generated_at: str | None,
    baseline: dict[str, Any] | None,
    table_runs: int | None,
) -> Report:
    params = filters.params()
    totals = sql.run(con, "report/fleet_totals", params).records()[0]
    diag = gate.diagnosis(con, filters) if totals["runs"] else None
    savings = top_savings(diag)
    if sort == "saving" and diag is None:
        sort = "cost"  # no diagnosis, no savings to rank by
    findings: dict[str, list[dict[str, Any]]] = {}
    if diag is not None:
        # The drill-down runs (the same pick as from the runs below: the diagnosis has their
        # columns) keep their findings; the others' go, before the runs are fetched again.
        for rid in _pick(diag["runs"], sort, top):
            findings[rid] = []
        for r in diag["runs"]:
            found = r.pop("findings", [])
            if r["run_id"] in findings:
                findings[r["run_id"]] = found
    runs = sql.run(con, "report/runs", {**params, "sort": "cost", "run_id": None})
    report = Report(
        filters=filters,
        generated_at=generated_at,
        totals=totals,
        runs=runs,
        by_agent=sql.run(con, "report/cost_by_agent", params),
        by_model=sql.run(con, "report/cost_by_model", params),
        by_tool=sql.run(con, "report/time_by_tool", params),
        diagnosis=diag,
        details=[],
        detail_sort=sort,
        savings=savings,
    )
    records = report.run_records()
    chosen = _pick(records, sort, top)
    limit = None if top is None or table_runs is None else max(top, table_runs)
    report.table, report.rest = table_rows(records, sort, limit)
    ticks = sql.run(con, "report/tick_ledger", {"run_ids": chosen}).records()
    tools = sql.run(con, "report/tool_timeline", {"run_ids": chosen}).records()
    by_run: dict[str, RunDetail] = {}
    picked = set(chosen)
    rec_by_id = {r["run_id"]: r for r in records if r["run_id"] in picked}
    del records
    for rid in chosen:
        by_run[rid] = RunDetail(
            run=rec_by_id[rid], ticks=[], tools=[], findings=findings.get(rid, [])
        )
    for t in ticks:
        by_run[t["run_id"]].ticks.append(t)
    for c in tools:
        by_run[c["run_id"]].tools.append(c)
    for s in spans.span_rows(
        con,
        chosen,
        max_spans=spans.HTML_MAX_SPANS,
        message_chars=spans.HTML_MESSAGE_CHARS,
        value_chars=spans.HTML_VALUE_CHARS,
    ):
        by_run[s["run_id"]].spans.append(s)
    report.details = [by_run[rid] for rid in chosen]
    if baseline is not None and runs.rows:
        # the bottleneck shares from the diagnosis above, not from a second one
        metrics = gate.fleet_metrics(con, filters, with_diagnosis=False)
        metrics["bottlenecks"] = gate.bottleneck_shares(diag)
        report.comparison = gate.compare(baseline, metrics)
    return report
