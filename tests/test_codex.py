"""Codex CLI rollouts: oracle totals on real data, re-emitted token_count events, cumulative
differences, tool calls, snapshot copies. Hand-computed numbers: fixtures/codex/README.md."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURES, REALDATA, ingest_json, run_cli, runs_json, ticks_json

ROLLOUT = FIXTURES / "codex" / "sessions" / "2026" / "03" / "01"
ROLLOUT = ROLLOUT / "rollout-2026-03-01T09-00-00-thread-0001.jsonl"


def sums(db: Path) -> tuple[int, ...]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "select count(*), sum(input_uncached_tokens), sum(cache_read_tokens),"
            " sum(output_tokens), sum(reasoning_tokens), sum(cost_usd) from ticks"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return tuple(row)


def test_real_rollouts_match_ccusage_except_its_double_counted_snapshot(db: Path) -> None:
    """ccusage 20.0.24 (`--offline --mode calculate -z UTC`) on codex/codemie: input excluding
    cached 1,131,912, cached 4,932,072, output 9,362 (1,785 reasoning), $8.38.

    codemie's turn-2.jsonl is a grown snapshot of turn-1.jsonl (same thread id a1b2c3d4…, same
    session_meta). Its first token_count event (2026-05-12T10:00:03.150Z, input 1,024 of which
    512 cached, output 12 of which 8 reasoning) is the same API response as turn-1's only one.
    ccusage counts it in both files; agentprof stores it once (span id = thread + timestamp +
    totals). Everything else is equal, so agentprof = oracle − that one record."""
    out = ingest_json(db, REALDATA / "public" / "codex" / "codemie")
    assert out["records_skipped"] == 0 and out["files_failed"] == 0
    n, uncached, cached, output, reasoning, cost = sums(db)
    assert uncached == 1_131_912 - (1_024 - 512)
    assert cached == 4_932_072 - 512
    assert output == 9_362 - 12
    assert reasoning == 1_785 - 8
    # The duplicate is $0.0007 of o4-mini: the cost still agrees within 1%.
    assert cost == pytest.approx(8.38, rel=0.01)
    assert {r["source"] for r in runs_json(db)} == {"codex"}


def test_real_rollout_counts_only_advancing_totals(db: Path) -> None:
    main = REALDATA / "public" / "codex" / "codemie" / "sessions" / "2026" / "05" / "11"
    ingest_json(db, next(main.glob("rollout-2026-05-11T11-26-55-*.jsonl")))
    # 66 token_count events with info, each advancing the total: 66 ticks.
    assert sums(db)[0] == 66


def test_fixture_ledger(db: Path) -> None:
    out = ingest_json(db, ROLLOUT)
    assert out["records"] == 16 and out["records_skipped"] == 1
    # One user message: one turn, under a hash of the thread and Codex's short turn id "t1".
    ((run_id, session_id),) = ((r["run_id"], r["session_id"]) for r in runs_json(db))
    assert session_id == "thread-0001" and len(run_id) == 32
    ticks = ticks_json(db, run_id)
    # The re-emitted total (line 9) and the info:null update (line 14) are not ticks; the last
    # event has no last_token_usage: its usage is the difference of the totals.
    assert [t["input_uncached_tokens"] for t in ticks] == [200, 500, 200]
    assert [t["cache_read_tokens"] for t in ticks] == [800, 1000, 1000]
    assert [t["output_tokens"] for t in ticks] == [50, 30, 20]
    assert [t["reasoning_tokens"] for t in ticks] == [10, 0, 5]
    assert [t["latency_ms"] for t in ticks] == [2200, 2500, 2000]
    assert [t["model"] for t in ticks] == ["gpt-5"] * 3
    assert [t["provider"] for t in ticks] == ["openai"] * 3
    assert [t["input_provenance"] for t in ticks] == ["derived_from_inclusive"] * 3
    # gpt-5: $1.25 in, $0.125 cached, $10 out per MTok.
    expected = [
        (200 * 1.25 + 800 * 0.125 + 50 * 10) / 1e6,
        (500 * 1.25 + 1000 * 0.125 + 30 * 10) / 1e6,
        (200 * 1.25 + 1000 * 0.125 + 20 * 10) / 1e6,
    ]
    assert [t["cost_usd"] for t in ticks] == pytest.approx(expected)
    assert ticks[0]["tool_calls"] == 1


def test_fixture_tool_call_and_run(db: Path) -> None:
    ingest_json(db, ROLLOUT)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("select tool_name, call_id, tick, tick_link, duration_ms from tool_calls")
    assert rows.fetchall() == [("shell", "call_1", 1, "call_id", 4000.0)]
    con.close()
    (run,) = runs_json(db)
    assert run["source"] == "codex" and run["session_id"] == "thread-0001"
    assert run["wall_ms"] == 21_000
    assert run["model_ms"] == 6_700
    # The shell call (09:00:03 → 09:00:07) overlaps tick 1 by 0.2 s.
    assert run["tool_ms"] == 3_800


def test_quarantine_and_unknown_record_types(db: Path) -> None:
    ingest_json(db, ROLLOUT)
    rows = run_cli("quarantine", "--db", db, "--json").json()["quarantine"]
    assert [(Path(r["path"]).name, r["line"]) for r in rows] == [(ROLLOUT.name, 11)]


def test_grown_rollout_adds_only_new_ticks(db: Path, tmp_path: Path) -> None:
    lines = ROLLOUT.read_bytes().splitlines(keepends=True)
    live = tmp_path / "rollout.jsonl"
    live.write_bytes(b"".join(lines[:9]))
    ingest_json(db, live)
    assert sums(db)[0] == 1
    live.write_bytes(b"".join(lines))
    ingest_json(db, live)
    fresh = tmp_path / "fresh.duckdb"
    ingest_json(fresh, ROLLOUT)
    assert sums(db) == sums(fresh)
    assert sums(db)[:5] == (3, 900, 2800, 100, 15)


def _event(ts: str, kind: str, payload: dict[str, object]) -> str:
    import json

    return json.dumps({"timestamp": ts, "type": kind, "payload": payload})


def _count(ts: str, inp: int, total: int) -> str:
    usage = {"input_tokens": inp, "cached_input_tokens": 0, "output_tokens": 10}
    usage_total = {**usage, "input_tokens": total}
    return _event(
        ts,
        "event_msg",
        {
            "type": "token_count",
            "info": {"last_token_usage": usage, "total_token_usage": usage_total},
        },
    )


def test_a_tick_with_no_input_logged_before_it_does_not_span_the_idle_gap(
    db: Path, tmp_path: Path
) -> None:
    """ccusage's synthetic session-alpha logs two token_count events a day apart with nothing in
    between. A tick starts at its input (a user message, a tool output); with none logged, at
    the first item of its response, and with none of those either it has no measurable
    latency. The day between them is neither model time nor any turn's time."""
    lines = [
        _event("2026-05-13T09:00:00.000Z", "turn_context", {"model": "gpt-5"}),
        _event("2026-05-13T09:00:01.000Z", "event_msg", {"type": "user_message", "message": "hi"}),
        _count("2026-05-13T09:00:04.000Z", 100, 100),  # 3 s after the user message
        _count("2026-05-14T10:00:00.000Z", 200, 300),  # nothing in between: 0 s
        _event(
            "2026-05-14T11:00:00.000Z",
            "response_item",
            {"type": "message", "role": "assistant", "content": []},
        ),
        _count("2026-05-14T11:00:02.000Z", 300, 600),  # from its first response item: 2 s
    ]
    rollout = tmp_path / "rollout-2026-05-13T09-00-00-gap.jsonl"
    rollout.write_text("\n".join(lines) + "\n")
    ingest_json(db, rollout)
    runs = sorted(runs_json(db), key=lambda r: r["started_at"])
    ticks = [t for r in runs for t in ticks_json(db, r["run_id"])]
    assert [t["latency_ms"] for t in ticks] == [3000, None, 2000]
    # Each unprompted response opens a turn of its own; no turn's wall-clock holds the gaps.
    assert [r["wall_ms"] for r in runs] == [3000, None, 2000]
    assert len({r["session_id"] for r in runs}) == 1
