"""Many OTLP fixtures in one ClickHouse table (and one DuckDB), for the chdb tests: every chdb
query costs about half a second of planning, whatever the table holds. The tick and tool-call
derivation is per trace (run_id is the trace id), so fixtures whose trace ids are disjoint can
share a table; the rows are then split back by run id, fixture by fixture."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def trace_ids(path: Path, rows: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> frozenset[str]:
    """The trace ids of an OTLP/JSON file, as the exporter writes them (`rows`: its span rows)."""
    return frozenset(r["TraceId"] for r in rows(json.loads(path.read_text(encoding="utf-8"))))


def disjoint_groups(paths: Sequence[Path], ids: dict[Path, frozenset[str]]) -> list[list[Path]]:
    """`paths` in as few groups as the greedy pass finds (in order), no two files of a group
    sharing a trace id (a fixture that repeats another's trace goes to another table)."""
    groups: list[list[Path]] = []
    seen: list[set[str]] = []
    for path in paths:
        for group, taken in zip(groups, seen, strict=True):
            if not ids[path] & taken:
                group.append(path)
                taken |= ids[path]
                break
        else:
            groups.append([path])
            seen.append(set(ids[path]))
    return groups


def split_by_run(
    rows: Iterable[tuple[Any, ...]],
    paths: Iterable[Path],
    ids: dict[Path, frozenset[str]],
    run_index: int = 0,
) -> tuple[dict[Path, list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    """The rows of each file (by the run id in column `run_index`, in their order) and the rows
    that belong to none of them."""
    owner = {t: p for p in paths for t in ids[p]}
    out: dict[Path, list[tuple[Any, ...]]] = {p: [] for p in paths}
    stray: list[tuple[Any, ...]] = []
    for row in rows:
        path = owner.get(row[run_index])
        (out[path] if path is not None else stray).append(row)
    return out, stray


def split_by_fixture(
    tables: dict[str, list[tuple[Any, ...]]],
    paths: list[Path],
    ids: dict[Path, frozenset[str]],
) -> dict[Path | None, dict[str, list[tuple[Any, ...]]]]:
    """Rows of several kinds (ticks, tool calls, ...: run id first) split by run id: each file's
    rows of each kind, and (None) the rows of no file's trace."""
    out: dict[Path | None, dict[str, list[tuple[Any, ...]]]] = {p: {} for p in [*paths, None]}
    for kind, rows in tables.items():
        mine, stray = split_by_run(rows, paths, ids)
        for path in paths:
            out[path][kind] = mine[path]
        out[None][kind] = stray
    return out
