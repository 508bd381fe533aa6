"""The shortcuts a first ingest of coding-agent logs takes (issue 18) give what the long way gives:

- the range check settles plain whole numbers without a Python pass and checks every other value
  one by one, so its reasons are those of checking every value one by one;
- the store step deletes a stored span only for a staged copy of higher rank, reading no stored
  attributes when no staged span is stored yet;
- a folder of transcripts alone skips the pairing with Claude Code OTel events (whichever of the
  two comes first, tests/test_otel_logs.py holds that they still pair), and storing it file by file
  gives the ledger of one ingest;
- the spans of one service share one resource attribute list and are stored with it."""

from __future__ import annotations

import json
import pickle
import shutil
import zlib
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agentprof import ingest, store
from agentprof.sources import agentlog, claude_code, validate
from agentprof.sources.otlp import SpanBatcher
from tests.conftest import FIXTURES, ingest_json

CLAUDE = FIXTURES / "claude_code" / "projects"
T0 = 1_770_000_000 * 10**9

# Values a token count or a cost can be written as, plain or not (the range check's own cases and
# the ones a whole-number pattern could get wrong: signs, exponents, spaces, other digits, 10^12).
VALUES = [
    "0",
    "7",
    "0123",
    "999999999999",
    "1000000000000",
    "1000000000001",
    "12.0",
    "12.5",
    "1e3",
    "1e13",
    "-1",
    "+5",
    " 12",
    "12 ",
    "",
    "nan",
    "inf",
    "abc",
    "١٢",  # Arabic-Indic digits: float() reads them
    "0x10",
    "1_000",
    "2.5e-3",
]


def _row(attrs: dict[str, Any], i: int, start: int = T0) -> tuple[Any, ...]:
    return agentlog.span_row(
        trace_id=f"t{i % 3}",
        span_id=f"{i:016x}",
        name="claude_code.llm_request",
        start_ns=start,
        end_ns=start + 1,
        attributes=attrs,
        service="claude-code",
        scope="agentprof.claude_code",
        line=i + 1,
    )


def _table(rows: list[tuple[Any, ...]]) -> pa.Table:
    batcher = SpanBatcher()
    for row in rows:
        batcher.add(row)
    table = batcher.take()
    assert table is not None
    return table


def _one_by_one(attrs: list[tuple[str, str]]) -> str | None:
    """The oracle: every attribute checked in order, the first reason."""
    for key, text in attrs:
        if key in validate.TOKEN_KEYS:
            why = validate.token_problem(key, text)
        elif key in validate.COST_KEYS:
            why = validate.cost_problem(key, text)
        else:
            continue
        if why:
            return why
    return None


def test_range_check_gives_the_reasons_of_checking_every_value() -> None:
    rows = []
    for i, value in enumerate(VALUES):
        other = VALUES[(i * 7 + 3) % len(VALUES)]
        rows.append(_row({"input_tokens": value, "cost_usd": other, "note": value}, i))
        rows.append(_row({"gen_ai.usage.output_tokens": "5", "cost_usd": value}, 100 + i))
    rows.append(_row({"note": "-1", "stop_reason": "1e99"}, 200))  # not counts: not checked
    table = _table(rows)
    want = []
    for row_index, row in enumerate(rows):
        why = _one_by_one(row[12])
        if why:
            want.append((row_index, why))
    got = validate.span_problems(table)
    assert got == want
    # Not vacuous: as a cost (odd rows, beside a plain output count), exactly these are refused.
    as_cost = {VALUES[r // 2] for r, _ in got if r % 2 == 1 and r < 2 * len(VALUES)}
    assert as_cost == {"-1", "nan", "inf", "abc", "0x10"}


def test_range_check_finds_times_and_marks_where_the_rows_are() -> None:
    rows = [_row({"input_tokens": "1"}, i) for i in range(6)]
    ok = _row({"input_tokens": "1"}, 1)
    rows[1] = (*ok[:6], T0 - 5, *ok[7:])  # ends before it starts (span_row never writes that)
    rows[3] = _row({"input_tokens": "1"}, 3, start=-1)  # before 1970
    rows[4] = _row({validate.INVALID: "lone surrogate", "input_tokens": "-2"}, 4)
    problems = validate.span_problems(_table(rows))
    assert [row for row, _ in problems] == [1, 3, 4]
    assert problems[0][1] == f"end time {T0 - 5} is before start time {T0}"
    assert problems[1][1] == "start time -1 is outside 1970..2200"
    assert problems[2][1] == "lone surrogate"  # the mark's reason comes first


def _store(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    table = _table(rows)
    batches = ingest._tagged(iter(table.to_batches()), "f" * 64, 0)
    stream = pa.RecordBatchReader.from_batches(ingest.STORE_SCHEMA, batches)
    with ingest.transaction(con):
        agentlog.store_spans(con, stream)


def _ranks(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    rows = con.execute(
        "select span_id, attributes['agentprof.rank'], attributes['note'] from spans"
    ).fetchall()
    return {span: (rank, note) for span, rank, note in rows}


def test_a_stored_span_is_replaced_only_by_a_higher_rank(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "t.duckdb")
    try:
        ingest.register_functions(con)
        first = [_row({agentlog.RANK: 5, "note": "first"}, i) for i in range(4)]
        _store(con, first)
        # None of these is stored yet: nothing is deleted, all are inserted.
        _store(con, [_row({agentlog.RANK: 1, "note": "new"}, i) for i in range(10, 12)])
        later = [
            _row({agentlog.RANK: 7, "note": "higher"}, 0),
            _row({agentlog.RANK: 5, "note": "equal"}, 1),
            _row({agentlog.RANK: 3, "note": "lower"}, 2),
            _row({"note": "no rank"}, 10),
        ]
        _store(con, later)
        assert _ranks(con) == {
            f"{0:016x}": ("7", "higher"),
            f"{1:016x}": ("5", "first"),
            f"{2:016x}": ("5", "first"),
            f"{3:016x}": ("5", "first"),
            f"{10:016x}": ("1", "new"),
            f"{11:016x}": ("1", "new"),
        }
        assert con.execute("select count(*) from spans").fetchall() == [(6,)]
    finally:
        con.close()


def _ledger(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            table: con.sql(f"select * from {table} order by all").fetchall()
            for table in ("runs", "ticks", "tool_calls")
        }
    finally:
        con.close()


def _with_echo(folder: Path) -> Path:
    """The demo transcripts, the session echoing its subagent's request (an `agent_progress` line
    as 2.1.x writes): the echo is the same (message.id, requestId), one rank below the subagent's
    own line."""
    shutil.copytree(CLAUDE, folder)
    session = next(folder.glob("*/*.jsonl"))
    sub = next(folder.rglob("agent-abc.jsonl"))
    answer = json.loads(sub.read_text().splitlines()[1])
    inner = {k: answer[k] for k in ("type", "message", "requestId", "timestamp")}
    echo = {
        "parentUuid": None,
        "isSidechain": False,
        "cwd": "/home/u/demo",
        "sessionId": answer["sessionId"],
        "version": "2.1.39",
        "type": "progress",
        "data": {"type": "agent_progress", "agentId": "abc", "message": inner},
        "uuid": "p1",
        "timestamp": "2026-03-01T10:00:04.100Z",
    }
    with session.open("a") as f:
        f.write(json.dumps(echo) + "\n")
    return folder


def test_transcripts_stored_file_by_file_give_the_ledger_of_one_ingest(tmp_path: Path) -> None:
    # (The pairing with OTel events, skipped here, is held by tests/test_otel_logs.py: events
    # stored first, then the transcript, must still pair.)
    folder = _with_echo(tmp_path / "projects")
    db = tmp_path / "t.duckdb"
    ingest_json(db, folder)
    con = store.connect(db)
    try:
        scopes = con.execute("select distinct scope_name from spans").fetchall()
        assert scopes == [("agentprof.claude_code",)]
        resources = con.execute("select distinct resource_attributes from spans").fetchall()
        assert resources == [({"service.name": "claude-code"},)]
        # The subagent's own line won over the echo: its rank counts one line.
        rank = con.execute(
            "select attributes['agentprof.rank'] from spans"
            " where attributes['gen_ai.response.id'] = 'msg_S'"
        ).fetchall()
        assert rank == [(str(107 * 10_000 + 1),)]
    finally:
        con.close()
    # File by file, in both orders: the echo stored first is replaced by the subagent's line
    # (a higher rank); stored second, it is not stored at all.
    files = sorted(folder.rglob("*.jsonl"))
    assert len(files) == 2
    for order, paths in (("session first", files), ("subagent first", files[::-1])):
        again = tmp_path / f"{order}.duckdb"
        for path in paths:
            ingest_json(again, path)
        assert _ledger(again) == _ledger(db), order


def test_span_rows_of_one_service_share_their_resource_list() -> None:
    rows = [_row({"note": str(i)}, i) for i in range(3)]
    other = agentlog.span_row(
        trace_id="t", span_id="s", name="n", start_ns=T0, end_ns=T0, attributes={},
        service="codex", scope="agentprof.codex", line=1,
    )  # fmt: skip
    assert rows[0][13] is rows[1][13] is rows[2][13]
    assert rows[0][13] == [("service.name", "claude-code")]
    assert other[13] == [("service.name", "codex")]
    table = _table(rows)
    assert (
        table.column("resource_attributes").to_pylist() == [[("service.name", "claude-code")]] * 3
    )


@pytest.mark.parametrize("shape", ["whole numbers", "mixed"])
def test_range_check_on_a_large_table_matches_the_oracle(shape: str) -> None:
    rows = []
    for i in range(3000):
        value = str(i * 37) if shape == "whole numbers" or i % 11 else VALUES[i // 11 % len(VALUES)]
        rows.append(_row({"input_tokens": value, "output_tokens": str(i), "x": "y"}, i))
    want = [(i, why) for i, row in enumerate(rows) if (why := _one_by_one(row[12]))]
    assert validate.span_problems(_table(rows)) == want
    assert (want == []) == (shape == "whole numbers")


def _read_whole(path: Path) -> tuple[Any, agentlog.Cursor]:
    reader, cursor = claude_code.reader(path, lambda *_: None), agentlog.Cursor()
    with path.open("rb") as f:
        for _ in agentlog.read_jsonl(f, lambda *_: None, reader, cursor):
            pass
    return reader, cursor


def test_reader_state_round_trips_and_older_zlib_states_still_load() -> None:
    path = next(CLAUDE.glob("*/*.jsonl"))
    reader, cursor = _read_whole(path)
    blob = agentlog.dump_state(reader, cursor)
    assert blob.startswith(b"\x28\xb5\x2f\xfd")  # a zstd frame
    older = zlib.compress(pickle.dumps((reader.STATE_VERSION, reader, cursor), protocol=5), 1)
    for stored in (blob, older):
        again, where = agentlog.load_state(stored)
        assert where == cursor
        assert again.__getstate__() == reader.__getstate__()
        assert again.messages and again.tools  # not vacuous: the demo has ticks and tool calls
    for broken in (blob[:-3], b"\x28\xb5\x2f\xfd" + b"\x00" * 8, b"not a state"):
        with pytest.raises(ValueError, match="stored reader state unusable"):
            agentlog.load_state(broken)
