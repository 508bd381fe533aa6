"""Gather everything the fleet report shows into one object; the HTML renderer (html.py) and
`report --json` both read it. No clock here: the generation time is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from agentprof import __version__, gate, spans, sql
from agentprof.gate import Filters

SORTS = ("cost", "saving", "ticks", "wall")


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
            "top_savings": top_savings(self.diagnosis),
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


def _pick(records: list[dict[str, Any]], sort: str, top: int | None) -> list[str]:
    key_col = {"cost": "cost_usd", "saving": "saving_usd", "ticks": "ticks", "wall": "wall_ms"}[
        sort
    ]
    ranked = sorted(
        records, key=lambda r: (-(r.get(key_col) or 0), r["started_at"] or "", r["run_id"])
    )
    chosen = ranked if top is None else ranked[:top]
    return [r["run_id"] for r in chosen]


def build(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    top: int | None = 50,
    sort: str = "cost",
    generated_at: str | None = None,
    baseline: dict[str, Any] | None = None,
) -> Report:
    """The whole report for the selected runs. `top` bounds the per-run drill-downs (None: all)
    chosen by `sort`; `baseline` (metrics from gate.load_baseline) adds a "what changed" section."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}")
    params = filters.params()
    totals = sql.run(con, "report/fleet_totals", params).records()[0]
    runs = sql.run(con, "report/runs", {**params, "sort": "cost"})
    diag = gate.diagnosis(con, filters) if runs.rows else None
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
    )
    records = report.run_records()
    if sort == "saving" and diag is None:
        sort = "cost"  # no diagnosis, no savings to rank by
    report.detail_sort = sort
    chosen = _pick(records, sort, top)
    ticks = sql.run(con, "report/tick_ledger", {"run_ids": chosen}).records()
    tools = sql.run(con, "report/tool_timeline", {"run_ids": chosen}).records()
    by_run: dict[str, RunDetail] = {}
    rec_by_id = {r["run_id"]: r for r in records}
    diag_by_id = {r["run_id"]: r for r in (diag or {"runs": []})["runs"]}
    for rid in chosen:
        by_run[rid] = RunDetail(
            run=rec_by_id[rid],
            ticks=[],
            tools=[],
            findings=list(diag_by_id.get(rid, {}).get("findings", [])),
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
        report.comparison = gate.compare(baseline, gate.fleet_metrics(con, filters))
    return report
