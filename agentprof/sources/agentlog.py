"""Shared pieces of the local-log readers (Claude Code, Codex, API response logs): stable ids,
timestamps, model-id normalisation, span rows in the canonical `spans` shape, and the store step
that lets a later, more complete copy of a record replace an earlier one.

Every span these readers write carries `agentprof.rank` (a number that grows as a record gets
more complete: more tokens, more streamed lines, a tool result that arrived). Re-reading a grown
file (new SHA-256) writes every record again; a stored span is replaced only by a higher rank, so
nothing is counted twice and a message whose final line arrived later is updated."""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol

import duckdb
import orjson
import pyarrow as pa
import zstandard

from agentprof import sql
from agentprof.sources.otlp import BadRecord, Batches, SpanBatcher

RANK = "agentprof.rank"
SOURCE = "agentprof.source"
USER_WAIT = "agentprof.tool.user_wait"
CACHE_WRITE_1H = "agentprof.usage.cache_write_1h_tokens"
# Characters of a tool's result as the model read it: what the call added to the context.
RESULT_CHARS = "agentprof.tool.result_chars"
# Characters a model call wrote (text, thinking, tool input), where the log keeps them.
OUTPUT_CHARS = "agentprof.output_chars"
# The project a coding-agent log worked in (its working directory, else its project folder).
PROJECT = "agentprof.project"


def stable_id(*parts: object, nbytes: int = 8) -> str:
    """A deterministic hex id (16 hex characters for span ids, 32 for trace ids)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[: 2 * nbytes]


def iso_ns(value: Any) -> int | None:
    """ISO-8601 text (with `Z` or an offset) to Unix nanoseconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


_REGION = re.compile(r"^(?:us|eu|jp|apac|au|ca|global|us-gov)\.")
_VERSION_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")


def normalize_model(model: str) -> str:
    """A model id as the price table knows it: provider routes (`converse/`, `bedrock/`,
    `vertex_ai/`), Bedrock cross-region prefixes (`us.`, `jp.`, …), the `anthropic.` vendor
    prefix and `-v1:0` suffixes dropped; Vertex's `model@20250929` becomes `model-20250929`."""
    m = model.strip()
    if "/" in m and not m.startswith("arn:"):
        m = m.rsplit("/", 1)[-1]
    elif m.startswith("arn:"):
        m = m.rsplit("/", 1)[-1]
    m = _REGION.sub("", m)
    if m.startswith("anthropic."):
        m = m[len("anthropic.") :]
    m = _VERSION_SUFFIX.sub("", m)
    if "@" in m:
        base, _, version = m.partition("@")
        m = f"{base}-{version}" if version and version != "default" else base
    return m


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def excerpt(raw: bytes | str, limit: int = 200) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


# One resource attribute list per service, shared by its rows: the span batcher stores a list it
# has seen (the same object) once, as one dictionary entry, instead of one map per span.
_RESOURCES: dict[str, list[tuple[str, str]]] = {}


def span_row(
    *,
    trace_id: str,
    span_id: str,
    name: str,
    start_ns: int,
    end_ns: int,
    attributes: dict[str, Any],
    service: str,
    scope: str,
    line: int,
    parent_span_id: str | None = None,
    status_code: int = 0,
    status_message: str | None = None,
    parent_trace_id: str | None = None,
) -> tuple[Any, ...]:
    """One row in SPAN_SCHEMA order. Attribute values become text (None values are dropped)."""
    attrs = [
        (k, v if isinstance(v, str) else str(v)) for k, v in attributes.items() if v is not None
    ]
    links = [{"trace_id": parent_trace_id, "span_id": ""}] if parent_trace_id else []
    resource = _RESOURCES.get(service)
    if resource is None:
        resource = _RESOURCES[service] = [("service.name", service)]
    return (
        trace_id,
        span_id,
        parent_span_id,
        name,
        1,  # SPAN_KIND_INTERNAL
        start_ns,
        max(end_ns, start_ns),
        status_code,
        status_message,
        service,
        scope,
        None,
        attrs,
        resource,
        [],
        links,
        line,
    )


def tool_span_row(
    *,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    tool_name: str,
    call_id: str | None,
    arguments: Any,
    start_ns: int,
    end_ns: int,
    session: str | None,
    result_chars: int | None,
    source: str,
    scope: str,
    line: int,
    status_code: int = 0,
    status_message: str | None = None,
    parent_trace_id: str | None = None,
) -> tuple[Any, ...]:
    """One tool execution as an OTel GenAI `execute_tool` span (the local-log readers' shape):
    arguments kept as text (JSON when they were structured), the result's size, the session."""
    if arguments is not None and not isinstance(arguments, str):
        arguments = json_text(arguments)
    return span_row(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name="execute_tool " + tool_name,
        start_ns=start_ns,
        end_ns=end_ns,
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool_name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.call.arguments": arguments,
            "session.id": session,
            RESULT_CHARS: result_chars,
            SOURCE: source,
            RANK: 1,
        },
        service=source,
        scope=scope,
        line=line,
        status_code=status_code,
        status_message=status_message,
        parent_trace_id=parent_trace_id,
    )


def store_spans(con: duckdb.DuckDBPyConnection, stream: pa.RecordBatchReader) -> None:
    """Stage the files' spans, drop stored copies that a staged span supersedes (higher
    `agentprof.rank`), then insert what is not stored yet."""
    sql.execute(con, "ingest/agentlog_stage_spans", tables={"span_batch": stream})
    # A Claude Code request known from its transcript and from its OTel events counts once
    # (without any OTel event span, staged or stored, there is nothing to pair).
    if sql.run(con, "ingest/agentlog_otel_present").rows[0][0]:
        for name in ("superseded", "drop_staged", "mark_superseded", "delete_superseded"):
            sql.execute(con, f"ingest/otel_logs_{name}")
    sql.execute(con, "ingest/agentlog_delete_superseded")
    # The staged rows hold one copy per span: the plain insert stores those not stored yet.
    sql.execute(con, "ingest/insert_new_spans", tables={"span_batch": con.table("agentlog_batch")})


class BadLine(ValueError):
    """A record this reader cannot use: quarantined with its line number, the file goes on."""


def token_counts(value: Any, keys: Iterable[str], what: str) -> dict[str, int]:
    """The token counts `keys` of a usage object (absent or null: 0), as whole numbers; BadLine
    names the first one that is not a count."""
    if not isinstance(value, dict):
        raise BadLine(f"{what} is not an object")
    out = {}
    for key in keys:
        v = value.get(key, 0)
        if v is None:
            v = 0
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise BadLine(f"{what}.{key} {str(v)[:40]!r} is not a token count")
        out[key] = int(v)
    return out


class LineReader(Protocol):
    def line(self, lineno: int, doc: dict[str, Any]) -> None: ...

    def rows(self) -> Iterable[tuple[Any, ...]]: ...


# The bytes before the resume offset whose hash must still match before only the new end of a
# grown log is read (a rewritten prefix: the file is read whole again).
RESUME_BLOCK = 4096


@dataclass
class Cursor:
    """How far an append-only log (Claude Code transcript, Codex rollout) was read: the offset
    just past its last whole line, the lines and records up to there, and the SHA-256 of the
    RESUME_BLOCK bytes before the offset. `whole` is False when the last line had no newline (a
    line being written): the reading cannot resume there."""

    offset: int = 0
    lines: int = 0
    records: int = 0
    skipped: int = 0
    block_sha256: str = ""
    whole: bool = True


def block_sha256(stream: IO[bytes], offset: int) -> str:
    """SHA-256 of the RESUME_BLOCK bytes (fewer at the start of a file) before `offset`."""
    start = max(0, offset - RESUME_BLOCK)
    stream.seek(start)
    return hashlib.sha256(stream.read(offset - start)).hexdigest()


def read_jsonl(
    stream: IO[bytes], bad: BadRecord, reader: LineReader, cursor: Cursor | None = None
) -> Batches:
    """Feed every JSON-object line of an agent log to `reader`, quarantining the lines that are
    not JSON objects or that it rejects (BadLine), then yield its span rows in batches.
    `cursor`: the stream is positioned at cursor.offset (line numbers go on from cursor.lines);
    on return it says how far the reading got."""
    records = nbad = 0
    start_line = cursor.lines if cursor else 0
    consumed = 0
    raw = b""
    lineno = start_line
    loads, take = orjson.loads, reader.line  # (looked up once: this loop runs once per line)
    for lineno, raw in enumerate(stream, start_line + 1):
        consumed += len(raw)
        if raw.isspace():  # (a line is never empty: it holds at least its newline)
            continue
        records += 1
        try:
            doc = loads(raw)
        except orjson.JSONDecodeError as exc:
            nbad += 1
            bad(lineno, f"malformed JSON ({exc.args[0] if exc.args else exc})", excerpt(raw))
            continue
        if not isinstance(doc, dict):
            nbad += 1
            bad(lineno, "not a JSON object", excerpt(raw))
            continue
        try:
            take(lineno, doc)
        except BadLine as exc:
            nbad += 1
            bad(lineno, str(exc), excerpt(raw))
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
            # A field of an unexpected JSON type deep in a record: that record is bad, not the file.
            nbad += 1
            bad(lineno, f"unreadable record ({type(exc).__name__}: {str(exc)[:120]})", excerpt(raw))
    if cursor is not None:
        cursor.offset += consumed
        cursor.lines = lineno
        cursor.records += records
        cursor.skipped += nbad
        if consumed:
            cursor.whole = raw.endswith(b"\n")
        cursor.block_sha256 = block_sha256(stream, cursor.offset)
    batcher = SpanBatcher()
    for row in reader.rows():
        batcher.add(row)
        if batcher.full():
            yield batcher.take(), 0, 0
    yield batcher.take(), records, nbad


# What a resumed reader may be made of (the readers' own classes and builtins): the stored state
# is unpickled with nothing else allowed.
_STATE_CLASSES = frozenset(
    {
        ("agentprof.sources.claude_code", "_Reader"),
        ("agentprof.sources.claude_code", "_Message"),
        ("agentprof.sources.claude_code", "_Tool"),
        ("agentprof.sources.codex", "_Reader"),
        ("agentprof.sources.codex", "_Tool"),
        ("agentprof.sources.agentlog", "Cursor"),
    }
)


class _StateUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _STATE_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a reader state")
        return super().find_class(module, name)


# A zstd frame's first bytes: states written before 2026-12-06 are zlib streams, read as such.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def dump_state(reader: Any, cursor: Cursor) -> bytes:
    """A reader's state (its __getstate__, tagged with its class's STATE_VERSION) and where it
    stopped, compressed (zstd level 1: a quarter of zlib's CPU, smaller), to resume it on the
    file's new end."""
    state = (reader.STATE_VERSION, reader, cursor)
    data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return zstandard.ZstdCompressor(level=1).compress(data)


def load_state(blob: bytes) -> tuple[Any, Cursor]:
    """The reader and cursor dump_state stored; raises ValueError when they cannot be restored
    (a state of another reader version: the file is then read whole)."""
    try:
        if blob.startswith(_ZSTD_MAGIC):
            data = zstandard.ZstdDecompressor().decompress(blob)
        else:
            data = zlib.decompress(blob)
        version, reader, cursor = _StateUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        raise ValueError(f"stored reader state unusable: {exc}") from exc
    if (
        not isinstance(cursor, Cursor)
        or not hasattr(reader, "resume")
        or version != getattr(type(reader), "STATE_VERSION", None)
    ):
        raise ValueError("stored reader state of another reader version")
    return reader, cursor
