"""Terminal views of one or two runs: `compare RUN_A RUN_B` and `spans RUN_ID`. Trace text is never
markup (rich Text) and never terminal control: control characters print as visible escapes."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from agentprof.compare_runs import RunComparison
from agentprof.render import DASH, format_value, safe, table
from agentprof.sql import Result

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
TICK_OPTIONAL = (
    "a_cache_write_tokens",
    "b_cache_write_tokens",
    "a_output_tokens",
    "b_output_tokens",
    "a_cache_read_tokens",
    "b_cache_read_tokens",
    "a_input_tokens",
    "b_input_tokens",
)


def _tick_result(cmp: RunComparison) -> Result:
    rows = []
    for t in cmp.ticks.records():
        row: dict[str, Any] = {"tick": t["tick"]}
        for s in ("a", "b"):
            row[f"{s}_input_tokens"] = t[f"{s}_input_uncached_tokens"]
            row[f"{s}_cache_read_tokens"] = t[f"{s}_cache_read_tokens"]
            w5, w1 = t[f"{s}_cache_write_5m_tokens"], t[f"{s}_cache_write_1h_tokens"]
            row[f"{s}_cache_write_tokens"] = None if w5 is None and w1 is None else (w5 or 0) + (
                w1 or 0
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
            (m, format_value(m, r["a"]), format_value(m, r["b"]), format_value(m, r["change"]),
             r["change_ratio"])  # fmt: skip
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
