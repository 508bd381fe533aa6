"""Every SQL file in queries/ runs in a real pipeline, and core modules stay free of the CLI's
libraries (they never print, never exit)."""

from __future__ import annotations

import os
import re

import duckdb

from agentprof import sql
from agentprof.resources import data_dir
from tests.conftest import (
    FIXTURES,
    REAL_OTLP,
    ingest_json,
    modules_loaded_by,
    run_cli,
    runs_json,
)

# Queries that only the `serve` worker process runs; tests/test_serve.py drives them through a
# real server (this test's recorder cannot see into another process).
RUN_IN_SERVE_WORKER = {"serve/insert_logs", "serve/insert_rejected", "ingest/file_seen"}
# ClickHouse SQL, and the DuckDB side of a ClickHouse source (its watermark, the rows ClickHouse
# derived): tests/test_clickhouse.py runs them (against chdb) and checks that it ran every one.
RUN_IN_CLICKHOUSE_TESTS = {
    "ingest/source_watermark",
    "ingest/set_source_watermark",
    *(f"ingest/{p.stem}" for p in data_dir("queries").joinpath("ingest").glob("clickhouse_*.sql")),
    *(f"clickhouse/{p.stem}" for p in data_dir("queries").joinpath("clickhouse").glob("*.sql")),
}


def test_every_query_file_runs_during_ingest_and_reports(db, monkeypatch):
    executed: set[str] = set()
    original = sql._statement

    def recording(name, params):
        executed.add(name)
        return original(name, params)

    monkeypatch.setattr(sql, "_statement", recording)
    prices = db.parent / "prices.toml"
    prices.write_text('[[price]]\nmodel = "acme-*"\ninput = 1\noutput = 1\n')
    ingest_json(
        db,
        REAL_OTLP / "pydantic_ai/slow_tool.otlp.json",
        FIXTURES / "bad" / "one_bad_line.jsonl",
        FIXTURES / "otlp" / "encodings" / "collector.jsonl",
        FIXTURES / "claude_code",
        # the same session's OTel events: pairing them with the transcript (ingest/otel_logs_*)
        # runs only when event spans are there
        FIXTURES / "otlp_logs" / "claude_code_session.json",
        FIXTURES / "usage_reports" / "anthropic_usage_report.json",
    )
    run_id, session_id = (runs_json(db)[0][k] for k in ("run_id", "session_id"))
    run_cli("ticks", run_id, "--db", db, "--json")
    run_cli("sessions", "--db", db, "--json")
    run_cli("runs", "--db", db)  # the terminal table looks up every id (report/all_ids)
    run_cli("sessions", session_id, "--db", db, "--json")
    run_cli("quarantine", "--db", db, "--json")
    run_cli("diagnose", run_id, "--db", db, "--json")
    run_cli("compare", run_id, run_id, "--db", db, "--json")
    run_cli("spans", run_id, "--db", db, "--json")
    run_cli("report", "--db", db, "-o", db.parent / "report.html")
    run_cli("check", "--db", db, "--max-ticks-p95", "100")
    run_cli("usage", "--db", db, "--json")
    # JSON lines of 1 MB or more take DuckDB's native reader: copies of a Collector export, each
    # under other trace ids.
    line = (FIXTURES / "otlp" / "encodings" / "collector.jsonl").read_text()
    big = db.parent / "big.jsonl"
    big.write_text(
        "".join(
            re.sub(r'"traceId":"([0-9a-f]{8})', f'"traceId":"{k:08x}', line) for k in range(1, 200)
        )
    )
    assert big.stat().st_size > 1_000_000
    ingest_json(db, big)
    # A transcript that grew is read from where the stored reading stopped; one touched is
    # hashed again; one rewritten is read whole (tests/test_agentlog_incremental.py).
    transcript = FIXTURES / "claude_code" / "projects" / "-home-u-demo"
    # (a blank line last: not the bytes of the fixture ingested above)
    lines = (transcript / "11111111-2222-3333-4444-555555555555.jsonl").read_bytes() + b"\n"
    lines_kept = lines.splitlines(keepends=True)
    grown = db.parent / "grown" / "session.jsonl"
    grown.parent.mkdir()
    for content, mtime_ns in (
        (b"".join(lines_kept[:3]), 10**18),
        (lines, 2 * 10**18),
        (lines, 3 * 10**18),
        (b"".join(lines_kept[1:]), 4 * 10**18),
    ):
        grown.write_bytes(content)
        os.utime(grown, ns=(mtime_ns, mtime_ns))
        ingest_json(db, grown.parent)
    # A database written before validation existed holds a value that breaks derivation: the
    # next ingest derives trace by trace and quarantines that one.
    con = duckdb.connect(str(db))
    con.execute("update spans set start_ns = -9223372036854775808 where trace_id like '00000001%'")
    con.execute("insert into pending_traces select distinct trace_id from spans")
    con.close()
    run_cli("ingest", "--db", db, FIXTURES / "otlp" / "genai_current.json")
    for calendar in ("daily", "monthly", "blocks"):
        assert run_cli(calendar, "--db", db, "--json").exit_code == 0
    root = data_dir("queries")
    every = {str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.sql")}
    assert every - executed - RUN_IN_SERVE_WORKER - RUN_IN_CLICKHOUSE_TESTS == set()


def test_core_modules_do_not_import_typer_rich_or_jinja2():
    core = (
        "import agentprof.ingest, agentprof.store, agentprof.pricing, agentprof.sql, "
        "agentprof.sources, agentprof.diagnose"
    )
    assert modules_loaded_by(core, ("typer", "rich", "jinja2")) == []
