"""Fleet commands that scale (issue 18): one run diagnosed alone reads its own rows and gets the
verdict the fleet view gives it, `report/runs` narrowed to one run gives that run's row, the HTML
runs table is bounded with the rest summed in one row, and no connection draws DuckDB's progress
bar into `--json` output. Speed itself is measured by bench/bench_diagnose.py and
bench/bench_report.py, not here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agentprof import html, report, sql, store
from agentprof.diagnose import diagnose
from agentprof.gate import Filters
from tests.conftest import FIXTURES, ingest_json, run_cli, runs_json

# batching_candidate compares the runs of the scope with one another (fleet view only).
FLEET_ONLY = {"batching_candidate"}


@pytest.fixture(scope="module")
def diag_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("scale") / "scale.duckdb"
    ingest_json(db, FIXTURES / "diagnose", FIXTURES / "otlp")
    return db


def _verdict(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "bottleneck": run["bottleneck"],
        "saving_usd": run["saving_usd"],
        "saving_ms": run["saving_ms"],
        "top_finding": run["top_finding"],
        "findings": [f for f in run["findings"] if f["kind"] not in FLEET_ONLY],
        "cost_usd": run["cost_usd"],
        "ticks": run["ticks"],
        "wall_ms": run["wall_ms"],
    }


def test_one_run_alone_gets_the_fleet_verdict_findings_and_evidence(diag_db):
    con = store.connect(diag_db, read_only=True)
    try:
        fleet = {r["run_id"]: r for r in diagnose(con).runs}
        assert len(fleet) > 40
        # the fixtures exercise the scoped span reads: a cap message, tool result sizes
        assert any("Max turns" in f["evidence"] for r in fleet.values() for f in r["findings"])
        # one run for each bottleneck and each finding kind (diagnosing all ~80 alone is slow)
        picked: dict[str, str] = {}
        for run_id, run in sorted(fleet.items()):
            for kind in [run["bottleneck"]] + [f["kind"] for f in run["findings"]]:
                picked.setdefault(kind, run_id)
        assert len(picked) > 12
        for run_id in sorted(set(picked.values())):
            run = fleet[run_id]
            alone = diagnose(con, run_id=run_id, detail=True).runs
            assert [r["run_id"] for r in alone] == [run_id]
            assert _verdict(alone[0]) == _verdict(run), run_id
    finally:
        con.close()


def test_diagnosing_in_small_chunks_gives_the_one_chunk_document(diag_db):
    con = store.connect(diag_db, read_only=True)
    try:
        limit = con.execute("select current_setting('memory_limit')").fetchall()
        whole = diagnose(con).as_json()
        # diagnose works under its own memory limit and puts the previous one back
        assert con.execute("select current_setting('memory_limit')").fetchall() == limit
        for chunk_runs in (1, 7):
            assert diagnose(con, chunk_runs=chunk_runs).as_json() == whole
        # the batching windows count the runs of every chunk: with chunks of one run, each of
        # these runs was diagnosed alone and still found the others in its windows
        batching = {
            r["run_id"]
            for r in whole["runs"]
            for f in r["findings"]
            if f["kind"] == "batching_candidate"
        }
        assert len(batching) >= 3
        # the temporary tables are gone afterwards
        assert con.execute(
            "select count(*) from duckdb_tables() where temporary and table_name like 'diag_%'"
        ).fetchall() == [(0,)]
    finally:
        con.close()


def test_runs_query_narrowed_to_one_run_gives_that_runs_row(diag_db):
    con = store.connect(diag_db, read_only=True)
    try:
        params = {"since": None, "until": None, "source": None, "agent": None, "sort": "cost"}
        every = sql.run(con, "report/runs", {**params, "run_id": None}).records()
        for row in every[:: max(1, len(every) // 12)]:
            one = sql.run(con, "report/runs", {**params, "run_id": row["run_id"]}).records()
            assert one == [row]
        missing = sql.run(con, "report/runs", {**params, "run_id": "ff" * 16}).records()
        assert missing == []
    finally:
        con.close()


def _render(db: Path, **kw: Any) -> tuple[report.Report, str]:
    con = store.connect(db, read_only=True)
    try:
        rep = report.build(con, Filters(), generated_at="2026-12-06T00:00:00Z", **kw)
    finally:
        con.close()
    return rep, html.render_report(rep)


def _table(text: str) -> str:
    start = text.index('<table class="sortable runs">')
    return text[start : text.index("</table>", start)]


def test_runs_table_lists_the_top_runs_and_sums_the_rest_in_one_row(diag_db):
    runs = runs_json(diag_db, "--sort", "cost")
    rep, text = _render(diag_db, top=2, table_runs=5)
    table = _table(text)
    body, rest = table.split('<tbody class="rest">')
    shown = re.findall(r'<tr><td class="id">(?:<a href="#run-\w+">)?(\w+)', body)
    # the five dearest runs (runs --sort cost lists them dearest first), drill-downs linked
    assert shown == [r["run_id"][:8] for r in runs[:5]] or shown == [r["run_id"] for r in runs[:5]]
    assert body.count('<a href="#run-') == 2
    others = runs[5:]
    cost = sum(r["cost_usd"] for r in others if r["cost_usd"] is not None)
    assert rep.rest is not None
    assert rep.rest["runs"] == len(others)
    assert rep.rest["cost_usd"] == pytest.approx(cost)
    assert rep.rest["ticks"] == sum(r["ticks"] for r in others)
    assert rep.rest["tool_calls"] == sum(r["tool_calls"] for r in others)
    assert rep.rest["unpriced_runs"] == sum(1 for r in others if r["unpriced_ticks"])
    assert f"{len(others)} more runs, " in rest
    assert rest.count("<tr>") == 1
    assert f"the other {len(others)} runs are summed in its last row" in text
    # report --json still has every run
    assert len(rep.as_json()["runs"]) == len(runs)


def test_a_small_fleet_and_all_runs_list_every_run_without_a_summary_row(diag_db):
    runs = runs_json(diag_db)
    for kw in ({}, {"top": None, "table_runs": 3}, {"top": 2, "table_runs": None}):
        rep, text = _render(diag_db, **kw)
        assert rep.rest is None
        assert 'class="rest"' not in text
        assert _table(text).count('<tr><td class="id">') == len(runs)
    # more drill-downs than table rows: the table still lists every drilled run
    rep, text = _render(diag_db, top=7, table_runs=3)
    assert len(rep.table) == 7 and rep.rest is not None
    assert rep.rest["runs"] == len(runs) - 7


def test_the_report_command_writes_the_bounded_table(diag_db, tmp_path):
    out = tmp_path / "r.html"
    ran = run_cli("report", "--db", diag_db, "-o", out, "--top", "3")
    assert ran.exit_code == 0, ran.stderr
    n = len(runs_json(diag_db))
    assert ran.stderr.startswith(f"wrote {out}: {n} runs, 3 drill-downs")
    # fewer runs than report.TABLE_RUNS: every one is listed
    assert _table(out.read_text()).count('<tr><td class="id">') == n


def test_connections_never_draw_a_progress_bar(diag_db):
    for read_only in (True, False):
        con = store.connect(diag_db, read_only=read_only)
        try:
            assert con.execute("select current_setting('enable_progress_bar')").fetchall() == [
                (False,)
            ]
        finally:
            con.close()
