"""OTLP log exports, and Claude Code's usage events in them (FORMATS.md §3.7), as canonical spans.
The same decoding serves `ingest` (an export file: OTLP/JSON, JSON lines, protobuf, Collector
frames) and `serve` (/v1/logs bodies, kept whole in the `logs` table and spooled as frames).

- A Claude Code session is a run: trace id = `session.id`, as the transcript reader names it, so
  a session seen both ways is one run. `claude_code.api_request` is a tick: it ends at the event's
  time and lasts `duration_ms`; tokens are Anthropic's disjoint counts; `cost_usd` is the reported
  cost. `claude_code.tool_result` is a tool call (`duration_ms`, `success`); its span id comes from
  `tool_use_id` exactly as the transcript reader's does.
- The events do not say which subagent made a request, so every request of a session is in the
  session's run. When the session's transcript is ingested too, its copy of each request and tool
  call wins (queries/ingest/otel_logs_superseded.sql): it knows the 1h cache-write share, the
  message, and the subagent.
- Every other event (user_prompt, api_error, tool_decision, future names) and every record from
  another program is counted as read and not turned into anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import zstandard
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from agentprof.sources import agentlog, otlp
from agentprof.sources.agentlog import BadLine
from agentprof.sources.claude_code import USER_WAIT_TOOLS
from agentprof.sources.io import ZSTD_MAGIC, BrokenDocument, json_documents, open_decompressed
from agentprof.sources.otlp import BadRecord, Batches, SpanBatcher

FAMILY = "otlp-logs"
SOURCE = "claude-code-otel"
SCOPE = "agentprof.claude_code_otel"
SERVICE = "claude-code"
_PREFIX = "claude_code."
# How much of a protobuf file is read to tell logs from traces.
_SNIFF_BYTES = 1 << 20

_MAP = pa.map_(pa.string(), pa.string())
LOG_SCHEMA = pa.schema(
    [
        ("log_id", pa.string()),
        ("line", pa.int64()),
        ("time_ns", pa.int64()),
        ("observed_ns", pa.int64()),
        ("severity_number", pa.int32()),
        ("severity_text", pa.string()),
        ("event_name", pa.string()),
        ("body", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("service_name", pa.string()),
        ("scope_name", pa.string()),
        ("attributes", _MAP),
        ("resource_attributes", _MAP),
    ]
)

# --- log records -----------------------------------------------------------------------------


def log_row(
    line: int,
    time_ns: int,
    observed_ns: int,
    severity_number: int,
    severity_text: str,
    event_name: str,
    body: str | None,
    trace_id: str,
    span_id: str,
    resource: list[tuple[str, str | None]],
    scope_name: str,
    attrs: list[tuple[str, str | None]],
) -> dict[str, Any]:
    """One record as a row of the `logs` table (LOG_SCHEMA)."""
    a = dict(attrs)
    # Claude Code names its events in the body and in `event.name` (FORMATS.md §3.7).
    name = event_name or a.get("event.name") or None
    if not name and body and body.startswith(_PREFIX):
        name = body
    row = {
        "line": line,
        "time_ns": time_ns or None,
        "observed_ns": observed_ns or None,
        "severity_number": severity_number or None,
        "severity_text": severity_text or None,
        "event_name": name,
        "body": body,
        "trace_id": trace_id or None,
        "span_id": span_id or None,
        "service_name": dict(resource).get("service.name"),
        "scope_name": scope_name or None,
        "attributes": attrs,
        "resource_attributes": resource,
    }
    # An exporter retry sends the same record again: its content hash stores it once.
    key = orjson.dumps({k: v for k, v in row.items() if k != "line"}, option=orjson.OPT_SORT_KEYS)
    row["log_id"] = hashlib.sha256(key).hexdigest()[:32]
    return row


def _int_or_zero(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def records_from_json(doc: Any, line: int) -> list[dict[str, Any]]:
    """The records of one OTLP/JSON ExportLogsServiceRequest. Raises ValueError or TypeError when
    the document is not one."""
    if not isinstance(doc, dict) or "resourceLogs" not in doc:
        raise ValueError("not an ExportLogsServiceRequest (no resourceLogs)")
    rows: list[dict[str, Any]] = []
    for rl in doc["resourceLogs"] or ():
        resource = otlp._attrs_json((rl.get("resource") or {}).get("attributes"))
        for sl in rl.get("scopeLogs") or ():
            scope = sl.get("scope") or {}
            for r in sl.get("logRecords") or ():
                if not isinstance(r, dict):
                    raise TypeError("a log record is not an object")
                rows.append(
                    log_row(
                        line,
                        _int_or_zero(r.get("timeUnixNano")),
                        _int_or_zero(r.get("observedTimeUnixNano")),
                        _int_or_zero(r.get("severityNumber")),
                        str(r.get("severityText") or ""),
                        str(r.get("eventName") or ""),
                        otlp._text(r["body"]) if isinstance(r.get("body"), dict) else None,
                        str(r.get("traceId") or "").lower(),
                        str(r.get("spanId") or "").lower(),
                        resource,
                        str(scope.get("name") or ""),
                        otlp._attrs_json(r.get("attributes")),
                    )
                )
    return rows


def records_from_pb(data: bytes, line: int) -> list[dict[str, Any]]:
    """The records of one serialized ExportLogsServiceRequest. Raises DecodeError."""
    req = ExportLogsServiceRequest()
    req.ParseFromString(data)
    rows: list[dict[str, Any]] = []
    for rl in req.resource_logs:
        resource = otlp._pb_attrs(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                rows.append(
                    log_row(
                        line,
                        r.time_unix_nano,
                        r.observed_time_unix_nano,
                        r.severity_number,
                        r.severity_text,
                        r.event_name,
                        otlp._pb_text(r.body) if r.HasField("body") else None,
                        r.trace_id.hex(),
                        r.span_id.hex(),
                        resource,
                        sl.scope.name,
                        otlp._pb_attrs(r.attributes),
                    )
                )
    return rows


def records_from_frame(payload: bytes, line: int) -> list[dict[str, Any]]:
    """One Collector frame (or serve spool frame): OTLP/JSON when it parses as JSON, else
    protobuf. A protobuf message may itself start with the bytes "\\n{", so only a successful JSON
    parse decides; serve puts a skippable field in front of protobuf bodies that start with `{`."""
    if payload.lstrip()[:1] == b"{":
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
        else:
            return records_from_json(doc, line)
    return records_from_pb(payload, line)


# --- Claude Code events as spans -----------------------------------------------------------


def claude_code_event(rec: dict[str, Any]) -> str | None:
    """`api_request`, `tool_result`, … for a Claude Code event; None for any other record. The
    name comes with the `claude_code.` prefix in the body or event name, or bare in `event.name`
    from a `claude-code` service."""
    name = rec.get("event_name") or ""
    for candidate in (name, rec.get("body") or ""):
        if candidate.startswith(_PREFIX):
            return str(candidate[len(_PREFIX) :])
    if name and (
        rec.get("service_name") == SERVICE
        or (rec.get("scope_name") or "").startswith("com.anthropic.claude_code")
    ):
        return str(name)
    return None


def _number(a: dict[str, str | None], key: str, *, count: bool) -> float | int | None:
    """An attribute that must be a number (Claude Code often sends them as strings): None when
    absent, BadLine when it is not a finite, non-negative number (or not a whole count)."""
    raw = a.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadLine(f"{key} {raw[:40]!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (count and not value.is_integer()):
        what = "a token count" if count else "a non-negative number"
        raise BadLine(f"{key} {raw[:40]!r} is not {what}")
    return int(value) if count else value


def _end_ns(rec: dict[str, Any], a: dict[str, str | None]) -> int:
    """When the event happened: the record's time (the OTLP field), else Claude Code's own
    `event.timestamp` (ISO), else when the SDK observed the record."""
    end = rec.get("time_ns") or agentlog.iso_ns(a.get("event.timestamp")) or rec.get("observed_ns")
    if not end:
        raise BadLine("no event.timestamp, timeUnixNano or observedTimeUnixNano")
    return int(end)


def span_row(rec: dict[str, Any]) -> tuple[Any, ...] | None:
    """The canonical span of a Claude Code api_request or tool_result event; None for any other
    record. Raises BadLine for an event that cannot be used."""
    event = claude_code_event(rec)
    if event not in ("api_request", "tool_result"):
        return None
    a: dict[str, str | None] = dict(rec.get("attributes") or ())
    session = a.get("session.id")
    if not session:
        raise BadLine(f"claude_code.{event} without session.id")
    end = _end_ns(rec, a)
    duration = _number(a, "duration_ms", count=False) or 0.0
    start = end - int(round(duration * 1e6))
    resource = dict(rec.get("resource_attributes") or ())
    common: dict[str, Any] = {
        "session.id": session,
        "prompt.id": a.get("prompt.id"),
        "event.sequence": a.get("event.sequence"),
        "duration_ms": a.get("duration_ms"),
        "claude_code.version": resource.get("service.version") or a.get("app.version"),
        "claude_code.agent_id": a.get("agent_id"),
        agentlog.SOURCE: SOURCE,
        # Below the transcript reader's ranks: its copy of a tool call wins (same span id).
        agentlog.RANK: 0,
    }
    if event == "api_request":
        return _tick_row(rec, a, session, start, end, common)
    return _tool_row(rec, a, session, start, end, common)


def _tick_row(
    rec: dict[str, Any],
    a: dict[str, str | None],
    session: str,
    start: int,
    end: int,
    common: dict[str, Any],
) -> tuple[Any, ...]:
    counts = {
        key: _number(a, key, count=True)
        for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
    }
    for key in ("input_tokens", "output_tokens"):
        if counts[key] is None:
            raise BadLine(f"claude_code.api_request without {key}")
    cost = _number(a, "cost_usd", count=False)
    model = a.get("model")
    request_id = a.get("request_id")
    id_parts: tuple[object, ...] = (
        (request_id,)
        if request_id
        else (session, a.get("prompt.id"), a.get("event.sequence"), end, model, *counts.values())
    )
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": model,
        "gen_ai.response.model": agentlog.normalize_model(model) if model else None,
        "anthropic.request_id": request_id,
        **counts,
        # Claude Code's estimate at list price: kept as the reported cost, never overwritten.
        "cost_usd": a.get("cost_usd") if cost is not None else None,
        "speed": a.get("speed"),
        "gen_ai.agent.name": SERVICE,
        **common,
    }
    return agentlog.span_row(
        trace_id=session,
        span_id=agentlog.stable_id("claude-code-otel", *id_parts),
        name="claude_code.llm_request",
        start_ns=start,
        end_ns=end,
        status_code=1,
        attributes=attrs,
        service=SERVICE,
        scope=SCOPE,
        line=int(rec.get("line") or 0),
    )


def _tool_row(
    rec: dict[str, Any],
    a: dict[str, str | None],
    session: str,
    start: int,
    end: int,
    common: dict[str, Any],
) -> tuple[Any, ...]:
    name = a.get("tool_name")
    if not name:
        raise BadLine("claude_code.tool_result without tool_name")
    tool_use_id = a.get("tool_use_id")
    success = (a.get("success") or "").lower()
    attrs: dict[str, Any] = {
        "tool_name": name,
        "tool_use_id": tool_use_id,
        "success": success or None,
        "decision_type": a.get("decision_type"),
        "decision_source": a.get("decision_source"),
        "tool_result_size_bytes": a.get("tool_result_size_bytes"),
        "mcp_server_scope": a.get("mcp_server_scope"),
        # Opt-in (OTEL_LOG_TOOL_DETAILS): the arguments, for repeated-call detection.
        "tool_parameters": a.get("tool_parameters"),
        "tool_input": a.get("tool_input"),
        **common,
    }
    if name in USER_WAIT_TOOLS:
        attrs[agentlog.USER_WAIT] = "true"
    span_id = (
        agentlog.stable_id("claude-code-tool", tool_use_id)
        if tool_use_id
        else agentlog.stable_id(
            "claude-code-otel-tool", session, a.get("prompt.id"), a.get("event.sequence"), end, name
        )
    )
    return agentlog.span_row(
        trace_id=session,
        span_id=span_id,
        name="claude_code.tool",
        start_ns=start,
        end_ns=end,
        status_code={"true": 1, "false": 2}.get(success, 0),
        status_message=a.get("error"),
        attributes=attrs,
        service=SERVICE,
        scope=SCOPE,
        line=int(rec.get("line") or 0),
    )


# --- reading an export file ----------------------------------------------------------------


class _Spans:
    """Turns records into span rows, counting records and quarantining bad ones."""

    def __init__(self, bad: BadRecord) -> None:
        self.bad = bad
        self.batcher = SpanBatcher()
        self.records = 0
        self.nbad = 0

    def add(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            self.records += 1
            try:
                row = span_row(rec)
            except BadLine as exc:
                self.nbad += 1
                self.bad(int(rec["line"]), str(exc), _record_excerpt(rec))
                continue
            if row is not None:
                self.batcher.add(row)

    def unreadable(self, line: int, reason: str, raw: bytes | str) -> None:
        self.records += 1
        self.nbad += 1
        self.bad(line, reason, agentlog.excerpt(raw))

    def take(self) -> tuple[pa.Table | None, int, int]:
        out = (self.batcher.take(), self.records, self.nbad)
        self.records = self.nbad = 0
        return out


def _record_excerpt(rec: dict[str, Any]) -> str:
    return agentlog.excerpt(
        agentlog.json_text({"event": rec.get("event_name"), "attributes": dict(rec["attributes"])})
    )


def read(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """Yield span batches for an OTLP logs export: one OTLP/JSON document (or several back to
    back), JSON lines (the Collector's file exporter), one protobuf ExportLogsServiceRequest, or
    the Collector's length-prefixed protobuf frames (a `serve` spool segment is one)."""
    head = stream.peek(64)[:64]  # type: ignore[attr-defined]
    out = _Spans(bad)
    if head.lstrip()[:1] == b"{":
        yield from _read_json(stream, out)
    elif head[:1] == b"\x00":
        yield from _read_frames(stream, out)
    else:
        data = stream.read()
        try:
            out.add(records_from_pb(data, 1))
        except DecodeError as exc:
            out.unreadable(1, f"protobuf ExportLogsServiceRequest does not parse ({exc})", b"")
    yield out.take()


def _read_json(stream: IO[bytes], out: _Spans) -> Batches:
    first = stream.readline()
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        yield from _read_json_documents(first + stream.read(), out)
        return
    for lineno, raw in enumerate(_chain(first, stream), 1):
        if not raw.strip():
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            out.unreadable(lineno, f"malformed JSON ({exc.args[0] if exc.args else exc})", raw)
            continue
        _add_document(out, doc, lineno, raw)
        if out.batcher.full():
            yield out.take()


def _chain(first: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    yield first
    yield from stream


def _add_document(out: _Spans, doc: Any, line: int, raw: bytes | str) -> None:
    try:
        records = records_from_json(doc, line)
    except (ValueError, TypeError, AttributeError) as exc:
        out.unreadable(line, f"not an OTLP logs record: {exc}", raw)
    else:
        out.add(records)


def _read_json_documents(data: bytes, out: _Spans) -> Batches:
    try:
        for line, doc, raw in json_documents(data):
            _add_document(out, doc, line, raw)
            if out.batcher.full():
                yield out.take()
    except BrokenDocument as exc:
        out.unreadable(exc.line, exc.reason, exc.excerpt)


def _read_frames(stream: IO[bytes], out: _Spans) -> Batches:
    """4-byte big-endian length + payload, repeated; `line` numbers the non-empty frames (serve
    starts every segment with an empty one), as the `logs` table's `line` does."""
    frame = 0
    dctx = zstandard.ZstdDecompressor()
    while header := stream.read(4):
        if len(header) < 4:
            out.unreadable(frame + 1, "truncated frame header; rest of file skipped", header)
            return
        (size,) = struct.unpack(">I", header)
        if not size:
            continue
        frame += 1
        payload = stream.read(size)
        if len(payload) < size:
            out.unreadable(frame, f"truncated frame: {len(payload)} of {size} bytes", b"")
            return
        try:
            if payload.startswith(ZSTD_MAGIC):
                payload = dctx.stream_reader(payload, read_across_frames=True).read()
            out.add(records_from_frame(payload, frame))
        except (DecodeError, ValueError, TypeError, AttributeError, zstandard.ZstdError) as exc:
            out.unreadable(frame, f"frame skipped: {exc}", payload[:200])
        if out.batcher.full():
            yield out.take()


# --- flattened event dumps ------------------------------------------------------------------

# One OpenTelemetry record per line as `{"_type": "log"|"metric", "ts", "scope", "name", "attrs",
# "resource"}` (codemie-code's Claude Code OTel sample). Its log records are Claude Code's events
# with their OTLP attributes, so they are read as an export's records; metric points hold no
# per-request figures and are passed over.
FLAT_FAMILY = "otel-events-jsonl"


def is_flat_events(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("_type") in ("log", "metric")
        and "ts" in doc
        and isinstance(doc.get("attrs"), dict)
    )


def _flat_attrs(value: Any) -> list[tuple[str, str | None]]:
    if not isinstance(value, dict):
        return []
    return [
        (str(k), None if v is None else v if isinstance(v, str) else agentlog.json_text(v))
        for k, v in value.items()
    ]


def read_flat(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """Yield span batches for a flattened event dump (see FLAT_FAMILY)."""
    out = _Spans(bad)
    for lineno, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            out.unreadable(lineno, f"malformed JSON ({exc.args[0] if exc.args else exc})", raw)
            continue
        if not is_flat_events(doc):
            out.unreadable(lineno, "not an event record (_type, ts, attrs)", raw)
            continue
        if doc["_type"] != "log":
            continue
        time_ns = agentlog.iso_ns(doc.get("ts")) or 0
        resource, scope = _flat_attrs(doc.get("resource")), str(doc.get("scope") or "")
        name, attrs = str(doc.get("name") or ""), _flat_attrs(doc.get("attrs"))
        out.add([log_row(lineno, time_ns, 0, 0, "", name, None, "", "", resource, scope, attrs)])
        if out.batcher.full():
            yield out.take()
    yield out.take()


# --- telling a logs export from a trace export ---------------------------------------------


def is_logs_json(doc: Any) -> bool:
    return isinstance(doc, dict) and ("resourceLogs" in doc or "resource_logs" in doc)


_FIRST_KEY_LOGS = re.compile(rb'^\s*\{\s*"resource(?:Logs|_logs)"\s*:')


def starts_like_logs_json(head: bytes) -> bool:
    """The first key of the first JSON document is resourceLogs: how a file of several
    pretty-printed documents back to back (no line is a whole document) is recognised."""
    return _FIRST_KEY_LOGS.match(head) is not None


def is_protobuf_logs(path: Path) -> bool:
    """True when a protobuf file (one message, or Collector frames) holds log records, not spans.
    Both requests nest the same way (field 1 → field 2 → field 2); the first record tells them
    apart by the wire types of its fields: field 1 is bytes (trace_id) in a Span and fixed64
    (time_unix_nano) in a LogRecord, field 11 a message (events) or fixed64 (observed time), …"""
    try:
        stream, _ = open_decompressed(path)
        with contextlib.closing(stream):
            data = stream.read(_SNIFF_BYTES)
    except Exception:  # unreadable or corrupt: the trace path reports it
        return False
    if data[:1] == b"\x00":
        data = _first_frame(data)
    if data.lstrip()[:1] == b"{":
        return b'"resourceLogs"' in data or b'"resource_logs"' in data
    record = _first_record(data)
    if record is None:
        return False
    for number, wire, _ in _fields(record):
        if (number, wire) in _LOG_ONLY:
            return True
        if (number, wire) in _SPAN_ONLY:
            return False
    return False


# (field number, wire type) pairs that fit only a LogRecord or only a Span (varint 0, fixed64 1,
# bytes 2, fixed32 5); pairs that fit both (severity_text/trace_state, body/name, …) decide nothing.
_LOG_ONLY = frozenset({(1, 1), (2, 0), (6, 2), (7, 0), (8, 5), (10, 2), (11, 1), (12, 2)})
_SPAN_ONLY = frozenset(
    {(1, 2), (2, 2), (4, 2), (6, 0), (7, 1), (8, 1), (10, 0), (11, 2), (12, 0), (13, 2), (15, 2)}
)


def _first_frame(data: bytes) -> bytes:
    pos = 0
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        if size:
            payload = data[pos + 4 : pos + 4 + size]
            if payload.startswith(ZSTD_MAGIC):
                with contextlib.suppress(zstandard.ZstdError):
                    return zstandard.ZstdDecompressor().stream_reader(payload).read(_SNIFF_BYTES)
            return payload
        pos += 4
    return b""


def _first_record(data: bytes) -> bytes | None:
    """The (possibly cut-off) bytes of the first Span or LogRecord: request field 1, then field 2
    twice."""
    for number in (1, 2, 2):
        inner = next((v for n, w, v in _fields(data) if n == number and w == 2), None)
        if inner is None:
            return None
        data = inner
    return data


def _fields(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(field number, wire type, value bytes) of a protobuf message, stopping quietly where the
    data ends or stops making sense. A length-delimited value cut off by the end of the data is
    yielded as far as it goes."""
    pos = 0
    while pos < len(data):
        try:
            tag, pos = _varint(data, pos)
        except IndexError:
            return
        number, wire = tag >> 3, tag & 7
        start = pos
        try:
            if wire == 0:
                _, pos = _varint(data, pos)
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            elif wire == 2:
                size, start = _varint(data, pos)
                pos = start + size
            else:
                return
        except IndexError:
            return
        if number == 0:
            return
        yield number, wire, data[start:pos]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")
