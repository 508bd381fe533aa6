"""The columnar protobuf decoder (agentprof/sources/pbwire.py) against the reference decoder
(otlp._spans_from_pb_request over upb messages, the code it replaced): the same rows, the same
quarantine reasons, on every AnyValue kind, odd ids, odd layouts and broken frames."""

from __future__ import annotations

import io
import json
import math
import struct
import threading
from pathlib import Path
from typing import Any

import pytest
import zstandard
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from agentprof.sources import otlp, pbwire
from tests.conftest import ingest_json

TRACE = bytes(range(16))
T0 = 1_795_132_800_000_000_000

Rows = list[dict[str, Any]]
Reports = list[tuple[int, str, str]]


def av(v: Any) -> AnyValue:
    if isinstance(v, AnyValue):
        return v
    if v is None:
        return AnyValue()
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[av(x) for x in v]))
    if isinstance(v, dict):
        kvs = [KeyValue(key=k, value=av(x)) for k, x in v.items()]
        return AnyValue(kvlist_value=KeyValueList(values=kvs))
    return AnyValue(string_value=v)


def kv(key: str, v: Any) -> KeyValue:
    return KeyValue(key=key, value=av(v))


def span(n: int, **fields: Any) -> Span:
    out = Span(
        trace_id=TRACE,
        span_id=n.to_bytes(8, "big"),
        name=f"span {n}",
        kind=1,
        start_time_unix_nano=T0 + n,
        end_time_unix_nano=T0 + n + 1000,
    )
    for name, value in fields.items():
        if name == "attrs":
            out.attributes.extend(kv(k, v) for k, v in value.items())
        elif isinstance(value, list):
            getattr(out, name).extend(value)
        elif name == "status":
            out.status.CopyFrom(value)
        else:
            setattr(out, name, value)
    return out


def request(*spans: Span, resource: dict[str, Any] | None = None, scope: str = "s") -> bytes:
    attrs = {"service.name": "svc"} if resource is None else resource
    res = Resource(attributes=[kv(k, v) for k, v in attrs.items()])
    ss = ScopeSpans(scope=InstrumentationScope(name=scope, version="1.0"), spans=spans)
    req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=res, scope_spans=[ss])])
    return req.SerializeToString()


def framed(*payloads: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(p)) + p for p in payloads)


def rows_of(tables: list[Any]) -> Rows:
    return [row for t in tables if t is not None for row in t.to_pylist()]


def columnar(data: bytes) -> tuple[Rows, Reports, int, int]:
    reports: Reports = []
    out = list(otlp.read_pb_frames(io.BytesIO(data), lambda *r: reports.append(r)))
    return (
        rows_of([t for t, _, _ in out]),
        reports,
        sum(r for _, r, _ in out),
        sum(b for *_, b in out),
    )


def reference(data: bytes) -> tuple[Rows, Reports, int, int]:
    """Frame by frame through upb and the per-span reference code."""
    reports: Reports = []
    tables, records, nbad = [], 0, 0
    pos, frame = 0, 0
    while pos < len(data):
        frame += 1
        (size,) = struct.unpack_from(">I", data, pos)
        payload = data[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if payload.startswith(b"\x28\xb5\x2f\xfd"):
            payload = zstandard.ZstdDecompressor().stream_reader(payload).read()
        table, n, b = otlp._pb_frame(payload, frame, lambda *r: reports.append(r))
        tables.append(table)
        records += n
        nbad += b
    return rows_of(tables), reports, records, nbad


def regular(*payloads: bytes) -> Rows:
    """Decode requests with the columnar decoder alone: any fallback fails the test."""

    def no_fallback(payload: bytes, line: int, bad: otlp.BadRecord) -> Any:
        raise AssertionError(f"request {line} went to the reference decoder")

    reqs = pbwire.Requests()
    for i, p in enumerate(payloads, 1):
        reqs.add(p, i)
    return rows_of([t for t, _, _ in pbwire.decode(reqs, lambda *r: None, no_fallback)])


def same_as_reference(data: bytes) -> tuple[Rows, Reports]:
    got = columnar(data)
    assert got == reference(data)
    return got[0], got[1]


EVERY_VALUE: dict[str, Any] = {
    "s": "plain",
    "empty": "",
    "unicode": "héllo → 世界 🎉",
    "quote": 'a "quoted" \\ back\nslash',
    "long": "x" * 300,
    "very long": "y" * 20_000,
    "int": 42,
    "zero": 0,
    "negative": -7,
    "int max": 2**63 - 1,
    "int min": -(2**63),
    "double": 0.1,
    "whole double": 1.0,
    "negative zero": -0.0,
    "big double": 1e300,
    "tiny double": 5e-324,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "true": True,
    "false": False,
    "bytes": b"\x00\x01\xfe\xff",
    "empty bytes": b"",
    "array": ["a", 1, 2.5, True, None],
    "empty array": [],
    "nested": [["x", ["y"]], {"k": "v"}],
    "kvlist": {"a": 1, "b": ["c"], "d": {"e": 0.5}},
    "empty kvlist": {},
    "no value": AnyValue(),
}


def test_every_anyvalue_kind_gives_the_reference_text() -> None:
    payload = request(span(1, attrs=EVERY_VALUE))
    rows = regular(payload)
    assert rows == reference(framed(payload))[0]
    attrs = dict(rows[0]["attributes"])
    assert attrs["int min"] == "-9223372036854775808"
    assert attrs["whole double"] == "1.0"
    assert attrs["nan"] == "NaN"
    assert attrs["bytes"] == "AAH+/w=="
    assert attrs["array"] == '["a",1,2.5,true,null]'
    assert attrs["no value"] is None


def test_values_give_the_same_text_as_the_json_decoder() -> None:
    # The same request through protobuf's own JSON mapping and the OTLP/JSON decoder.
    payload = request(span(1, attrs=EVERY_VALUE))
    doc = MessageToDict(ExportTraceServiceRequest.FromString(payload), use_integers_for_enums=True)
    batcher = otlp.SpanBatcher()
    otlp._spans_from_json_request(doc, 1, batcher, lambda *r: None)
    table = batcher.take()
    assert table is not None
    json_attrs = dict(table.to_pylist()[0]["attributes"])
    pb_attrs = dict(regular(payload)[0]["attributes"])
    # MessageToDict drops an AnyValue with no value set, and writes an empty bytes value as "".
    assert pb_attrs.pop("no value") is None
    assert json_attrs.pop("no value") is None
    assert pb_attrs == json_attrs


def test_ids_scope_status_events_and_links() -> None:
    link = Span.Link(trace_id=bytes(16), span_id=b"\xff" * 8, attributes=[kv("l", 1)])
    spans = [
        span(1),
        span(2, parent_span_id=(1).to_bytes(8, "big"), trace_state="k=v", flags=0x301),
        span(3, status=Status(code=2, message="boom"), dropped_attributes_count=3),
        span(
            4,
            events=[
                Span.Event(time_unix_nano=T0 + 5, name="exception", attributes=[kv("x", 1.5)]),
                Span.Event(),
            ],
            links=[link, Span.Link(trace_id=b"\xab" * 16, span_id=b"\x01" * 8)],
        ),
        span(5, name="", kind=0),
    ]
    payloads = [
        request(*spans),
        request(span(6), resource={"host": "h", "service.name": 7}, scope=""),
        request(span(7), resource={}),
    ]
    rows = regular(*payloads)
    assert rows == reference(framed(*payloads))[0]
    assert [r["parent_span_id"] for r in rows[:2]] == [None, "0000000000000001"]
    assert rows[3]["events"][1] == {"name": "", "time_ns": 0, "attributes": []}
    assert rows[3]["links"][0] == {"trace_id": "0" * 32, "span_id": "f" * 16}
    assert [r["service_name"] for r in rows[5:]] == ["7", None]
    assert rows[5]["scope_name"] is None


def test_spans_with_malformed_ids_are_quarantined_with_the_reference_reason() -> None:
    spans = [
        span(1),
        span(2, trace_id=b"short"),
        span(3, span_id=b""),
        span(4, parent_span_id=b"\x01\x02"),
        span(5, links=[Span.Link(trace_id=TRACE, span_id=b"\x01")]),
        span(6),
    ]
    rows, reports = same_as_reference(framed(request(*spans)))
    assert [r["name"] for r in rows] == ["span 1", "span 6"]
    assert [reason for _, reason, _ in reports] == [
        "bad span: trace_id has 5 bytes, expected 16",
        "bad span: span_id has 0 bytes, expected 8",
        "bad span: parent_span_id has 2 bytes, expected 8",
        "bad span: link span_id has 1 bytes, expected 8",
    ]


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


def wrap_span(raw_span: bytes) -> bytes:
    """A request around one serialized span, written by hand."""
    res = field(1, field(1, kv("service.name", "svc").SerializeToString()))
    return field(1, res + field(2, field(2, raw_span)))


def test_fields_in_any_order_decode_like_the_reference() -> None:
    parts = [
        field(9, kv("b", 2).SerializeToString()),
        field(5, b"late name"),
        field(2, (9).to_bytes(8, "big")),
        field(9, kv("a", "1").SerializeToString()),
        field(1, TRACE),
        # a KeyValue with its value first, and an AnyValue with a two-byte length
        field(9, field(2, field(1, b"v" * 200)) + field(1, b"rev")),
    ]
    payload = wrap_span(b"".join(parts))
    rows = regular(payload)
    assert rows == reference(framed(payload))[0]
    assert rows[0]["attributes"] == [("b", "2"), ("a", "1"), ("rev", "v" * 200)]


def test_a_request_with_fields_this_decoder_does_not_know_goes_to_the_reference() -> None:
    unknown = encode_varint(99 << 3 | 0) + encode_varint(5)  # field 99, varint 5
    twice = span(2).SerializeToString() + field(15, Status(message="again").SerializeToString())
    payloads = [
        request(span(1)),
        wrap_span(span(3).SerializeToString() + unknown),
        wrap_span(twice),
        request(span(4)),
    ]
    rows, _ = same_as_reference(framed(*payloads))
    assert [r["name"] for r in rows] == ["span 1", "span 3", "span 2", "span 4"]
    with pytest.raises(AssertionError, match="request 2 went to the reference decoder"):
        regular(*payloads)


def test_broken_frames_are_skipped_with_the_reference_reason() -> None:
    good = request(span(1))
    bad_utf8 = request(span(2, attrs={"k": "ok"})).replace(b"ok", b"\xff\xfe")
    truncated = request(span(3))[:-5]
    nested = av("leaf").SerializeToString()
    for _ in range(48):  # 97 messages deep: upb takes it alone, not 5 messages down a request
        nested = field(5, field(1, nested))
    assert AnyValue.FromString(nested)
    deep = wrap_span(span(4).SerializeToString() + field(9, field(1, b"deep") + field(2, nested)))
    data = framed(good, bad_utf8, good, truncated, deep, request(span(5)))
    rows, reports = same_as_reference(data)
    assert [r["line"] for r in rows] == [1, 3, 6]
    assert [line for line, _, _ in reports] == [2, 4, 5]
    assert all(
        reason.startswith("frame skipped: Error parsing message") for _, reason, _ in reports
    )


def test_a_truncated_file_and_a_compressed_frame() -> None:
    packed = zstandard.ZstdCompressor().compress(request(span(2)))
    data = framed(request(span(1)), packed, request(span(3)))
    rows, _ = same_as_reference(data)
    assert [r["line"] for r in rows] == [1, 2, 3]
    rows, reports, records, nbad = columnar(data + struct.pack(">I", 100) + b"abc")
    assert [r["line"] for r in rows] == [1, 2, 3]
    assert reports == [(4, "truncated frame: 3 of 100 bytes; rest of file skipped", "")]
    assert (records, nbad) == (4, 1)


def test_large_requests_and_many_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    # One scope with 3,000 spans of 40 attributes (the few-records tail of the scan), and
    # small decoding groups, so that these frames make several.
    big = request(*(span(i, attrs={f"k{j}": j for j in range(40)}) for i in range(3000)))
    many = [request(*(span(1000 * f + i, attrs={"f": f}) for i in range(50))) for f in range(40)]
    monkeypatch.setattr(pbwire, "BATCH_BYTES", 20_000)
    rows, _ = same_as_reference(framed(big, *many))
    assert len(rows) == 3000 + 40 * 50
    single = list(otlp.read_pb_single(big, lambda *r: None))
    assert rows_of([t for t, _, _ in single]) == rows[:3000]


def test_a_span_repeated_in_a_file_and_across_files_is_stored_once(tmp_path: Path) -> None:
    first, second = tmp_path / "a.binpb", tmp_path / "b.binpb"
    first.write_bytes(framed(request(span(1, name="first")), request(span(1, name="retry"))))
    second.write_bytes(framed(request(span(1, name="other file"), span(2))))
    db = tmp_path / "x.duckdb"
    out = ingest_json(db, first, second)
    assert out["spans"] == 2
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute("select name, line from spans order by span_id").fetchall()
    assert names == [("first", 1), ("span 2", 1)]


def test_frames_holding_json_or_broken_zstd_keep_their_place() -> None:
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE.hex(),
                                "spanId": "00000000000000aa",
                                "name": "from json",
                                "startTimeUnixNano": "1",
                                "endTimeUnixNano": "2",
                            }
                        ]
                    }
                ]
            }
        ]
    }
    data = framed(
        request(span(1)),
        json.dumps(doc).encode(),
        b'{"resourceLogs": []}',
        b"\x28\xb5\x2f\xfd not zstd",
        request(span(3)),
    )
    rows, reports, records, nbad = columnar(data)
    assert [(r["name"], r["line"]) for r in rows] == [
        ("span 1", 1),
        ("from json", 2),
        ("span 3", 5),
    ]
    assert [(line, reason.split(":")[0]) for line, reason, _ in reports] == [
        (3, "frame skipped"),
        (4, "frame skipped"),
    ]
    assert "an OTLP logs export, not traces" in reports[0][1]
    assert (records, nbad) == (5, 2)


def test_the_decoding_thread_hands_over_errors_in_order_and_stops_with_the_reader() -> None:
    def batches() -> Any:
        yield None, 1, 0
        yield None, 2, 1
        raise ValueError("broken on the third")

    got = []
    with pytest.raises(ValueError, match="broken on the third"):
        for item in otlp._prefetch(batches()):
            got.append(item)
    assert got == [(None, 1, 0), (None, 2, 1)]

    closed = []

    def endless() -> Any:
        try:
            while True:
                yield None, 1, 0
        finally:
            closed.append(True)

    reader = otlp._prefetch(endless())
    assert next(reader) == (None, 1, 0)
    reader.close()  # as when DuckDB stops reading: the worker ends before close() returns
    assert closed == [True]
    assert not [t for t in threading.enumerate() if t.name == "agentprof-decode"]


def test_repeated_keys_huge_times_and_unknown_kinds_match_the_reference() -> None:
    # A key twice keeps its last value (a map cannot hold it twice); a kind beyond the enum is
    # stored as 0; a time past int64 makes the span bad, named in the quarantine.
    repeated = span(1)
    repeated.attributes.extend([kv("k", "first"), kv("other", 1), kv("k", "last")])
    event = repeated.events.add(name="e", time_unix_nano=T0)
    event.attributes.extend([kv("x", 1), kv("x", 2)])
    odd_kind = span(2, kind=300)
    late = span(3, start_time_unix_nano=2**63 + 5)
    resource = {"service.name": "first", "host": "h"}
    payload = request(repeated, odd_kind, late, resource=resource)
    req = ExportTraceServiceRequest.FromString(payload)
    req.resource_spans[0].resource.attributes.append(kv("service.name", "last"))
    rows, reports = same_as_reference(framed(req.SerializeToString()))
    by_id = {r["span_id"]: r for r in rows}
    first = by_id[(1).to_bytes(8, "big").hex()]
    assert first["attributes"] == [("k", "last"), ("other", "1")]
    assert first["events"][0]["attributes"] == [("x", "2")]
    assert first["service_name"] == "last"
    assert by_id[(2).to_bytes(8, "big").hex()]["kind"] == 0
    assert len(rows) == 2
    assert [r[1] for r in reports] == [
        "bad span: start_time_unix_nano 9223372036854775813 is outside 1970..2200"
    ]
