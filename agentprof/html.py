"""The HTML renderer: the one jinja2 Environment (autoescape on) and the chart geometry the
templates in reports/ draw as inline SVG. One self-contained file: no network, no library."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from agentprof import __version__, spans
from agentprof.compare_runs import RunComparison
from agentprof.render import first_items, format_value, to_json
from agentprof.report import Report, RunDetail
from agentprof.resources import data_dir
from agentprof.units import plural

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
# The run timeline: full report width, one lane per tool up to TIMELINE_LANES (then one "other"
# lane), and a zoomed second view of the busiest stretch once a run has more than ZOOM_MIN_SPANS
# model and tool calls (below that the whole-run view is readable on its own).
TIMELINE_W = 1200.0
TIMELINE_LANES = 12
ZOOM_MIN_SPANS = 40
TL_LABEL_W = 210.0
LANE_H, LANE_GAP = 14.0, 4.0


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
                ("time to first token", "ttft_ms", t.get("ttft_ms")),
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


def _clock(ms: float) -> str:
    """A compact axis label: 0, 45 s, 2 min, 1 min 30 s, 1 h 5 min."""
    s = round(ms / 1000)
    if ms < 1000:
        return f"{ms:.0f} ms" if ms else "0"
    if ms < 60_000 and round(ms) % 1000:  # a sub-second gridline step: 1.5 s, not 2 s
        return f"{ms / 1000:.1f} s"
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min" + (f" {s} s" if s else "")
    h, m = divmod(m, 60)
    return f"{h} h" + (f" {m} min" if m else "")


_GRID_STEPS_MS = tuple(
    v * unit
    for unit, values in ((1, (1, 2, 5, 10, 20, 50, 100, 200, 500)), (1000, (1, 2, 5, 10, 15, 30)))
    for v in values
) + tuple(m * 60_000 for m in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600))


def _grid_step(span_ms: float) -> float:
    """The smallest round step that puts at most 10 gridlines across `span_ms`."""
    return float(next((s for s in _GRID_STEPS_MS if span_ms / s <= 10), _GRID_STEPS_MS[-1]))


def _run_span(detail: RunDetail) -> float:
    return (
        max(
            [float(detail.run.get("wall_ms") or 0.0)]
            + [(t["offset_ms"] or 0) + (t["latency_ms"] or 0) for t in detail.ticks]
            + [(c["offset_ms"] or 0) + (c["duration_ms"] or 0) for c in detail.tools]
        )
        or 1.0
    )


def _tool_lanes(tools: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(label, hover title, calls): one lane per tool, busiest (most time, then most calls) first;
    past TIMELINE_LANES tools the rest share one "other" lane, so every call is drawn."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for c in tools:
        by_name.setdefault(c["tool_name"] or "(unnamed)", []).append(c)
    ranked = sorted(
        by_name.items(),
        key=lambda kv: (-sum(c["duration_ms"] or 0 for c in kv[1]), -len(kv[1]), kv[0]),
    )
    lanes = [(_short(name, 28), f"{name}: {len(calls)} call(s)", calls) for name, calls in ranked]
    if len(ranked) <= TIMELINE_LANES + 1:
        return lanes
    rest = ranked[TIMELINE_LANES:]
    others = sorted(
        (c for _, calls in rest for c in calls), key=lambda c: (c["offset_ms"] or 0, c["span_id"])
    )
    title = "other tools: " + ", ".join(f"{n} ({len(cs)})" for n, cs in rest)
    return [*lanes[:TIMELINE_LANES], (f"{len(rest)} other tools", title, others)]


def busiest_window(detail: RunDetail) -> tuple[float, float] | None:
    """The stretch of the run (an eighth of it) where the most ticks and tool calls start, for
    the zoomed view; None when the run is short enough to read at full scale."""
    starts = sorted(
        [t["offset_ms"] or 0.0 for t in detail.ticks]
        + [c["offset_ms"] or 0.0 for c in detail.tools]
    )
    if len(starts) <= ZOOM_MIN_SPANS:
        return None
    span = _run_span(detail)
    width = span / 8
    best, best_n, j = 0.0, -1, 0
    for i, s in enumerate(starts):
        j = max(j, i)
        while j < len(starts) and starts[j] < s + width:
            j += 1
        if j - i > best_n:
            best, best_n = s, j - i
    start = max(min(best, span - width), 0.0)
    return (start, start + width)


def timeline_chart(
    detail: RunDetail,
    window: tuple[float, float] | None = None,
    mark: tuple[float, float] | None = None,
) -> Chart:
    """The whole run on one clock: model calls on the first lane, then one lane per tool holding
    every call (serial and parallel calls in their own colours), the critical path, and how many
    tool calls ran at once. With `window`, the same lanes zoomed to that stretch; `mark` shades
    the stretch the zoomed view shows."""
    span = _run_span(detail)
    t0, t1 = window if window else (0.0, span)
    zoom = window is not None
    name = "busiest_window" if zoom else "run_timeline"
    prefix = "z" if zoom else "g"  # zoomed shapes get their own group classes
    tools = detail.tools
    lanes = _tool_lanes(tools)
    plot_x0, plot_w = TL_LABEL_W, TIMELINE_W - TL_LABEL_W - 40
    conc_h = 30.0
    n_lanes = 1 + len(lanes)
    top = PAD_T
    cp_y = top + n_lanes * (LANE_H + LANE_GAP)
    conc_y = cp_y + LANE_H + LANE_GAP
    base = conc_y + conc_h + 4
    height = base + PAD_B
    if zoom:
        label = f"zoom: {_clock(t0)} – {_clock(t1)}, the busiest eighth of the run"
    else:
        label = "the whole run: model calls, every tool call by tool, critical path, concurrency"
    chart = Chart(name, TIMELINE_W, height, label=label)

    def x_of(ms: float) -> float:
        return _r(plot_x0 + min(max((ms - t0) / ((t1 - t0) or 1.0), 0.0), 1.0) * plot_w)

    def inside(start: float, dur: float) -> bool:
        return start <= t1 and start + dur >= t0

    def bar(start: float, dur: float, y: float, h: float, css: str) -> dict[str, Any]:
        x0, x1 = x_of(start), x_of(start + dur)
        return {"kind": "rect", "x": x0, "y": _r(y), "w": _r(max(x1 - x0, 1.5)), "h": h, "cls": css}

    if mark is not None:
        chart.groups.append(
            {
                "cls": "zoomband",
                "title": f"zoomed below: {_clock(mark[0])} – {_clock(mark[1])}",
                "shapes": [
                    {
                        "kind": "rect",
                        "x": x_of(mark[0]),
                        "y": _r(top - 4),
                        "w": _r(x_of(mark[1]) - x_of(mark[0])),
                        "h": _r(base - top),
                        "cls": "zoomband",
                    }
                ],
            }
        )
    # gridlines and time labels first, so bars draw over them
    step = _grid_step(t1 - t0)
    g = math.ceil(t0 / step) * step
    while g <= t1 + 1e-6:
        x = x_of(g)
        chart.groups.append(
            {
                "cls": "grid",
                "title": None,
                "shapes": [
                    {
                        "kind": "rect",
                        "x": x,
                        "y": _r(top - 2),
                        "w": 0.6,
                        "h": _r(base - top + 2),
                        "cls": "grid",
                    }
                ],
            }
        )
        anchor = "start" if x <= plot_x0 + 1 else ("end" if x >= plot_x0 + plot_w - 1 else "middle")
        chart.texts.append({"x": x, "y": _r(base + 14), "text": _clock(g), "anchor": anchor})
        g += step

    y = top
    n_ticks = sum(1 for t in detail.ticks if inside(t["offset_ms"] or 0, t["latency_ms"] or 0))
    chart.texts.append(
        {"x": plot_x0 - 40, "y": _r(y + LANE_H - 3), "text": "model calls", "anchor": "end"}
    )
    chart.texts.append(
        {"x": plot_x0 - 6, "y": _r(y + LANE_H - 3), "text": f"{n_ticks}", "anchor": "end"}
    )
    for t in detail.ticks:
        start, dur = t["offset_ms"] or 0.0, t["latency_ms"] or 0.0
        if not inside(start, dur):
            continue
        chart.groups.append(
            {
                "cls": prefix + "model",
                "title": _tip(
                    [
                        ("tick", "tick", t["tick"]),
                        ("model", "model", t["model"]),
                        ("start", "offset_ms", t["offset_ms"]),
                        ("latency", "latency_ms", t["latency_ms"]),
                        ("time to first token", "ttft_ms", t.get("ttft_ms")),
                    ]
                ),
                "shapes": [bar(start, dur, y, LANE_H, "model")],
            }
        )
    for lane_label, lane_title, calls in lanes:
        y += LANE_H + LANE_GAP
        chart.texts.append(
            {"x": plot_x0 - 40, "y": _r(y + LANE_H - 3), "text": lane_label, "anchor": "end"}
        )
        chart.texts.append(  # the lane's call count, in a column of its own
            {
                "x": plot_x0 - 6,
                "y": _r(y + LANE_H - 3),
                # calls in view: the whole run, or the zoomed window
                "text": str(
                    sum(1 for c in calls if inside(c["offset_ms"] or 0, c["duration_ms"] or 0))
                ),
                "anchor": "end",
            }
        )
        chart.lines.append(
            {
                "cls": "lane",
                "points": f"{plot_x0},{_r(y + LANE_H + 1)} {plot_x0 + plot_w},{_r(y + LANE_H + 1)}",
            }
        )
        chart.groups.append(  # hover the lane's label: which tools it holds
            {
                "cls": "lanelabel",
                "title": lane_title,
                "shapes": [
                    {"kind": "rect", "x": 0, "y": _r(y), "w": plot_x0, "h": LANE_H, "cls": "hot"}
                ],
            }
        )
        for c in calls:
            start, dur = c["offset_ms"] or 0.0, c["duration_ms"] or 0.0
            if not inside(start, dur):
                continue
            css = "par" if c["overlapped"] else "ser"
            if c["status"] == "error":
                css += " err"
            chart.groups.append(
                {
                    "cls": prefix + "tool",
                    "title": _tip(
                        [
                            ("tool", "tool_name", c["tool_name"] or "(unnamed)"),
                            ("tick", "tick", c["tick"]),
                            ("start", "offset_ms", c["offset_ms"]),
                            ("duration", "duration_ms", c["duration_ms"]),
                            ("status", "status", c["status"]),
                            ("ran", "ran", "in parallel" if c["overlapped"] else "alone"),
                            ("critical path", "critical", "yes" if c.get("critical") else "no"),
                            ("same arguments", "repeats", c["repeats"]),
                        ]
                    ),
                    # a critical call is underlined in the critical path's colour in its lane
                    "shapes": [bar(start, dur, y, LANE_H, css)]
                    + ([bar(start, dur, y + LANE_H, 2.5, "cp")] if c.get("critical") else []),
                }
            )
    # The critical path: every tick, and the tool call each tick's successor waited on.
    chart.texts.append(
        {"x": plot_x0 - 6, "y": _r(cp_y + LANE_H - 3), "text": "critical path", "anchor": "end"}
    )
    path = [(t["offset_ms"] or 0.0, t["latency_ms"] or 0.0) for t in detail.ticks] + [
        (c["offset_ms"] or 0.0, c["duration_ms"] or 0.0) for c in tools if c.get("critical")
    ]
    on_path = [p for p in path if inside(*p)]
    crit_ms = sum(c["duration_ms"] or 0.0 for c in tools if c.get("critical"))
    chart.groups.append(
        {
            "cls": "cpath",
            "title": f"critical path: {len(detail.ticks)} model calls and"
            f" {sum(1 for c in tools if c.get('critical'))} tool calls"
            f" ({_clock(crit_ms)} of tool time) the run waited on",
            "shapes": [bar(s, d, cp_y + 3, LANE_H - 6, "cp") for s, d in on_path],
        }
    )
    # Concurrency: a step line of the tool calls running at each moment.
    events: list[tuple[float, int]] = []
    for c in tools:
        if c["status"] == "user_wait":
            continue
        s, d = c["offset_ms"] or 0.0, c["duration_ms"] or 0.0
        if d > 0:
            events += [(s, 1), (s + d, -1)]
    events.sort(key=lambda e: (e[0], e[1]))
    peak = max([c.get("concurrency") or 0 for c in tools] + [0])
    level, points = 0, [(t0, 0)]
    for at, delta in events:
        points.append((at, level))
        level += delta
        points.append((at, level))
    points.append((t1, 0))
    scale = max(peak, 1)
    pts = []
    for at, lv in points:
        pts.append(f"{x_of(at)},{_r(conc_y + conc_h - lv / scale * conc_h)}")
    chart.lines.append({"cls": "conc", "points": " ".join(pts)})
    peak_at = next((c["offset_ms"] or 0.0 for c in tools if (c.get("concurrency") or 0) == peak), 0)
    chart.texts.append(
        {"x": plot_x0 - 6, "y": _r(conc_y + 12), "text": "tools at once", "anchor": "end"}
    )
    chart.texts.append(
        {
            "x": plot_x0 - 6,
            "y": _r(conc_y + 25),
            "text": (f"max {peak}" + (f" at {_clock(peak_at)}" if peak > 1 else ""))
            if peak
            else "no tool calls",
            "anchor": "end",
        }
    )
    chart.lines.append(
        {"cls": "axis", "points": f"{plot_x0},{_r(base)} {plot_x0 + plot_w},{_r(base)}"}
    )
    if zoom:
        n_calls = sum(1 for c in tools if inside(c["offset_ms"] or 0, c["duration_ms"] or 0))
        chart.note = (
            f"{n_ticks} of {len(detail.ticks)} model calls and {n_calls} of {len(tools)} tool"
            " calls fall in this window (shaded above)"
        )
    else:
        chart.note = (
            f"every call drawn: {len(detail.ticks)} model calls, {len(tools)} tool calls in"
            f" {len(lanes)} tool lane(s); peak {peak} tool call(s) at once; hover a bar for numbers"
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
            # 26 characters of 11 px text fit the 184 px left of the bars (30 ran past the
            # left edge for hex ids); the table beside the chart names it in full.
            {"x": label_w - 6, "y": _r(y + row_h - 4), "text": _short(text, 26), "anchor": "end"}
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
        # Weighted by cost and by wall-clock, costliest class first: run counts are in the tips.
        dist = {d["bottleneck"]: d for d in report.diagnosis["distribution"]}
        wall: dict[str, float] = {}
        for r in report.diagnosis["runs"]:
            wall[r["bottleneck"]] = wall.get(r["bottleneck"], 0.0) + (r["wall_ms"] or 0.0)
        order = [d["bottleneck"] for d in report.diagnosis["distribution"]]
        for name, column, title in (
            ("distribution", "cost_usd", "cost per bottleneck class"),
            ("distribution_wall", "wall_ms", "wall-clock per bottleneck class"),
        ):
            rows = []
            for cls in order:
                d = dist[cls]
                value = (
                    float(d.get("cost_usd") or 0.0) if column == "cost_usd" else wall.get(cls, 0.0)
                )
                tip = _tip(
                    [
                        ("bottleneck", "bottleneck", cls),
                        ("runs", "ticks", d["runs"]),
                        ("cost", "cost_usd", d.get("cost_usd")),
                        ("wall-clock", "wall_ms", wall.get(cls)),
                        ("saving", "saving_usd", d.get("saving_usd")),
                        ("saving", "saving_ms", d.get("saving_ms")),
                    ]
                )
                rows.append((f"{cls} ({plural(int(d['runs']), 'run')})", value, tip))
            charts[name] = hbar_chart(name, title, rows, column)
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


# Control characters in trace text (ESC, BEL, CR …) show as `\x1b`-style escapes, as in the
# terminal; newlines and tabs stay, since prompts are shown as preformatted text.
_HTML_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(value: Any) -> str:
    """Trace text with control characters made visible (autoescape still applies after)."""
    if value is None:
        return ""
    return _HTML_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


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
    # Savings come in money and in time: the header says which.
    if column in ("saving_usd", "saving_ms"):
        return "saving $" if column == "saving_usd" else "saving time"
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
    env.filters["visible"] = _visible
    env.filters["plural"] = plural
    env.tests["numeric_col"] = _numeric
    env.globals["TOKEN_CLASSES"] = TOKEN_CLASSES
    return env


def _run_charts(detail: RunDetail) -> list[Chart]:
    """A run's drill-down: the whole-run timeline (and its busiest stretch zoomed when the run is
    long) across the page, then the per-tick ledger and cache ratio side by side."""
    window = busiest_window(detail)
    charts = [timeline_chart(detail, mark=window)]
    if window is not None:
        charts.append(timeline_chart(detail, window=window))
    return [*charts, tick_chart(detail), cache_chart(detail)]


def render_compare(comparison: RunComparison, generated_at: str) -> str:
    """`compare RUN_A RUN_B -o FILE`: the two runs side by side as one self-contained page."""
    ticks = comparison.ticks.records()
    scale = max(
        [(t["a_cost_usd"] or 0.0) for t in ticks]
        + [(t["b_cost_usd"] or 0.0) for t in ticks]
        + [1e-12]
    )
    return (
        environment()
        .get_template("compare.html.j2")
        .render(
            version=__version__,
            generated_at=generated_at,
            runs=comparison.runs.records(),
            first=comparison.first_divergence(),
            totals=comparison.totals.records(),
            ticks=ticks,
            scale=scale,
            tools=comparison.tools.records(),
        )
    )


def render_report(report: Report) -> str:
    """The whole report as one HTML document (CSS and script inlined, no external resource)."""
    details = [
        {
            "detail": d,
            "run": d.run,
            "charts": _run_charts(d),
            "span_tree": spans.nest(d.spans),
            "spans_in_run": d.spans[0]["spans_in_run"] if d.spans else 0,
        }
        for d in report.details
    ]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            totals=report.totals,
            runs=report.table,
            rest=report.rest,
            agents=report.by_agent.records(),
            models=report.by_model.records(),
            tools=report.by_tool.records(),
            charts=fleet_charts(report),
            savings=report.savings,
            details=details,
            comparison=report.comparison,
            filters=json.loads(to_json(report.filters.as_json())),
        )
    )
