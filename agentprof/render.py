"""Terminal and JSON renderers for query results. Column suffixes carry units (`_tokens`, `_usd`,
`_ms`, `_ratio`, `_at`), so formatting needs no per-query code. Trace text is never markup."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from agentprof.compare_runs import RunComparison
from agentprof.diagnose import BOTTLENECKS
from agentprof.sql import Result
from agentprof.units import duration, money, plural

NOT_REPORTED = "not reported"
# Columns of names that identify a row; past LABEL_WIDTH they end in an ellipsis.
LABEL_COLUMNS = ("agent", "source", "models", "reports", "provider")
LABEL_WIDTH = 12
# Integer columns: thousands separators, right-aligned.
COUNT_COLUMNS = (
    "ticks",
    "tool_calls",
    "tick",
    "unpriced_ticks",
    "runs",
    "turns",
    "subagent_runs",
    "calls",
    "requests",
)
# Tables show unknown numbers as a dash and say what it means in the caption; JSON has null.
DASH = "—"
# Ratios that are "how many times", not shares: cache reads per written token and its break-even.
TIMES_RATIOS = ("read_write_ratio", "break_even_ratio")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(document: Any) -> str:
    """One JSON document, indented; NaN/inf become null so the output is strict JSON, and naive
    datetimes (the database stores UTC) get a Z. orjson: a fleet diagnosis is tens of MB."""
    return to_json_bytes(document).decode("utf-8")


def to_json_bytes(document: Any) -> bytes:
    """to_json() as UTF-8 bytes, without the str copy (hundreds of MB for a large fleet)."""
    return orjson.dumps(
        document,
        default=_json_default,
        option=orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z,
    )


# Control characters in trace text would drive the terminal (ESC sequences set the window title,
# make hyperlinks, clear the screen): they print as visible escapes instead.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    """Trace-derived text made safe for a terminal: control characters as `\\x1b`-style escapes
    (wrap the result in rich.text.Text so it is never read as markup either)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def safe_text(part: Any) -> Any:
    """A rendered line (rich Text) with control characters escaped; tables escape their cells
    themselves and pass through."""
    if isinstance(part, Text):
        plain = "\n".join(safe(line) for line in part.plain.split("\n"))
        return Text(plain, style=part.style, overflow=part.overflow)
    return part


def format_value(column: str, value: Any) -> str:
    if value is None:
        if column.endswith(("_tokens", "_usd", "_ms", "_ratio")):
            return DASH
        return ""
    if column.endswith("_at"):
        return str(value)[:16].replace("T", " ")  # to the minute, UTC
    if column.endswith("_tokens") or column in COUNT_COLUMNS:
        return f"{int(value):,}"
    if column.endswith("_usd"):
        return money(float(value))
    if column.endswith("_ms"):
        return duration(float(value))
    if column.endswith(TIMES_RATIOS):
        v = float(value)
        return f"{v:,.1f}×" if abs(v) >= 10 else f"{v:.2f}×"
    if column.endswith("_ratio"):
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


# Durations render as text ("4 min 31 s"), so a duration column says "time", not its unit.
_UNITS = {"tokens": "tokens", "usd": "$", "ms": "time", "ratio": "%"}


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
    drop_first: Sequence[str | tuple[str, ...]] = (),
    short_ids: Mapping[str, str] | None = None,
) -> Table:
    """A rich table of `columns`; with `width`, optional columns are dropped (in `drop_first`
    order) until the table fits without wrapping any cell. `short_ids` (agentprof.ids) shows each
    id as its shortest unique prefix."""
    cols = list(columns) if columns else list(result.columns)
    built = _build(result, cols, title, short_ids)
    if width:
        probe = Console(width=10_000)

        def fits() -> bool:
            return Measurement.get(probe, probe.options, built).maximum <= width

        for c in drop_first:  # a column, or a tuple of columns that go together
            if fits():
                break
            group = [g for g in (c if isinstance(c, tuple) else (c,)) if g in cols]
            if group:
                cols = [col for col in cols if col not in group]
                built = _build(result, cols, title, short_ids)
        if not fits():  # last resort: times without the year, long words may fold
            built = _build(result, cols, title, short_ids, compact=True)
    return built


def _cell(
    column: str, value: Any, short_ids: Mapping[str, str] | None, compact: bool = False
) -> str:
    if short_ids and column.endswith("_id") and isinstance(value, str):
        value = short_ids.get(value, value)
    if compact and column.endswith("_at") and value is not None:
        return str(value)[5:16].replace("T", " ")
    return safe(format_value(column, value))


def _build(
    result: Result,
    cols: list[str],
    title: str | None,
    short_ids: Mapping[str, str] | None,
    compact: bool = False,
) -> Table:
    idx = [result.columns.index(c) for c in cols]
    caption = f"{DASH} {NOT_REPORTED}"
    if short_ids and any(c.endswith("_id") for c in cols):
        caption += "; ids: shortest unique prefix"
    t = Table(
        title=safe(title) if title else None,
        caption=caption,
        show_lines=False,
        pad_edge=False,
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    headers = [_header(c) for c in cols]
    cells = [
        [_cell(cols[j], row[i], short_ids, compact) for j, i in enumerate(idx)]
        for row in result.rows
    ]
    for k, (c, header) in enumerate(zip(cols, headers, strict=True)):
        if headers.count(header) > 1:  # e.g. saving_usd and saving_ms: say which is which
            header += " " + _UNITS.get(c.rsplit("_", 1)[-1], "")
        numeric = c.endswith(("_tokens", "_usd", "_ms", "_ratio")) or c in COUNT_COLUMNS
        # Text wraps at word boundaries; a word (a metric, model or tool name) of up to 30
        # characters is never broken.
        longest_word = max((len(w) for r in cells for w in r[k].split()), default=0)
        if c in LABEL_COLUMNS:  # names that identify a row: cut with an ellipsis when narrow
            t.add_column(header, overflow="ellipsis", no_wrap=True, max_width=LABEL_WIDTH)
            continue
        t.add_column(
            header,
            justify="right" if numeric else "left",
            overflow="fold",
            no_wrap=numeric or c.endswith(("_id", "_at")),
            # (in a compact table that still does not fit, long words fold too)
            min_width=None if numeric or compact else min(longest_word, 30) or None,
        )
    for row_cells in cells:
        # Text(), not str: a span named "[b]x[/b]" must print literally.
        t.add_row(*(Text(cell) for cell in row_cells))
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


def fleet(
    document: dict[str, Any],
    width: int,
    limit: int = 0,
    short_ids: Mapping[str, str] | None = None,
) -> list[Any]:
    """The fleet view: the headline, one table per bottleneck class (in the document's sort
    order within each, at most `limit` rows each when it is not 0), then the distribution and
    the total achievable saving."""
    out: list[Any] = []
    runs = document["runs"]
    for sentence in document.get("headline", []):
        out.append(Text(sentence))
    if document.get("headline"):
        out.append(Text(""))
    for bottleneck in BOTTLENECK_ORDER:
        everyone = [r for r in runs if r["bottleneck"] == bottleneck]
        if not everyone:
            continue
        group = everyone[:limit] if limit else everyone
        title = f"{bottleneck}: {plural(len(everyone), 'run')}"
        if bottleneck != "healthy":
            usd = sum(r["saving_usd"] or 0.0 for r in everyone)
            ms = sum(r["saving_ms"] or 0.0 for r in everyone)
            savings = [money(usd)] if usd else []
            savings += [duration(ms)] if ms else []
            title += ", saving " + " and ".join(savings) if savings else ", saving not estimated"
        out.append(
            table(
                _result("runs", group, FLEET_COLUMNS),
                FLEET_COLUMNS,
                title,
                width=width,
                drop_first=FLEET_OPTIONAL,
                short_ids=short_ids,
            )
        )
        if len(group) < len(everyone):
            rest = len(everyone) - len(group)
            out.append(Text(f"… and {rest:,} more {bottleneck} (--limit 0 shows all)"))
    dist_cols = ("bottleneck", "runs", "cost_usd", "saving_usd", "saving_ms")
    dist = _result("distribution", document["distribution"], dist_cols)
    out.append(table(dist, dist_cols, "bottleneck distribution", width=width))
    out.append(
        Text(
            f"total achievable saving: {format_value('saving_usd', document['total_saving_usd'])}"
            f" and {format_value('saving_ms', document['total_saving_ms'])} over"
            f" {plural(len(runs), 'run')}"
            " (each run's primary lever; secondary findings not added)"
        )
    )
    return out


def run_view(run: dict[str, Any], width: int, *, all_ticks: bool = False) -> list[Any]:
    """One run in depth: summary, per-tick stacked token bars with cost and cumulative cost,
    the tool timeline, and the findings. Plain glyphs, every line within `width`. A long run
    (more than LONG_RUN ticks or tool calls) shows ticks by segments and tool calls by tool
    unless `all_ticks`."""
    width = max(width, 40)
    lines: list[Any] = []
    split = " + ".join(
        f"{k} {format_value('x_ms', run[k + '_ms'])}" for k in ("model", "tool", "harness")
    )
    lines.append(Text(f"run {run['run_id']}", style="bold", overflow="fold"))
    for text in (
        f"agent {run['agent'] or DASH} · source {run['source']} · started "
        f"{format_value('started_at', run['started_at'])}",
        f"{plural(run['ticks'], 'tick')} · {plural(run['tool_calls'], 'tool call')} · cost "
        f"{format_value('cost_usd', run['cost_usd'])}"
        + (f" · latency band {run['latency_band']}" if run.get("latency_band") else ""),
        f"cache hit {format_value('cache_hit_ratio', run['cache_hit_ratio'])} · cache reads per "
        f"write {format_value('cache_read_write_ratio', run['cache_read_write_ratio'])}"
        f" (break-even {format_value('cache_break_even_ratio', run['cache_break_even_ratio'])})",
        f"wall-clock {format_value('wall_ms', run['wall_ms'])} = {split}",
        f"bottleneck: {run['bottleneck']}"
        + (
            ""
            if run["bottleneck"] == "healthy"
            else f" (saving {_saving_text(run) or 'not estimated'})"
        ),
    ):
        lines.append(Text(text, overflow="fold"))
    ticks, calls = run.get("tick_ledger", []), run.get("tool_timeline", [])
    wall = run["wall_ms"] or 0.0
    lines.append(Text(""))
    if not all_ticks and (len(ticks) > LONG_RUN or len(calls) > LONG_RUN):
        lines.extend(_tick_segments(ticks, width))
        lines.append(Text(""))
        lines.extend(_tool_summary(calls, wall, width))
        lines.append(Text("(every tick and tool call: agentprof diagnose RUN --all-ticks)"))
    else:
        lines.extend(_tick_bars(ticks, width))
        lines.append(Text(""))
        lines.extend(_tool_timeline(calls, wall, width))
    lines.append(Text(""))
    lines.append(Text("findings", style="bold"))
    if not run["findings"]:
        lines.append(Text("  none: no rule fired"))
    for f in run["findings"]:
        mark = "PRIMARY " if f["primary"] else ""
        saving = _saving_text(f)
        lines.append(Text(f"* {mark}{f['kind']}" + (f"  saves {saving}" if saving else "")))
        for label, text in (
            ("evidence", f["evidence"]),
            ("lever", f["lever"]),
            ("ticks", first_items(f["ticks"])),
        ):
            if text:  # one Text per line: a newline inside a Text would print escaped
                for line in textwrap.wrap(
                    text, width, initial_indent=f"  {label}: ", subsequent_indent="    "
                ):
                    lines.append(Text(line))
    return lines


def first_items(items: Sequence[Any] | None, n: int = 10) -> str:
    """The first `n` items, then "and N more": a long run's list stays readable (--json keeps
    every item)."""
    items = items or []
    text = ", ".join(str(i) for i in items[:n])
    return text + (f" and {len(items) - n:,} more" if len(items) > n else "")


# A drill-down longer than this (ticks or tool calls) is summarised: ticks by segments, tool calls
# by tool, so a 200-tick run fits a couple of screens; `diagnose RUN --all-ticks` shows every row.
LONG_RUN = 30
TICK_SEGMENTS = 12  # at most this many segments of consecutive ticks
TOOL_ROWS = 12  # tools listed by name in the summary; the rest share one "other" row


def _count(n: float) -> str:
    """A token count in at most 5 characters: 980, 25.9k, 167k, 1.2M."""
    if n < 1000:
        return f"{n:.0f}"
    if n < 100_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.1f}M"


def _tick_segments(ticks: list[dict[str, Any]], width: int) -> list[Text]:
    """Consecutive ticks in at most TICK_SEGMENTS groups: the mean tick's token mix as a bar, the
    smallest and largest prompt+output of the group, its cost and the cumulative cost."""
    legend = "  ".join(f"{glyph} {label}" for _, glyph, label in TOKEN_GLYPHS)
    size = -(-len(ticks) // TICK_SEGMENTS)
    groups = [ticks[i : i + size] for i in range(0, len(ticks), size)]
    out = [
        Text(
            f"tokens per tick (the replay tax) and cost: {len(ticks)} ticks in {len(groups)}"
            f" segments of {size}",
            style="bold",
            overflow="fold",
        ),
        Text(legend, overflow="fold"),
    ]
    label_w = len(f"{len(ticks)}-{len(ticks)}")
    tail = " {:>11} {:>10} {:>10}"
    bar_w = min(max(width - label_w - 1 - len(tail.format("", "", "")), 8), 60)

    def total(t: dict[str, Any]) -> float:
        return float(sum(t[c] or 0 for c, _, _ in TOKEN_GLYPHS))

    scale = max(max(total(t) for t in ticks), 1.0)
    out.append(
        Text(
            "ticks".rjust(label_w)
            + " "
            + "mean tick".ljust(bar_w)
            + tail.format("tokens/tick", "cost", "cumulative")
        )
    )
    for g in groups:
        bar = ""
        for column, glyph, _ in TOKEN_GLYPHS:
            mean = sum(t[column] or 0 for t in g) / len(g)
            bar += glyph * round(mean / scale * bar_w)
        bar = bar[:bar_w].ljust(bar_w)
        first, last = g[0]["tick"], g[-1]["tick"]
        label = f"{first}-{last}" if last != first else str(first)
        sizes = [total(t) for t in g]
        spread = f"{_count(min(sizes))}-{_count(max(sizes))}"
        costs = [t["cost_usd"] for t in g if t["cost_usd"] is not None]
        cost = format_value("cost_usd", sum(costs) if costs else None)
        cumulative = format_value("cost_usd", g[-1]["cumulative_cost_usd"])
        out.append(Text(f"{label:>{label_w}} {bar}" + tail.format(spread, cost, cumulative)))
    return out


def _tool_summary(calls: list[dict[str, Any]], wall_ms: float, width: int) -> list[Text]:
    """Tool calls by tool, most time first: calls, total and longest duration, share of the
    run's wall-clock (the serial sum: parallel calls can add past 100%), and when in the run the
    tool was busy, as a strip across the whole run."""
    out = [
        Text(
            f"tool calls by tool: {len(calls)} calls (P = some ran in parallel with another)",
            style="bold",
            overflow="fold",
        )
    ]
    if not calls:
        return [*out, Text("  no tool calls")]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for c in calls:
        by_name.setdefault(c["tool_name"] or "?", []).append(c)
    ranked = sorted(
        by_name.items(),
        key=lambda kv: (-sum(c["duration_ms"] or 0 for c in kv[1]), -len(kv[1]), kv[0]),
    )
    if len(ranked) > TOOL_ROWS + 1:
        rest = [c for _, cs in ranked[TOOL_ROWS:] for c in cs]
        ranked = [*ranked[:TOOL_ROWS], (f"{len(ranked) - TOOL_ROWS} other tools", rest)]
    name_w = min(max(len(n) for n, _ in ranked), 16)
    head = "{:<" + str(name_w) + "} {:1} {:>5} {:>11} {:>11} {:>6} "
    strip_w = max(width - len(head.format("", "", "", "", "", "")), 8)
    span = max(wall_ms, max((c["offset_ms"] or 0) + (c["duration_ms"] or 0) for c in calls), 1.0)
    out.append(
        Text(
            f"when: 0 to {format_value('wall_ms', span)} across; # busy, - a shorter call",
            overflow="fold",
        )
    )
    out.append(Text(head.format("tool", "", "calls", "total", "longest", "wall", "") + "when"))
    cell = span / strip_w
    for name, cs in ranked:
        busy = [0.0] * strip_w
        for c in cs:
            start = c["offset_ms"] or 0.0
            end = start + (c["duration_ms"] or 0.0)
            first = min(int(start / cell), strip_w - 1)
            last = min(int(end / cell), strip_w - 1)
            for i in range(first, last + 1):
                lo, hi = max(start, i * cell), min(end, (i + 1) * cell)
                busy[i] += max(hi - lo, 0.0) if hi > lo else 1e-9
        strip = "".join("#" if b >= cell / 2 else ("-" if b > 0 else " ") for b in busy)
        total = sum(c["duration_ms"] or 0.0 for c in cs)
        longest = max(c["duration_ms"] or 0.0 for c in cs)
        # time a call waited on a person is not in the run's wall-clock: no share of it
        in_wall = sum(c["duration_ms"] or 0.0 for c in cs if c["status"] != "user_wait")
        waited = in_wall == 0 and total > 0
        share = format_value("share_ratio", in_wall / wall_ms if wall_ms and not waited else None)
        mark = "P" if any(c["overlapped"] for c in cs) else ""
        out.append(
            Text(
                head.format(
                    name[:name_w],
                    mark,
                    f"{len(cs):,}",
                    format_value("total_ms", total),
                    format_value("longest_ms", longest),
                    share,
                    "",
                )
                + strip.rstrip()
            )
        )
    return out


def _saving_text(row: dict[str, Any]) -> str:
    """A run's or finding's saving as people read it: `$3.55`, `$0.12 and 8.4 s`; '' when
    neither is estimated."""
    return " and ".join(
        format_value(c, row[c]) for c in ("saving_usd", "saving_ms") if row[c] is not None
    )


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
    durations = [format_value("d_ms", c["duration_ms"] or 0.0) for c in calls]
    # As wide as the longest duration ("12 min 55 s"), so no line passes `width`.
    tail = " {:>" + str(max(len(d) for d in durations)) + "}"
    bar_w = max(width - name_w - 6 - len(tail.format("")), 8)
    span = max(wall_ms, max((c["offset_ms"] or 0) + (c["duration_ms"] or 0) for c in calls), 1.0)
    for c, dur_text in zip(calls, durations, strict=True):
        start, dur = c["offset_ms"] or 0.0, c["duration_ms"] or 0.0
        overlaps = c["overlapped"]
        left = min(int(start / span * bar_w), bar_w - 1)
        length = max(1, round(dur / span * bar_w))
        bar = (" " * left + "=" * length)[:bar_w].ljust(bar_w)
        name = (c["tool_name"] or "?")[:name_w].ljust(name_w)
        mark = "|" if overlaps else " "
        out.append(Text(f"{c['tick'] or '?':>3} {name} {mark}{bar}" + tail.format(dur_text)))
    return out


# ---- compare RUN_A RUN_B and spans RUN_ID ------------------------------------------------------

INDENT = 2  # columns per tree level
MAX_INDENT_LEVELS = 20  # deeper spans are indented as this level, their depth printed


def visible(text: Any) -> str:
    """Trace text safe for a terminal: ESC, CR, newlines and other control characters become
    `\\x1b`-style escapes, so a span cannot move the cursor or change colours."""
    if text is None:
        return ""
    return safe(str(text))


def _tools(tools: list[str] | None) -> str:
    if tools is None:
        return DASH
    if not tools:
        return "(none)"
    counts: dict[str, int] = {}
    for name in tools:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(visible(n) + (f" ×{c}" if c > 1 else "") for n, c in counts.items())


TICK_COLUMNS = (
    "tick",
    "a_input_tokens",
    "b_input_tokens",
    "a_cache_read_tokens",
    "b_cache_read_tokens",
    "a_cache_write_tokens",
    "b_cache_write_tokens",
    "a_output_tokens",
    "b_output_tokens",
    "a_cost_usd",
    "b_cost_usd",
    "cost_change_usd",
    "a_tools",
    "b_tools",
    "diverges",
)
# Dropped first on a narrow terminal; tick, cost and tools explain the comparison.
TICK_OPTIONAL = (  # A and B go together
    ("a_cache_write_tokens", "b_cache_write_tokens"),
    ("a_output_tokens", "b_output_tokens"),
    ("a_cache_read_tokens", "b_cache_read_tokens"),
    ("a_input_tokens", "b_input_tokens"),
)


def _tick_result(cmp: RunComparison) -> Result:
    rows = []
    for t in cmp.ticks.records():
        row: dict[str, Any] = {"tick": t["tick"]}
        for s in ("a", "b"):
            row[f"{s}_input_tokens"] = t[f"{s}_input_uncached_tokens"]
            row[f"{s}_cache_read_tokens"] = t[f"{s}_cache_read_tokens"]
            w5, w1 = t[f"{s}_cache_write_5m_tokens"], t[f"{s}_cache_write_1h_tokens"]
            row[f"{s}_cache_write_tokens"] = (
                None if w5 is None and w1 is None else (w5 or 0) + (w1 or 0)
            )
            row[f"{s}_output_tokens"] = t[f"{s}_output_tokens"]
            row[f"{s}_cost_usd"] = t[f"{s}_cost_usd"]
            row[f"{s}_tools"] = _tools(t[f"{s}_tools"])
        row["cost_change_usd"] = t["cost_change_usd"]
        row["diverges"] = visible(t["divergence"]) if t["diverges"] else ""
        rows.append(tuple(row[c] for c in TICK_COLUMNS))
    return Result("compare_ticks", list(TICK_COLUMNS), rows)


def _totals_result(cmp: RunComparison) -> Result:
    # a, b and change carry the unit of their metric, so they are formatted here, per row.
    cols = ["metric", "A", "B", "change", "relative_change_ratio"]
    rows = []
    for r in cmp.totals.records():
        m = r["metric"]
        rows.append(
            (
                m,
                format_value(m, r["a"]),
                format_value(m, r["b"]),
                format_value(m, r["change"]),
                r["change_ratio"],
            )
        )
    return Result("compare_totals", cols, rows)


def run_comparison(cmp: RunComparison, width: int) -> list[Any]:
    """Who A and B are, the first divergence, the totals, the tool sets, then the ticks aligned."""
    out: list[Any] = []
    for r in cmp.runs.records():
        out.append(Text(f"{r['side']} = run {visible(r['run_id'])}", overflow="fold"))
        out.append(
            Text(
                f"    {visible(r['agent']) or DASH} · {visible(r['source'])} · started "
                f"{format_value('started_at', r['started_at'])} · "
                f"{visible(r['models']) or 'no model'}",
                overflow="fold",
            )
        )
    first = cmp.first_divergence()
    if first is None:
        n = len(cmp.ticks.rows)
        text = f"no divergence: the same model and tools on all {n} tick{'s' if n != 1 else ''}"
    else:
        why = visible(first["divergence"])
        text = f"first divergence: tick {first['tick']} ({why})"
        if not why.startswith("only in"):
            text += (
                f"; A: {visible(first['a_model'])} calling {_tools(first['a_tools'])}"
                f"; B: {visible(first['b_model'])} calling {_tools(first['b_tools'])}"
            )
    out.append(Text(text, overflow="fold"))
    out.append(table(_totals_result(cmp), title="totals (change = B - A)", width=width))
    if cmp.tools.rows:
        tools = Result(
            "compare_tools",
            ["tool_name", "a_calls", "b_calls", "calls_change"],
            [(visible(r[0]), r[1], r[2], r[3]) for r in cmp.tools.rows],
        )
        out.append(table(tools, title="tool sets (calls)", width=width))
    out.append(
        table(
            _tick_result(cmp),
            TICK_COLUMNS,
            title="ticks aligned (input = uncached input; cost change = B - A)",
            width=width,
            drop_first=TICK_OPTIONAL,
        )
    )
    return out


def _span_line(row: dict[str, Any]) -> str:
    depth = int(row["depth"])
    indent = " " * (INDENT * min(depth, MAX_INDENT_LEVELS))
    deep = f"[{depth}] " if depth > MAX_INDENT_LEVELS else ""
    parts = [f"{indent}{deep}{visible(row['name']) or '(unnamed span)'}"]
    parts.append(format_value("duration_ms", row["duration_ms"]))
    if row["tick"] is not None:
        tokens = (
            f"{format_value('input_tokens', row['input_tokens'])} in / "
            f"{format_value('output_tokens', row['output_tokens'])} out tokens"
        )
        parts.append(f"tick {row['tick']} · {visible(row['model']) or DASH} · {tokens}")
    if row["tool_name"] is not None:
        parts.append(f"tool {visible(row['tool_name'])} (tick {row['tool_tick'] or DASH})")
    if row["status"] == "error":
        parts.append(f"error: {visible(row['status_message']) or 'no message'}")
    if row["detached"]:
        parts.append("detached: no root reaches it")
    return " · ".join(parts)


def span_tree(rows: list[dict[str, Any]], run_id: str) -> list[Text]:
    """One line per span in tree order: indentation, name, duration, and what the ledger made of
    it (tick, model and tokens; tool call) plus errors. `--json` has every attribute."""
    total = rows[0]["spans_in_run"] if rows else 0
    out = [Text(f"run {visible(run_id)}: {total:,} span{'s' if total != 1 else ''}")]
    out.extend(Text(_span_line(r), overflow="fold") for r in rows)
    return out
