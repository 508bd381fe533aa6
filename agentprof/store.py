"""Open the DuckDB file (waiting politely for another writer) and bring its schema up to date."""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import duckdb

from agentprof import sql
from agentprof.errors import DatabaseError
from agentprof.resources import data_dir

DEFAULT_DB = "agentprof.duckdb"
# DuckDB holds a whole-file lock per process; a second writer sees this in the IOException.
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


def default_db_path() -> str:
    return os.environ.get("AGENTPROF_DB") or DEFAULT_DB


def memory_limit() -> str:
    """DuckDB's memory limit for every connection: AGENTPROF_MEMORY_LIMIT, else 1GB."""
    return os.environ.get("AGENTPROF_MEMORY_LIMIT") or "1GB"


def _config() -> dict[str, str | bool | int | float | list[str]]:
    # A bounded buffer pool keeps peak memory flat however large the input (DuckDB spills to
    # disk past it); insertion order is not needed and costs memory on large inserts.
    # No extension is ever fetched or loaded behind the user's back: a --db that points at a
    # SQLite file must fail with a message, not reach for the network.
    return {
        "memory_limit": memory_limit(),
        "preserve_insertion_order": "false",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }


def schema_files() -> list[Path]:
    return sorted(data_dir("queries").joinpath("schema").glob("[0-9][0-9][0-9]_*.sql"))


def schema_version() -> int:
    return int(schema_files()[-1].name[:3])


def waiting_flag(db: Path) -> Path:
    """The file a process waiting for the database's lock touches (and removes once in): `serve`'s
    worker, which otherwise keeps the database open while it has data to store, sees it and
    closes the database after its current batch."""
    return db.with_name(db.name + ".waiting")


def connect(
    path: str | os.PathLike[str],
    *,
    read_only: bool = False,
    wait_s: float = 30.0,
    announce: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate. Waits up to `wait_s` for another process's lock,
    saying so through waiting_flag() unless `announce` is off (serve's worker itself)."""
    db = Path(path)
    if read_only and not db.exists():
        raise DatabaseError(str(db), "no such database", "run `agentprof ingest` first")
    deadline = time.monotonic() + wait_s
    delay = 0.05
    flagged = False
    while True:
        try:
            con = duckdb.connect(str(db), read_only=read_only, config=_config())
            break
        except duckdb.IOException as exc:
            text = str(exc)
            if not any(m in text for m in _LOCK_MARKERS):
                if flagged:
                    _unflag(db)
                if _is_sqlite(db):
                    raise DatabaseError(
                        str(db), "not a DuckDB database (it is a SQLite file)"
                    ) from exc
                raise DatabaseError(str(db), f"cannot open database ({_first_line(text)})") from exc
            if time.monotonic() >= deadline:
                if flagged:
                    _unflag(db)
                pid = re.search(r"PID (\d+)", text)
                who = f"process {pid.group(1)}" if pid else "another process"
                raise DatabaseError(
                    str(db),
                    f"database is locked by {who}",
                    "wait for it to finish or pass --wait with more seconds",
                ) from exc
            if announce:
                flagged = _flag(db) or flagged
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:
            if flagged:
                _unflag(db)
            raise DatabaseError(
                str(db), f"not a usable DuckDB file ({_first_line(str(exc))})"
            ) from exc
    if flagged:
        _unflag(db)
    try:
        sql.execute(con, "store/session")
        _migrate(con, db, read_only=read_only)
    except BaseException:
        con.close()
        raise
    return con


def _flag(db: Path) -> bool:
    """Touch waiting_flag(db) (each retry refreshes it); False where it cannot be written."""
    try:
        waiting_flag(db).touch()
    except OSError:
        return False
    return True


def _unflag(db: Path) -> None:
    with contextlib.suppress(OSError):
        waiting_flag(db).unlink()


def _is_sqlite(db: Path) -> bool:
    try:
        with open(db, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _migrate(con: duckdb.DuckDBPyConnection, db: Path, *, read_only: bool) -> None:
    current = _stored_version(con, db)
    target = schema_version()
    if current is not None and current > target:
        raise DatabaseError(
            str(db),
            f"database schema version {current} is newer than this agentprof ({target})",
            "upgrade agentprof",
        )
    if current == target:
        return
    if read_only:
        if current is None:
            raise DatabaseError(str(db), "not an agentprof database (no schema version)")
        raise DatabaseError(
            str(db),
            f"database schema version {current} is older than {target}",
            "run `agentprof ingest` once to upgrade it",
        )
    # One transaction: interrupted (Ctrl-C, kill), the file keeps its old schema or none at all.
    con.begin()
    try:
        for f in schema_files():
            sql.execute(con, f"schema/{f.stem}")
        sql.execute(con, "store/set_schema_version", {"version": target})
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise


def _stored_version(con: duckdb.DuckDBPyConnection, db: Path) -> int | None:
    meta_tables, tables = sql.run(con, "store/meta_exists").rows[0]
    if not meta_tables:
        if tables:
            raise DatabaseError(str(db), "not an agentprof database (it holds other tables)")
        return None
    rows = sql.run(con, "store/schema_version").rows
    return int(rows[0][0]) if rows else None


def pending_traces(con: duckdb.DuckDBPyConnection) -> int:
    """Traces an interrupted ingest stored spans for but did not derive."""
    return int(sql.run(con, "ingest/pending_count").rows[0][0])
