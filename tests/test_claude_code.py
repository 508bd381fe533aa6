"""Claude Code transcripts: oracle totals on real data, per-message dedupe, subagents, tool
timing, incremental re-ingest of a growing file. Numbers: fixtures/claude_code/README.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from agentprof.sources.agentlog import normalize_model
from tests.conftest import FIXTURES, REALDATA, ingest_json, run_cli, runs_json, ticks_json

SESSION = "11111111-2222-3333-4444-555555555555"
PROJECT = FIXTURES / "claude_code" / "projects" / "-home-u-demo"
MAIN = PROJECT / f"{SESSION}.jsonl"
SUB = f"agent-abc@{SESSION}"
TURN = "u1"  # the run of the session's one turn: its prompt line's uuid


def totals(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "select count(*), sum(input_uncached_tokens), sum(output_tokens),"
            " sum(coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0)),"
            " sum(cache_read_tokens), sum(cost_usd) from ticks"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    keys = ("ticks", "input", "output", "cache_write", "cache_read", "cost")
    return dict(zip(keys, row, strict=True))


# ccusage 20.0.24 `daily --offline --mode calculate -z UTC` totals. On spotter they include 5
# subagent calls known only from their parent's agent_progress echoes (the subagent's transcript
# is missing); realdata/README.md's 9,141 / 195,794 / 2,065,675 / 77,328,535 / $51.70 are
# ccusage's `session`/`blocks` totals, which leave them out (tests/test_calendar.py).
ORACLE = {
    "spotter": (9_165, 195_801, 2_079_960, 77_423_878, 51.74),
    "codemie": (39_691, 174_726, 5_011_846, 12_233_103, 25.17),
}


@pytest.mark.parametrize("folder", sorted(ORACLE))
def test_real_folders_match_ccusage_token_totals(db: Path, folder: str) -> None:
    out = ingest_json(db, REALDATA / "public" / "claude-code" / folder)
    assert out["records_skipped"] == 0 and out["files_failed"] == 0
    t = totals(db)
    inp, outp, cw, cr, cost = ORACLE[folder]
    assert (t["input"], t["output"], t["cache_write"], t["cache_read"]) == (inp, outp, cw, cr)
    # Cost within 1% (ccusage prices with LiteLLM's table, agentprof with genai-prices).
    assert t["cost"] == pytest.approx(cost, rel=0.01)
    assert all(r["source"] == "claude-code" for r in runs_json(db))


def test_usage_only_lines_without_a_type_are_read_as_ccusage_reads_them(db: Path) -> None:
    """ccusage's own fixtures (`projects/*/session-*/chat.jsonl`) hold assistant messages with
    usage, session and request ids but no `type`. ccusage 20.0.24 `daily --offline -z UTC`
    on that folder: 2026-01-09 input 300, output 125, cache write 75, cache read 30; 2026-01-10
    300 / 125 / 0 / 40; 2026-02-03 130 / 60 / 15 / 40 (its costs come from the lines' own
    costUSD, not compared)."""
    folder = REALDATA / "public" / "claude-code" / "ccusage-fixtures" / "projects"
    out = ingest_json(db, folder)
    assert out["files_failed"] == 0 and out["records_skipped"] == 0
    t = totals(db)
    assert (t["input"], t["output"], t["cache_write"], t["cache_read"]) == (730, 310, 90, 110)
    assert t["ticks"] == 5
    # no prompts, no tool results: each record is a turn, and no turn spans the days between
    assert [r["wall_ms"] for r in runs_json(db)] == [None] * 5  # instants: no timing
    # nor do the models' latencies count them as 0 ms calls
    ran = run_cli("report", "--db", db, "--json")
    models = json.loads(ran.stdout)["cost_by_model"]
    assert len(models) == 3 and all(m["latency_p50_ms"] is None for m in models)


def test_spotter_subagents_are_child_runs(db: Path) -> None:
    ingest_json(db, REALDATA / "public" / "claude-code" / "spotter")
    runs = runs_json(db)
    children = [r for r in runs if r["parent_run_id"]]
    turns = {r["run_id"]: r for r in runs if not r["run_id"].startswith("agent-")}
    # 12 subagent files (5 of them compaction agents); each is a run under the turn of its
    # session that was running when it started. One main session file is missing upstream, so
    # its subagent's link stays the session id. A 13th subagent (agent-afb92ff, in subagent.jsonl)
    # has no transcript: its 5 calls are known from the agent_progress echoes in its parent's.
    # The other sessions echo their subagents too; those echoes dedupe against the transcripts.
    assert len(children) == 13
    assert all(r["run_id"].startswith("agent-") for r in children)
    assert all(r["run_id"].endswith("@" + r["session_id"]) for r in children)
    echoed = [r for r in children if r["run_id"].startswith("agent-afb92ff@")]
    assert [r["ticks"] for r in echoed] == [5]
    nested = [r for r in children if r["parent_run_id"] in turns]
    assert len(nested) == 12
    for r in nested:
        parent = turns[r["parent_run_id"]]
        assert parent["session_id"] == r["session_id"]
        assert parent["started_at"] <= r["started_at"]
        later = [
            t
            for t in turns.values()
            if t["session_id"] == r["session_id"]
            and parent["started_at"] < t["started_at"] <= r["started_at"]
        ]
        assert later == []
    assert sum(r["agent"] == "compact" for r in children) == 5


def test_fixture_session_ledger(db: Path) -> None:
    out = ingest_json(db, FIXTURES / "claude_code")
    # 12 + 2 transcript lines + the meta file; one malformed line.
    assert out["records"] == 15 and out["records_skipped"] == 1 and out["files_failed"] == 0
    ticks = ticks_json(db, TURN)
    assert [t["input_uncached_tokens"] for t in ticks] == [10, 5, 3]
    # msg_A has two lines (output 5 then 120): the final line counts, never the sum.
    assert [t["output_tokens"] for t in ticks] == [120, 40, 30]
    assert [t["cache_read_tokens"] for t in ticks] == [2000, 3000, 3000]
    assert [t["cache_write_5m_tokens"] for t in ticks] == [400, 0, 200]
    assert [t["cache_write_1h_tokens"] for t in ticks] == [600, None, 0]
    assert [t["latency_ms"] for t in ticks] == [3000, 1500, 2000]
    assert [t["model"] for t in ticks] == ["claude-sonnet-4-5-20250929"] * 3
    # Sonnet 4.5: $3 in, $3.75 5m write, $6 1h write, $0.30 read, $15 out per MTok.
    expected = [
        (10 * 3 + 400 * 3.75 + 600 * 6 + 2000 * 0.3 + 120 * 15) / 1e6,
        (5 * 3 + 3000 * 0.3 + 40 * 15) / 1e6,
        (3 * 3 + 200 * 3.75 + 3000 * 0.3 + 30 * 15) / 1e6,
    ]
    assert [t["cost_usd"] for t in ticks] == pytest.approx(expected)
    assert ticks[0]["tool_calls"] == 1 and ticks[1]["tool_calls"] == 1


def test_fixture_runs_time_split_and_user_wait(db: Path) -> None:
    ingest_json(db, FIXTURES / "claude_code")
    runs = {r["run_id"]: r for r in runs_json(db)}
    main, sub = runs[TURN], runs[SUB]
    assert main["source"] == "claude-code" and main["agent"] == "claude-code"
    assert main["session_id"] == SESSION and main["parent_run_id"] is None
    # 69 s from prompt to answer, of which AskUserQuestion waited 60 s on the user: that time
    # belongs to no run, so the turn's wall-clock is 9 s.
    assert main["user_wait_ms"] == 60_000
    assert main["wall_ms"] == 9_000
    assert main["model_ms"] == 6_500
    # Bash ran 2.5 s.
    assert main["tool_ms"] == 2_500 and main["tool_serial_ms"] == 2_500
    assert main["harness_ms"] == 0
    assert (main["input_uncached_tokens"], main["output_tokens"]) == (18, 190)
    assert (main["cache_write_tokens"], main["cache_read_tokens"]) == (1200, 8000)
    assert sub["parent_run_id"] == TURN and sub["agent"] == "Explore"
    assert sub["session_id"] == SESSION
    assert (sub["input_uncached_tokens"], sub["output_tokens"]) == (100, 7)


def test_tool_calls_latency_and_status(db: Path) -> None:
    ingest_json(db, FIXTURES / "claude_code")
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "select tool_name, call_id, tick, tick_link, duration_ms, status from tool_calls"
        " order by start_ns"
    ).fetchall()
    con.close()
    assert rows == [
        ("Bash", "toolu_1", 1, "call_id", 2500.0, "ok"),
        ("AskUserQuestion", "toolu_2", 2, "call_id", 60000.0, "user_wait"),
    ]


def test_bad_and_unknown_records_are_quarantined_with_path_and_line(db: Path) -> None:
    ingest_json(db, FIXTURES / "claude_code")
    ran = run_cli("quarantine", "--db", db, "--json")
    rows = ran.json()["quarantine"]
    # The unknown record type (line 6) is not an error; the truncated line 7 is.
    assert [(Path(r["path"]).name, r["line"]) for r in rows] == [(MAIN.name, 7)]
    assert "malformed JSON" in rows[0]["reason"]


def test_a_transcript_without_one_usable_record_fails_and_writes_nothing(
    db: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        '{"type":"assistant","sessionId":"s","uuid":"u",'
        '"message":{"usage":{"input_tokens":1,"output_tokens":1}}}\n'
    )
    ran = run_cli("ingest", "--db", db, broken)
    assert ran.exit_code == 1
    assert (
        f"error: {broken}: no usable claude-code record "
        "(line 1: assistant record without a valid timestamp)"
    ) in ran.stderr
    assert run_cli("quarantine", "--db", db, "--json").json()["quarantine"] == []


def test_reingest_and_snapshot_copies_change_nothing(db: Path, tmp_path: Path) -> None:
    ingest_json(db, FIXTURES / "claude_code")
    before = totals(db)
    again = ingest_json(db, FIXTURES / "claude_code")
    assert again["files_unchanged"] == 3 and again["spans"] == 0
    # A snapshot copy of the same session under another name (codemie does this).
    copy = tmp_path / "snapshot" / "copy.jsonl"
    copy.parent.mkdir()
    shutil.copy(MAIN, copy)
    with copy.open("a") as f:
        f.write('{"type":"summary","summary":"later","leafUuid":"x"}\n')
    out = ingest_json(db, copy)
    assert out["files"] == 1 and out["spans"] == 0
    assert totals(db) == before


def test_grown_file_adds_only_new_and_replaces_an_unfinished_message(
    db: Path, tmp_path: Path
) -> None:
    lines = MAIN.read_bytes().splitlines(keepends=True)
    live = tmp_path / "projects" / "p" / f"{SESSION}.jsonl"
    live.parent.mkdir(parents=True)
    # First copy: stops after msg_A's first streamed line (output 5 is a placeholder).
    live.write_bytes(b"".join(lines[:2]))
    ingest_json(db, live)
    first = ticks_json(db, TURN)
    assert [(t["output_tokens"], t["latency_ms"]) for t in first] == [(5, 2000)]
    # The file grows: msg_A's final line (output 120) and the rest of the session.
    live.write_bytes(b"".join(lines))
    out = ingest_json(db, live)
    assert out["files"] == 1
    grown = ticks_json(db, TURN)
    assert [t["output_tokens"] for t in grown] == [120, 40, 30]
    assert grown[0]["latency_ms"] == 3000
    # Same ledger as ingesting the complete file once.
    fresh = tmp_path / "fresh.duckdb"
    ingest_json(fresh, live)
    assert totals(db) == totals(fresh)
    # An older snapshot arriving after the newer one never downgrades the stored message.
    old = tmp_path / "older.jsonl"
    old.write_bytes(b"".join(lines[:2]))
    ingest_json(db, old)
    assert totals(db) == totals(fresh)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("claude-opus-4-6", "claude-opus-4-6"),
        ("converse/jp.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929"),
        ("bedrock/global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
    ],
)
def test_model_ids_normalised_for_pricing(raw: str, normal: str) -> None:
    assert normalize_model(raw) == normal


def test_bedrock_model_priced_and_raw_id_kept(db: Path) -> None:
    ingest_json(db, REALDATA / "public" / "claude-code" / "codemie")
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute(
        "select model, request_model, cost_usd from ticks where request_model like 'converse/%'"
    ).fetchone()
    con.close()
    assert row is not None
    assert row[0] == "claude-haiku-4-5-20251001" and row[2] is not None and row[2] > 0
