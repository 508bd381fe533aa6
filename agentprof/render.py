"""Terminal and JSON renderers for query results. Column suffixes carry units (`_tokens`, `_usd`,
`_ms`, `_ratio`, `_at`), so formatting needs no per-query code. Trace text is never markup."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from agentprof.sql import Result

NOT_REPORTED = "not reported"
# Tables show unknown numbers as a dash and say what it means in the caption; JSON has null.
DASH = "—"
ID_WIDTH = 16


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_json(document: Any) -> str:
    """One JSON document; NaN/inf become null so the output is strict JSON."""
    return json.dumps(_clean(document), default=_json_default, ensure_ascii=False, indent=2)


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
    if column.endswith("_ratio"):
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


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
    for c in cols:
        numeric = c.endswith(("_tokens", "_usd", "_ms", "_ratio")) or c in (
            "ticks",
            "tool_calls",
            "tick",
        )
        t.add_column(
            _header(c),
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
