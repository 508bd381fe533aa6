"""`agentprof serve` end to end: a real server process on a free loopback port, the real
OpenTelemetry SDK and its OTLP/HTTP exporter, raw HTTP for everything an exporter would not send."""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import duckdb
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import ROOT, ingest_json, runs_json, ticks_json

CC_LOGS = ROOT / "fixtures" / "otlp_logs" / "claude_code_otel_logs.json"
CC_SESSION = ROOT / "fixtures" / "otlp_logs" / "claude_code_session.json"
PB = "application/x-protobuf"
JSON = "application/json"


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_server_outlives_its_test():
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


class Server:
    """`python -m agentprof serve` on a free port; stderr collected by a thread."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.db = db
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentprof", "serve", "--db", str(db), "--port", "0", *extra],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        _STARTED.append(self.proc)
        self._listening = threading.Event()
        self.port = 0
        threading.Thread(target=self._read, daemon=True).start()
        assert self._listening.wait(30), "".join(self.lines)
        assert self.port

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "listening on http://127.0.0.1:" in line:
                self.port = int(line.split("127.0.0.1:")[1].split()[0])
                self._listening.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        time.sleep(0.05)  # let the reader thread take the last lines
        return code

    def stderr(self) -> str:
        return "".join(self.lines)


def post(
    url: str, body: bytes, content_type: str = PB, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def status_message(body: bytes) -> str:
    """The message of a protobuf google.rpc.Status (field 2) or its JSON form."""
    if body.startswith(b"{"):
        return str(json.loads(body)["message"])
    from google.rpc.status_pb2 import Status

    status = Status()
    status.ParseFromString(body)
    return str(status.message)


def agent_spans(exporters: list[Any], seed: int = 1) -> None:
    """One agent run through the real SDK: two chat ticks with a tool call between them."""
    provider = TracerProvider(resource=Resource.create({"service.name": "serve-test-agent"}))
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("serve-test")
    rng = random.Random(seed)
    with tracer.start_as_current_span("invoke_agent helper") as root:
        root.set_attribute("gen_ai.agent.name", "helper")
        for tick in range(2):
            with tracer.start_as_current_span("chat claude-sonnet-4-5") as chat:
                chat.set_attribute("gen_ai.operation.name", "chat")
                chat.set_attribute("gen_ai.provider.name", "anthropic")
                chat.set_attribute("gen_ai.request.model", "claude-sonnet-4-5")
                chat.set_attribute("gen_ai.usage.input_tokens", 1000 + 500 * tick)
                chat.set_attribute("gen_ai.usage.cache_read.input_tokens", 800 * tick)
                chat.set_attribute("gen_ai.usage.output_tokens", rng.randint(10, 99))
            if tick == 0:
                with tracer.start_as_current_span("execute_tool search") as tool:
                    tool.set_attribute("gen_ai.operation.name", "execute_tool")
                    tool.set_attribute("gen_ai.tool.name", "search")
    provider.shutdown()


def otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP/JSON: the proto3 JSON mapping with hex ids and integer enums (FORMATS.md §1.1)."""
    doc = MessageToDict(request, use_integers_for_enums=True)
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return doc


def ledger(db: Path) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    runs = runs_json(db)
    return runs, [ticks_json(db, r["run_id"]) for r in runs]


def span_counts(db: Path) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        total, unique = con.execute(
            "select count(*), count(distinct (trace_id, span_id)) from spans"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return int(total), int(unique)


def stored_ids(db: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [(t, s) for t, s in con.execute("select trace_id, span_id from spans").fetchall()]
    finally:
        con.close()


def synthetic_request(batch: int, spans: int, trace: str | None = None) -> bytes:
    """A protobuf body of `spans` spans with ids derived from `batch` (so a resend is a retry)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attr = rs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "load"
    ss = rs.scope_spans.add()
    for i in range(spans):
        span = ss.spans.add()
        span.trace_id = bytes.fromhex(trace or f"{batch:032x}")
        span.span_id = bytes.fromhex(f"{batch:08x}{i:08x}")
        span.name = "chat gpt-4o"
        span.start_time_unix_nano = 1_763_720_000_000_000_000 + i * 1000
        span.end_time_unix_nano = span.start_time_unix_nano + 500
        for key, value in (("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o")):
            a = span.attributes.add()
            a.key, a.value.string_value = key, value
        a = span.attributes.add()
        a.key, a.value.int_value = "gen_ai.usage.input_tokens", 100 + i
    return bytes(req.SerializeToString())


# --- the SDK's exporter, protobuf and JSON ---------------------------------------------------


def test_sdk_protobuf_export_gives_the_same_ledger_as_ingesting_the_spans_from_a_file(tmp_path):
    server = Server(tmp_path / "served.duckdb")
    memory = InMemorySpanExporter()
    agent_spans([OTLPSpanExporter(endpoint=f"{server.url}/v1/traces"), memory])
    assert server.stop() == 0, server.stderr()
    spans = memory.get_finished_spans()
    assert len(spans) == 4
    file = tmp_path / "same.binpb"
    file.write_bytes(encode_spans(spans).SerializeToString())
    ingest_json(tmp_path / "file.duckdb", file)
    served = ledger(tmp_path / "served.duckdb")
    assert served == ledger(tmp_path / "file.duckdb")
    runs, ticks = served
    assert [r["ticks"] for r in runs] == [2] and [r["tool_calls"] for r in runs] == [1]
    assert [t["cache_read_tokens"] for t in ticks[0]] == [0, 800]
    assert "served 4 requests" in server.stderr()
    assert not list((tmp_path / "served.duckdb.spool").glob("*.seg"))


def test_otlp_json_gzip_export_gives_the_same_ledger_and_a_json_response(tmp_path):
    memory = InMemorySpanExporter()
    agent_spans([memory], seed=2)
    doc = otlp_json(encode_spans(memory.get_finished_spans()))
    body = json.dumps(doc).encode()
    server = Server(tmp_path / "served.duckdb")
    status, headers, reply = post(
        f"{server.url}/v1/traces",
        gzip.compress(body),
        JSON,
        {"Content-Encoding": "gzip"},
    )
    assert (status, headers["Content-Type"], reply) == (200, JSON, b"{}")
    assert server.stop() == 0
    file = tmp_path / "same.json"
    file.write_bytes(body)
    ingest_json(tmp_path / "file.duckdb", file)
    assert ledger(tmp_path / "served.duckdb") == ledger(tmp_path / "file.duckdb")


def test_a_retried_request_stores_its_spans_once_and_logs_are_kept(tmp_path):
    server = Server(tmp_path / "s.duckdb")
    body = synthetic_request(7, 5)
    for _ in range(3):
        status, _, reply = post(f"{server.url}/v1/traces", body)
        assert status == 200
        assert ExportTraceServiceResponse.FromString(reply).partial_success.rejected_spans == 0
    logs = CC_LOGS.read_bytes()
    for _ in range(2):
        assert post(f"{server.url}/v1/logs", logs, JSON)[0] == 200
    pb_logs = ExportLogsServiceRequest()
    record = pb_logs.resource_logs.add().scope_logs.add().log_records.add()
    record.body.string_value = "claude_code.api_request"
    record.time_unix_nano = 1_786_200_000_000_000_000
    assert post(f"{server.url}/v1/logs", pb_logs.SerializeToString())[0] == 200
    assert server.stop() == 0
    # 5 spans, and 2 from the Claude Code events (a tick and a tool call), each stored once.
    assert span_counts(tmp_path / "s.duckdb") == (7, 7)
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    rows = con.execute(
        "select event_name, attributes['input_tokens'], service_name from logs "
        "order by time_ns, event_name"
    ).fetchall()
    bad = con.execute("select reason from quarantine").fetchall()
    con.close()
    assert rows == [
        ("claude_code.api_request", None, None),
        ("api_request", "3", "claude-code"),
        ("tool_result", None, "claude-code"),
    ]
    # The protobuf event has no session: kept in `logs`, quarantined as a tick.
    assert bad == [("claude_code.api_request without session.id",)]


# --- what an exporter should never send ----------------------------------------------------


def test_bad_bodies_get_400_with_a_reason_and_are_quarantined(tmp_path):
    server = Server(tmp_path / "s.duckdb")
    url = f"{server.url}/v1/traces"
    cases = [
        (b"\xff\xff\xff garbage", PB, "protobuf ExportTraceServiceRequest does not parse"),
        (b"{not json", JSON, "malformed JSON"),
        (b"[1, 2]", JSON, "not an OTLP/JSON trace request: a JSON list"),
        (b'{"resourceLogs": []}', JSON, "an OTLP logs export, not traces"),
        (b'{"resourceSpans": [1]}', JSON, "malformed OTLP/JSON trace request"),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"1"}]}]}]}',
            JSON,
            "every span is malformed (1); first: bad span: traceId 'xyz' is not 32 hex",
        ),
        (gzip.compress(b"x")[:-4], PB, "body is not valid gzip"),
    ]
    replies: list[str] = []
    for body, ctype, reason in cases:
        headers = {"Content-Encoding": "gzip"} if body.startswith(b"\x1f\x8b") else {}
        status, reply_headers, reply = post(url, body, ctype, headers)
        assert status == 400, (body, reply)
        assert reply_headers["Content-Type"] == ctype
        assert reason in status_message(reply), status_message(reply)
        replies.append(status_message(reply))
    # Partial success: one good span, one with a 3-byte span id, one ending after 2262 (what is
    # refused here is exactly what the worker's decoder would quarantine).
    good = synthetic_request(1, 1)
    req = ExportTraceServiceRequest.FromString(good)
    spans = req.resource_spans[0].scope_spans[0].spans
    for _ in range(2):
        spans.add().CopyFrom(spans[0])
    spans[1].span_id = b"abc"
    spans[2].span_id = b"late-end"
    spans[2].end_time_unix_nano = 2**63 + 5
    status, _, reply = post(url, req.SerializeToString())
    partial = ExportTraceServiceResponse.FromString(reply).partial_success
    assert (status, partial.rejected_spans) == (200, 2)
    assert partial.error_message == "2 spans rejected; first: span_id has 3 bytes, expected 8"
    assert server.stop() == 0
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    refused = con.execute(
        "select path, reason from quarantine where path like 'serve:%' order by line"
    ).fetchall()
    bad_spans = con.execute(
        "select reason from quarantine where path not like 'serve:%' order by reason"
    ).fetchall()
    con.close()
    assert [path for path, _ in refused] == ["serve:/v1/traces"] * len(cases)
    assert [reason for _, reason in refused] == replies
    assert bad_spans == [
        ("bad span: end_time_unix_nano 9223372036854775813 is outside 1970..2200",),
        ("bad span: span_id has 3 bytes, expected 8",),
    ]
    assert span_counts(tmp_path / "s.duckdb") == (1, 1)


def test_wrong_content_type_or_encoding_gets_415(tmp_path):
    server = Server(tmp_path / "s.duckdb")
    url = f"{server.url}/v1/traces"
    body = synthetic_request(1, 1)
    status, _, reply = post(url, body, "text/plain")
    assert status == 415
    assert "unsupported Content-Type 'text/plain'" in status_message(reply)
    status, _, reply = post(url, body, PB, {"Content-Encoding": "br"})
    assert (status, status_message(reply)) == (
        415,
        "unsupported Content-Encoding 'br'; send gzip or none",
    )
    # Parameters on the media type are fine.
    assert post(url, b'{"resourceSpans":[]}', "application/json; charset=utf-8")[0] == 200
    assert server.stop() == 0


def test_oversize_bodies_and_gzip_bombs_get_413(tmp_path):
    server = Server(tmp_path / "s.duckdb", "--max-body-mb", "0.1", "--max-decoded-mb", "1")
    url = f"{server.url}/v1/traces"
    status, _, reply = post(url, b"\x0a" * 200_000)
    assert (status, status_message(reply)) == (413, "body is larger than 100,000 bytes")
    bomb = gzip.compress(b"\x00" * 50_000_000)
    assert len(bomb) < 100_000
    status, _, reply = post(url, bomb, PB, {"Content-Encoding": "gzip"})
    assert (status, status_message(reply)) == (
        413,
        "body decompresses to more than 1,000,000 bytes",
    )
    # The server is still fine afterwards.
    assert post(url, synthetic_request(3, 2))[0] == 200
    assert server.stop() == 0
    assert span_counts(tmp_path / "s.duckdb") == (2, 2)


# --- concurrency, readers, crashes ---------------------------------------------------------


def _load(url: str, first: int, count: int, acked: list[int], stop: threading.Event) -> None:
    for batch in range(first, first + count):
        if stop.is_set():
            return
        try:
            status, _, _ = post(url, synthetic_request(batch, 20))
        except OSError:
            return  # the server went away mid-request: not acknowledged
        if status == 200:
            acked.append(batch)


def test_concurrent_clients_lose_nothing_and_readers_work_while_serving(tmp_path):
    db = tmp_path / "s.duckdb"
    server = Server(db)
    acked: list[int] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_load, args=(f"{server.url}/v1/traces", t * 1000, 25, acked, stop))
        for t in range(6)
    ]
    for t in threads:
        t.start()
    # `agentprof runs` in another process while the server is taking requests and writing.
    time.sleep(1.5)
    reader = subprocess.run(
        [sys.executable, "-m", "agentprof", "runs", "--db", str(db), "--json", "--wait", "30"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert reader.returncode == 0, reader.stderr
    assert "runs" in json.loads(reader.stdout)
    for t in threads:
        t.join()
    assert server.stop(signal.SIGINT) == 0, server.stderr()
    assert len(acked) == 150
    assert span_counts(db) == (150 * 20, 150 * 20)


def test_kill_9_during_load_then_restart_keeps_every_acknowledged_span_exactly_once(tmp_path):
    db = tmp_path / "s.duckdb"
    server = Server(db)
    acked: list[int] = []
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_load, args=(f"{server.url}/v1/traces", t * 10_000, 10_000, acked, stop)
        )
        for t in range(4)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.proc.kill()
    server.proc.wait(10)
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 60
    restarted = Server(db)
    # A client retries what was not acknowledged; a retry of an acknowledged batch is harmless.
    assert post(f"{restarted.url}/v1/traces", synthetic_request(acked[0], 20))[0] == 200
    assert restarted.stop() == 0, restarted.stderr()
    ids = stored_ids(db)
    assert len(ids) == len(set(ids))
    present = {(t, s) for t, s in ids}
    for batch in acked:
        for i in range(20):
            assert (f"{batch:032x}", f"{batch:08x}{i:08x}") in present
    assert not list((tmp_path / "s.duckdb.spool").glob("*.seg"))
    assert not list((tmp_path / "s.duckdb.spool").glob("*.open"))
    # Whatever the killed worker stored without deriving was derived after the restart.
    con = duckdb.connect(str(db), read_only=True)
    try:
        traces, runs, pending = con.execute(
            "select (select count(distinct trace_id) from spans), (select count(*) from runs),"
            " (select count(*) from pending_traces)"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    assert (runs, pending) == (traces, 0)


def test_a_second_server_on_the_same_spool_is_refused(tmp_path):
    server = Server(tmp_path / "s.duckdb")
    second = subprocess.run(
        [sys.executable, "-m", "agentprof", "serve", "--db", str(tmp_path / "s.duckdb")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert second.returncode == 1
    assert second.stderr.strip().endswith(
        "another `agentprof serve` is using this spool; stop it first"
    )
    assert server.stop() == 0


def test_a_non_loopback_host_is_warned_about(tmp_path):
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentprof", "serve", "--db", str(tmp_path / "s.duckdb")]
        + ["--host", "0.0.0.0", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert first.startswith("warning: listening on 0.0.0.0: anyone who can reach it")


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_a_bad_port_is_a_usage_error(tmp_path, port):
    ran = subprocess.run(
        [sys.executable, "-m", "agentprof", "serve", "--db", str(tmp_path / "s.duckdb")]
        + ["--port", port],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ran.returncode == 2


def body_starting_like_json(trace_id: str, span_id: str) -> bytes:
    """A request whose ResourceSpans is exactly 123 bytes long, so the message starts with b"\\n{"
    (field 1, length 123): after the newline it looks like a JSON object."""
    for pad in range(100):
        req = ExportTraceServiceRequest()
        span = req.resource_spans.add().scope_spans.add().spans.add()
        span.trace_id = bytes.fromhex(trace_id)
        span.span_id = bytes.fromhex(span_id)
        span.name = "x" * pad
        span.start_time_unix_nano = span.end_time_unix_nano = 1_763_720_000_000_000_000
        body = req.SerializeToString()
        if body.startswith(b"\n{"):
            return body
    raise AssertionError("no padding gives a body starting with \\n{")


def test_a_protobuf_body_that_starts_like_json_is_stored_as_protobuf(tmp_path):
    # The framed reader would take this body for JSON unless serve guards it.
    body = body_starting_like_json(f"{5:032x}", f"{5:08x}{0:08x}")
    server = Server(tmp_path / "s.duckdb")
    assert post(f"{server.url}/v1/traces", body)[0] == 200
    assert server.stop() == 0
    assert stored_ids(tmp_path / "s.duckdb") == [(f"{5:032x}", f"{5:08x}{0:08x}")]


def test_bad_log_bodies_get_400_and_nothing_is_stored(tmp_path):
    server = Server(tmp_path / "s.duckdb")
    url = f"{server.url}/v1/logs"
    cases = [
        (b'{"resourceSpans": []}', "malformed OTLP/JSON logs request (not an ExportLogs"),
        (b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[1]}]}]}]}', "malformed"),
        (b"\x0a\x05\xff", "protobuf ExportLogsServiceRequest does not parse"),
    ]
    for body, reason in cases:
        ctype = JSON if body.startswith(b"{") else PB
        status, _, reply = post(url, body, ctype)
        assert status == 400
        assert status_message(reply).startswith(reason), status_message(reply)
    assert server.stop() == 0
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    counts = con.execute(
        "select (select count(*) from logs), "
        "(select count(*) from quarantine where path = 'serve:/v1/logs')"
    ).fetchone()
    con.close()
    assert counts == (0, 3)


# --- Claude Code's log events ----------------------------------------------------------------


def _claude_code_records() -> list[dict[str, Any]]:
    doc = json.loads(CC_SESSION.read_text())
    return doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"]  # type: ignore[no-any-return]


def test_claude_code_events_from_the_sdk_log_exporter_give_the_ledger_of_the_export_file(
    tmp_path,
):
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    server = Server(tmp_path / "served.duckdb")
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "claude-code", "service.version": "2.1.39"})
    )
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{server.url}/v1/logs"))
    )
    logger = provider.get_logger("com.anthropic.claude_code.events", "2.1.39")
    # Claude Code's events, as its own OpenTelemetry SDK emits them (the fixture's records).
    for record in _claude_code_records():
        attributes = {
            kv["key"]: (int(v["intValue"]) if "intValue" in v else v["stringValue"])
            for kv in record["attributes"]
            for v in [kv["value"]]
        }
        logger.emit(
            timestamp=int(record["timeUnixNano"]),
            observed_timestamp=int(record["observedTimeUnixNano"]),
            body=record["body"]["stringValue"],
            attributes=attributes,
        )
    provider.shutdown()
    assert server.stop() == 0, server.stderr()
    ingest_json(tmp_path / "file.duckdb", CC_SESSION)
    served = ledger(tmp_path / "served.duckdb")
    assert served == ledger(tmp_path / "file.duckdb")
    assert [(r["source"], r["ticks"], r["tool_calls"]) for r in served[0]] == [
        ("claude-code-otel", 4, 2)
    ]
    con = duckdb.connect(str(tmp_path / "served.duckdb"), read_only=True)
    logs, bad = con.execute(
        "select (select count(*) from logs), (select list(reason) from quarantine)"
    ).fetchone()  # type: ignore[misc]
    con.close()
    # Every record is kept in `logs`; the malformed api_request is also quarantined.
    assert (logs, bad) == (11, ["input_tokens 'lots' is not a number"])


@pytest.mark.parametrize("encoding", ["json", "protobuf+gzip"])
def test_claude_code_events_posted_to_v1_logs_become_ticks(tmp_path, encoding):
    from google.protobuf.json_format import Parse

    server = Server(tmp_path / "served.duckdb")
    body = CC_SESSION.read_bytes()
    headers: dict[str, str] = {}
    ctype = JSON
    if encoding != "json":
        body = gzip.compress(Parse(body, ExportLogsServiceRequest()).SerializeToString())
        headers, ctype = {"Content-Encoding": "gzip"}, PB
    for _ in range(2):  # an exporter retry is stored once
        assert post(f"{server.url}/v1/logs", body, ctype, headers)[0] == 200
    assert server.stop() == 0, server.stderr()
    ingest_json(tmp_path / "file.duckdb", CC_SESSION)
    assert ledger(tmp_path / "served.duckdb") == ledger(tmp_path / "file.duckdb")
    assert span_counts(tmp_path / "served.duckdb") == (6, 6)
    assert "served 2 requests" in server.stderr()


# --- back pressure ---------------------------------------------------------------------------


def test_a_full_spool_gets_429_with_retry_after_until_the_database_catches_up(tmp_path):
    db = tmp_path / "s.duckdb"
    server = Server(db, "--max-spool-mb", "0.05")
    url = f"{server.url}/v1/traces"
    # Another process holds the database (as a long `report` would): nothing leaves the spool.
    holder = duckdb.connect(str(db))
    acked: list[int] = []
    refused: tuple[int, dict[str, str], bytes] | None = None
    for batch in range(1, 41):
        status, headers, reply = post(url, synthetic_request(batch, 100))
        if status != 200:
            refused = (status, headers, reply)
            break
        acked.append(batch)
    assert refused is not None, "50 KB of spool never filled"
    status, headers, reply = refused
    assert (status, headers["Retry-After"]) == (429, "1")
    assert status_message(reply) == (
        "the spool holds more than 50,000 bytes not yet stored; retry later"
    )
    # Requests of 16,304 bytes (+4 framing): three fit under 50,000, the fourth is accepted at
    # 48,940 and crosses the limit, the fifth is refused.
    assert len(acked) == 4
    holder.close()
    # The worker gets the database, stores the spool, and the retry is accepted.
    retried = acked[-1] + 1
    deadline = time.monotonic() + 120
    while post(url, synthetic_request(retried, 100))[0] != 200:
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.5)
    assert server.stop() == 0, server.stderr()
    present = set(stored_ids(db))
    assert len(present) == span_counts(db)[0] == (len(acked) + 1) * 100
    for batch in [*acked, retried]:
        assert (f"{batch:032x}", f"{batch:08x}{0:08x}") in present
    assert " × 429" in server.stderr()  # how many depends on when the worker got in


def test_a_spool_that_cannot_be_written_gets_503_with_retry_after(tmp_path):
    import resource

    server = Server(tmp_path / "s.duckdb")
    url = f"{server.url}/v1/traces"
    assert post(url, synthetic_request(1, 10))[0] == 200
    # The disk is "full" for the server process: no file of it may grow past 1 MB (the database
    # worker, a separate process, is not limited).
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
    big = synthetic_request(2, 15_000)
    assert len(big) > 1_000_000
    status, headers, reply = post(url, big)
    assert (status, headers.get("Retry-After")) == (503, "5"), (reply, server.stderr())
    assert status_message(reply) == "cannot write the spool; retry later"
    # What fits is still accepted; the refused request left nothing behind.
    assert post(url, synthetic_request(3, 10))[0] == 200, server.stderr()
    assert server.stop() == 0, server.stderr()
    batches = {span_id[:8] for _, span_id in stored_ids(tmp_path / "s.duckdb")}
    assert batches == {f"{1:08x}", f"{3:08x}"}, server.stderr()
    assert "cannot write the spool" in server.stderr()


# --- the Collector frame that starts like JSON -----------------------------------------------


def test_ingest_reads_a_collector_frame_that_starts_like_json_as_protobuf(tmp_path):
    # Only a JSON parse that succeeds may count.
    body = body_starting_like_json(f"{9:032x}", f"{9:08x}{1:08x}")
    path = tmp_path / "collector.binpb"
    path.write_bytes(struct.pack(">I", len(body)) + body)
    out = ingest_json(tmp_path / "i.duckdb", path)
    assert (out["records"], out["records_skipped"], out["spans"]) == (1, 0, 1)
    assert stored_ids(tmp_path / "i.duckdb") == [(f"{9:032x}", f"{9:08x}{1:08x}")]


def test_a_poisoned_span_is_refused_and_the_next_clean_request_is_stored(tmp_path):
    # A token count of -2^63 once was acknowledged, stored, overflowed the derivation and killed
    # the worker (issue 17): now it is refused with its reason, and serve goes on.
    server = Server(tmp_path / "p.duckdb")
    poison = ExportTraceServiceRequest.FromString(synthetic_request(1, 1))
    for kv in poison.resource_spans[0].scope_spans[0].spans[0].attributes:
        if kv.key == "gen_ai.usage.input_tokens":
            kv.value.int_value = -(2**63)
    status, _, reply = post(f"{server.url}/v1/traces", poison.SerializeToString())
    assert status == 400
    assert "gen_ai.usage.input_tokens '-9223372036854775808' is not a token count" in (
        status_message(reply)
    )
    status, _, reply = post(f"{server.url}/v1/traces", synthetic_request(2, 3))
    assert status == 200
    assert ExportTraceServiceResponse.FromString(reply).partial_success.rejected_spans == 0
    assert server.stop() == 0
    assert "Traceback" not in server.stderr()
    assert span_counts(tmp_path / "p.duckdb") == (3, 3)
    assert [r["ticks"] for r in runs_json(tmp_path / "p.duckdb")] == [3]


def _raw_connection(port: int) -> Any:
    import socket

    return socket.create_connection(("127.0.0.1", port), timeout=10)


def test_idle_and_slow_clients_are_timed_out_and_a_disconnect_is_one_log_line(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("AGENTPROF_SERVE_TIMEOUTS", "1,1")
    server = Server(tmp_path / "t.duckdb")
    idle = _raw_connection(server.port)  # never sends a byte
    slow = _raw_connection(server.port)  # sends a tenth of its body, then nothing
    slow.sendall(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: 100\r\n\r\n" + b"\n" * 10
    )
    gone = _raw_connection(server.port)  # hangs up mid-body
    gone.sendall(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: 1000\r\n\r\n" + b"x" * 10
    )
    gone.close()
    started = time.monotonic()
    assert idle.recv(100) == b""  # closed by the server
    assert time.monotonic() - started < 8
    reply = slow.recv(1000)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert b"body not received within 1 s" in reply
    # And serve still answers.
    assert post(f"{server.url}/v1/traces", synthetic_request(3, 1))[0] == 200
    assert server.stop() == 0
    log = server.stderr()
    assert "Traceback" not in log
    gone_lines = [line for line in log.splitlines() if "went away" in line]
    assert len(gone_lines) == 1, log
    assert gone_lines[0].startswith("serve: request ")
    assert "client went away mid-body after 10 bytes" in gone_lines[0]
