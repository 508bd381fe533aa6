"""Claude Code's OpenTelemetry log events as runs, ticks and tool calls: every export encoding,
the same session from its transcript and its events counted once, and what is not a Claude Code
usage event left alone. Numbers: fixtures/README.md (otlp_logs/)."""

from __future__ import annotations

import copy
import gzip
import json
import struct
from pathlib import Path
from typing import Any

import duckdb
import pytest
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentprof.sources import otel_logs
from tests.conftest import FIXTURES, REALDATA, ingest_json, run_cli, runs_json, ticks_json

SESSION = "11111111-2222-3333-4444-555555555555"
TURN = "u1"  # the transcript's turn (its prompt line's uuid)
EVENTS = FIXTURES / "otlp_logs" / "claude_code_session.json"
NOTES_EXAMPLE = FIXTURES / "otlp_logs" / "claude_code_otel_logs.json"
TRANSCRIPTS = FIXTURES / "claude_code"


def ledger(db: Path) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    runs = runs_json(db)
    return runs, [ticks_json(db, r["run_id"]) for r in runs]


def query(db: Path, text: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(text).fetchall()
    finally:
        con.close()


def events_doc() -> dict[str, Any]:
    return json.loads(EVENTS.read_text())  # type: ignore[no-any-return]


def attr(record: dict[str, Any], key: str) -> str | None:
    for kv in record["attributes"]:
        if kv["key"] == key:
            return str(next(iter(kv["value"].values())))
    return None


def claude_records(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"]  # type: ignore[no-any-return]


# --- one session from its events -----------------------------------------------------------


def test_claude_code_events_become_a_run_of_ticks_and_tool_calls(db: Path) -> None:
    out = ingest_json(db, EVENTS)
    # 11 Claude Code records + 1 from another program; the api_request with input "lots" is bad.
    assert (out["records"], out["records_skipped"], out["spans"]) == (12, 1, 6)
    assert (out["runs"], out["ticks"], out["tool_calls"]) == (1, 4, 2)
    [run] = runs_json(db)
    assert run["run_id"] == run["session_id"] == SESSION
    assert (run["source"], run["agent"], run["parent_run_id"]) == (
        "claude-code-otel",
        "claude-code",
        None,
    )
    assert (run["ticks"], run["tool_calls"]) == (4, 2)
    assert (run["input_uncached_tokens"], run["output_tokens"]) == (118, 197)
    assert (run["cache_read_tokens"], run["cache_write_tokens"]) == (8000, 1200)
    # Every write at the 5-minute price (the events do not split it): $0.006180 + $0.000135
    # + $0.001515 + $0.002109; Claude Code's own estimates add up to $0.011289.
    assert run["cost_usd"] == pytest.approx(0.009939)
    assert run["reported_cost_usd"] == pytest.approx(0.011289)
    # AskUserQuestion waited 60 s on the user: that time belongs to no run.
    assert (run["wall_ms"], run["model_ms"], run["tool_ms"]) == (9_000, 7_000, 2_000)
    assert (run["tool_serial_ms"], run["harness_ms"], run["user_wait_ms"]) == (2_500, 0, 60_000)
    ticks = ticks_json(db, SESSION)
    assert [t["started_at"][11:23] for t in ticks] == [
        "10:00:00.000",
        "10:00:03.500",
        "10:00:05.500",
        "10:01:07.000",
    ]
    assert [t["latency_ms"] for t in ticks] == [3000, 500, 1500, 2000]
    assert [t["model"] for t in ticks] == [
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5-20250929",
    ]
    assert [t["input_uncached_tokens"] for t in ticks] == [10, 100, 5, 3]
    assert [t["cache_read_tokens"] for t in ticks] == [2000, 0, 3000, 3000]
    assert [t["cache_write_5m_tokens"] for t in ticks] == [1000, 0, 0, 200]
    assert [t["cache_write_1h_tokens"] for t in ticks] == [None] * 4
    assert [t["output_tokens"] for t in ticks] == [120, 7, 40, 30]
    assert [t["input_provenance"] for t in ticks] == ["reported_disjoint"] * 4
    assert [t["reported_cost_usd"] for t in ticks] == [0.00753, 0.000135, 0.001515, 0.002109]
    # Sonnet 4.5 $3 in / $3.75 write / $0.30 read / $15 out; Haiku 4.5 $1 in / $5 out (per MTok).
    assert [t["cost_usd"] for t in ticks] == pytest.approx(
        [
            (10 * 3 + 1000 * 3.75 + 2000 * 0.3 + 120 * 15) / 1e6,
            (100 * 1 + 7 * 5) / 1e6,
            (5 * 3 + 3000 * 0.3 + 40 * 15) / 1e6,
            (3 * 3 + 200 * 3.75 + 3000 * 0.3 + 30 * 15) / 1e6,
        ]
    )
    assert [t["tool_calls"] for t in ticks] == [1, 0, 1, 0]
    tools = query(
        db,
        "select tool_name, call_id, tick, tick_link, duration_ms, status from tool_calls"
        " order by start_ns",
    )
    assert tools == [
        ("Bash", "toolu_1", 1, "time", 2500.0, "ok"),
        ("AskUserQuestion", "toolu_2", 3, "time", 60000.0, "user_wait"),
    ]
    bad = run_cli("quarantine", "--db", db, "--json").json()["quarantine"]
    assert [(Path(r["path"]).name, r["reason"]) for r in bad] == [
        (EVENTS.name, "input_tokens 'lots' is not a number")
    ]


def test_the_format_notes_example_is_one_tick_and_one_tool_call(db: Path) -> None:
    ingest_json(db, NOTES_EXAMPLE)
    [run] = runs_json(db)
    # Tick 4,123 ms ending at timeUnixNano 14:40:00.123 (its event.timestamp says 10:40, four
    # hours off: the OTLP record time wins); Read ends at 14:40:01.500 after 12 ms.
    assert (run["wall_ms"], run["model_ms"], run["tool_ms"], run["harness_ms"]) == (
        5500,
        4123,
        12,
        1365,
    )
    [tick] = ticks_json(db, run["run_id"])
    assert tick["started_at"] == "2026-08-08T14:39:56.000000Z"
    assert (tick["input_uncached_tokens"], tick["cache_read_tokens"]) == (3, 41230)
    assert (tick["cache_write_5m_tokens"], tick["output_tokens"]) == (812, 412)
    # Sonnet 4.6: 3·3 + 41,230·0.3 + 812·3.75 + 412·15 = 21,603 µ$.
    assert tick["cost_usd"] == pytest.approx(0.021603)
    assert tick["reported_cost_usd"] == 0.0213
    assert tick["tool_calls"] == 1


def test_diagnose_and_report_read_a_session_from_its_events(db: Path, tmp_path: Path) -> None:
    ingest_json(db, EVENTS)
    ran = run_cli("diagnose", "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert SESSION in ran.stdout
    html = tmp_path / "r.html"
    ran = run_cli("report", "--db", db, "-o", html)
    assert ran.exit_code == 0, ran.stderr
    assert SESSION in html.read_text()


# --- every encoding of an OTLP logs export ---------------------------------------------------


def _pb(doc: dict[str, Any]) -> bytes:
    return bytes(Parse(json.dumps(doc), ExportLogsServiceRequest()).SerializeToString())


def _split(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One request per resource, as an exporter sends them."""
    return [{"resourceLogs": [rl]} for rl in doc["resourceLogs"]]


def _write(path: Path, kind: str) -> Path:
    doc = events_doc()
    if kind == "json lines":
        path.write_text("".join(json.dumps(d) + "\n" for d in _split(doc)))
    elif kind == "concatenated json":
        path.write_text("\n".join(json.dumps(d, indent=1) for d in _split(doc)))
    elif kind == "json.gz":
        path.write_bytes(gzip.compress(EVENTS.read_bytes()))
    elif kind == "protobuf":
        path.write_bytes(_pb(doc))
    elif kind == "collector frames":
        path.write_bytes(b"".join(struct.pack(">I", len(p)) + p for p in map(_pb, _split(doc))))
    elif kind == "serve spool frames":
        # An empty frame first, a JSON body, and a protobuf body behind serve's guard field.
        first, second = _split(doc)
        guarded = b"\xc0\x3e\x00" + _pb(second)
        frames = [b"", json.dumps(first).encode(), guarded]
        path.write_bytes(b"".join(struct.pack(">I", len(p)) + p for p in frames))
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "json lines",
        "concatenated json",
        "json.gz",
        "protobuf",
        "collector frames",
        "serve spool frames",
    ],
)
def test_every_encoding_of_the_export_gives_the_same_ledger(tmp_path: Path, kind: str) -> None:
    ingest_json(tmp_path / "json.duckdb", EVENTS)
    path = _write(tmp_path / "events.otlp", kind)
    out = ingest_json(tmp_path / "other.duckdb", path)
    assert (out["records"], out["records_skipped"], out["spans"]) == (12, 1, 6)
    assert ledger(tmp_path / "other.duckdb") == ledger(tmp_path / "json.duckdb")
    formats = query(tmp_path / "other.duckdb", "select format from files")
    assert formats == [("otlp-logs+gzip" if kind == "json.gz" else "otlp-logs",)]


def test_protobuf_logs_and_traces_are_told_apart(tmp_path: Path) -> None:
    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add()
    record.observed_time_unix_nano = 1  # no time_unix_nano: field 11 decides
    record.body.string_value = "claude_code.api_request"
    traces = ExportTraceServiceRequest()
    span = traces.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "chat"
    cases = {"logs.pb": (logs, True), "traces.pb": (traces, False)}
    for name, (message, is_logs) in cases.items():
        body = message.SerializeToString()
        (tmp_path / name).write_bytes(body)
        (tmp_path / f"{name}.frames").write_bytes(struct.pack(">I", len(body)) + body)
        assert otel_logs.is_protobuf_logs(tmp_path / name) is is_logs
        assert otel_logs.is_protobuf_logs(tmp_path / f"{name}.frames") is is_logs


def test_the_same_events_sent_twice_are_stored_once(tmp_path: Path) -> None:
    ingest_json(tmp_path / "once.duckdb", EVENTS)
    twice = tmp_path / "retried.jsonl"
    line = json.dumps(events_doc()) + "\n"
    twice.write_text(line + line)
    out = ingest_json(tmp_path / "twice.duckdb", twice)
    assert (out["records"], out["spans"]) == (24, 6)
    assert ledger(tmp_path / "twice.duckdb") == ledger(tmp_path / "once.duckdb")
    again = ingest_json(tmp_path / "twice.duckdb", twice)
    assert (again["files_unchanged"], again["spans"]) == (1, 0)


def test_a_logs_export_without_claude_code_usage_is_read_and_makes_no_run(
    db: Path, tmp_path: Path
) -> None:
    doc = events_doc()
    doc["resourceLogs"] = doc["resourceLogs"][1:]  # only the other program's record
    path = tmp_path / "other.json"
    path.write_text(json.dumps(doc))
    out = ingest_json(db, path)
    assert (out["files"], out["records"], out["records_skipped"], out["spans"]) == (1, 1, 0, 0)
    assert runs_json(db) == []


# --- the same session from its transcript and its events -------------------------------------


@pytest.mark.parametrize("order", ["events first", "transcript first", "one ingest"])
def test_a_session_from_its_transcript_and_its_events_counts_once(
    tmp_path: Path, order: str
) -> None:
    ingest_json(tmp_path / "transcript.duckdb", TRANSCRIPTS)
    both = tmp_path / "both.duckdb"
    if order == "one ingest":
        ingest_json(both, EVENTS, TRANSCRIPTS)
    for path in {
        "events first": (EVENTS, TRANSCRIPTS),
        "transcript first": (TRANSCRIPTS, EVENTS),
    }.get(order, ()):
        ingest_json(both, path)
    # The transcript's copy of every request and tool call wins, including the subagent's
    # request (req_S), which the events put in the session's run and the transcript in the
    # subagent's: exactly the transcript's ledger, 1h cache writes priced as such.
    assert ledger(both) == ledger(tmp_path / "transcript.duckdb")
    sources = query(both, "select distinct attributes['agentprof.source'] from spans")
    assert sources == [("claude-code",)]


def test_without_request_ids_token_counts_and_end_times_pair_the_copies(tmp_path: Path) -> None:
    doc = events_doc()
    for record in claude_records(doc):
        record["attributes"] = [kv for kv in record["attributes"] if kv["key"] != "request_id"]
        if attr(record, "event.sequence") == "8":  # req_C, moved 10 minutes later
            for key in ("timeUnixNano", "observedTimeUnixNano"):
                record[key] = str(int(record[key]) + 600 * 10**9)
    events = tmp_path / "no_request_ids.json"
    events.write_text(json.dumps(doc))
    both = tmp_path / "both.duckdb"
    ingest_json(both, events)
    ingest_json(both, TRANSCRIPTS)
    ticks = ticks_json(both, TURN)
    # req_A, req_B and (in the subagent's run) req_S are paired by their token counts and end
    # times; req_C, 10 minutes off, is not the transcript's msg_C and stays, in the session's
    # own run (events are not split into the transcript's turns).
    assert [(t["output_tokens"], t["started_at"][11:19]) for t in ticks] == [
        (120, "10:00:00"),
        (40, "10:00:05"),
        (30, "10:01:07"),
    ]
    assert [(t["output_tokens"], t["started_at"][11:19]) for t in ticks_json(both, SESSION)] == [
        (30, "10:11:07")
    ]
    assert [len(ticks_json(both, f"agent-abc@{SESSION}"))] == [1]


def test_events_the_transcript_does_not_have_are_kept(tmp_path: Path) -> None:
    doc = copy.deepcopy(events_doc())
    extra = copy.deepcopy(claude_records(doc)[7])  # req_C again, as a later request req_D
    for kv in extra["attributes"]:
        if kv["key"] == "request_id":
            kv["value"] = {"stringValue": "req_D"}
    for key in ("timeUnixNano", "observedTimeUnixNano"):
        extra[key] = str(int(extra[key]) + 60 * 10**9)
    claude_records(doc).append(extra)
    events = tmp_path / "later.json"
    events.write_text(json.dumps(doc))
    both = tmp_path / "both.duckdb"
    ingest_json(both, TRANSCRIPTS)
    ingest_json(both, events)
    runs = {r["run_id"]: r for r in runs_json(both)}
    # The transcript's 3 ticks stay its turn's; req_D from the events (the session went on
    # after the transcript was read) is in the session's own run, which the events make.
    turn, rest = runs[TURN], runs[SESSION]
    assert (turn["ticks"], turn["source"], turn["output_tokens"]) == (3, "claude-code", 190)
    assert (rest["ticks"], rest["source"], rest["output_tokens"]) == (1, "claude-code-otel", 30)
    assert turn["session_id"] == rest["session_id"] == SESSION


def _event(name: str, **attrs: str) -> dict[str, Any]:
    doc = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1772359200000000000",
                                "body": {"stringValue": f"claude_code.{name}"},
                                "attributes": [
                                    {"key": k, "value": {"stringValue": v}}
                                    for k, v in attrs.items()
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    [record] = otel_logs.records_from_json(doc, 1)
    return record


@pytest.mark.parametrize(
    ("name", "attrs", "reason"),
    [
        ("api_request", {"input_tokens": "1", "output_tokens": "2"}, "without session.id"),
        ("api_request", {"session.id": "s", "input_tokens": "1"}, "without output_tokens"),
        (
            "api_request",
            {"session.id": "s", "input_tokens": "-1", "output_tokens": "2"},
            "input_tokens '-1' is not a token count",
        ),
        (
            "api_request",
            {"session.id": "s", "input_tokens": "1.5", "output_tokens": "2"},
            "input_tokens '1.5' is not a token count",
        ),
        (
            "api_request",
            {"session.id": "s", "input_tokens": "1", "output_tokens": "2", "cost_usd": "NaN"},
            "cost_usd 'NaN' is not a non-negative number",
        ),
        ("tool_result", {"session.id": "s", "duration_ms": "5"}, "without tool_name"),
        (
            "tool_result",
            {"session.id": "s", "tool_name": "Read", "duration_ms": "soon"},
            "duration_ms 'soon' is not a number",
        ),
    ],
)
def test_an_unusable_claude_code_event_says_why(
    name: str, attrs: dict[str, str], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(")):
        otel_logs.span_row(_event(name, **attrs))


def test_only_usage_events_become_spans() -> None:
    assert otel_logs.span_row(_event("user_prompt", **{"session.id": "s"})) is None
    row = otel_logs.span_row(
        _event("api_request", **{"session.id": "s", "input_tokens": "1", "output_tokens": "2"})
    )
    assert row is not None and row[0] == "s" and row[3] == "claude_code.llm_request"


def test_model_calls_logged_without_a_duration_are_no_untraced_gap(tmp_path: Path) -> None:
    """The Claude Code OTel sample in realdata logs api_request events without `duration_ms`:
    each model call is an instant, so nearly all of the session's wall-clock is covered by no
    span. That gap holds model time nobody logged; naming it `untraced_gap` would send the user
    off to trace their harness."""
    db = tmp_path / "events.duckdb"
    ingest_json(db, REALDATA / "public" / "claude-code-otel" / "otel-events.sample.jsonl")
    (run,) = [r for r in runs_json(db) if r["run_id"].startswith("11111111-1111")]
    assert run["harness_ms"] >= 0.9 * run["wall_ms"]  # the gap is there
    ticks = ticks_json(db, run["run_id"])
    assert ticks and all(t["latency_ms"] is None for t in ticks)  # because no call has a duration
    doc = json.loads(run_cli("diagnose", run["run_id"], "--db", db, "--json").stdout)
    kinds = {f["kind"] for r in doc["runs"] for f in r["findings"]}
    assert not kinds & {"untraced_gap", "harness_overhead"}, kinds
