"""Decode OTLP trace exports (JSON, JSON lines, protobuf, Collector file-exporter framing) into
columnar span batches shaped like the `spans` table. Bad records are reported, never dropped."""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import math
import queue
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import zstandard
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentprof.sources import validate
from agentprof.sources.io import ZSTD_MAGIC, BrokenDocument, json_documents
from agentprof.sources.validate import INVALID

BATCH_SPANS = 20_000

_MAP = pa.map_(pa.string(), pa.string())
SPAN_SCHEMA = pa.schema(
    [
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.int8()),
        ("start_ns", pa.int64()),
        ("end_ns", pa.int64()),
        ("status_code", pa.int8()),
        ("status_message", pa.string()),
        ("service_name", pa.string()),
        ("scope_name", pa.string()),
        ("scope_version", pa.string()),
        ("attributes", _MAP),
        # The spans of one resource share its attributes: each batch holds every distinct map
        # once (DuckDB converts and checks a map in ~0.3 µs per entry).
        ("resource_attributes", pa.dictionary(pa.int32(), _MAP)),
        (
            "events",
            pa.list_(
                pa.struct([("name", pa.string()), ("time_ns", pa.int64()), ("attributes", _MAP)])
            ),
        ),
        ("links", pa.list_(pa.struct([("trace_id", pa.string()), ("span_id", pa.string())]))),
        ("line", pa.int64()),
    ]
)

# (span batch, records seen, bad records) increments, as every reader yields them.
Batches = Iterator[tuple[pa.Table | None, int, int]]
# (line, reason, excerpt) for a record that could not be read.
BadRecord = Callable[[int, str, str], None]
_HEX = frozenset("0123456789abcdefABCDEF")


class BadSpan(ValueError):
    """A span record that cannot be stored (bad ids or times)."""


class SpanBatcher:
    """Collects span rows column by column and hands out Arrow tables of BATCH_SPANS rows."""

    def __init__(self) -> None:
        self._cols: dict[str, list[Any]] = {name: [] for name in SPAN_SCHEMA.names}
        self.count = 0

    def add(self, row: tuple[Any, ...]) -> None:
        for col, value in zip(self._cols.values(), row, strict=True):
            col.append(value)
        self.count += 1

    def full(self) -> bool:
        return len(self._cols["trace_id"]) >= BATCH_SPANS

    def take(self) -> pa.Table | None:
        if not self._cols["trace_id"]:
            return None
        cols: dict[str, Any] = self._cols
        self._cols = {name: [] for name in SPAN_SCHEMA.names}
        try:
            return _span_table(cols)
        except _CONVERSION_ERRORS:
            pass
        # Some row holds a value Arrow cannot store (a lone surrogate, a number where text
        # belongs, an integer past 64 bits): find it and store it as a tombstone that
        # validate.span_problems quarantines with the reason, so the rest of the batch goes in.
        rows = list(zip(*cols.values(), strict=True))
        for i, row in enumerate(rows):
            try:
                _span_table({n: [v] for n, v in zip(SPAN_SCHEMA.names, row, strict=True)})
            except _CONVERSION_ERRORS as exc:
                rows[i] = tombstone(row[-1], _row_problem(row) or _why(exc))
        columns = zip(*rows, strict=True)
        return _span_table(
            {name: list(col) for name, col in zip(SPAN_SCHEMA.names, columns, strict=True)}
        )


def _row_problem(row: tuple[Any, ...]) -> str | None:
    """A time past int64 (a log's year 9999) named as the time it is."""
    start, end = row[SPAN_SCHEMA.names.index("start_ns")], row[SPAN_SCHEMA.names.index("end_ns")]
    for what, ns in (("start time", start), ("end time", end)):
        if isinstance(ns, int):
            why = validate.time_problem(what, ns)
            if why:
                return why
    return None


_CONVERSION_ERRORS = (pa.ArrowException, UnicodeError, OverflowError, TypeError, ValueError)


def tombstone(line: Any, reason: str) -> tuple[Any, ...]:
    """A row that stands for a record Arrow could not hold; validation refuses it with `reason`."""
    line = line if isinstance(line, int) and 0 <= line < _NS_LIMIT else 0
    return (
        "",
        "",
        None,
        None,
        0,
        None,
        None,
        0,
        None,
        None,
        None,
        None,
        [(INVALID, reason)],
        None,
        [],
        [],
        line,
    )


def _span_table(cols: dict[str, Any]) -> pa.Table:
    cols = dict(cols)
    cols["resource_attributes"] = _shared_maps(cols["resource_attributes"])
    return pa.table(cols, schema=SPAN_SCHEMA)


def _shared_maps(values: list[Any]) -> pa.DictionaryArray:
    """Attribute lists as a dictionary array: rows holding the same list object share an entry."""
    index: dict[int, int] = {}
    unique: list[Any] = []
    codes: list[int | None] = []
    for value in values:
        if value is None:
            codes.append(None)
            continue
        code = index.get(id(value))
        if code is None:
            code = index[id(value)] = len(unique)
            unique.append(value)
        codes.append(code)
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(unique, _MAP))


def resource_ids(maps: pa.Array) -> pa.Array:
    """The resource id of each attribute map (NULL for a NULL map): the MD5 of its canonical text,
    each entry in order as <bytes>:<key> then <bytes>:<value> or "-" for a NULL value. The same
    id as the SQL macro resource_key (queries/schema/032_resources.sql) that the native JSON-lines
    path computes, so a resource is one row of `resources` whichever format it came in."""
    if not isinstance(maps, pa.MapArray):
        raise TypeError(f"expected a map array, got {maps.type}")
    # maps.keys and maps.items are the whole children, which maps.offsets index (a slice too)
    offsets = maps.offsets
    first, last = (offsets[0].as_py(), offsets[-1].as_py()) if len(offsets) else (0, 0)
    keys, values = maps.keys.slice(first, last - first), maps.items.slice(first, last - first)

    def sized(text: pa.Array) -> pa.Array:
        return pc.binary_join_element_wise(pc.cast(pc.binary_length(text), pa.string()), text, ":")

    entries = pc.binary_join_element_wise(sized(keys), pc.fill_null(sized(values), "-"), "")
    starts = pc.subtract(offsets, pa.scalar(first, offsets.type))
    per_map = pa.ListArray.from_arrays(starts, entries, mask=maps.is_null())
    texts = pc.binary_join(per_map, "").to_pylist()
    return pa.array([None if t is None else _md5(t) for t in texts], pa.string())


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()  # an id, not a secret


# --- ids and values ------------------------------------------------------------------------


def _hex_id(value: Any, nbytes: int, what: str) -> str:
    """OTLP/JSON ids are hex; tolerate the base64 that protobuf's json_format writes by mistake."""
    if not isinstance(value, str) or not value:
        raise BadSpan(f"{what} is missing")
    if len(value) == 2 * nbytes and _HEX.issuperset(value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == nbytes:
        return raw.hex()
    raise BadSpan(f"{what} {value[:40]!r} is not {2 * nbytes} hex characters")


def _int(value: Any, what: str) -> int:
    if value is None or value == "":
        raise BadSpan(f"{what} is missing")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise BadSpan(f"{what} {str(value)[:40]!r} is not an integer") from None


_NS_LIMIT = 1 << 63


def _time(value: int, what: str) -> int:
    """A Unix-nanosecond time as stored (int64): later than 2262 or negative is not a time."""
    if not 0 <= value < _NS_LIMIT:
        raise BadSpan(f"{what} {value} is outside 1970..2200")
    return value


def _enum(value: int) -> int:
    # SpanKind and StatusCode are open enums: a value this store cannot hold (a tinyint) is kept
    # as 0, "unspecified"/"unset", rather than losing the span.
    return value if 0 <= value < 128 else 0


def _unique_keys(pairs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Attribute keys must be unique (a map); a repeated key keeps its last value, as SDKs do."""
    if len({k for k, _ in pairs}) == len(pairs):
        return pairs
    return list(dict(pairs).items())


def _element(value: dict[str, Any]) -> Any:
    """An AnyValue inside an array or kvlist, as plain JSON. Deeper arrays and kvlists keep their
    OTLP/JSON form: the rule DuckDB's native reader (queries/schema/011_otlp_macros.sql) follows."""
    if value.get("stringValue") is not None:
        return _as_text(value["stringValue"])
    if value.get("intValue") is not None:
        return int(value["intValue"])
    if value.get("doubleValue") is not None:
        raw = value["doubleValue"]
        return float(raw) if isinstance(raw, str) else raw
    if value.get("boolValue") is not None:
        return bool(value["boolValue"])
    if value.get("bytesValue") is not None:
        return _as_text(value["bytesValue"])
    if "arrayValue" in value:
        return value["arrayValue"]
    if "kvlistValue" in value:
        return value["kvlistValue"]
    return None


def _text(value: dict[str, Any]) -> str | None:
    """An AnyValue as stored in the spans table: scalars as text (numbers as written), arrays and
    kvlists as plain JSON one level deep. The first field that is present and not null wins, and
    a value of an unexpected JSON type is kept as its JSON text: what the native JSON-lines path
    (queries/schema/011_otlp_macros.sql) stores."""
    if value.get("stringValue") is not None:
        return _as_text(value["stringValue"])
    if value.get("intValue") is not None:
        return str(int(value["intValue"]))
    if value.get("doubleValue") is not None:
        raw = value["doubleValue"]
        # proto3 JSON may write a double as an integer or as "NaN"/"Infinity": keep it as written.
        if isinstance(raw, float):
            return _double_text(raw)
        return _as_text(raw)
    if value.get("boolValue") is not None:
        return _as_text(value["boolValue"])
    if "arrayValue" in value:
        return _json_text([_element(v) for v in (value["arrayValue"] or {}).get("values", [])])
    if "kvlistValue" in value:
        items = (value["kvlistValue"] or {}).get("values", [])
        return _json_text({kv["key"]: _element(kv.get("value") or {}) for kv in items})
    if value.get("bytesValue") is not None:
        return _as_text(value["bytesValue"])
    return None


def _as_text(raw: Any) -> str:
    """Text as written; any other JSON value as its JSON text (true, 5, {"a":1})."""
    return raw if isinstance(raw, str) else _json_text(raw)


def _double_text(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(x)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=True)


def _attrs_json(items: Any) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for kv in items or ():
        key = kv.get("key")
        if key is None:
            continue
        out.append((key if isinstance(key, str) else _json_text(key), _text(kv.get("value") or {})))
    return _unique_keys(out)


# --- OTLP/JSON -----------------------------------------------------------------------------


def _spans_from_json_request(
    doc: dict[str, Any], line: int, batcher: SpanBatcher, bad: BadRecord
) -> int:
    """Add every span of one ExportTraceServiceRequest dict; returns how many were bad."""
    nbad = 0
    for rs in _list(doc.get("resourceSpans"), "resourceSpans"):
        resource = _attrs_json(_get(_get(rs, "resource"), "attributes"))
        service = next((v for k, v in resource if k == "service.name"), None)
        scopes = _get(rs, "scopeSpans") or _get(rs, "instrumentationLibrarySpans")
        for ss in _list(scopes, "scopeSpans"):
            scope = _get(ss, "scope") or _get(ss, "instrumentationLibrary") or {}
            scope_name = _opt_text(_get(scope, "name"), "scope name")
            scope_version = _opt_text(_get(scope, "version"), "scope version")
            for span in _list(_get(ss, "spans"), "spans"):
                try:
                    batcher.add(
                        _json_span_row(span, resource, service, scope_name, scope_version, line)
                    )
                except (BadSpan, TypeError, ValueError, AttributeError, KeyError) as exc:
                    nbad += 1
                    bad(line, f"bad span: {exc}", _excerpt(span))
                except (OverflowError, RecursionError, UnicodeError) as exc:
                    nbad += 1
                    bad(line, f"bad span: {_why(exc)}", _excerpt(span))
    return nbad


def _why(exc: BaseException) -> str:
    """A value Python could read but the store cannot hold, in words."""
    if isinstance(exc, UnicodeError):
        return "text is not valid UTF-8 (a lone surrogate)"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, OverflowError):
        return f"a number out of range ({exc})"
    return f"a value of the wrong type ({str(exc)[:120]})"


def _get(obj: Any, key: str) -> Any:
    """obj[key] when obj is an object, else a BadSpan naming the misplaced value."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise BadSpan(f"expected an object where {key} is, got a JSON {type(obj).__name__}")
    return obj.get(key)


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadSpan(f"{what} is a JSON {type(value).__name__}, not an array")
    return value


def _opt_text(value: Any, what: str) -> str | None:
    """A text field as DuckDB's native reader stores it: numbers and booleans as their JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    # Numbers, objects and arrays as their JSON text, as DuckDB's reader turns them into VARCHAR.
    return _json_text(value)


def _json_span_row(
    span: dict[str, Any],
    resource: list[tuple[str, str | None]],
    service: str | None,
    scope_name: str | None,
    scope_version: str | None,
    line: int,
) -> tuple[Any, ...]:
    trace_id = _hex_id(span.get("traceId"), 16, "traceId")
    span_id = _hex_id(span.get("spanId"), 8, "spanId")
    parent = span.get("parentSpanId")
    parent_id = _hex_id(parent, 8, "parentSpanId") if parent else None
    status = span.get("status") or {}
    events = [
        (
            _opt_text(e.get("name", ""), "event name") or "",
            _time(_int(e.get("timeUnixNano", 0), "event timeUnixNano"), "event timeUnixNano"),
            _attrs_json(e.get("attributes")),
        )
        for e in span.get("events") or ()
    ]
    links = [
        (
            _hex_id(lk.get("traceId"), 16, "link traceId"),
            _hex_id(lk.get("spanId"), 8, "link spanId"),
        )
        for lk in span.get("links") or ()
    ]
    return (
        trace_id,
        span_id,
        parent_id,
        _opt_text(span.get("name"), "name"),
        _enum(int(span.get("kind") or 0)),
        _time(_int(span.get("startTimeUnixNano"), "startTimeUnixNano"), "startTimeUnixNano"),
        _time(_int(span.get("endTimeUnixNano"), "endTimeUnixNano"), "endTimeUnixNano"),
        _enum(int(status.get("code") or 0)),
        _opt_text(status.get("message"), "status message") or None,
        service,
        scope_name,
        scope_version,
        _attrs_json(span.get("attributes")),
        resource,
        events,
        links,
        line,
    )


def _excerpt(obj: Any, limit: int = 200) -> str:
    try:
        text = (
            obj.decode("utf-8", "replace") if isinstance(obj, bytes) else orjson.dumps(obj).decode()
        )
    except (TypeError, orjson.JSONEncodeError):
        text = repr(obj)[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:limit]


_OTHER_SIGNALS = {
    "resourceLogs": "an OTLP logs export",
    "resourceMetrics": "an OTLP metrics export",
}


def _classify_doc(doc: Any) -> str | None:
    """None for a trace request, else why this JSON document is not one."""
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not an ExportTraceServiceRequest object"
    if "resourceSpans" in doc:
        return None
    for key, what in _OTHER_SIGNALS.items():
        if key in doc:
            return f"{what}, not traces"
    keys = ", ".join(list(doc)[:3]) or "none"
    return f"a JSON object without resourceSpans (keys: {keys})"


def _add_document(doc: Any, line: int, batcher: SpanBatcher, bad: BadRecord) -> tuple[int, int]:
    """Add one decoded JSON document's spans; returns (records seen, records bad). A document
    that is not a trace request is one bad record."""
    why = _classify_doc(doc)
    if why:
        bad(line, why, _excerpt(doc))
        return 1, 1
    before = batcher.count
    try:
        nbad = _spans_from_json_request(doc, line, batcher, bad)
    except (BadSpan, TypeError, ValueError, AttributeError, KeyError) as exc:
        # the envelope around the spans has the wrong shape
        bad(line, f"not an OTLP trace request: {exc}", _excerpt(doc))
        return batcher.count - before + 1, 1
    except (OverflowError, RecursionError, UnicodeError) as exc:
        bad(line, f"not an OTLP trace request: {_why(exc)}", _excerpt(doc))
        return batcher.count - before + 1, 1
    return batcher.count - before + nbad, nbad


def read_json(stream: IO[bytes], bad: BadRecord) -> Batches:
    """OTLP/JSON: JSON lines (the Collector's file exporter), one document, or several
    concatenated. Yields (batch, records, bad_records) increments."""
    first = stream.readline()
    if _whole_line(first):
        yield from _json_lines(itertools.chain([first], stream), bad)
    else:
        yield from _json_documents(first + stream.read(), bad)


def _whole_line(line: bytes) -> bool:
    """Whether the first line is a document of its own: JSON lines. Python's decoder also takes a
    line orjson refuses (NaN, a lone surrogate): then that line alone is bad, not the file."""
    try:
        orjson.loads(line)
        return True
    except orjson.JSONDecodeError:
        pass
    try:
        json.loads(line.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return False
    return True


def _json_lines(lines: Iterable[bytes], bad: BadRecord) -> Batches:
    batcher = SpanBatcher()
    records = nbad = 0
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            records += 1
            nbad += 1
            bad(lineno, f"malformed JSON ({exc.args[0] if exc.args else exc})", _excerpt(raw))
        else:
            n, b = _add_document(doc, lineno, batcher, bad)
            records += n
            nbad += b
        if batcher.full():
            yield batcher.take(), records, nbad
            records = nbad = 0
    yield batcher.take(), records, nbad


def _json_documents(data: bytes, bad: BadRecord) -> Batches:
    """One pretty-printed document, or several back to back (not line-delimited)."""
    batcher = SpanBatcher()
    records, nbad = 0, 0
    try:
        for line, doc, _ in json_documents(data):
            nrec, n = _add_document(doc, line, batcher, bad)
            records += nrec
            nbad += n
            if batcher.full():
                yield batcher.take(), records, nbad
                records = nbad = 0
    except BrokenDocument as exc:
        records += 1
        nbad += 1
        bad(exc.line, exc.reason, exc.excerpt)
    yield batcher.take(), records, nbad


# --- OTLP protobuf -------------------------------------------------------------------------


def _pb_json(value: Any) -> dict[str, Any]:
    """A protobuf AnyValue in its OTLP/JSON form (int64 as a string, bytes as base64)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return {"stringValue": value.string_value}
    if which == "int_value":
        return {"intValue": str(value.int_value)}
    if which == "double_value":
        return {"doubleValue": value.double_value}
    if which == "bool_value":
        return {"boolValue": value.bool_value}
    if which == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode()}
    if which == "array_value":
        return {"arrayValue": {"values": [_pb_json(v) for v in value.array_value.values]}}
    if which == "kvlist_value":
        pairs = [{"key": kv.key, "value": _pb_json(kv.value)} for kv in value.kvlist_value.values]
        return {"kvlistValue": {"values": pairs}}
    return {}


def _pb_text(value: Any) -> str | None:
    which = value.WhichOneof("value")
    if which == "string_value":
        return str(value.string_value)
    if which == "int_value":
        return str(value.int_value)
    if which == "double_value":
        return _double_text(value.double_value)
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which in ("array_value", "kvlist_value"):
        return _text(_pb_json(value))
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _pb_attrs(items: Any) -> list[tuple[str, str | None]]:
    return _unique_keys([(kv.key, _pb_text(kv.value)) for kv in items])


def _pb_id(raw: bytes, nbytes: int, what: str) -> str:
    if len(raw) != nbytes:
        raise BadSpan(f"{what} has {len(raw)} bytes, expected {nbytes}")
    return raw.hex()


def pb_span_problem(span: Any) -> str | None:
    """Why the decoder refuses this protobuf span (ids of the wrong length, a time past int64),
    or None. The one list of these checks: _pb_span_row applies it, serve counts with it."""
    try:
        _pb_id(span.trace_id, 16, "trace_id")
        _pb_id(span.span_id, 8, "span_id")
        if span.parent_span_id:
            _pb_id(span.parent_span_id, 8, "parent_span_id")
        _time(span.start_time_unix_nano, "start_time_unix_nano")
        _time(span.end_time_unix_nano, "end_time_unix_nano")
        for e in span.events:
            _time(e.time_unix_nano, "event time_unix_nano")
        for lk in span.links:
            _pb_id(lk.trace_id, 16, "link trace_id")
            _pb_id(lk.span_id, 8, "link span_id")
    except BadSpan as exc:
        return str(exc)
    return _pb_range_problem(span)


def _pb_range_problem(span: Any) -> str | None:
    """The shared ranges of validate.py, for a protobuf span (serve acknowledges what is stored)."""
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    why = validate.time_problem("start time", start) or validate.time_problem("end time", end)
    if why:
        return why
    if end < start:
        return f"end time {end} is before start time {start}"
    for e in span.events:
        why = validate.time_problem("event time", e.time_unix_nano)
        if why:
            return why
    for kv in span.attributes:
        if kv.key in validate.TOKEN_KEYS:
            why = validate.token_problem(kv.key, _pb_text(kv.value))
        elif kv.key in validate.COST_KEYS:
            why = validate.cost_problem(kv.key, _pb_text(kv.value))
        if why:
            return why
    return None


def _pb_span_row(
    span: Any,
    resource: list[tuple[str, str | None]],
    service: str | None,
    scope_name: str | None,
    scope_version: str | None,
    record: int,
) -> tuple[Any, ...]:
    why = pb_span_problem(span)
    if why:
        raise BadSpan(why)
    return (
        span.trace_id.hex(),
        span.span_id.hex(),
        span.parent_span_id.hex() if span.parent_span_id else None,
        span.name,
        _enum(span.kind),
        span.start_time_unix_nano,
        span.end_time_unix_nano,
        _enum(span.status.code),
        span.status.message or None,
        service,
        scope_name,
        scope_version,
        _pb_attrs(span.attributes),
        resource,
        [(e.name, e.time_unix_nano, _pb_attrs(e.attributes)) for e in span.events],
        [(lk.trace_id.hex(), lk.span_id.hex()) for lk in span.links],
        record,
    )


def _spans_from_pb_request(
    req: ExportTraceServiceRequest, record: int, batcher: SpanBatcher, bad: BadRecord
) -> int:
    """The reference decoder: one request through upb's message objects, span by span. The
    columnar decoder (pbwire) hands it every request it does not fully understand."""
    nbad = 0
    for rs in req.resource_spans:
        resource = _pb_attrs(rs.resource.attributes)
        service = next((v for k, v in resource if k == "service.name"), None)
        for ss in rs.scope_spans:
            scope_name = ss.scope.name or None
            scope_version = ss.scope.version or None
            for span in ss.spans:
                try:
                    batcher.add(
                        _pb_span_row(span, resource, service, scope_name, scope_version, record)
                    )
                except BadSpan as exc:
                    nbad += 1
                    bad(record, f"bad span: {exc}", span.name[:200])
    return nbad


def parse_pb_request(payload: bytes) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    req.ParseFromString(payload)
    return req


def read_pb_single(data: bytes, bad: BadRecord) -> Batches:
    """One serialized ExportTraceServiceRequest (an OTLP/HTTP protobuf body). Raises DecodeError
    when it does not parse."""
    from agentprof.sources import pbwire

    return _prefetch(pbwire.decode(pbwire.Requests.of(data, 1), bad, _pb_request_strict))


def _pb_request_strict(
    payload: bytes, record: int, bad: BadRecord
) -> tuple[pa.Table | None, int, int]:
    batcher = SpanBatcher()
    nbad = _spans_from_pb_request(parse_pb_request(payload), record, batcher, bad)
    return batcher.take(), batcher.count + nbad, nbad


def _pb_frame(payload: bytes, frame: int, bad: BadRecord) -> tuple[pa.Table | None, int, int]:
    """The reference decoder for one frame; a frame that does not parse is one bad record."""
    try:
        return _pb_request_strict(payload, frame, bad)
    except DecodeError as exc:
        bad(frame, f"frame skipped: {exc}", _excerpt(payload[:200]))
        return None, 1, 1


def read_pb_frames(stream: IO[bytes], bad: BadRecord) -> Batches:
    """The Collector file exporter's proto format: 4-byte big-endian length + message, repeated;
    a payload may itself be a zstd frame (legacy `compression: zstd`). `line` is the frame
    number. Protobuf frames are decoded in groups of about pbwire.BATCH_BYTES."""
    return _prefetch(_pb_frames(stream, bad))


def _pb_frames(stream: IO[bytes], bad: BadRecord) -> Batches:
    from agentprof.sources import pbwire

    reqs = pbwire.Requests()
    batcher = SpanBatcher()  # spans of frames that hold OTLP/JSON
    frame, records, nbad = 0, 0, 0

    def flush() -> Batches:
        """Everything before the current frame, in frame order."""
        nonlocal reqs, records, nbad
        if records:
            yield batcher.take(), records, nbad
            records = nbad = 0
        if len(reqs):
            yield from pbwire.decode(reqs, bad, _pb_frame)
            reqs = pbwire.Requests()

    dctx = zstandard.ZstdDecompressor()
    while True:
        header = stream.read(4)
        if not header:
            break
        frame += 1
        if len(header) < 4:
            yield from flush()
            records += 1
            nbad += 1
            bad(frame, "truncated frame header; rest of file skipped", _excerpt(header))
            break
        (size,) = struct.unpack(">I", header)
        if reqs.size and reqs.size + size > pbwire.BATCH_BYTES:
            yield from flush()
        # The payload goes straight into the decoder's buffer; it is kept there (committed) when
        # it is a protobuf request.
        view = reqs.reserve(size)
        got = _read_into(stream, view)
        if got < size:
            yield from flush()
            records += 1
            nbad += 1
            bad(frame, f"truncated frame: {got} of {size} bytes; rest of file skipped", "")
            break
        payload: bytes | memoryview = view
        doc: Any = None
        error: zstandard.ZstdError | None = None
        try:
            if view[:4] == ZSTD_MAGIC:
                payload = dctx.stream_reader(view.tobytes(), read_across_frames=True).read()
            doc = _json_payload(payload)
        except zstandard.ZstdError as exc:
            payload, error = view.tobytes(), exc
        if doc is None and error is None:
            if payload is view:
                reqs.commit(size, frame)
            else:
                reqs.add(bytes(payload), frame)
            continue
        payload = bytes(payload)
        yield from flush()  # quarantine in frame order
        n, b = _json_frame(payload, doc, error, frame, batcher, bad)
        records += n
        nbad += b
    yield from flush()


def _json_frame(
    payload: bytes,
    doc: Any,
    error: zstandard.ZstdError | None,
    frame: int,
    batcher: SpanBatcher,
    bad: BadRecord,
) -> tuple[int, int]:
    """A frame holding OTLP/JSON (or a zstd payload that does not decompress): (records, bad)."""
    try:
        if error is not None:
            raise error
        why = _classify_doc(doc)
        if why or not isinstance(doc, dict):
            raise ValueError(why)
        before = batcher.count
        n = _spans_from_json_request(doc, frame, batcher, bad)
        return batcher.count - before + n, n
    except (ValueError, zstandard.ZstdError) as exc:
        bad(frame, f"frame skipped: {exc}", _excerpt(payload[:200]))
        return 1, 1


def _read_into(stream: IO[bytes], view: memoryview) -> int:
    """Fill `view` from the stream; returns how many bytes it got (fewer at the end)."""
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(batches: Batches, depth: int = 2) -> Batches:
    """Run a reader in a worker thread, up to `depth` batches ahead. DuckDB stores a batch
    without holding the GIL, so the next one is decoded meanwhile, on the other core. The reader's
    errors are raised here, in order; stopping early stops the worker before returning (so the
    caller may close the stream)."""
    items: queue.Queue[tuple[pa.Table | None, int, int] | _Raised | None] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: tuple[pa.Table | None, int, int] | _Raised | None) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def work() -> None:
        try:
            for item in batches:
                if not put(item):
                    return
            put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_Raised(exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="agentprof-decode", daemon=True)
    worker.start()
    try:
        while (item := items.get()) is not None:
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()


def _json_payload(payload: bytes | memoryview) -> Any:
    """The decoded document when a frame holds OTLP/JSON, else None (protobuf). A protobuf body
    may itself start with the bytes "\n{" (field 1, length 123): only a successful parse counts."""
    head = bytes(payload[:64]).lstrip()
    if not head and len(payload) > 64:
        head = bytes(payload).lstrip()
    if head[:1] != b"{":
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
