"""Repeat runs over coding-agent logs: an unchanged file is skipped by size and mtime without a
byte read; a grown Claude Code transcript or Codex rollout is read from where the stored reading
stopped, and the database then holds what a whole read of the grown file into a fresh database
gives; a rewritten start makes the file be read whole again, replacing its spans."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import FIXTURES, REALDATA, ingest_json

CLAUDE = FIXTURES / "claude_code" / "projects" / "-home-u-demo"
TRANSCRIPT = CLAUDE / "11111111-2222-3333-4444-555555555555.jsonl"
ROLLOUT = FIXTURES / "codex" / "sessions" / "2026" / "03" / "01"
ROLLOUT = ROLLOUT / "rollout-2026-03-01T09-00-00-thread-0001.jsonl"
SPOTTER = REALDATA / "public" / "claude-code" / "spotter" / "projects"
SESSION = "11111111-2222-3333-4444-555555555555"


def ledger(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row and every span (less the file each came from: a span read from a grown
    file's new end names the grown content), in a stable order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, order in (
            ("runs", "run_id"),
            ("ticks", "run_id, tick"),
            ("tool_calls", "run_id, span_id"),
            ("spans", "trace_id, span_id"),
        ):
            cols = "* exclude (file_sha256)" if table == "spans" else "*"
            out[table] = con.sql(f"select {cols} from {table} order by {order}").fetchall()
        return out
    finally:
        con.close()


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _line(kind: str, ts: str, uuid: str, message: dict[str, Any]) -> bytes:
    doc = {
        "isSidechain": False,
        "cwd": "/home/u/demo",
        "sessionId": SESSION,
        "version": "2.1.39",
        "type": kind,
        "message": message,
        "uuid": uuid,
        "timestamp": ts,
    }
    if kind == "assistant":
        doc["requestId"] = f"req_{message['id']}"
    return json.dumps(doc).encode() + b"\n"


def _usage(inp: int, out: int) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 10,
    }


def _assistant(ts: str, uuid: str, msg_id: str, out: int, content: list[Any]) -> bytes:
    message = {
        "model": "claude-sonnet-4-5-20250929",
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "usage": _usage(50, out),
    }
    return _line("assistant", ts, uuid, message)


# What the session does next: a tick of the open turn streamed over two lines (a tool call, its
# result), then a new prompt whose turn has two ticks.
MORE = [
    _assistant("2026-03-01T10:02:00.000Z", "a10", "msg_X", 1, [{"type": "text", "text": "Hm"}]),
    _assistant(
        "2026-03-01T10:02:01.000Z",
        "a11",
        "msg_X",
        40,
        [{"type": "tool_use", "id": "toolu_x", "name": "Bash", "input": {"command": "ls"}}],
    ),
    _line(
        "user",
        "2026-03-01T10:02:05.000Z",
        "u10",
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "a b"}],
        },
    ),
    _assistant("2026-03-01T10:02:09.000Z", "a12", "msg_Y", 7, [{"type": "text", "text": "ok"}]),
    _line("user", "2026-03-01T10:05:00.000Z", "u20", {"role": "user", "content": "and now?"}),
    _assistant("2026-03-01T10:05:04.000Z", "a20", "msg_Z", 3, [{"type": "text", "text": "Done"}]),
    _assistant("2026-03-01T10:05:06.000Z", "a21", "msg_Z", 90, [{"type": "text", "text": "."}]),
]


def _fresh(tmp_path: Path, content: bytes, name: str) -> dict[str, list[tuple[Any, ...]]]:
    """The ledger of `content` read whole into a fresh database."""
    folder = tmp_path / f"fresh-{name}"
    folder.mkdir()
    (folder / name).write_bytes(content)
    db = tmp_path / f"fresh-{name}.duckdb"
    ingest_json(db, folder)
    return ledger(db)


def _grow(path: Path, more: bytes) -> None:
    """Append, moving the mtime on even where the clock is coarse."""
    st = path.stat()
    with open(path, "ab") as f:
        f.write(more)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


@pytest.mark.parametrize("cut", range(1, len(_lines(TRANSCRIPT)) + len(MORE)))
def test_grown_transcript_equals_a_fresh_whole_read(tmp_path, cut):
    lines = _lines(TRANSCRIPT) + MORE
    whole = b"".join(lines)
    folder = tmp_path / "projects"
    folder.mkdir()
    log = folder / TRANSCRIPT.name
    log.write_bytes(b"".join(lines[:cut]))
    db = tmp_path / "grown.duckdb"
    ingest_json(db, folder)
    _grow(log, b"".join(lines[cut:]))
    again = ingest_json(db, folder)
    assert again["files"] == 1
    # Only the new end was decoded (the whole file is hashed: its content is new).
    assert again["bytes_read"] == len(whole) - len(b"".join(lines[:cut]))
    assert again["bytes_hashed"] == len(whole)
    assert ledger(db) == _fresh(tmp_path, whole, TRANSCRIPT.name)


def test_grown_transcript_in_steps_with_a_new_turn(tmp_path):
    """Grown three times (a new tick in the open turn, its tool's result, a new turn)."""
    folder = tmp_path / "projects"
    folder.mkdir()
    log = folder / TRANSCRIPT.name
    shutil.copy(TRANSCRIPT, log)
    db = tmp_path / "grown.duckdb"
    ingest_json(db, folder)
    for part in (MORE[:2], MORE[2:4], MORE[4:]):
        _grow(log, b"".join(part))
        assert ingest_json(db, folder)["bytes_read"] == len(b"".join(part))
    got = ledger(db)
    assert got == _fresh(tmp_path, log.read_bytes(), TRANSCRIPT.name)
    # The new prompt is a turn of its own; the open turn gained msg_X and msg_Y (the fixture's
    # msg_A, msg_B, msg_C before them); msg_Z counts its final line's 90 output tokens.
    assert [r[0] for r in got["runs"]] == ["u1", "u20"]
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "select run_id, count(*), sum(output_tokens) from ticks group by run_id order by run_id"
    ).fetchall()
    con.close()
    assert [(r, n) for r, n, _ in rows] == [("u1", 5), ("u20", 1)]
    assert rows[1][2] == 90


@pytest.mark.parametrize("cut", [2, 5, 8, 11, 14])
def test_grown_codex_rollout_equals_a_fresh_whole_read(tmp_path, cut):
    lines = _lines(ROLLOUT)
    folder = tmp_path / "sessions"
    folder.mkdir()
    log = folder / ROLLOUT.name
    log.write_bytes(b"".join(lines[:cut]))
    db = tmp_path / "grown.duckdb"
    ingest_json(db, folder)
    _grow(log, b"".join(lines[cut:]))
    again = ingest_json(db, folder)
    assert again["bytes_read"] == len(b"".join(lines[cut:]))
    assert ledger(db) == _fresh(tmp_path, ROLLOUT.read_bytes(), ROLLOUT.name)


def test_unchanged_rerun_reads_no_byte(tmp_path):
    folder = tmp_path / "projects"
    shutil.copytree(CLAUDE, folder)
    shutil.copy(ROLLOUT, folder / ROLLOUT.name)
    db = tmp_path / "a.duckdb"
    first = ingest_json(db, folder)
    assert first["files"] == 4 and first["bytes_hashed"] > 0
    before = ledger(db)
    again = ingest_json(db, folder)
    assert (again["files"], again["files_unchanged"], again["spans"]) == (0, 4, 0)
    assert (again["bytes_hashed"], again["bytes_read"]) == (0, 0)
    assert ledger(db) == before


def test_touched_file_is_hashed_again_and_stays_unchanged(tmp_path):
    folder = tmp_path / "projects"
    folder.mkdir()
    log = folder / TRANSCRIPT.name
    shutil.copy(TRANSCRIPT, log)
    db = tmp_path / "a.duckdb"
    ingest_json(db, folder)
    before = ledger(db)
    st = log.stat()
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    touched = ingest_json(db, folder)
    assert (touched["files"], touched["files_unchanged"]) == (0, 1)
    assert (touched["bytes_hashed"], touched["bytes_read"]) == (st.st_size, 0)
    # The new mtime is remembered: the next run reads nothing, and the reading stays resumable.
    assert ingest_json(db, folder)["bytes_hashed"] == 0
    _grow(log, b"".join(MORE))
    assert ingest_json(db, folder)["bytes_read"] == len(b"".join(MORE))
    assert ledger(db) == _fresh(tmp_path, log.read_bytes(), TRANSCRIPT.name)
    assert ledger(db) != before


def test_rewritten_start_is_read_whole_and_replaces_its_spans(tmp_path):
    folder = tmp_path / "projects"
    folder.mkdir()
    log = folder / TRANSCRIPT.name
    lines = _lines(TRANSCRIPT)
    log.write_bytes(b"".join(lines + MORE[:4]))
    db = tmp_path / "a.duckdb"
    ingest_json(db, folder)
    # The file is rewritten: msg_X (streamed, 40 output tokens) is gone and msg_Y reports fewer
    # tokens; then a new turn is appended. A resumed reading would keep both old copies.
    fewer = MORE[3].replace(b'"output_tokens": 7', b'"output_tokens": 5')
    assert fewer != MORE[3]
    rewritten = b"".join([*lines, MORE[2], fewer, *MORE[4:]])
    log.write_bytes(rewritten)
    again = ingest_json(db, folder)
    assert again["bytes_read"] == len(rewritten)  # read whole
    assert ledger(db) == _fresh(tmp_path, rewritten, TRANSCRIPT.name)


def test_partial_last_line_is_not_resumed_from(tmp_path):
    """A line still being written when the file was read: the next reading starts over (the
    whole file), and the result is the whole read's."""
    folder = tmp_path / "projects"
    folder.mkdir()
    log = folder / TRANSCRIPT.name
    whole = TRANSCRIPT.read_bytes() + b"".join(MORE)
    split = len(TRANSCRIPT.read_bytes()) + len(MORE[0]) // 2
    log.write_bytes(whole[:split])
    db = tmp_path / "a.duckdb"
    ingest_json(db, folder)
    _grow(log, whole[split:])
    assert ingest_json(db, folder)["bytes_read"] == len(whole)
    got = ledger(db)
    assert got == _fresh(tmp_path, whole, TRANSCRIPT.name)


@pytest.mark.skipif(not SPOTTER.exists(), reason="real Claude Code transcripts not present")
def test_real_transcript_grown_at_turn_and_mid_turn_cuts(tmp_path):
    source = min(
        (p for p in SPOTTER.rglob("*.jsonl") if p.stat().st_size > 300_000),
        key=lambda p: p.stat().st_size,
    )
    lines = _lines(source)
    whole = b"".join(lines)
    fresh = _fresh(tmp_path, whole, source.name)
    for cut in (len(lines) // 3, len(lines) // 2 + 1, len(lines) - 2):
        folder = tmp_path / f"cut{cut}"
        folder.mkdir()
        log = folder / source.name
        log.write_bytes(b"".join(lines[:cut]))
        db = tmp_path / f"cut{cut}.duckdb"
        ingest_json(db, folder)
        _grow(log, b"".join(lines[cut:]))
        assert ingest_json(db, folder)["bytes_read"] == len(b"".join(lines[cut:]))
        assert ledger(db) == fresh, cut


def test_unusable_stored_state_means_a_whole_read(tmp_path):
    """A reader state this version cannot restore (here: damaged) costs a whole read, not
    wrong numbers."""
    folder = tmp_path / "projects"
    folder.mkdir()
    log = folder / TRANSCRIPT.name
    shutil.copy(TRANSCRIPT, log)
    db = tmp_path / "a.duckdb"
    ingest_json(db, folder)
    con = duckdb.connect(str(db))
    con.execute("update file_state set resume_state = 'not a state'::blob")
    con.close()
    _grow(log, b"".join(MORE))
    assert ingest_json(db, folder)["bytes_read"] == log.stat().st_size
    assert ledger(db) == _fresh(tmp_path, log.read_bytes(), TRANSCRIPT.name)
