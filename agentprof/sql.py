"""Load and run named queries from `queries/`: the only place SQL text is executed."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

from agentprof import dialects
from agentprof.resources import data_dir


@dataclass(frozen=True)
class Result:
    """One analysis result: column names (with units in their suffixes) and rows."""

    name: str
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [row[i] for row in self.rows]


@functools.cache
def query_text(name: str) -> str:
    """`report/runs` is queries/report/runs.sql, its `{{field}}` attribute dialects rendered
    (agentprof/dialects.py)."""
    path = data_dir("queries") / f"{name}.sql"
    text = path.read_text(encoding="utf-8")
    return text if name.startswith("clickhouse/") else dialects.expand(text)


def _statement(name: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """A named statement's text and the parameters it names (callers can share one dict)."""
    text = query_text(name)
    return text, {k: v for k, v in (params or {}).items() if f"${k}" in text}


def _bind(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None) -> Any:
    text, used = _statement(name, params)
    return con.execute(text, used) if used else con.execute(text)


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, tables: dict[str, Any] | None) -> Iterator[None]:
    """Arrow tables or record-batch streams a statement reads by name (e.g. `from span_batch`),
    visible to that statement only."""
    for table_name, data in (tables or {}).items():
        con.register(table_name, data)
    try:
        yield
    finally:
        for table_name in tables or {}:
            con.unregister(table_name)


def execute(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    tables: dict[str, Any] | None = None,
) -> None:
    """Run a statement for its effect."""
    with _registered(con, tables):
        _bind(con, name, params)


def run_arrow(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> Any:
    """Run a query and fetch its rows as one Arrow table, with DuckDB's column types (the
    Python API reads results this way)."""
    text, used = _statement(name, params)
    # A relation, not a cursor: DuckDB hands a relation's rows to Arrow without an extra copy.
    return con.sql(text, params=used or None).to_arrow_table()


def run_batches(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict[str, Any] | None = None,
    rows_per_batch: int = 100_000,
) -> Iterator[Any]:
    """Run a query and yield its rows as Arrow record batches, so a large result is never held
    whole."""
    text, used = _statement(name, params)
    yield from con.sql(text, params=used or None).to_arrow_reader(rows_per_batch)


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    tables: dict[str, Any] | None = None,
) -> Result:
    """Run a query and fetch its rows."""
    with _registered(con, tables):
        cur = _bind(con, name, params)
        columns = [d[0] for d in cur.description]
        return Result(name=name.rsplit("/", 1)[-1], columns=columns, rows=cur.fetchall())
