"""The database file: schema versions, foreign files, a second writer, an interrupted ingest,
and re-ingesting the same bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from agentprof import sql, store
from tests.conftest import FIXTURES, REAL_OTLP, ROOT, ingest_json, run_cli, runs_json

TRACE = REAL_OTLP / "pydantic_ai/slow_tool.otlp.json"


def test_reingesting_the_same_file_changes_nothing(db):
    first = ingest_json(db, TRACE)
    before = runs_json(db)
    again = ingest_json(db, TRACE)
    assert first["files"] == 1 and first["spans"] == 8
    assert again["files"] == 0 and again["files_unchanged"] == 1 and again["spans"] == 0
    assert runs_json(db) == before


def test_the_same_bytes_under_another_name_are_not_ingested_twice(db, tmp_path):
    copy = tmp_path / "copy.json"
    copy.write_bytes(TRACE.read_bytes())
    ingest_json(db, TRACE)
    assert ingest_json(db, copy)["files_unchanged"] == 1


def test_a_database_from_a_newer_agentprof_is_refused(db):
    ingest_json(db, TRACE)
    with duckdb.connect(str(db)) as con:
        con.execute("update meta set value = '999' where key = 'schema_version'")
    ran = run_cli("runs", "--db", db)
    assert ran.exit_code == 1
    assert ran.stderr.startswith(
        f"error: {db}: database schema version 999 is newer than this agentprof"
    )


def test_a_duckdb_file_that_belongs_to_something_else_is_not_written_into(db):
    with duckdb.connect(str(db)) as con:
        con.execute("create table customers (id integer)")
    ran = run_cli("ingest", "--db", db, TRACE)
    assert ran.exit_code == 1
    assert ran.stderr.strip() == f"error: {db}: not an agentprof database (it holds other tables)"


def test_reading_a_missing_database_says_to_ingest_first(tmp_path):
    ran = run_cli("runs", "--db", tmp_path / "nope.duckdb")
    assert ran.exit_code == 1
    assert "no such database; run `agentprof ingest` first" in ran.stderr


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen[bytes]:
    code = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
        "time.sleep(float(sys.argv[2])); c.close()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(seconds)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"locked"
    return proc


def test_a_second_writer_fails_with_a_clear_message_when_the_wait_runs_out(db):
    ingest_json(db, TRACE)
    holder = _hold_lock(db, 30)
    try:
        ran = run_cli(
            "ingest", "--db", db, "--wait", "0.3", FIXTURES / "otlp" / "genai_current.json"
        )
    finally:
        holder.kill()
        holder.wait()
    assert ran.exit_code == 1
    assert ran.stderr.strip() == (
        f"error: {db}: database is locked by process {holder.pid}; "
        "wait for it to finish or pass --wait with more seconds"
    )


def test_a_second_writer_waits_for_the_first_to_finish(db):
    ingest_json(db, TRACE)
    holder = _hold_lock(db, 1.0)
    try:
        ran = run_cli(
            "ingest", "--db", db, "--wait", "20", FIXTURES / "otlp" / "genai_current.json"
        )
    finally:
        holder.wait()
    assert ran.exit_code == 0, ran.stderr
    assert len(runs_json(db)) == 2


def test_an_ingest_killed_midway_leaves_the_database_as_it_was(tmp_path, db):
    data = tmp_path / "data"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "gen_otlp.py"),
            "--spans",
            "40000",
            "--out",
            str(data),
            "--only",
            "json",
            "-q",
        ],
        check=True,
    )
    big = data / "otlp.jsonl"
    command = [sys.executable, "-m", "agentprof", "ingest", str(big), "--db"]
    # Time a whole ingest elsewhere, then kill this one (hard, no cleanup) at 60% of that time.
    started = time.monotonic()
    subprocess.run([*command, str(tmp_path / "timing.duckdb")], check=True, capture_output=True)
    full = time.monotonic() - started
    ingest_json(db, TRACE)
    before = runs_json(db)
    proc = subprocess.Popen(
        [*command, str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.6 * full)
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # The file is stored whole or not at all; its runs are derived after it, so they may be
    # pending, never half-built.
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("select count(*) from spans").fetchone()
    assert stored in ((8,), (40008,))
    assert [r for r in runs_json(db) if r["run_id"] in {b["run_id"] for b in before}] == before
    summary = ingest_json(db, big)
    assert summary["files"] + summary["files_unchanged"] == 1
    assert summary["spans"] == 40008 - stored[0] and summary["runs"] == 1349
    assert len(runs_json(db)) == 1350


def test_an_ingest_stopped_before_deriving_is_finished_by_the_next_one(db):
    # The state an ingest leaves when it stops after a file's commit and before the derivation at
    # its end: the spans are stored and their traces pending, the runs not rebuilt yet.
    ingest_json(db, TRACE)
    expected = runs_json(db)
    with duckdb.connect(str(db)) as con:
        con.execute("insert into pending_traces select distinct trace_id from spans")
        con.execute("delete from runs")
    stale = run_cli("runs", "--db", db, "--json")
    assert stale.exit_code == 0
    assert "1 runs have spans that an unfinished ingest stored" in stale.stderr
    assert runs_json(db) == []
    again = ingest_json(db, TRACE)  # the same, unchanged file: nothing new, the pending run derived
    assert again["files_unchanged"] == 1 and again["spans"] == 0 and again["runs"] == 1
    assert runs_json(db) == expected
    assert "unfinished ingest" not in run_cli("runs", "--db", db).stderr


def test_a_sqlite_file_as_db_is_refused_without_reaching_for_an_extension(tmp_path):
    import sqlite3

    path = tmp_path / "x.sqlite"
    sqlite3.connect(path).execute("create table t(a)").connection.commit()
    ran = run_cli("ingest", "--db", path, FIXTURES / "otlp" / "genai_current.json")
    assert ran.exit_code == 1
    assert ran.stderr.strip() == f"error: {path}: not a DuckDB database (it is a SQLite file)"


def test_extension_autoload_and_autoinstall_are_off(db):
    con = store.connect(db)
    try:
        settings = dict(
            con.execute(
                "select name, value from duckdb_settings() where name in "
                "('autoinstall_known_extensions', 'autoload_known_extensions')"
            ).fetchall()
        )
    finally:
        con.close()
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


def test_schema_creation_interrupted_midway_leaves_no_half_schema(db, monkeypatch):
    real = sql.execute

    def execute(con, name, *args, **kwargs):
        if name == "schema/010_macros":
            raise KeyboardInterrupt
        return real(con, name, *args, **kwargs)

    monkeypatch.setattr(sql, "execute", execute)
    with pytest.raises(KeyboardInterrupt):
        store.connect(db)
    monkeypatch.undo()
    con = duckdb.connect(str(db))
    assert con.execute("select count(*) from duckdb_tables()").fetchone() == (0,)
    con.close()
    store.connect(db).close()  # and the next command creates it whole


def test_ctrl_c_during_ingest_prints_one_line_exits_130_and_the_next_run_finishes(tmp_path, db):
    # A real SIGINT (not a simulated KeyboardInterrupt) while a large file is being stored: it
    # used to print a 45-62-line traceback (`Query interrupted`, `cannot rollback`) with exit 1.
    data = tmp_path / "data"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_otlp.py"), "--spans", "40000"]
        + ["--out", str(data), "--only", "json", "-q"],
        check=True,
    )
    big = data / "otlp.jsonl"
    command = [sys.executable, "-m", "agentprof", "ingest", str(big), "--db"]
    started = time.monotonic()
    subprocess.run([*command, str(tmp_path / "timing.duckdb")], check=True, capture_output=True)
    full = time.monotonic() - started
    proc = subprocess.Popen(
        [*command, str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(0.6 * full)
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the ingest finished before the signal arrived")
    assert proc.returncode == 130, err
    summary = ingest_json(db, big)
    if err == f"interrupted: nothing of {big} was stored; run the same command again to finish\n":
        assert summary["files"] == 1 and summary["spans"] == 40000
    else:  # stopped after the file was stored, while deriving: the next run derives
        assert err == "interrupted; run the same command again to finish\n"
        assert summary["files_unchanged"] == 1 and summary["runs"] == 1349
    assert len(runs_json(db)) == 1349
