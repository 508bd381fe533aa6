"""Resources stored once (queries/schema/032_resources.sql): every OTLP span names its resource by
id, the view spans_with_resource gives each span the resource attributes its file wrote, and the
id is the same whichever reader stored the resource (DuckDB's native JSON-lines reader, the Python
decoder, protobuf)."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentprof import ingest as ingest_mod
from agentprof import sql, store
from agentprof.ingest import expand_paths, ingest, store_span_stream, transaction
from agentprof.sources import otlp
from tests.conftest import FIXTURES, REAL_OTLP, ROOT

JSON_FIXTURES = [
    *sorted((FIXTURES / "otlp").glob("*.json")),
    FIXTURES / "otlp" / "encodings" / "base.otlp.json",
    *sorted((FIXTURES / "realdata").glob("*.otlp.json")),
    *sorted(REAL_OTLP.glob("*/*.otlp.json")),
]
VIEW = """select trace_id, span_id, resource_attributes, resource_id
          from spans_with_resource order by trace_id, span_id"""

Attrs = list[tuple[str, str | None]]


def _docs(path: Path) -> list[dict[str, Any]]:
    """The file's export requests: one JSON document, or one per line."""
    text = path.read_bytes()
    try:
        return [orjson.loads(text)]
    except orjson.JSONDecodeError:
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]


def _id(value: str, nbytes: int) -> str:
    if len(value) == 2 * nbytes:
        return value.lower()
    return base64.b64decode(value).hex()


def _oracle_text(value: dict[str, Any]) -> str:
    """A resource attribute's stored text, for the scalar kinds the fixtures hold."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "intValue" in value:
        return str(int(value["intValue"]))
    if "boolValue" in value:
        return "true" if value["boolValue"] else "false"
    raise AssertionError(f"fixture resource value outside the oracle: {value}")


def _written(docs: list[dict[str, Any]]) -> dict[tuple[str, str], Attrs]:
    """Each span's resource attributes as the file writes them (first copy of a span wins)."""
    out: dict[tuple[str, str], Attrs] = {}
    for doc in docs:
        for rs in doc.get("resourceSpans") or []:
            attrs = [
                (kv["key"], _oracle_text(kv["value"]))
                for kv in (rs.get("resource") or {}).get("attributes") or []
            ]
            for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []:
                for span in ss.get("spans") or []:
                    key = (_id(span["traceId"], 16), _id(span["spanId"], 8))
                    out.setdefault(key, attrs)
    return out


def _as_json_lines(docs: list[dict[str, Any]], out: Path) -> Path:
    out.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    return out


def _as_protobuf_frames(docs: list[dict[str, Any]], out: Path) -> Path:
    """The Collector's proto file format (4-byte big-endian length, then the request), from
    OTLP/JSON: hex ids become bytes (the proto3 JSON mapping wants them in base64)."""

    def b64(value: str, nbytes: int) -> str:
        return base64.b64encode(bytes.fromhex(_id(value, nbytes))).decode()

    frames = []
    for doc in docs:
        doc = json.loads(json.dumps(doc))
        for rs in doc.get("resourceSpans") or []:
            if "instrumentationLibrarySpans" in rs:
                rs["scopeSpans"] = rs.pop("instrumentationLibrarySpans")
                for ss in rs["scopeSpans"]:
                    ss["scope"] = ss.pop("instrumentationLibrary", {})
            for ss in rs.get("scopeSpans") or []:
                for span in ss.get("spans") or []:
                    for key, n in (("traceId", 16), ("spanId", 8), ("parentSpanId", 8)):
                        if span.get(key):
                            span[key] = b64(span[key], n)
                    for link in span.get("links") or []:
                        link["traceId"], link["spanId"] = (
                            b64(link["traceId"], 16),
                            b64(link["spanId"], 8),
                        )
        payload = ParseDict(doc, ExportTraceServiceRequest()).SerializeToString()
        frames.append(struct.pack(">I", len(payload)) + payload)
    out.write_bytes(b"".join(frames))
    return out


def _ingest(db: Path, paths: list[Path], *, native: bool = False) -> list[str]:
    con = store.connect(db)
    try:
        summary = ingest(con, expand_paths([str(p) for p in paths]), native_json=native)
        assert not summary.errors, [e.message() for e in summary.errors]
        return [r.reader for r in summary.file_results]
    finally:
        con.close()


def _query(db: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def _view(db: Path) -> dict[tuple[str, str], tuple[Attrs, str | None]]:
    return {
        (t, s): (list(attrs.items()), rid)
        for t, s, attrs, rid in _query(db, VIEW)
        if attrs is not None
    }


def _three_readers(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The file stored by each reader, each into a database of its own."""
    docs = _docs(path)
    lines = _as_json_lines(docs, tmp_path / "in.jsonl")
    frames = _as_protobuf_frames(docs, tmp_path / "in.binpb")
    dbs = {name: tmp_path / f"{name}.duckdb" for name in ("native", "python", "protobuf")}
    assert _ingest(dbs["python"], [lines], native=False) == ["python"]
    assert _ingest(dbs["protobuf"], [frames]) == ["python"]
    monkeypatch.setattr(ingest_mod, "NATIVE_MIN_BYTES", 0)  # small files take DuckDB's reader
    assert _ingest(dbs["native"], [lines], native=True) == ["duckdb"]
    return dbs


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=lambda p: p.name)
def test_every_reader_gives_each_span_its_files_resource_attributes(path, tmp_path, monkeypatch):
    docs = _docs(path)
    written = _written(docs)
    dbs = _three_readers(path, tmp_path, monkeypatch)
    views = {name: _view(db) for name, db in dbs.items()}
    # The native reader leaves the map on the first span of each resource of a request.
    carriers = sum(
        any(ss.get("spans") for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans"))
        for doc in docs
        for rs in doc.get("resourceSpans") or []
    )
    for name, view in views.items():
        assert {k: attrs for k, (attrs, _) in view.items()} == written, name
        # Stored once: every OTLP span names its resource; per-span maps are none, or few.
        unnamed, maps = _query(
            dbs[name], "select count(*) - count(resource_id), count(resource_attributes) from spans"
        )[0]
        assert unnamed == 0, name
        assert 0 < maps <= carriers if name == "native" else maps == 0, name
    # One id for one resource, whichever reader stored it.
    assert views["native"] == views["python"] == views["protobuf"]
    tables = [_query(db, "select * from resources order by 1") for db in dbs.values()]
    assert tables[0] == tables[1] == tables[2]
    assert len(tables[0]) == len({tuple(a) for a in written.values()})


def _attr(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def _span(trace: int, span: int) -> dict[str, Any]:
    return {
        "traceId": f"{trace:032x}",
        "spanId": f"{span:016x}",
        "name": "chat",
        "kind": 3,
        "startTimeUnixNano": str(1_700_000_000_000_000_000 + span),
        "endTimeUnixNano": str(1_700_000_000_000_000_100 + span),
    }


ODD_RESOURCE = [
    _attr("service.name", {"stringValue": "svc: a-1"}),
    _attr("int", {"intValue": "42"}),
    _attr("neg", {"intValue": -7}),
    _attr("bool", {"boolValue": True}),
    _attr("double", {"doubleValue": 1.5}),
    _attr("bytes", {"bytesValue": "AAEC"}),
    _attr("array", {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": "1"}]}}),
    _attr("kv", {"kvlistValue": {"values": [{"key": "a", "value": {"boolValue": False}}]}}),
    _attr("empty", {}),
    _attr("", {"stringValue": ""}),
    _attr("1:x-", {"stringValue": "-"}),
    _attr("ünï 🙂", {"stringValue": "ÿ\u2028\t\"'\\"}),
]


def _odd_requests() -> list[dict[str, Any]]:
    """Resources of every AnyValue kind and odd text, repeated across requests, one whose first
    scope holds no span, one without attributes and one without a resource at all."""
    return [
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": ODD_RESOURCE},
                    "scopeSpans": [
                        {"scope": {"name": "empty"}, "spans": []},
                        {"scope": {"name": "s"}, "spans": [_span(1, 1), _span(1, 2)]},
                    ],
                },
                {"resource": {"attributes": []}, "scopeSpans": [{"spans": [_span(2, 3)]}]},
                {"scopeSpans": [{"spans": [_span(3, 4)]}]},
                {"resource": {"attributes": ODD_RESOURCE[:1]}, "scopeSpans": []},
            ]
        },
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": ODD_RESOURCE},
                    "scopeSpans": [{"spans": [_span(1, 5)]}],
                },
                {
                    "resource": {"attributes": list(reversed(ODD_RESOURCE))},
                    "scopeSpans": [{"spans": [_span(4, 6)]}],
                },
            ]
        },
    ]


def _decoded(path: Path) -> dict[tuple[str, str], Attrs]:
    """Each span's resource map as the decoder hands it to the store: what was stored per span
    before resources were stored once."""
    out: dict[tuple[str, str], Attrs] = {}
    with open(path, "rb") as f:
        for table, _, _ in otlp.read_json(f, lambda *bad: pytest.fail(f"bad record {bad}")):
            if table is None:
                continue
            rows = zip(
                table.column("trace_id").to_pylist(),
                table.column("span_id").to_pylist(),
                table.column("resource_attributes").to_pylist(),
                strict=True,
            )
            out.update({(t, s): list(attrs) for t, s, attrs in rows})
    return out


def test_resources_of_every_value_kind_and_odd_shapes_read_back_as_written(tmp_path, monkeypatch):
    docs = _odd_requests()
    source = _as_json_lines(docs, tmp_path / "odd.json")
    decoded = _decoded(source)
    assert len(decoded) == 6 and ("empty", None) in decoded[(f"{1:032x}", f"{1:016x}")]
    dbs = _three_readers(source, tmp_path, monkeypatch)
    views = {name: _view(db) for name, db in dbs.items()}
    for name, view in views.items():
        assert {k: attrs for k, (attrs, _) in view.items()} == decoded, name
    assert views["native"] == views["python"] == views["protobuf"]
    ids = {key: rid for key, (_, rid) in views["native"].items()}
    one, five, six = ((f"{t:032x}", f"{s:016x}") for t, s in ((1, 1), (1, 5), (4, 6)))
    assert ids[one] == ids[five]  # the same resource in two requests: one row
    assert ids[one] != ids[six]  # the same attributes in another order: another row
    # ODD_RESOURCE, its reversal, and the empty map (the resource without attributes and the
    # missing one); the resource without spans is not stored.
    empty = ids[(f"{2:032x}", f"{3:016x}")]
    assert ids[(f"{3:032x}", f"{4:016x}")] == empty
    for db in dbs.values():
        assert _query(db, "select count(*) from resources") == [(3,)]


def test_the_sql_and_python_ids_agree_and_tell_lookalikes_apart():
    maps = [
        [("a", "1"), ("b", "2")],
        [("a", "1:b2")],  # one entry whose text runs the two above together
        [("a", None)],
        [("a", "-")],
        [("a", "")],
        [],
        [("é", "ü"), ("k", None), ("", "")],
        [("b", "2"), ("a", "1")],
        None,
    ]
    arrow = pa.array(maps, otlp.SPAN_SCHEMA.field("attributes").type)
    python = otlp.resource_ids(arrow).to_pylist()
    with duckdb.connect() as con:
        sql.execute(con, "schema/003_spans")
        sql.execute(con, "schema/032_resources")
        con.register("maps", pa.table({"n": range(len(maps)), "m": arrow}))
        in_sql = [
            r for (r,) in con.execute("select resource_key(m) from maps order by n").fetchall()
        ]
    assert python == in_sql
    assert python[-1] is None
    known = [p for p in python if p is not None]
    assert len(set(known)) == len(known)
    # A slice of a larger array reads its own maps.
    assert otlp.resource_ids(arrow.slice(2, 3)).to_pylist() == python[2:5]


def test_reingesting_and_other_files_of_the_same_resources_add_no_resource(tmp_path, monkeypatch):
    docs = _docs(FIXTURES / "otlp" / "pydantic_ai.json") + _odd_requests()
    lines = _as_json_lines(docs, tmp_path / "all.jsonl")
    frames = _as_protobuf_frames(docs, tmp_path / "all.binpb")
    db = tmp_path / "one.duckdb"
    _ingest(db, [lines])
    resources = _query(db, "select * from resources order by 1")
    view = _view(db)
    _ingest(db, [lines, frames])  # the same bytes again, then the same spans as protobuf
    monkeypatch.setattr(ingest_mod, "NATIVE_MIN_BYTES", 0)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(lines.read_bytes() + b"\n")  # other bytes: the native reader stores it
    assert _ingest(db, [copy], native=True) == ["duckdb"]
    # Two files of one group (one transaction) sharing resources, spans new.
    shifted = [json.loads(json.dumps(d).replace('"traceId": "0', '"traceId": "f')) for d in docs]
    monkeypatch.setattr(ingest_mod, "NATIVE_MIN_BYTES", 1 << 40)
    group = [
        _as_json_lines(shifted, tmp_path / "b.jsonl"),
        _as_protobuf_frames(shifted, tmp_path / "c.binpb"),
    ]
    assert _ingest(db, group) == ["python", "python"]
    assert _query(db, "select * from resources order by 1") == resources
    after = _view(db)
    assert {k: v for k, v in after.items() if k in view} == view
    assert len(after) > len(view)


def test_a_database_from_before_resources_keeps_its_maps(tmp_path):
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        sql.execute(con, "store/session")
        for f in store.schema_files():
            if int(f.name[:3]) < 32:
                sql.execute(con, f"schema/{f.stem}")
        sql.execute(con, "store/set_schema_version", {"version": 31})
        con.execute(
            "insert into spans (trace_id, span_id, name, start_ns, end_ns, resource_attributes)"
            " values ('a' || repeat('0', 31), repeat('0', 15) || '1', 'old', 1, 2,"
            " map(['service.name', 'host'], ['old-svc', 'h1']))"
        )
    source = FIXTURES / "otlp" / "pydantic_ai.json"
    _ingest(db, [source])
    old = ("a" + "0" * 31, "0" * 15 + "1")
    view = _view(db)
    assert view[old] == ([("service.name", "old-svc"), ("host", "h1")], None)
    assert {k: attrs for k, (attrs, _) in view.items() if k != old} == _written(_docs(source))
    assert _query(db, "select value from meta where key = 'schema_version'") == [
        (str(store.schema_version()),)
    ]


def test_a_stream_of_plain_maps_keeps_them_on_its_spans(tmp_path):
    """A writer whose maps are not a dictionary array (the ClickHouse source) stores them per
    span, with no resource id; the view reads them the same."""
    source = FIXTURES / "otlp" / "pydantic_ai.json"
    with open(source, "rb") as f:
        tables = [t for t, _, _ in otlp.read_json(f, lambda *bad: None) if t is not None]
    table = pa.concat_tables(tables)
    i = table.schema.get_field_index("resource_attributes")
    maps = [c.dictionary.take(c.indices) for c in table.column(i).chunks]  # one map per span
    plain = table.set_column(i, "resource_attributes", pa.chunked_array(maps))
    n = plain.num_rows
    plain = plain.append_column("file_sha256", pa.array(["f" * 64] * n)).append_column(
        "file_seq", pa.array([0] * n, pa.int32())
    )
    db = tmp_path / "plain.duckdb"
    con = store.connect(db)
    try:
        with transaction(con):
            store_span_stream(con, pa.RecordBatchReader.from_batches(
                plain.schema, plain.to_batches()), ["f" * 64])  # fmt: skip
    finally:
        con.close()
    assert _query(db, "select count(resource_id), count(resource_attributes) from spans") == [
        (0, n)
    ]
    assert _query(db, "select count(*) from resources") == [(0,)]
    assert {k: attrs for k, (attrs, _) in _view(db).items()} == _written(_docs(source))


def test_fixture_list_is_not_empty():
    assert len(JSON_FIXTURES) > 10, [str(p.relative_to(ROOT)) for p in JSON_FIXTURES]
