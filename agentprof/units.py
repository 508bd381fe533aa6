"""Numbers as people read them, for every renderer (terminal, HTML, the headline sentences):
money to cents at $1 and above, durations in s/min/h, correct plurals. JSON keeps raw numbers."""

from __future__ import annotations

import math


def money(usd: float) -> str:
    """Dollars as people read them: cents at $1 and above, two significant digits below
    ($86.55, $1,234.56, $0.073, $0.00034); exact zero is $0."""
    if usd == 0:
        return "$0"
    sign = "-" if usd < 0 else ""
    v = abs(usd)
    if v >= 1 or round(v, 2) >= 1:
        return f"{sign}${v:,.2f}"
    decimals = min(max(1 - math.floor(math.log10(v)), 2), 8)
    return f"{sign}${v:.{decimals}f}"


def duration(ms: float) -> str:
    """A duration as people read it: 850 ms, 4.2 s, 12 s, 12 min 5 s, 1 h 23 min."""
    sign = "-" if ms < 0 else ""
    v = abs(ms)
    if v < 1000:
        return f"{sign}{v:.0f} ms"
    if v < 10_000:
        return f"{sign}{v / 1000:.1f} s"
    # Halves round up, as DuckDB's round() does in the diagnosis text (queries/diagnose/macros.sql).
    seconds = math.floor(v / 1000 + 0.5)
    if seconds < 60:
        return f"{sign}{seconds} s"
    if seconds < 3600:
        return f"{sign}{seconds // 60} min {seconds % 60} s"
    minutes = math.floor(v / 60_000 + 0.5)
    return f"{sign}{minutes // 60} h {minutes % 60} min"


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 run`, `2 runs` (with thousands separators)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
