"""Derivation benchmark: re-derives every trace of an existing database and times each statement.

Ingest stores spans, then `derive_pending()` rebuilds runs, ticks and tool calls for the pending
traces. This copies a database built by `agentprof ingest`, marks every trace pending, runs
`derive_pending()` with a timer around each named query, and prints the figures (median of
`--reps` runs). `--check` proves the output unchanged: the rebuilt ticks, tool_calls and runs are
compared with the original database's (EXCEPT ALL both ways, every column).

  python bench/bench_derive.py /tmp/base200.duckdb --reps 3 --check
  python bench/bench_derive.py /tmp/base200.duckdb --fresh   # as a first ingest: empty tables
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))
try:
    import duckdb
except ImportError:  # run with a python that lacks duckdb: use the venv's
    _venv = REPO / ".venv" / "bin" / "python"
    if _venv.exists() and Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.execv(str(_venv), [str(_venv), __file__, *sys.argv[1:]])
    raise

from agentprof import ingest, sql, store  # noqa: E402
from agentprof.pricing import PriceBook  # noqa: E402

DERIVED = {"ticks": "run_id, tick", "tool_calls": "run_id, span_id", "runs": "run_id"}
TOTAL = "derive_pending (total)"


Times = dict[str, list[float]]  # name -> [wall s, cpu s]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _add(times: Times, name: str, started: tuple[float, float]) -> None:
    wall, cpu = _clock()
    spent = times.setdefault(name, [0.0, 0.0])
    spent[0] += wall - started[0]
    spent[1] += cpu - started[1]


@contextmanager
def timed_sql(times: Times) -> Iterator[None]:
    """Wraps sql.execute and sql.run so each named query's wall and CPU seconds (all threads of
    this process: steadier than wall time on a shared machine) add up in `times`."""
    originals: dict[str, Callable[..., Any]] = {"execute": sql.execute, "run": sql.run}

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(con: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            started = _clock()
            try:
                return fn(con, name, *args, **kwargs)
            finally:
                _add(times, name.rsplit("/", 1)[-1], started)

        return timed

    sql.execute = wrap(originals["execute"])
    sql.run = wrap(originals["run"])
    try:
        yield
    finally:
        sql.execute = originals["execute"]
        sql.run = originals["run"]


class TimedCommit:
    """The connection, with its commit timed (derive_pending commits what it rebuilt)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, times: Times) -> None:
        self._con = con
        self._times = times

    def commit(self) -> Any:
        started = _clock()
        try:
            return self._con.commit()
        finally:
            _add(self._times, "(commit)", started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def copy_db(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dst.with_name(dst.name + ".wal"))


def one_run(src: Path, work: Path, fresh: bool, check: bool) -> tuple[Times, bool]:
    """Times of one derivation; with `check`, also whether its output equals the original's."""
    db = work / "derive.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    copy_db(src, db)
    con = store.connect(db)
    try:
        con.execute("insert into pending_traces select distinct trace_id from spans")
        if fresh:  # as in a first ingest: nothing derived yet, no price looked up
            for table in (*DERIVED, "price_rates", "priced_models"):
                con.execute(f"delete from {table}")
        con.execute("checkpoint")
        times: Times = {}
        with timed_sql(times):
            started = _clock()
            ingest.derive_pending(TimedCommit(con, times), PriceBook(), ingest.IngestSummary())  # type: ignore[arg-type]
            _add(times, TOTAL, started)
        same = compare(con, src) if check else True
    finally:
        con.close()
    return times, same


def compare(con: duckdb.DuckDBPyConnection, original: Path) -> bool:
    """Every derived row equal to the original's, every column (EXCEPT ALL both ways). On a
    difference, says which columns differ and, for doubles, by how much."""
    con.execute("attach ? as original (read_only)", [str(original)])
    failed = False
    try:
        for table, key in DERIVED.items():
            only = [
                _count(con, f"select count(*) from (from {a} except all from {b})")
                for a, b in ((table, f"original.{table}"), (f"original.{table}", table))
            ]
            rows = _count(con, f"select count(*) from {table}")
            verdict = "identical" if only == [0, 0] else "DIFFERENT"
            print(
                f"check {table:<10} {rows:>9,} rows: {verdict} "
                f"(new only {only[0]}, original only {only[1]})"
            )
            if only != [0, 0]:
                failed = True
                _explain(con, table, key)
    finally:
        con.execute("detach original")
    return not failed


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    return int(row[0]) if row else 0


def _explain(con: duckdb.DuckDBPyConnection, table: str, key: str) -> None:
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and table_name = ? order by column_index",
        [table],
    ).fetchall()
    joined = f"from {table} n join original.{table} o using ({key})"
    for column, kind in columns:
        differ = f"n.{column} is distinct from o.{column}"
        n = _count(con, f"select count(*) {joined} where {differ}")
        if not n:
            continue
        line = f"  {column}: {n:,} rows differ"
        if kind == "DOUBLE":
            worst = con.execute(
                f"select max(abs(n.{column} - o.{column}) / abs(o.{column})) {joined} "
                f"where {differ} and n.{column} is not null and o.{column} is not null"
            ).fetchone()
            line += f", largest relative difference {worst[0] if worst else None}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "db", type=Path, help="a database built by `agentprof ingest` (not changed)"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="empty the derived tables first")
    parser.add_argument("--check", action="store_true", help="compare the output with the original")
    parser.add_argument(
        "--queries", type=Path, help="read ingest/*.sql from this queries/ folder instead"
    )
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the copy")
    args = parser.parse_args()
    if args.queries:
        _queries_from(args.queries)
    runs: list[Times] = []
    same = True
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="bench-derive-") as tmp:
        for rep in range(args.reps):
            times, equal = one_run(args.db, Path(tmp), args.fresh, args.check and rep == 0)
            runs.append(times)
            same = same and equal
    print(f"{'statement':<24} {'wall s':>7} {'cpu s':>7}   wall s of each run")
    for name in runs[0]:
        walls = [r[name][0] if name in r else 0.0 for r in runs]
        cpus = [r[name][1] if name in r else 0.0 for r in runs]
        shown = " ".join(f"{v:.3f}" for v in walls)
        print(
            f"{name:<24} {statistics.median(walls):>7.3f} {statistics.median(cpus):>7.3f}   {shown}"
        )
    if not same:
        raise SystemExit(1)


def _queries_from(folder: Path) -> None:
    """Compare with another version of the queries (e.g. a checkout of an older commit)."""
    original = sql.query_text

    def query_text(name: str) -> str:
        path = folder / f"{name}.sql"
        return path.read_text(encoding="utf-8") if path.exists() else original(name)

    sql.query_text = query_text  # type: ignore[assignment]


if __name__ == "__main__":
    main()
