"""The HTML renderer: the one jinja2 Environment (autoescape on) and the chart geometry the
templates in reports/ draw as inline SVG. One self-contained file: no network, no library."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from agentprof.diagnose import BOTTLENECKS
from agentprof.render import first_items, format_value, to_json
from agentprof.report import Report, RunDetail, top_savings
from agentprof.resources import data_dir

# Token classes in stacking order (bottom first), with their CSS class and legend label.
TOKEN_CLASSES = (
    ("input_uncached_tokens", "unc", "input (uncached)"),
    ("cache_write_5m_tokens", "w5", "cache write 5m"),
    ("cache_write_1h_tokens", "w1", "cache write 1h"),
    ("cache_read_tokens", "cr", "cache read"),
    ("output_tokens", "out", "output"),
)
CHART_W = 600.0
PAD_L, PAD_R, PAD_T, PAD_B = 56.0, 56.0, 10.0, 22.0
GANTT_ROWS = 40  # tool calls drawn per run; the rest are counted in a note


def _r(v: float) -> float:
    return round(v, 1)


@dataclass
class Chart:
    """An SVG drawing: groups of shapes, each group with an optional hover title."""

    name: str
    width: float
    height: float
    groups: list[dict[str, Any]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    label: str = ""


def _nice_max(v: float) -> float:
    """The smallest 1/2/2.5/5 × 10^k at or above v: a round top for an axis."""
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for step in (1, 2, 2.5, 5):
        if step * mag >= v:
            return float(step * mag)
    return float(10 * mag)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _tip(pairs: list[tuple[str, str, Any]]) -> str:
    return "\n".join(f"{label}: {format_value(col, val) or '—'}" for label, col, val in pairs)


def tick_chart(detail: RunDetail) -> Chart:
    """Per-tick stacked token bars with the cumulative cost line on the right axis."""
    ticks = detail.ticks
    height = 200.0
    chart = Chart("tick_ledger", CHART_W, height, label="tokens per tick by class; cumulative cost")
    if not ticks:
        chart.note = "no ticks"
        return chart
    plot_w = CHART_W - PAD_L - PAD_R
    plot_h = height - PAD_T - PAD_B
    totals = [sum(t[c] or 0 for c, _, _ in TOKEN_CLASSES) for t in ticks]
    ymax = _nice_max(max(totals))
    cmax_raw = max((t["cumulative_cost_usd"] or 0.0) for t in ticks)
    cmax = _nice_max(cmax_raw) if cmax_raw > 0 else 0.0
    slot = plot_w / len(ticks)
    bar_w = max(slot * 0.7, 1.0)
    points = []
    for i, t in enumerate(ticks):
        x = PAD_L + i * slot + (slot - bar_w) / 2
        y = PAD_T + plot_h
        shapes = []
        for col, css, _ in TOKEN_CLASSES:
            v = t[col] or 0
            if v <= 0:
                continue
            h = v / ymax * plot_h
            y -= h
            shapes.append(
                {
                    "kind": "rect",
                    "x": _r(x),
                    "y": _r(y),
                    "w": _r(bar_w),
                    "h": _r(max(h, 0.5)),
                    "cls": css,
                }
            )
        title = _tip(
            [("tick", "tick", t["tick"]), ("model", "model", t["model"])]
            + [(label, col, t[col]) for col, _, label in TOKEN_CLASSES]
            + [
                ("cost", "cost_usd", t["cost_usd"]),
                ("cumulative cost", "cost_usd", t["cumulative_cost_usd"]),
                ("latency", "latency_ms", t["latency_ms"]),
                ("cache hit", "cache_hit_ratio", t["cache_hit_ratio"]),
            ]
        )
        chart.groups.append({"cls": "tick", "title": title, "shapes": shapes})
        if cmax and t["cumulative_cost_usd"] is not None:
            cy = PAD_T + plot_h - t["cumulative_cost_usd"] / cmax * plot_h
            points.append((_r(x + bar_w / 2), _r(cy)))
    if points:
        chart.lines.append({"cls": "cum", "points": " ".join(f"{x},{y}" for x, y in points)})
        chart.groups.append(
            {
                "cls": "cumdots",
                "title": None,
                "shapes": [
                    {"kind": "circle", "x": x, "y": y, "r": 2.5, "cls": "cum"} for x, y in points
                ],
            }
        )
    _axes(chart, plot_h, [(ymax, "output_tokens", "left"), (cmax, "cost_usd", "right")])
    chart.texts.append({"x": PAD_L, "y": height - 6, "text": "tick 1", "anchor": "start"})
    chart.texts.append(
        {"x": CHART_W - PAD_R, "y": height - 6, "text": f"tick {len(ticks)}", "anchor": "end"}
    )
    return chart


def _axes(chart: Chart, plot_h: float, scales: list[tuple[float, str, str]]) -> None:
    base = PAD_T + plot_h
    chart.lines.append(
        {"cls": "axis", "points": f"{PAD_L},{PAD_T} {PAD_L},{base} {CHART_W - PAD_R},{base}"}
    )
    for vmax, col, side in scales:
        if not vmax:
            continue
        x = PAD_L - 4 if side == "left" else CHART_W - PAD_R + 4
        anchor = "end" if side == "left" else "start"
        chart.texts.append(
            {"x": x, "y": PAD_T + 8, "text": format_value(col, vmax), "anchor": anchor}
        )
        chart.texts.append({"x": x, "y": base, "text": "0", "anchor": anchor})


def gantt_chart(detail: RunDetail) -> Chart:
    """Model calls on the first row, then one row per tool call in start order: serial calls and
    calls that overlapped another (ran in parallel) in different colours, on the run's clock."""
    wall = float(detail.run.get("wall_ms") or 0.0)
    tools = detail.tools[:GANTT_ROWS]
    row_h, gap = 14.0, 4.0
    rows = 1 + len(tools)
    height = PAD_T + rows * (row_h + gap) + PAD_B
    chart = Chart("tool_gantt", CHART_W, height, label="model calls and tool calls over the run")
    if len(detail.tools) > GANTT_ROWS:
        chart.note = f"{len(detail.tools) - GANTT_ROWS} later tool calls not drawn"
    label_w = 150.0
    plot_x0 = label_w
    plot_w = CHART_W - label_w - 10
    span = (
        max(
            [wall]
            + [(t["offset_ms"] or 0) + (t["latency_ms"] or 0) for t in detail.ticks]
            + [(c["offset_ms"] or 0) + (c["duration_ms"] or 0) for c in tools]
        )
        or 1.0
    )

    def x_of(ms: float) -> float:
        return _r(plot_x0 + max(ms, 0.0) / span * plot_w)

    y = PAD_T
    chart.texts.append({"x": label_w - 6, "y": y + row_h - 3, "text": "model", "anchor": "end"})
    for t in detail.ticks:
        x0 = x_of(t["offset_ms"] or 0)
        x1 = x_of((t["offset_ms"] or 0) + (t["latency_ms"] or 0))
        chart.groups.append(
            {
                "cls": "gmodel",
                "title": _tip(
                    [
                        ("tick", "tick", t["tick"]),
                        ("model", "model", t["model"]),
                        ("start", "offset_ms", t["offset_ms"]),
                        ("latency", "latency_ms", t["latency_ms"]),
                    ]
                ),
                "shapes": [
                    {
                        "kind": "rect",
                        "x": x0,
                        "y": _r(y),
                        "w": _r(max(x1 - x0, 1.0)),
                        "h": row_h,
                        "cls": "model",
                    }
                ],
            }
        )
    for c in tools:
        y += row_h + gap
        name = c["tool_name"] or "(unnamed)"
        chart.texts.append(
            {"x": label_w - 6, "y": _r(y + row_h - 3), "text": _short(name, 28), "anchor": "end"}
        )
        x0 = x_of(c["offset_ms"] or 0)
        x1 = x_of((c["offset_ms"] or 0) + (c["duration_ms"] or 0))
        css = "par" if c["overlapped"] else "ser"
        if c["status"] == "error":
            css += " err"
        chart.groups.append(
            {
                "cls": "gtool",
                "title": _tip(
                    [
                        ("tool", "tool_name", name),
                        ("tick", "tick", c["tick"]),
                        ("start", "offset_ms", c["offset_ms"]),
                        ("duration", "duration_ms", c["duration_ms"]),
                        ("status", "status", c["status"]),
                        ("ran", "ran", "in parallel" if c["overlapped"] else "alone"),
                        ("same arguments", "repeats", c["repeats"]),
                    ]
                ),
                "shapes": [
                    {
                        "kind": "rect",
                        "x": x0,
                        "y": _r(y),
                        "w": _r(max(x1 - x0, 1.0)),
                        "h": row_h,
                        "cls": css,
                    }
                ],
            }
        )
    base = y + row_h + gap
    chart.lines.append(
        {"cls": "axis", "points": f"{plot_x0},{_r(base)} {plot_x0 + plot_w},{_r(base)}"}
    )
    chart.texts.append({"x": plot_x0, "y": _r(base + 14), "text": "0", "anchor": "start"})
    chart.texts.append(
        {
            "x": plot_x0 + plot_w,
            "y": _r(base + 14),
            "text": format_value("wall_ms", span),
            "anchor": "end",
        }
    )
    return chart


def cache_chart(detail: RunDetail) -> Chart:
    """The cache hit ratio of each tick (cache reads ÷ its input tokens), 0–100%."""
    height = 110.0
    chart = Chart("cache_hit_ratio", CHART_W, height, label="cache hit ratio per tick")
    ticks = detail.ticks
    if not ticks or all(t["cache_hit_ratio"] is None for t in ticks):
        chart.note = "no tick reported cache token counts (not reported, not 0%)"
        return chart
    plot_w = CHART_W - PAD_L - PAD_R
    plot_h = height - PAD_T - PAD_B
    slot = plot_w / len(ticks)
    bar_w = max(slot * 0.7, 1.0)
    for i, t in enumerate(ticks):
        v = t["cache_hit_ratio"]
        if v is None:
            continue
        h = max(v * plot_h, 0.5)
        x = PAD_L + i * slot + (slot - bar_w) / 2
        chart.groups.append(
            {
                "cls": "hit",
                "title": _tip([("tick", "tick", t["tick"]), ("cache hit", "cache_hit_ratio", v)]),
                "shapes": [
                    {
                        "kind": "rect",
                        "x": _r(x),
                        "y": _r(PAD_T + plot_h - h),
                        "w": _r(bar_w),
                        "h": _r(h),
                        "cls": "hit",
                    }
                ],
            }
        )
    _axes(chart, plot_h, [(1.0, "cache_hit_ratio", "left")])
    return chart


def hbar_chart(
    name: str, label: str, rows: Sequence[tuple[str, float | None, str]], unit_col: str
) -> Chart:
    """Horizontal bars: (label, value, tooltip) rows; None values are drawn as "not reported"."""
    row_h, gap = 16.0, 6.0
    height = PAD_T + len(rows) * (row_h + gap) + 6
    chart = Chart(name, CHART_W, height, label=label)
    label_w, value_w = 190.0, 90.0
    plot_w = CHART_W - label_w - value_w
    vmax = max([v for _, v, _ in rows if v is not None] + [0.0])
    scale = 1.0 if unit_col.endswith("_ratio") else (vmax or 1.0)
    for i, (text, v, tip) in enumerate(rows):
        y = PAD_T + i * (row_h + gap)
        chart.texts.append(
            {"x": label_w - 6, "y": _r(y + row_h - 4), "text": _short(text, 30), "anchor": "end"}
        )
        shown = format_value(unit_col, v) if v is not None else "not reported"
        chart.texts.append(
            {"x": CHART_W - value_w + 6, "y": _r(y + row_h - 4), "text": shown, "anchor": "start"}
        )
        w = (v or 0.0) / scale * plot_w
        chart.groups.append(
            {
                "cls": "hbar",
                "title": tip,
                "shapes": [
                    {
                        "kind": "rect",
                        "x": label_w,
                        "y": _r(y),
                        "w": _r(max(w, 1.0) if v else 0.0),
                        "h": row_h,
                        "cls": name,
                    }
                ],
            }
        )
    return chart


def fleet_charts(report: Report) -> dict[str, Chart]:
    charts: dict[str, Chart] = {}
    if report.diagnosis is not None:
        dist = {d["bottleneck"]: d for d in report.diagnosis["distribution"]}
        rows = []
        for cls in BOTTLENECKS + tuple(sorted(set(dist) - set(BOTTLENECKS))):
            d = dist.get(cls, {"runs": 0, "cost_usd": None, "saving_usd": None})
            tip = _tip(
                [
                    ("bottleneck", "bottleneck", cls),
                    ("runs", "ticks", d["runs"]),
                    ("cost", "cost_usd", d.get("cost_usd")),
                    ("saving", "saving_usd", d.get("saving_usd")),
                ]
            )
            rows.append((cls, float(d["runs"]), tip))
        charts["distribution"] = hbar_chart(
            "distribution", "runs per bottleneck class", rows, "runs"
        )
    agents = report.by_agent.records()
    charts["cost_by_agent"] = hbar_chart(
        "cost_by_agent",
        "cost by agent",
        [
            (
                a["agent"] or "(no agent)",
                a["cost_usd"],
                _tip(
                    [
                        ("agent", "agent", a["agent"]),
                        ("runs", "ticks", a["runs"]),
                        ("cost", "cost_usd", a["cost_usd"]),
                        ("cost per run", "cost_usd", a["cost_per_run_usd"]),
                        ("wall p50", "wall_ms", a["wall_p50_ms"]),
                        ("wall p95", "wall_ms", a["wall_p95_ms"]),
                    ]
                ),
            )
            for a in agents[:20]
        ],
        "cost_usd",
    )
    models = report.by_model.records()
    charts["cache_hit_by_model"] = hbar_chart(
        "cache_hit_by_model",
        "cache hit ratio by model",
        [
            (
                m["model"] or "(no model)",
                m["cache_hit_ratio"],
                _tip(
                    [
                        ("model", "model", m["model"]),
                        ("ticks", "ticks", m["ticks"]),
                        ("cache hit", "cache_hit_ratio", m["cache_hit_ratio"]),
                        (
                            "cache reads per write",
                            "cache_read_write_ratio",
                            m["cache_read_write_ratio"],
                        ),
                        ("break-even", "cache_break_even_ratio", m["cache_break_even_ratio"]),
                        ("cache read", "cache_read_tokens", m["cache_read_tokens"]),
                        ("input uncached", "input_uncached_tokens", m["input_uncached_tokens"]),
                    ]
                ),
            )
            for m in models[:20]
        ],
        "cache_hit_ratio",
    )
    return charts


def _fmt(value: Any, column: str) -> str:
    return (
        format_value(column, value)
        if value is not None or column.endswith(("_tokens", "_usd", "_ms", "_ratio"))
        else "—"
    )


NUMERIC_COLUMNS = frozenset(
    {
        "runs",
        "ticks",
        "tool_calls",
        "calls",
        "failed_calls",
        "repeated_calls",
        "old_runs",
        "new_runs",
    }
)


def _numeric(column: str) -> bool:
    return column.endswith(("_tokens", "_usd", "_ms", "_ratio")) or column in NUMERIC_COLUMNS


def _header(column: str) -> str:
    for suffix in ("_tokens", "_usd", "_ms", "_ratio"):
        if column.endswith(suffix) and column != suffix:
            column = column[: -len(suffix)]
    return column.replace("_", " ")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["header"] = _header
    env.filters["first_items"] = first_items
    env.tests["numeric_col"] = _numeric
    env.globals["TOKEN_CLASSES"] = TOKEN_CLASSES
    return env


def render_report(report: Report) -> str:
    """The whole report as one HTML document (CSS and script inlined, no external resource)."""
    details = [
        {
            "detail": d,
            "run": d.run,
            "charts": [tick_chart(d), gantt_chart(d), cache_chart(d)],
        }
        for d in report.details
    ]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            totals=report.totals,
            runs=report.run_records(),
            agents=report.by_agent.records(),
            models=report.by_model.records(),
            tools=report.by_tool.records(),
            charts=fleet_charts(report),
            savings=top_savings(report.diagnosis),
            details=details,
            comparison=report.comparison,
            filters=json.loads(to_json(report.filters.as_json())),
        )
    )
