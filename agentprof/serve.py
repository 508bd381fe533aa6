"""`agentprof serve`: an OTLP/HTTP receiver that profiles while the agent runs. A request body is
checked, then fsynced into the spool (spool.py) before the 200; a worker process moves sealed
spool segments into DuckDB through the ordinary ingest. It keeps the database open and stores
batches back to back while there is work, deriving the traces they touched once for several
batches, and closes it after the current batch when another process asks for it
(store.waiting_flag: `runs`, `diagnose`, `report` … in other processes) or when there is nothing
to store."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import multiprocessing
import os
import queue
import shutil
import signal
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.http_exceptions
import orjson
import pyarrow as pa
from aiohttp import web
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentprof import spool, sql, store
from agentprof.errors import AgentprofError, DatabaseError
from agentprof.filereader import SMALL_FILE_BYTES, InputFile
from agentprof.ingest import (
    GROUP_BYTES,
    IngestSummary,
    derive_pending,
    ingest,
    record_files,
    transaction,
)
from agentprof.pricing import PriceBook, load_price_file
from agentprof.sources import otel_logs, otlp, validate
from agentprof.sources.io import ZSTD_MAGIC

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
DEFAULT_PORT = 4318
# A worker batch stops growing past this many spool bytes (its trace segments go into ingest as
# one file: one transaction). Each batch costs a commit, and a batch under a DuckDB row group
# (~123k spans, ~115 MB of protobuf) is written twice (WAL or checkpoint, then the table): larger
# batches store a backlog faster, smaller ones let a waiting reader in sooner (it waits one batch
# at most). At 1M spans, 256 MB batches (and the derivation bound below, which follows them)
# stored 0.63-0.70 of ingest's rate against 0.56-0.59 with 128 MB, at 12% less CPU.
BATCH_BYTES = 4 * GROUP_BYTES
# While a backlog lasts, the worker stores batch after batch and derives the traces they touched
# once for several (a derivation costs about as much for one batch as for four): once nothing new
# was sealed for DERIVE_IDLE_S after its last batch (longer than the spool takes to seal a
# segment under steady traffic, so a spool the worker has just emptied does not count as quiet),
# before it lets a waiting process in, before it stops, and at the latest once this many spool
# bytes or seconds are stored but not derived. The bytes bound the derivation a waiting reader
# sits through; the seconds, how stale runs get under a backlog that never ends. Spans and their
# pending_traces rows commit together, so a crash between storing and deriving loses nothing:
# the next worker derives them first.
DERIVE_IDLE_S = 0.75
DERIVE_MAX_BYTES = 3 * BATCH_BYTES
DERIVE_MAX_S = 20.0
# With nothing to store for this long the worker closes the database, so any process gets in,
# even one that does not announce itself (the duckdb CLI).
IDLE_CLOSE_S = 1.0
# A waiting process refreshes its flag at every retry (at most 0.5 s apart, store.connect): an
# older flag is left over from a process that is gone.
FLAG_FRESH_S = 1.5
# After closing for a waiting process, the worker waits this long at most for it to get in
# (it removes its flag then) before it takes the database back.
YIELD_MAX_S = 2.0
# How often the worker looks at the spool and the flag while idle or waiting.
POLL_S = 0.05
# A request that finds the spool full waits this long at most for the worker to make room before
# it is refused (429): the worker frees a batch's worth at once, usually well within this, while
# an exporter told to retry sleeps a whole second at least (Retry-After is in seconds; the OTLP
# exporters back off further), leaving the worker without work. Held bodies are bounded by
# max_pending_bytes.
ROOM_WAIT_S = 1.0
# An unknown protobuf field (number 1000, varint 0) put in front of a protobuf body that the
# framed reader would take for JSON or zstd (its first bytes after whitespace are `{` or the zstd
# magic). Protobuf parsers skip unknown fields, so the message is unchanged.
_PB_GUARD = b"\xc0\x3e\x00"
# grpc status codes carried in google.rpc.Status (the spec lets a server omit them).
_GRPC_CODE = {400: 3, 408: 4, 413: 3, 415: 3, 429: 8, 500: 13, 503: 14}


@dataclass(frozen=True)
class Config:
    db: Path
    spool_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    prices: Path | None = None
    max_body_bytes: int = 16 << 20
    max_decoded_bytes: int = 64 << 20
    max_pending_bytes: int = 256 << 20  # waiting for the next fsync: above it, 429
    max_spool_bytes: int = 2 << 30  # acknowledged, not yet in the database: above it, 429
    seal_s: float = 0.5
    verbose: bool = False
    # A connection that sends nothing (before its first request or between requests) is closed
    # after idle_timeout_s; a body must arrive within body_timeout_s (else 408). Without them,
    # idle or trickling clients hold a connection each for ever. AGENTPROF_SERVE_TIMEOUTS
    # ("idle,body" seconds) overrides both, for tests and unusual networks.
    idle_timeout_s: float = field(default_factory=lambda: _timeouts()[0])
    body_timeout_s: float = field(default_factory=lambda: _timeouts()[1])


def _timeouts() -> tuple[float, float]:
    raw = os.environ.get("AGENTPROF_SERVE_TIMEOUTS", "")
    try:
        idle, body = (float(x) for x in raw.split(","))
    except ValueError:
        return 15.0, 60.0
    return idle, body


def default_spool(db: Path) -> Path:
    return db.with_name(db.name + ".spool")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- checking request bodies ----------------------------------------------------------------


class Refused(Exception):
    """A request answered with an HTTP error; `reason` goes back to the client."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class Checked:
    payload: bytes  # what goes into the spool ('' when nothing is to be stored)
    accepted: int
    rejected: int
    message: str = ""


class _Disconnected(Exception):
    """The client closed the connection before its body arrived: one log line, no answer."""


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body (several members allowed), refusing to produce more than `limit`
    bytes: a gzip bomb costs at most `limit` bytes of memory before the 413."""
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = d.decompress(data, limit - size + 1)
        except zlib.error as exc:
            raise Refused(400, f"body is not valid gzip ({exc})") from None
        size += len(chunk)
        out.append(chunk)
        if size > limit or d.unconsumed_tail:
            raise Refused(413, f"body decompresses to more than {limit:,} bytes")
        if not d.eof:
            raise Refused(400, "body is not valid gzip (truncated)")
        data = d.unused_data
        if data and not data.startswith(b"\x1f\x8b"):
            break  # trailing garbage after the last member is ignored, as gzip(1) does
    return b"".join(out)


def check_traces(body: bytes, content_type: str) -> Checked:
    """Parse an ExportTraceServiceRequest body and count its spans. Raises Refused(400) when it
    cannot be stored at all."""
    if content_type == PROTOBUF:
        req = ExportTraceServiceRequest()
        try:
            req.ParseFromString(body)
        except DecodeError as exc:
            raise Refused(
                400, f"protobuf ExportTraceServiceRequest does not parse ({exc})"
            ) from None
        accepted = rejected = 0
        first = ""
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    why = None if _plainly_valid(span) else otlp.pb_span_problem(span)
                    if why is None:
                        accepted += 1
                    else:
                        rejected += 1
                        first = first or why
        return _checked(_spoolable_pb(body), accepted, rejected, first, "span")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(400, f"malformed JSON ({exc})") from None
    why = otlp._classify_doc(doc)
    if why:
        raise Refused(400, f"not an OTLP/JSON trace request: {why}")
    problems: list[str] = []

    def bad(_line: int, reason: str, _excerpt: str) -> None:
        problems.append(reason)

    batcher = otlp.SpanBatcher()
    try:
        # The function the worker's decoder runs on this payload, so the counts agree.
        nbad = otlp._spans_from_json_request(doc, 1, batcher, bad)
        table = batcher.take()
    except Exception as exc:  # a shape the decoder cannot walk: refuse it whole
        raise Refused(400, f"malformed OTLP/JSON trace request ({type(exc).__name__})") from None
    refused = validate.span_problems(table) if table is not None else []
    problems.extend(reason for _, reason in refused)
    accepted = batcher.count - len(refused)
    return _checked(body, accepted, nbad + len(refused), problems[0] if problems else "", "span")


def _plainly_valid(span: Any) -> bool:
    """True only where otlp.pb_span_problem finds nothing wrong, for the common span at a fraction
    of its cost (serve runs it on every span before the 200): ids of the right length, times in
    range and in order, event times in range, no links, and every token count or cost a number
    plainly in range. False sends the span through pb_span_problem itself, for its verdict and
    its reason (tests/test_serve_check.py compares the two)."""
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if not (
        validate.MIN_NS <= start <= end <= validate.MAX_NS
        and len(span.trace_id) == 16
        and len(span.span_id) == 8
        and len(span.parent_span_id) in (0, 8)
    ) or len(span.links):
        return False
    for event in span.events:
        if not validate.MIN_NS <= event.time_unix_nano <= validate.MAX_NS:
            return False
    for kv in span.attributes:
        if kv.key not in validate.CHECKED_KEYS:
            continue
        value = kv.value
        which = value.WhichOneof("value")
        if which == "int_value":
            if not 0 <= value.int_value <= validate.MAX_TOKENS:
                return False
        elif which == "double_value":
            number = value.double_value
            if not 0 <= number <= validate.MAX_TOKENS:  # also false for NaN
                return False
            if kv.key in validate.TOKEN_KEYS and not number.is_integer():
                return False
        else:
            return False
    return True


def _checked(payload: bytes, accepted: int, rejected: int, first: str, what: str) -> Checked:
    if rejected and not accepted:
        raise Refused(400, f"every {what} is malformed ({rejected:,}); first: {first}")
    message = f"{rejected:,} {what}s rejected; first: {first}" if rejected else ""
    return Checked(payload if accepted else b"", accepted, rejected, message)


def _spoolable_pb(body: bytes) -> bytes:
    """A protobuf body as a spool frame: the framed readers take a frame that starts with `{` (after
    whitespace) or the zstd magic for JSON or zstd, so such a body gets a skippable field first."""
    if body.lstrip()[:1] == b"{" or body.startswith(ZSTD_MAGIC):
        return _PB_GUARD + body
    return body


def check_logs(body: bytes, content_type: str) -> Checked:
    """Check an ExportLogsServiceRequest body as the worker's ingest will read the spooled frame,
    so whatever is acknowledged is stored. Raises Refused(400) when it cannot be."""
    if content_type == PROTOBUF:
        # The worker's decoder can only fail where the parse does: counting is enough here.
        req = ExportLogsServiceRequest()
        try:
            req.ParseFromString(body)
        except DecodeError as exc:
            raise Refused(
                400, f"protobuf ExportLogsServiceRequest does not parse ({exc})"
            ) from None
        count = sum(len(sl.log_records) for rl in req.resource_logs for sl in rl.scope_logs)
        return Checked(_spoolable_pb(body) if count else b"", count, 0)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(400, f"malformed JSON ({exc})") from None
    try:
        rows = otel_logs.records_from_json(doc, 0)
    except Exception as exc:  # a shape the decoder cannot walk
        raise Refused(400, f"malformed OTLP/JSON logs request ({exc})") from None
    return Checked(body if rows else b"", len(rows), 0)


# --- HTTP ----------------------------------------------------------------------------------


def _status_body(content_type: str, status: int, message: str) -> bytes:
    """google.rpc.Status: field 1 code (varint), field 2 message (string)."""
    if content_type == JSON:
        return orjson.dumps({"code": _GRPC_CODE.get(status, 2), "message": message})
    text = message.encode()
    return b"\x08" + _varint(_GRPC_CODE.get(status, 2)) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _success_body(kind: str, content_type: str, checked: Checked) -> bytes:
    if content_type == JSON:
        if not checked.rejected:
            return b"{}"
        key = "rejectedSpans" if kind == "traces" else "rejectedLogRecords"
        return orjson.dumps(
            {"partialSuccess": {key: str(checked.rejected), "errorMessage": checked.message}}
        )
    if kind == "traces":
        resp: Any = ExportTraceServiceResponse()
        if checked.rejected:
            resp.partial_success.CopyFrom(
                ExportTracePartialSuccess(
                    rejected_spans=checked.rejected, error_message=checked.message
                )
            )
    else:
        resp = ExportLogsServiceResponse()
        if checked.rejected:
            resp.partial_success.CopyFrom(
                ExportLogsPartialSuccess(
                    rejected_log_records=checked.rejected, error_message=checked.message
                )
            )
    return bytes(resp.SerializeToString())


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


@dataclass
class Counters:
    requests: int = 0
    accepted_requests: int = 0
    spans: int = 0
    spans_rejected: int = 0
    log_records: int = 0
    refused: dict[int, int] = field(default_factory=dict)


class Receiver:
    """The request handlers: check, spool, answer."""

    def __init__(self, config: Config, spool_: spool.Spool, log: Callable[[str], None]) -> None:
        self.config = config
        self.spool = spool_
        self.log = log
        self.counters = Counters()
        self._scanned = 0  # spool bytes not yet in the database at the last folder scan
        self._scanned_at = -1e9
        self._submitted_at_scan = 0
        self._held_bytes = 0  # bodies of requests waiting for room in the spool

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post("/v1/traces", self.traces)
        app.router.add_post("/v1/logs", self.logs)
        return app

    async def traces(self, request: web.Request) -> web.Response:
        return await self._handle(request, "traces")

    async def logs(self, request: web.Request) -> web.Response:
        return await self._handle(request, "logs")

    async def _handle(self, request: web.Request, kind: str) -> web.Response:
        self.counters.requests += 1
        number = self.counters.requests
        content_type = _media_type(request.headers.get("Content-Type", ""))
        reply_type = content_type if content_type in (JSON, PROTOBUF) else PROTOBUF
        try:
            checked = await self._check(request, kind, content_type)
            if checked.payload:
                await self._store(kind, checked.payload)
        except Refused as exc:
            self.counters.refused[exc.status] = self.counters.refused.get(exc.status, 0) + 1
            if exc.status == 400:
                self._quarantine(request.path, number, exc.reason)
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            response = web.Response(
                status=exc.status,
                body=_status_body(reply_type, exc.status, exc.reason),
                content_type=reply_type,
                headers=headers,
            )
            if exc.status == 408:
                response.force_close()  # the rest of a trickling body is not worth waiting for
            return response
        except _Disconnected as exc:
            self.log(f"serve: request {number} to {request.path}: {exc}")
            return web.Response(status=400)  # nobody reads it
        except Exception:  # a bug: answer 500, keep serving, and say where
            self.log(
                f"error: serve: request {number} to {request.path} failed:\n"
                + traceback.format_exc(limit=8)
            )
            return web.Response(
                status=500,
                body=_status_body(reply_type, 500, "internal error"),
                content_type=reply_type,
            )
        self.counters.accepted_requests += 1
        if kind == "traces":
            self.counters.spans += checked.accepted
            self.counters.spans_rejected += checked.rejected
        else:
            self.counters.log_records += checked.accepted
        return web.Response(
            status=200, body=_success_body(kind, reply_type, checked), content_type=reply_type
        )

    async def _check(self, request: web.Request, kind: str, content_type: str) -> Checked:
        if content_type not in (JSON, PROTOBUF):
            raise Refused(
                415,
                f"unsupported Content-Type {content_type or '(none)'!r}; send {PROTOBUF} or {JSON}",
            )
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise Refused(415, f"unsupported Content-Encoding {encoding!r}; send gzip or none")
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise Refused(413, f"body is larger than {limit:,} bytes")
        body = await self._read(request, limit)
        if encoding == "gzip":
            body = gunzip(body, self.config.max_decoded_bytes)
        elif len(body) > self.config.max_decoded_bytes:
            raise Refused(413, f"body is larger than {self.config.max_decoded_bytes:,} bytes")
        await self._wait_for_room(len(body))
        if kind == "traces":
            return check_traces(body, content_type)
        return check_logs(body, content_type)

    async def _read(self, request: web.Request, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.config.body_timeout_s):
                async for chunk in request.content.iter_any():
                    size += len(chunk)
                    if size > limit:
                        raise Refused(413, f"body is larger than {limit:,} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            raise Refused(
                408, f"body not received within {self.config.body_timeout_s:g} s"
            ) from None
        except (
            ConnectionError,
            aiohttp.ClientPayloadError,
            aiohttp.http_exceptions.HttpProcessingError,
        ) as exc:
            raise _Disconnected(f"client went away mid-body after {size:,} bytes ({exc})") from None
        return b"".join(chunks)

    async def _wait_for_room(self, nbytes: int) -> None:
        """Return once the spool has room (_check_room); while it has none, wait up to
        ROOM_WAIT_S for the worker to make some, then refuse. Bodies already waiting count
        against max_pending_bytes, so held requests cannot pile up in memory."""
        try:
            self._check_room()
            return
        except Refused:
            if self._held_bytes + nbytes > self.config.max_pending_bytes:
                raise
        deadline = time.monotonic() + ROOM_WAIT_S
        self._held_bytes += nbytes
        try:
            while True:
                await asyncio.sleep(POLL_S)
                try:
                    self._check_room(rescan_s=POLL_S * 2)
                    return
                except Refused:
                    if time.monotonic() >= deadline:
                        raise
        finally:
            self._held_bytes -= nbytes

    def _check_room(self, rescan_s: float = 1.0) -> None:
        """429 when the agent sends faster than the disk or the database keeps up: too many bytes
        waiting for the next fsync, or more than --max-spool-mb acknowledged and not yet stored
        (e.g. a long `report` holds the database). Exporters retry after Retry-After."""
        if self.spool.pending_bytes > self.config.max_pending_bytes:
            raise Refused(429, "too many bytes waiting for the disk; retry shortly", 1)
        if self._unstored(rescan_s) > self.config.max_spool_bytes:
            # Retry after 1 s: the worker stores a batch back to back with the next, so the
            # spool has room again within about a batch; a longer wait would leave the worker
            # idle with an empty spool while the exporters sleep.
            limit = self.config.max_spool_bytes
            raise Refused(
                429, f"the spool holds more than {limit:,} bytes not yet stored; retry later", 1
            )

    def _unstored(self, rescan_s: float = 1.0) -> int:
        """Spool bytes not yet in the database: the folder (which the worker empties) is scanned
        at most every `rescan_s` (a second; more often while requests wait for room); what was
        submitted since is added exactly, so a burst is seen at once. Errs high (the worker may
        have deleted segments since the scan), never low."""
        now = time.monotonic()
        if now - self._scanned_at > rescan_s:
            submitted = self.spool.submitted_bytes
            # Read in the order bytes move (pending -> open segment -> sealed), so a byte that
            # moves on while being counted is counted twice, never missed.
            pending = self.spool.pending_bytes
            opened = self.spool.open_bytes
            self._scanned = pending + opened + spool.backlog_bytes(self.config.spool_dir)
            self._submitted_at_scan = submitted
            self._scanned_at = now
        return self._scanned + self.spool.submitted_bytes - self._submitted_at_scan

    async def _store(self, kind: str, payload: bytes) -> None:
        try:
            await asyncio.wrap_future(self.spool.submit(kind, payload))
        except OSError as exc:
            self.log(f"error: {self.config.spool_dir}: cannot write the spool ({exc})")
            raise Refused(503, "cannot write the spool; retry later", 5) from None

    def _quarantine(self, path: str, number: int, reason: str) -> None:
        record = {
            "path": f"serve:{path}",
            "line": number,
            "reason": reason,
            "recorded_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
        }
        # Not awaited: a refused request is not acknowledged, so nothing waits for the disk.
        self.spool.submit("rejected", orjson.dumps(record))


# --- the worker: spool → database ----------------------------------------------------------


@dataclass
class BatchResult:
    segments: int = 0
    spans: int = 0
    runs: int = 0
    ticks: int = 0
    log_records: int = 0
    rejected: int = 0
    nbytes: int = 0  # spool bytes of its segments
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class DeriveResult:
    """One derivation of the traces that batches stored since the previous one touched."""

    batches: int = 0
    runs: int = 0
    ticks: int = 0
    tool_calls: int = 0
    warnings: list[str] = field(default_factory=list)


def drain_batch(
    con: Any,
    spool_dir: Path,
    book: PriceBook,
    batch_bytes: int = BATCH_BYTES,
    *,
    derive: bool = True,
) -> BatchResult:
    """Move the oldest sealed segments (up to `batch_bytes`) into the database open on `con`, then
    delete them. A crash anywhere here only means the same segments are offered again: files are
    keyed by content hash (the joined trace segments too: the same batch again is "unchanged") and
    spans by trace and span id (a batch joined differently stores none of its spans twice).
    `derive=False`: the traces the batch touched stay pending (derive_pending derives them)."""
    segs = spool.sealed_segments(spool_dir)
    batch: list[spool.Segment] = []
    size = 0
    for seg in segs:
        try:
            seg_size = seg.path.stat().st_size
        except FileNotFoundError:
            continue
        if batch and size + seg_size > batch_bytes:
            break
        batch.append(seg)
        size += seg_size
    result = BatchResult(nbytes=size)
    if not batch:
        return result
    for seg in batch:
        if seg.stream == "logs":
            result.log_records += _store_logs(con, seg.path)
        elif seg.stream == "rejected":
            result.rejected += _store_rejected(con, seg.path)
    # Trace segments, and logs segments for the Claude Code events in them, go through the
    # ordinary ingest; its one derivation at the end rebuilds every run they touched. The trace
    # segments go in joined, as one file: one transaction and one commit for the batch, decoding
    # overlapped with storing, memory flat (as `ingest` of one large file).
    logs = [s.path for s in batch if s.stream == "logs"]
    traces = [s.path for s in batch if s.stream == "traces"]
    joined = _join(spool_dir, [s for s in batch if s.stream == "traces"])
    try:
        files = [*logs, *([joined] if joined else traces)]
        summary = ingest(con, files, prices=book, derive=derive)
        failed = {r.path for r in summary.file_results if r.status == "failed"}
        _add(result, summary, str(joined) if joined is not None else None)
        if joined is not None and str(joined) in failed:
            # Nothing of it was stored (one transaction): segment by segment, so that only a
            # segment that fails on its own is set aside.
            failed.discard(str(joined))
            again = ingest(con, traces, prices=book, derive=derive)
            failed |= {r.path for r in again.file_results if r.status == "failed"}
            _add(result, again)
    finally:
        if joined is not None:
            joined.unlink(missing_ok=True)
    result.failed.extend(sorted(failed))
    failed_dir = spool_dir / "failed"
    for seg in batch:
        if str(seg.path) in result.failed:
            # Never retried in a loop: kept aside for a human (`agentprof ingest` reads it).
            failed_dir.mkdir(exist_ok=True)
            shutil.move(seg.path, failed_dir / seg.path.name)
        else:
            seg.path.unlink(missing_ok=True)
    result.segments = len(batch)
    return result


def _join(spool_dir: Path, segs: list[spool.Segment]) -> Path | None:
    """The frames of these trace segments, in order, as one Collector proto file beside them (a
    name the spool never gives a segment); None for fewer than two."""
    if len(segs) < 2:
        return None
    path = spool_dir / f"batch-{segs[0].seq:010d}-{segs[-1].seq:010d}.binpb"
    try:
        with open(path, "wb") as out:
            out.write(spool.HEADER)
            for seg in segs:
                with open(seg.path, "rb") as f:
                    head = f.read(len(spool.HEADER))
                    if head != spool.HEADER:  # every segment starts with it; keep any other frame
                        out.write(head)
                    shutil.copyfileobj(f, out, 1 << 20)
    except BaseException:  # a full disk, say: nothing half-written stays in the spool
        path.unlink(missing_ok=True)
        raise
    return path


def _add(result: BatchResult, summary: Any, joined: str | None = None) -> None:
    """An ingest summary's counts and warnings; the joined file's own failure is left out (its
    segments are then ingested one by one, and those report)."""
    result.spans += summary.spans
    result.runs += summary.runs
    result.ticks += summary.ticks
    result.warnings.extend(summary.warnings)
    result.warnings.extend(exc.message() for exc in summary.errors if exc.where != joined)


def _segment_seen(con: Any, sha: str) -> bool:
    return bool(sql.run(con, "ingest/file_seen", {"sha256": sha}).rows)


_REJECTED_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("excerpt", pa.string()),
        ("recorded_at", pa.timestamp("us")),
    ]
)


def _store_rejected(con: Any, path: Path) -> int:
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if _segment_seen(con, sha):
        return 0
    rows = []
    for payload in spool.read_frames(path):
        rec = orjson.loads(payload)
        rows.append(
            {
                "path": rec["path"],
                "line": rec["line"],
                "reason": rec["reason"],
                "excerpt": None,
                "recorded_at": datetime.fromisoformat(rec["recorded_at"]),
            }
        )
    table = pa.Table.from_pylist(rows, schema=_REJECTED_SCHEMA)
    segment = InputFile(path, sha, len(data), "serve-rejected", records=table.num_rows)
    # One transaction with the segment's `files` row: stored whole or not at all, never twice.
    with transaction(con):
        if table.num_rows:
            sql.execute(
                con, "serve/insert_rejected", {"file_sha256": sha}, tables={"rejected_batch": table}
            )
        record_files(con, [(segment, 0)])
    return int(table.num_rows)


def _store_logs(con: Any, path: Path) -> int:
    """Every record of a logs segment into the `logs` table (one statement, so all or nothing; a
    record stored before is kept once by its content hash). The Claude Code events among them
    become spans when the segment then goes through ingest."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if _segment_seen(con, sha):
        return 0  # ingested already, which happens after this step
    rows: list[dict[str, Any]] = []
    for line, payload in enumerate(spool.read_frames(path), 1):
        with contextlib.suppress(Exception):  # checked before the 200; never loop on it
            rows.extend(otel_logs.records_from_frame(payload, line))
    table = pa.Table.from_pylist(rows, schema=otel_logs.LOG_SCHEMA)
    if table.num_rows:
        sql.execute(con, "serve/insert_logs", {"file_sha256": sha}, tables={"log_batch": table})
    return int(table.num_rows)


class Worker:
    """The single database writer's loop. It opens the database when there is something to store
    and keeps it open, storing batch after batch, until a process announces that it waits for
    the database (store.waiting_flag), the spool stays empty for IDLE_CLOSE_S, or it is told to
    stop. Yielding costs one close and one open, not a fixed sleep: the worker takes the database
    back as soon as the waiting processes are done with it. Batches leave the traces they touch
    pending; one derivation takes them all (see DERIVE_MAX_BYTES), so whoever gets the database
    next sees every stored span derived."""

    def __init__(
        self,
        db: Path,
        spool_dir: Path,
        book: PriceBook,
        report: Callable[[str, Any], None],
        batch_bytes: int = BATCH_BYTES,
        derive_max_bytes: int = DERIVE_MAX_BYTES,
        derive_max_s: float = DERIVE_MAX_S,
    ) -> None:
        self.db = db
        self.spool_dir = spool_dir
        self.book = book
        self.report = report
        self.batch_bytes = batch_bytes
        self.derive_max_bytes = derive_max_bytes
        self.derive_max_s = derive_max_s
        self.flag = store.waiting_flag(db)
        self.con: Any = None
        self.opens = 0  # how often the database was opened (tests and --verbose read these)
        self.batches = 0
        self.yields = 0  # how often it was closed because another process waited
        self.derivations = 0
        # Batches stored since the last derivation, their spool bytes, and when the first was.
        # Traces an earlier worker stored and did not derive (it crashed, or was abandoned) are
        # found by the first derivation, which runs before anything else.
        self.underived = 0
        self.underived_bytes = 0
        self.underived_since = 0.0
        self._leftovers = True

    def run(self, stop: Any, abandon: Any, alive: Callable[[], bool]) -> None:
        """Until `stop` is set and the spool is empty, or `abandon` is set (then after the current
        batch), or `alive()` turns false (the server died: the next `serve` stores the rest)."""
        idle_since = time.monotonic()
        try:
            while alive() and not abandon.is_set():
                stopping = stop.is_set()
                if self.con is not None and self._someone_waits():
                    self._derive()  # the waiting process sees every stored span derived
                    self._yield(abandon, alive)
                    continue
                sealed = bool(spool.sealed_segments(self.spool_dir))
                quiet = not sealed and (stopping or time.monotonic() - idle_since >= DERIVE_IDLE_S)
                if self._leftovers or (self.underived and (quiet or self._derive_due())):
                    if self.con is None and not self._open(abandon, alive):
                        continue
                    self._derive()
                    idle_since = time.monotonic()
                    continue
                if not sealed:
                    if stopping:
                        return
                    if self.con is not None and time.monotonic() - idle_since >= IDLE_CLOSE_S:
                        self.close()
                    stop.wait(POLL_S)
                    continue
                if self.con is None and not self._open(abandon, alive):
                    continue
                self._batch()
                idle_since = time.monotonic()
        finally:
            self.close()

    def close(self) -> None:
        if self.con is not None:
            con, self.con = self.con, None
            with contextlib.suppress(Exception):
                con.close()

    def _batch(self) -> None:
        try:
            result = drain_batch(
                self.con, self.spool_dir, self.book, self.batch_bytes, derive=False
            )
        except Exception as exc:  # a bug or a broken database: the worker must outlive it
            self._failed(exc, "storing spooled requests")
            return
        self.batches += 1
        if not self.underived:
            self.underived_since = time.monotonic()
        self.underived += 1
        self.underived_bytes += result.nbytes
        self.report("batch", result)

    def _derive_due(self) -> bool:
        return (
            self.underived_bytes >= self.derive_max_bytes
            or time.monotonic() - self.underived_since >= self.derive_max_s
        )

    def _derive(self) -> None:
        """Derive every pending trace: those of the batches stored since the last derivation,
        and any an earlier worker left pending."""
        if not (self.underived or self._leftovers) or self.con is None:
            return
        summary = IngestSummary()
        try:
            derive_pending(self.con, self.book, summary)
        except Exception as exc:  # the traces stay pending: the next derivation retries them
            self._failed(exc, "deriving stored spans")
            return
        result = DeriveResult(
            self.underived, summary.runs, summary.ticks, summary.tool_calls, summary.warnings
        )
        self.derivations += 1
        self.underived = self.underived_bytes = 0
        self._leftovers = False
        self.report("derived", result)

    def _failed(self, exc: Exception, what: str) -> None:
        self.close()  # a connection that failed mid-transaction is not trusted again
        if isinstance(exc, DatabaseError):
            self.report("error", exc.message())
        else:
            self.report("error", f"error: {self.db}: {what} failed ({exc!r:.200})")
        time.sleep(1.0)

    def _open(self, abandon: Any, alive: Callable[[], bool]) -> bool:
        """Open the database, retrying every POLL_S while another process holds it."""
        while alive() and not abandon.is_set():
            try:
                self.con = store.connect(self.db, wait_s=0, announce=False)
            except DatabaseError as exc:
                if "locked" not in exc.what:
                    self.report("error", exc.message())
                    time.sleep(1.0)
                    return False
                time.sleep(POLL_S)
                continue
            self.opens += 1
            return True
        return False

    def _someone_waits(self) -> bool:
        try:
            age = time.time() - self.flag.stat().st_mtime
        except OSError:
            return False
        return age < FLAG_FRESH_S

    def _yield(self, abandon: Any, alive: Callable[[], bool]) -> None:
        """Close, then give the waiting processes up to YIELD_MAX_S to get in (each removes the
        flag once it has the database; the next open then waits for them to finish)."""
        self.close()
        self.yields += 1
        deadline = time.monotonic() + YIELD_MAX_S
        while self._someone_waits() and time.monotonic() < deadline:
            if abandon.is_set() or not alive():
                return
            time.sleep(POLL_S / 2)


def _worker_main(
    db: str,
    spool_dir: str,
    prices: str | None,
    parent: int,
    stop: Any,
    abandon: Any,
    events: Any,
) -> None:
    """The worker process. Signals are the parent's business: it tells us to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Normal priority, as `agentprof ingest` runs: at nice 5 (before) the worker fell behind
    # everything else on a busy machine, and a bounded spool then refused the agent (429).
    book = load_price_file(Path(prices)) if prices else PriceBook()
    worker = Worker(Path(db), Path(spool_dir), book, lambda kind, item: events.put((kind, item)))
    worker.run(stop, abandon, lambda: os.getppid() == parent)


# --- running -------------------------------------------------------------------------------


@dataclass
class ServeSummary:
    counters: Counters
    spans_stored: int = 0
    log_records_stored: int = 0
    seconds: float = 0.0


class _Events:
    """Relays the worker's reports to the log callback from a thread of the parent."""

    def __init__(self, events: Any, log: Callable[[str], None], verbose: bool) -> None:
        self.events = events
        self.log = log
        self.verbose = verbose
        self.spans = 0
        self.log_records = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                kind, item = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            self._handle(kind, item)

    def _handle(self, kind: str, item: Any) -> None:
        if kind == "error":
            self.log(item)
            return
        if kind == "derived":
            derived: DeriveResult = item
            for w in derived.warnings:
                self.log(w if w.startswith("error:") else f"warning: {w}")
            if self.verbose and (derived.batches or derived.runs):
                self.log(
                    f"derived {derived.runs:,} runs ({derived.ticks:,} ticks, "
                    f"{derived.tool_calls:,} tool calls) touched by {derived.batches} batches"
                )
            return
        result: BatchResult = item
        self.spans += result.spans
        self.log_records += result.log_records
        for w in result.warnings:
            self.log(w if w.startswith("error:") else f"warning: {w}")
        for path in result.failed:
            self.log(f"error: {path}: could not be ingested; kept in the spool's failed/ folder")
        if self.verbose:
            self.log(
                f"stored {result.segments} segments: {result.spans:,} new spans, "
                f"{result.log_records:,} log records"
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(queue.Empty, EOFError, OSError):
            while True:
                self._handle(*self.events.get_nowait())


def run(
    config: Config,
    log: Callable[[str], None],
    on_listening: Callable[[str, int], None] | None = None,
) -> ServeSummary:
    """Serve until SIGINT/SIGTERM, then store everything acknowledged and return."""
    started = time.monotonic()
    lock_fd = spool.lock(config.spool_dir)
    try:
        store.connect(config.db, wait_s=30.0).close()  # migrate, and fail early on a bad file
        recovered = spool.recover(config.spool_dir)
        if recovered:
            log(f"recovered {recovered} spool segments left by an earlier run; storing them")
        ctx = multiprocessing.get_context("spawn")
        stop = ctx.Event()
        abandon = ctx.Event()
        events = ctx.Queue()
        worker = ctx.Process(
            target=_worker_main,
            args=(
                str(config.db),
                str(config.spool_dir),
                str(config.prices) if config.prices else None,
                os.getpid(),
                stop,
                abandon,
                events,
            ),
            name="agentprof-serve-worker",
            daemon=False,
        )
        worker.start()
        relay = _Events(events, log, config.verbose)
        # Segments no larger than ingest's small files: a batch of one segment is then stored like
        # a small file, and a batch of several is joined into one (drain_batch).
        the_spool = spool.Spool(config.spool_dir, seal_bytes=SMALL_FILE_BYTES, seal_s=config.seal_s)
        receiver = Receiver(config, the_spool, log)
        try:
            asyncio.run(_serve(config, receiver, log, on_listening, worker))
        finally:
            the_spool.close()
            stop.set()
            try:
                worker.join()
            except KeyboardInterrupt:
                # A second Ctrl-C: the worker finishes its batch only; the next `serve` stores
                # the rest of the spool.
                log("stopping after this batch; the next `agentprof serve` stores the rest")
                abandon.set()
                worker.join()
            relay.close()
        if worker.exitcode not in (0, None):
            raise AgentprofError(
                "serve",
                f"the database worker failed (exit code {worker.exitcode})",
                "acknowledged data stays in the spool; start `agentprof serve` again to store it",
            )
        summary = ServeSummary(receiver.counters, relay.spans, relay.log_records)
    finally:
        os.close(lock_fd)
    summary.seconds = time.monotonic() - started
    return summary


async def _serve(
    config: Config,
    receiver: Receiver,
    log: Callable[[str], None],
    on_listening: Callable[[str, int], None] | None,
    worker: Any,
) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    # auto_decompress off: aiohttp would inflate gzip without a size cap; gunzip() has one.
    runner = web.AppRunner(
        receiver.app(),
        access_log=None,
        handle_signals=False,
        auto_decompress=False,
        keepalive_timeout=config.idle_timeout_s,
        # After an early answer (408, 413, 415) the rest of the body is drained this long at most.
        lingering_time=min(2.0, config.body_timeout_s),
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise AgentprofError(
            f"{config.host}:{config.port}",
            f"cannot listen ({exc.strerror or exc})",
            "pick another --port (0 picks a free one)",
        ) from None
    host, port = runner.addresses[0][:2]  # the real port when --port 0
    if on_listening:
        on_listening(host, port)
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=1.0)
        if not worker.is_alive() and not stopping.is_set():
            log("error: serve: the database worker stopped unexpectedly; shutting down")
            stopping.set()
    log("stopping: storing what the spool holds")
    # Finish the requests in flight (their bodies reach the spool), then stop listening.
    await runner.cleanup()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
