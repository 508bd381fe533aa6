"""Terminal and JSON renderers for query results. Column suffixes carry units (`_tokens`, `_usd`,
`_ms`, `_ratio`, `_at`), so formatting needs no per-query code. Trace text is never markup."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from agentprof.diagnose import BOTTLENECKS
from agentprof.sql import Result

NOT_REPORTED = "not reported"
# Tables show unknown numbers as a dash and say what it means in the caption; JSON has null.
DASH = "—"
ID_WIDTH = 16
# Ratios that are "how many times", not shares: cache reads per written token and its break-even.
TIMES_RATIOS = ("read_write_ratio", "break_even_ratio")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(document: Any) -> str:
    """One JSON document, indented; NaN/inf become null so the output is strict JSON, and naive
    datetimes (the database stores UTC) get a Z. orjson: a fleet diagnosis is tens of MB."""
    return orjson.dumps(
        document,
        default=_json_default,
        option=orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z,
    ).decode("utf-8")


def format_value(column: str, value: Any) -> str:
    if value is None:
        if column.endswith(("_tokens", "_usd", "_ms", "_ratio")):
            return DASH
        return ""
    if column.endswith("_at"):
        return str(value)[:19].replace("T", " ")
    if column.endswith("_id") and isinstance(value, str) and len(value) > ID_WIDTH:
        return value[:ID_WIDTH]
    if column.endswith("_tokens") or column in ("ticks", "tool_calls", "tick", "unpriced_ticks"):
        return f"{int(value):,}"
    if column.endswith("_usd"):
        v = float(value)
        return f"${v:,.4f}" if abs(v) < 100 else f"${v:,.2f}"
    if column.endswith("_ms"):
        v = float(value)
        return f"{v:,.0f} ms" if abs(v) < 10_000 else f"{v / 1000:,.1f} s"
    if column.endswith(TIMES_RATIOS):
        v = float(value)
        return f"{v:,.1f}×" if abs(v) >= 10 else f"{v:.2f}×"
    if column.endswith("_ratio"):
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


_UNITS = {"tokens": "tokens", "usd": "$", "ms": "ms", "ratio": "%"}


def _header(column: str) -> str:
    for suffix in ("_tokens", "_usd", "_ms", "_ratio"):
        if column.endswith(suffix) and column != suffix:
            column = column[: -len(suffix)]
    return column.replace("_", " ")


def table(
    result: Result,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    *,
    width: int | None = None,
    drop_first: Sequence[str] = (),
) -> Table:
    """A rich table of `columns`; with `width`, optional columns are dropped (in `drop_first`
    order) until the table fits without wrapping any cell."""
    cols = list(columns) if columns else list(result.columns)
    built = _build(result, cols, title)
    if width:
        probe = Console(width=10_000)
        for c in drop_first:
            if Measurement.get(probe, probe.options, built).maximum <= width:
                break
            if c in cols:
                cols.remove(c)
                built = _build(result, cols, title)
    return built


def _build(result: Result, cols: list[str], title: str | None) -> Table:
    idx = [result.columns.index(c) for c in cols]
    t = Table(
        title=title,
        caption=f"{DASH} {NOT_REPORTED}; ids shortened to {ID_WIDTH} characters",
        show_lines=False,
        pad_edge=False,
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    headers = [_header(c) for c in cols]
    for c, header in zip(cols, headers, strict=True):
        if headers.count(header) > 1:  # e.g. saving_usd and saving_ms: say which is which
            header += " " + _UNITS.get(c.rsplit("_", 1)[-1], "")
        numeric = c.endswith(("_tokens", "_usd", "_ms", "_ratio")) or c in (
            "ticks",
            "tool_calls",
            "tick",
        )
        t.add_column(
            header,
            justify="right" if numeric else "left",
            overflow="fold",
            no_wrap=numeric or c.endswith("_id"),
        )
    for row in result.rows:
        # Text(), not str: a span named "[b]x[/b]" must print literally.
        t.add_row(*(Text(format_value(cols[j], row[i])) for j, i in enumerate(idx)))
    return t


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


# ---- diagnose ---------------------------------------------------------------------------------

FLEET_COLUMNS = (
    "run_id",
    "agent",
    "ticks",
    "cost_usd",
    "wall_ms",
    "cache_hit_ratio",
    "top_finding",
    "saving_usd",
    "saving_ms",
)
FLEET_OPTIONAL = ("agent", "top_finding", "cache_hit_ratio", "saving_ms")
# Bars must read without colour: each token class has its own glyph (legend printed with them).
TOKEN_GLYPHS = (
    ("input_uncached_tokens", "#", "uncached input"),
    ("cache_write_5m_tokens", "=", "cache write 5m"),
    ("cache_write_1h_tokens", "+", "cache write 1h"),
    ("cache_read_tokens", ".", "cache read"),
    ("output_tokens", "o", "output"),
)
BOTTLENECK_ORDER = BOTTLENECKS


def _result(name: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> Result:
    return Result(name, list(columns), [tuple(r.get(c) for c in columns) for r in rows])


def fleet(document: dict[str, Any], width: int, limit: int = 0) -> list[Any]:
    """The fleet view: one table per bottleneck class (in the document's sort order within
    each, at most `limit` rows each when it is not 0), then the distribution and the total
    achievable saving."""
    out: list[Any] = []
    runs = document["runs"]
    for bottleneck in BOTTLENECK_ORDER:
        everyone = [r for r in runs if r["bottleneck"] == bottleneck]
        if not everyone:
            continue
        group = everyone[:limit] if limit else everyone
        title = f"{bottleneck}: {len(everyone)} run(s)"
        if bottleneck != "healthy":
            usd = sum(r["saving_usd"] or 0.0 for r in everyone)
            ms = sum(r["saving_ms"] or 0.0 for r in everyone)
            title += (
                f", saving {format_value('saving_usd', usd)} and {format_value('saving_ms', ms)}"
            )
        out.append(
            table(
                _result("runs", group, FLEET_COLUMNS),
                FLEET_COLUMNS,
                title,
                width=width,
                drop_first=FLEET_OPTIONAL,
            )
        )
        if len(group) < len(everyone):
            out.append(Text(f"… and {len(everyone) - len(group):,} more {bottleneck} run(s)"))
    dist_cols = ("bottleneck", "runs", "cost_usd", "saving_usd", "saving_ms")
    dist = _result("distribution", document["distribution"], dist_cols)
    out.append(table(dist, dist_cols, "bottleneck distribution", width=width))
    out.append(
        Text(
            f"total achievable saving: {format_value('saving_usd', document['total_saving_usd'])}"
            f" and {format_value('saving_ms', document['total_saving_ms'])} over {len(runs)} runs"
            " (each run's primary lever; secondary findings not added)"
        )
    )
    return out


def run_view(run: dict[str, Any], width: int) -> list[Any]:
    """One run in depth: summary, per-tick stacked token bars with cost and cumulative cost,
    the tool timeline, and the findings. Plain glyphs, every line within `width`."""
    width = max(width, 40)
    lines: list[Any] = []
    split = " + ".join(
        f"{k} {format_value('x_ms', run[k + '_ms'])}" for k in ("model", "tool", "harness")
    )
    lines.append(Text(f"run {run['run_id']}", style="bold", overflow="fold"))
    for text in (
        f"agent {run['agent'] or DASH} · source {run['source']} · started {run['started_at']}",
        f"{run['ticks']} ticks · {run['tool_calls']} tool calls · cost "
        f"{format_value('cost_usd', run['cost_usd'])}",
        f"cache hit {format_value('cache_hit_ratio', run['cache_hit_ratio'])} · cache reads per "
        f"write {format_value('cache_read_write_ratio', run['cache_read_write_ratio'])}"
        f" (break-even {format_value('cache_break_even_ratio', run['cache_break_even_ratio'])})",
        f"wall-clock {format_value('wall_ms', run['wall_ms'])} = {split}",
        f"bottleneck: {run['bottleneck']}"
        + (
            f" (saving {format_value('saving_usd', run['saving_usd'])},"
            f" {format_value('saving_ms', run['saving_ms'])})"
            if run["bottleneck"] != "healthy"
            else ""
        ),
    ):
        lines.append(Text(text, overflow="fold"))
    lines.append(Text(""))
    lines.extend(_tick_bars(run.get("tick_ledger", []), width))
    lines.append(Text(""))
    lines.extend(_tool_timeline(run.get("tool_timeline", []), run["wall_ms"] or 0.0, width))
    lines.append(Text(""))
    lines.append(Text("findings", style="bold"))
    if not run["findings"]:
        lines.append(Text("  none: no rule fired"))
    for f in run["findings"]:
        mark = "PRIMARY " if f["primary"] else ""
        saving = ", ".join(
            format_value(c, f[c]) for c in ("saving_usd", "saving_ms") if f[c] is not None
        )
        lines.append(Text(f"* {mark}{f['kind']}" + (f"  saves {saving}" if saving else "")))
        for label, text in (
            ("evidence", f["evidence"]),
            ("lever", f["lever"]),
            ("ticks", first_items(f["ticks"])),
        ):
            if text:
                wrapped = textwrap.fill(
                    text, width, initial_indent=f"  {label}: ", subsequent_indent="    "
                )
                lines.append(Text(wrapped))
    return lines


def first_items(items: Sequence[Any], n: int = 10) -> str:
    """The first `n` items, then "and N more": a long run's list stays readable (--json keeps
    every item)."""
    text = ", ".join(str(i) for i in items[:n])
    return text + (f" and {len(items) - n:,} more" if len(items) > n else "")


def _tick_bars(ticks: list[dict[str, Any]], width: int) -> list[Text]:
    legend = "  ".join(f"{glyph} {label}" for _, glyph, label in TOKEN_GLYPHS)
    out = [Text("per-tick tokens (the replay tax) and cost", style="bold"), Text(legend)]
    if not ticks:
        return [*out, Text("  no ticks")]
    label_w = len(str(len(ticks))) + 1
    tail = " {:>10} {:>10}"
    bar_w = max(width - label_w - 2 - len(tail.format("", "")), 8)
    scale = max(max(sum(t[c] or 0 for c, _, _ in TOKEN_GLYPHS) for t in ticks), 1)
    out.append(Text(" " * (label_w + 1) + " " * bar_w + tail.format("cost", "cumulative")))
    for t in ticks:
        bar = ""
        for column, glyph, _ in TOKEN_GLYPHS:
            bar += glyph * round((t[column] or 0) / scale * bar_w)
        bar = bar[:bar_w].ljust(bar_w)
        cost = format_value("cost_usd", t["cost_usd"])
        cumulative = format_value("cost_usd", t["cumulative_cost_usd"])
        out.append(Text(f"{t['tick']:>{label_w}} {bar}" + tail.format(cost, cumulative)))
    return out


def _tool_timeline(calls: list[dict[str, Any]], wall_ms: float, width: int) -> list[Text]:
    out = [Text("tool timeline (| marks calls that overlapped another: parallel)", style="bold")]
    if not calls:
        return [*out, Text("  no tool calls")]
    name_w = min(max(len(c["tool_name"] or "?") for c in calls), 24)
    tail = " {:>9}"
    bar_w = max(width - name_w - 6 - len(tail.format("")), 8)
    span = max(wall_ms, max((c["offset_ms"] or 0) + (c["duration_ms"] or 0) for c in calls), 1.0)
    for c in calls:
        start, dur = c["offset_ms"] or 0.0, c["duration_ms"] or 0.0
        overlaps = c["overlapped"]
        left = min(int(start / span * bar_w), bar_w - 1)
        length = max(1, round(dur / span * bar_w))
        bar = (" " * left + "=" * length)[:bar_w].ljust(bar_w)
        name = (c["tool_name"] or "?")[:name_w].ljust(name_w)
        mark = "|" if overlaps else " "
        out.append(
            Text(
                f"{c['tick'] or '?':>3} {name} {mark}{bar}" + tail.format(format_value("d_ms", dur))
            )
        )
    return out
