"""The one range check every span passes before it is stored, whichever reader (or DuckDB's native
JSON-lines path) produced it: times between 1970 and 2200 with end >= start, token counts whole
numbers in 0..10^12, costs finite and >= 0. A span outside is quarantined with its reason; values
like these overflow or poison the derivation (a -2^63 token count once bricked a database)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from agentprof import dialects

# The attribute a row Arrow could not hold carries its reason in (otlp.SpanBatcher.take).
INVALID = "agentprof.invalid"

# 1970-01-01 .. 2200-01-01 in Unix nanoseconds.
MIN_NS = 0
MAX_NS = 7_258_118_400 * 1_000_000_000
MAX_TOKENS = 10**12
# LangChain's usage details: a dict as text, read by a pattern, not a count itself.
DICT_TEXT = "gen_ai.usage.input_token_details"

# Every attribute the derivation reads as a token count or a reported cost: the dialect table's
# rows of those units, and Claude Code's bare disjoint `input_tokens`, which derive_ticks.sql
# reads outside the table (tests/test_validation.py checks this against the rendered query).
TOKEN_KEYS = frozenset(
    {r.key for r in dialects.rows() if r.kind in ("count", "dict_entry")} - {DICT_TEXT}
) | {"input_tokens"}
COST_KEYS = frozenset(r.key for r in dialects.rows() if r.kind == "usd")
# The attributes span_problems reads at all.
CHECKED_KEYS = TOKEN_KEYS | COST_KEYS | {INVALID}

# (row index, reason)
Problem = tuple[int, str]


def token_problem(key: str, text: str | None) -> str | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return f"attribute {key} {text[:40]!r} is not a token count"
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= MAX_TOKENS:
        return f"attribute {key} {text[:40]!r} is not a token count (a whole number 0..10^12)"
    return None


def cost_problem(key: str, text: str | None) -> str | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return f"attribute {key} {text[:40]!r} is not a cost"
    if not math.isfinite(value) or value < 0:
        return f"attribute {key} {text[:40]!r} is not a cost (finite and >= 0)"
    return None


def time_problem(what: str, ns: int | None) -> str | None:
    if ns is None:
        return f"{what} is missing"
    if not MIN_NS <= ns <= MAX_NS:
        return f"{what} {ns} is outside 1970..2200"
    return None


def _rows_out_of_range(col: pa.ChunkedArray | pa.Array) -> list[int]:
    bad = pc.or_kleene(pc.less(col, MIN_NS), pc.greater(col, MAX_NS))
    return _true_rows(bad)


def _true_rows(flags: pa.ChunkedArray | pa.Array) -> list[int]:
    """The positions where `flags` is true (null: false), without a Python pass over every row."""
    return pc.indices_nonzero(pc.fill_null(flags, False)).to_pylist()  # type: ignore[no-any-return]


# A token count or cost that is plainly fine (a whole number below 10^12): not checked one by one.
_PLAIN_COUNT = "^[0-9]{1,12}$"


def span_problems(table: pa.Table) -> list[Problem]:
    """Why each span of `table` (at least start_ns, end_ns, attributes, events) cannot be stored,
    in row order; the first reason per row."""
    found: dict[int, str] = {}

    def note(row: int, reason: str | None) -> None:
        if reason and row not in found:
            found[row] = reason

    attrs = table.column("attributes").combine_chunks()
    key_lists = pa.ListArray.from_arrays(attrs.offsets, attrs.keys)
    keys = key_lists.flatten()
    items = pa.ListArray.from_arrays(attrs.offsets, attrs.items).flatten()
    if len(keys):
        marked = _true_rows(pc.equal(keys, INVALID))
        if marked:
            parents = pc.list_parent_indices(key_lists).to_pylist()
            for i in marked:
                note(parents[i], items[i].as_py())
    start, end = table.column("start_ns"), table.column("end_ns")
    for name, col in (("start time", start), ("end time", end)):
        for row in _rows_out_of_range(col):
            note(row, time_problem(name, col[row].as_py()))
    for row in _true_rows(pc.less(end, start)):
        note(row, f"end time {end[row].as_py()} is before start time {start[row].as_py()}")
    events = table.column("events").combine_chunks()
    if len(events.flatten()):
        times = events.flatten().field("time_ns")  # flatten() respects a slice's offsets
        parents = pc.list_parent_indices(events).to_pylist()
        for i in _rows_out_of_range(times):
            note(parents[i], time_problem("event time", times[i].as_py()))
    if len(keys):
        counted = pc.indices_nonzero(pc.is_in(keys, pa.array(sorted(TOKEN_KEYS | COST_KEYS))))
        plain = pc.match_substring_regex(items.take(counted), _PLAIN_COUNT)
        idx = counted.take(pc.indices_nonzero(pc.invert(pc.fill_null(plain, False))))
        if len(idx):
            parents = pc.list_parent_indices(key_lists).take(idx).to_pylist()
            key_list, values = keys.take(idx).to_pylist(), items.take(idx).to_pylist()
            for row, key, text in zip(parents, key_list, values, strict=True):
                check = token_problem if key in TOKEN_KEYS else cost_problem
                note(row, check(key, text))
    return sorted(found.items())


def keep_valid(
    table: pa.Table, bad: Callable[[int, str, str], None], excerpt: Callable[[int], str]
) -> tuple[pa.Table, int]:
    """`table` without the spans span_problems refuses (each reported to `bad` with its line), and
    how many were refused."""
    problems = span_problems(table)
    if not problems:
        return table, 0
    lines = table.column("line")
    for row, reason in problems:
        line = lines[row].as_py()
        bad(line if line is not None else 0, f"bad span: {reason}", excerpt(row))
    mask = [True] * table.num_rows
    for row, _ in problems:
        mask[row] = False
    return table.filter(pa.array(mask)), len(problems)
