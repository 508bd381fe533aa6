"""Gemini CLI sessions (`../shared/realdata/public/gemini-cli/codemie/`): token totals, turns and
tool calls checked against numbers summed here from the session files themselves."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import REALDATA, ingest_json, runs_json, ticks_json

SESSIONS = REALDATA / "public" / "gemini-cli" / "codemie"


def sessions() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(SESSIONS.glob("session-*.json"))]


def replies(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in doc["messages"] if m["type"] == "gemini" and m.get("tokens")]


def ms(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp() * 1000.0


def test_token_totals_match_the_session_files(db: Path) -> None:
    out = ingest_json(db, SESSIONS)
    assert out["files"] == 2 and out["files_failed"] == 0 and out["records_skipped"] == 0
    tokens = [m["tokens"] for doc in sessions() for m in replies(doc)]
    # Gemini CLI's total is prompt + candidates + thoughts + tool-use prompt.
    assert all(t["input"] + t["output"] + t["thoughts"] + t["tool"] == t["total"] for t in tokens)
    runs = runs_json(db)
    assert {r["source"] for r in runs} == {"gemini-cli"}
    assert sum(r["ticks"] for r in runs) == len(tokens)
    prompt = sum(r["input_uncached_tokens"] + r["cache_read_tokens"] for r in runs)
    assert prompt == sum(t["input"] + t["tool"] for t in tokens)
    assert sum(r["cache_read_tokens"] for r in runs) == sum(t["cached"] for t in tokens)
    # Billable output is candidates + thoughts; thoughts are the reasoning part of it.
    assert sum(r["output_tokens"] for r in runs) == sum(t["output"] + t["thoughts"] for t in tokens)
    assert sum(r["reasoning_tokens"] for r in runs) == sum(t["thoughts"] for t in tokens)
    assert prompt + sum(r["output_tokens"] for r in runs) == sum(t["total"] for t in tokens)


def test_each_user_message_starts_a_turn_of_its_session(db: Path) -> None:
    ingest_json(db, SESSIONS)
    runs = {r["run_id"]: r for r in runs_json(db)}
    expected: dict[str, tuple[str, int, int]] = {}
    for doc in sessions():
        turn = None
        for m in doc["messages"]:
            if m["type"] == "user":
                turn = m["id"]
                expected[turn] = (doc["sessionId"], 0, 0)
            elif m["type"] == "gemini" and m.get("tokens") and turn is not None:
                session, ticks, tools = expected[turn]
                expected[turn] = (session, ticks + 1, tools + len(m.get("toolCalls") or []))
    got = {rid: (r["session_id"], r["ticks"], r["tool_calls"]) for rid, r in runs.items()}
    assert got == expected


def test_per_tick_usage_follows_each_message(db: Path) -> None:
    ingest_json(db, SESSIONS)
    doc = sessions()[1]
    user = next(m for m in doc["messages"] if m["type"] == "user")
    first = replies(doc)[0]["tokens"]
    (tick,) = ticks_json(db, user["id"])
    assert tick["input_uncached_tokens"] == first["input"] + first["tool"] - first["cached"]
    assert tick["cache_read_tokens"] == first["cached"]
    assert tick["output_tokens"] == first["output"] + first["thoughts"]
    assert tick["reasoning_tokens"] == first["thoughts"]
    assert tick["provider"] == "google" and tick["model"] == replies(doc)[0]["model"]


def test_a_tool_calling_reply_ends_when_its_first_tool_starts(db: Path) -> None:
    """A message that called tools is stamped when its first tool finished; the call id holds
    the tool's start in Unix ms, and the model call began at the previous tool result."""
    ingest_json(db, SESSIONS)
    doc = sessions()[0]
    msgs = doc["messages"]
    i = next(i for i, m in enumerate(msgs) if m["id"] == "0e72a9f7-b8f2-41ea-9e39-428dd01f314f")
    (call,) = msgs[i]["toolCalls"]
    started_ms = int(call["id"].split("-")[1])
    previous_result_ms = max(ms(c["timestamp"]) for c in msgs[i - 1]["toolCalls"])
    turn = next(m["id"] for m in reversed(msgs[:i]) if m["type"] == "user")
    tick = next(
        t for t in ticks_json(db, turn) if t["tool_calls"] == 1 and t["output_tokens"] > 1000
    )
    assert tick["latency_ms"] == started_ms - previous_result_ms


def test_an_unreadable_token_count_is_quarantined_by_message(db: Path, tmp_path: Path) -> None:
    doc = sessions()[1]
    bad = next(i for i, m in enumerate(doc["messages"]) if m.get("tokens"))
    doc["messages"][bad]["tokens"]["output"] = "many"
    path = tmp_path / "session-bad.json"
    path.write_text(json.dumps(doc))
    out = ingest_json(db, path)
    assert out["records_skipped"] == 1
    assert out["skipped_examples"][0].endswith(
        f"messages[{bad}]: tokens.output 'many' is not a token count"
    )
    assert sum(r["ticks"] for r in runs_json(db)) == len(replies(doc)) - 1


def test_a_json_lines_session_counts_the_last_copy_of_each_message(
    db: Path, tmp_path: Path
) -> None:
    """Newer Gemini CLI builds append records: a reply is written, then written again once its
    token counts arrive; `$rewindTo` drops a message and all after it."""
    doc = sessions()[0]
    lines = [{k: v for k, v in doc.items() if k != "messages"}]
    for m in doc["messages"]:
        if m.get("tokens"):
            lines.append({k: v for k, v in m.items() if k != "tokens"})
        lines.append(m)
    stray = {**replies(doc)[-1], "id": "rewound-reply"}
    lines += [
        stray,
        {"$rewindTo": "rewound-reply"},
        {"$set": {"lastUpdated": "2099-01-01T00:00:00Z"}},
    ]
    path = tmp_path / "session-lines.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = ingest_json(db, path)
    assert out["files_failed"] == 0 and out["records"] == len(lines)
    tokens = [m["tokens"] for m in replies(doc)]
    runs = runs_json(db)
    assert {r["source"] for r in runs} == {"gemini-cli"}
    assert sum(r["ticks"] for r in runs) == len(tokens)
    assert sum(r["output_tokens"] for r in runs) == sum(t["output"] + t["thoughts"] for t in tokens)
    assert {r["run_id"] for r in runs} == {m["id"] for m in doc["messages"] if m["type"] == "user"}
