"""`agentprof ingest` from ClickHouse, on a real engine: chdb (ClickHouse embedded) holds the
OpenTelemetry Collector exporter's own tables (tests/clickhouse_ddl/, its Map variant), loaded
from the project's OTLP fixtures the way the exporter writes them (every value a string, kinds
and status codes as names, ids in hex, Timestamp + Duration in ns, events and links Nested). The
oracle is the file path: the ledger from ClickHouse equals `ingest` of the same files."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from agentprof import ingest, store
from agentprof.errors import InputError
from agentprof.sources import clickhouse
from tests import chdb_groups
from tests.conftest import FIXTURES, ROOT, run_cli

chdb_session = pytest.importorskip("chdb.session")

DDL = ROOT / "tests" / "clickhouse_ddl"
# Every OTLP/JSON trace fixture of the project.
TRACE_FIXTURES = sorted(
    p
    for pattern in (
        "otlp/*.json",
        "realdata/*.otlp.json",
        "frameworks/**/*.otlp.json",
        "diagnose/*.json",
    )
    for p in FIXTURES.glob(pattern)
    if '"resourceSpans"' in p.read_text(encoding="utf-8", errors="replace")[:4000]
)
LOG_FIXTURES = [FIXTURES / "otlp_logs" / "claude_code_otel_logs.json"]
LEDGER = {
    "runs": "select * from runs order by all",
    "ticks": "select * from ticks order by all",
    "tool_calls": "select * from tool_calls order by all",
}


# --- the exporter, as it writes a span -------------------------------------------------------
# exporter/clickhouseexporter (contrib, 2025): attributes go through pcommon.Value.AsString();
# SpanKind and StatusCode through their String() ("Client", "Error"); TraceId/SpanId hex or ''.


def go_float(x: float) -> str:
    """strconv/encoding-json's float text (ES6 style): shortest digits, exponent outside
    [1e-6, 1e21), exponents without a leading zero."""
    if math.isnan(x) or math.isinf(x):
        return "json: unsupported value: " + (
            "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
        )
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    if 1e-6 <= abs(x) < 1e21:
        return np.format_float_positional(x, unique=True, trim="-")
    text = repr(x)
    return re.sub(r"e([+-])0?(\d+)", r"e\1\2", text)


def go_json(value: Any) -> str:
    """encoding/json (jsoniter's standard config): sorted keys, HTML characters escaped."""

    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def raw(value: dict[str, Any]) -> Any:
    """pcommon.Value.AsRaw() of an OTLP/JSON AnyValue."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [raw(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return {
            kv["key"]: raw(kv.get("value") or {})
            for kv in (value["kvlistValue"] or {}).get("values") or []
        }
    if "bytesValue" in value:
        return value["bytesValue"]  # []byte marshals as base64: the JSON form already is
    return None


def as_string(value: dict[str, Any]) -> str:
    """pcommon.Value.AsString() of an OTLP/JSON AnyValue."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return "true" if value["boolValue"] else "false"
    if "intValue" in value:
        return str(int(value["intValue"]))
    if "doubleValue" in value:
        return go_float(float(value["doubleValue"]))
    if "bytesValue" in value:
        return base64.b64encode(base64.b64decode(value["bytesValue"])).decode()
    if "arrayValue" in value or "kvlistValue" in value:
        return _go_json_with_floats(raw(value))
    return ""


def _go_json_with_floats(v: Any) -> str:
    marker = "\x00F\x00"
    floats: list[str] = []

    def sub(x: Any) -> Any:
        if isinstance(x, bool):
            return x
        if isinstance(x, float):
            floats.append(go_float(x))
            return f"{marker}{len(floats) - 1}{marker}"
        if isinstance(x, list):
            return [sub(y) for y in x]
        if isinstance(x, dict):
            return {k: sub(y) for k, y in x.items()}
        return x

    text = go_json(sub(v))
    return re.sub(f'"{marker}(\\d+){marker}"', lambda m: floats[int(m.group(1))], text)


def attrs(kvs: Any) -> dict[str, str]:
    return {kv["key"]: as_string(kv.get("value") or {}) for kv in kvs or ()}


def hex_id(value: Any, nbytes: int) -> str:
    """TraceIDToHexOrEmptyString: the OTLP/JSON decoder takes hex (any case); all-zero is ''."""
    if not value:
        return ""
    text = str(value)
    if not re.fullmatch(r"[0-9a-fA-F]+", text) or len(text) != 2 * nbytes:
        text = base64.b64decode(text).hex()
    text = text.lower()
    return "" if set(text) == {"0"} else text


def ts(ns: int) -> str:
    return f"{ns // 10**9}.{ns % 10**9:09d}"


KINDS = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"]
STATUS = ["Unset", "Ok", "Error"]
PROTO_KINDS = ["SPAN_KIND_" + k.upper() for k in KINDS]
PROTO_STATUS = ["STATUS_CODE_" + c.upper() for c in STATUS]


def exporter_span_rows(doc: dict[str, Any], proto_names: bool = False) -> list[dict[str, Any]]:
    """The exporter's rows for an OTLP/JSON trace request; `proto_names`: kinds and status codes
    as older exporters wrote them (traceutil.SpanKindStr: SPAN_KIND_CLIENT, STATUS_CODE_ERROR)."""
    kinds = PROTO_KINDS if proto_names else KINDS
    status_names = PROTO_STATUS if proto_names else STATUS
    rows = []
    for rs in doc.get("resourceSpans") or ():
        resource = attrs((rs.get("resource") or {}).get("attributes"))
        res_service = next(
            (
                kv.get("value", {}).get("stringValue", "")
                for kv in (rs.get("resource") or {}).get("attributes") or ()
                if kv["key"] == "service.name"
            ),
            "",
        )
        for ss in rs.get("scopeSpans") or ():
            scope = ss.get("scope") or {}
            for span in ss.get("spans") or ():
                start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
                status = span.get("status") or {}
                events = span.get("events") or []
                links = span.get("links") or []
                rows.append(
                    {
                        "Timestamp": ts(start),
                        "TraceId": hex_id(span.get("traceId"), 16),
                        "SpanId": hex_id(span.get("spanId"), 8),
                        "ParentSpanId": hex_id(span.get("parentSpanId"), 8),
                        "TraceState": span.get("traceState") or "",
                        "SpanName": span.get("name") or "",
                        "SpanKind": kinds[int(span.get("kind") or 0)],
                        "ServiceName": res_service or "",
                        "ResourceAttributes": resource,
                        "ScopeName": scope.get("name") or "",
                        "ScopeVersion": scope.get("version") or "",
                        "SpanAttributes": attrs(span.get("attributes")),
                        "Duration": end - start,
                        "StatusCode": status_names[int(status.get("code") or 0)],
                        "StatusMessage": status.get("message") or "",
                        "Events.Timestamp": [ts(int(e.get("timeUnixNano") or 0)) for e in events],
                        "Events.Name": [e.get("name") or "" for e in events],
                        "Events.Attributes": [attrs(e.get("attributes")) for e in events],
                        "Links.TraceId": [hex_id(lk.get("traceId"), 16) for lk in links],
                        "Links.SpanId": [hex_id(lk.get("spanId"), 8) for lk in links],
                        "Links.TraceState": [lk.get("traceState") or "" for lk in links],
                        "Links.Attributes": [attrs(lk.get("attributes")) for lk in links],
                    }
                )
    return rows


def exporter_log_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for rl in doc.get("resourceLogs") or ():
        resource = attrs((rl.get("resource") or {}).get("attributes"))
        for sl in rl.get("scopeLogs") or ():
            scope = sl.get("scope") or {}
            for r in sl.get("logRecords") or ():
                t = int(r.get("timeUnixNano") or 0) or int(r.get("observedTimeUnixNano") or 0)
                rows.append(
                    {
                        "Timestamp": ts(t),
                        "TraceId": hex_id(r.get("traceId"), 16),
                        "SpanId": hex_id(r.get("spanId"), 8),
                        "TraceFlags": int(r.get("flags") or 0),
                        "SeverityText": r.get("severityText") or "",
                        "SeverityNumber": int(r.get("severityNumber") or 0),
                        "ServiceName": resource.get("service.name", ""),
                        "Body": as_string(r.get("body") or {}),
                        "ResourceAttributes": resource,
                        "ScopeName": scope.get("name") or "",
                        "ScopeVersion": scope.get("version") or "",
                        "ScopeAttributes": attrs(scope.get("attributes")),
                        "LogAttributes": attrs(r.get("attributes")),
                        "EventName": r.get("eventName") or "",
                    }
                )
    return rows


def insert(session: Any, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
        session.query(f"INSERT INTO {table} FORMAT JSONEachRow {data}")


def create(session: Any, kind: str, table: str) -> None:
    ddl = (DDL / f"{kind}.sql").read_text()
    ddl = re.sub(r"^--.*\n", "", ddl, flags=re.M)
    ddl = ddl.replace('"default"."otel_logs"', "otel_logs").replace(f"{kind} (", f"{table} (", 1)
    session.query(ddl)


# --- fixtures --------------------------------------------------------------------------------


def _table_name(path: Path) -> str:
    return "t_" + re.sub(r"[^0-9A-Za-z]+", "_", str(path.relative_to(FIXTURES)))


# The fixtures the tests below read from a table of their own (the others share group tables).
SINGLE_TABLE_FIXTURES = [
    FIXTURES / "otlp" / "genai_current.json",
    FIXTURES / "otlp" / "split_across_files_a.json",
]


def _group_table(i: int) -> str:
    return f"t_group_{i}"


@pytest.fixture(scope="module")
def trace_ids() -> dict[Path, frozenset[str]]:
    return {p: chdb_groups.trace_ids(p, exporter_span_rows) for p in TRACE_FIXTURES}


@pytest.fixture(scope="module")
def groups(trace_ids: dict[Path, frozenset[str]]) -> list[list[Path]]:
    """The trace fixtures in groups without a shared trace id: one table (and one DuckDB) each."""
    return chdb_groups.disjoint_groups(TRACE_FIXTURES, trace_ids)


@pytest.fixture(scope="module")
def chdb_loaded(tmp_path_factory: pytest.TempPathFactory, groups: list[list[Path]]) -> Any:
    """One chdb folder: each group of trace fixtures in one otel_traces table (a few fixtures in
    one of their own too), the Claude Code events in otel_logs. The loading session stays open, so
    agentprof's sessions on the same folder share its engine (chdb runs one per process) and tests
    can insert more rows."""
    folder = tmp_path_factory.mktemp("chdb")
    session = chdb_session.Session(str(folder))
    try:
        for i, group in enumerate(groups):
            create(session, "otel_traces", _group_table(i))
            insert(
                session,
                _group_table(i),
                [r for path in group for r in exporter_span_rows(json.loads(path.read_text()))],
            )
        for path in SINGLE_TABLE_FIXTURES:
            create(session, "otel_traces", _table_name(path))
            insert(session, _table_name(path), exporter_span_rows(json.loads(path.read_text())))
        create(session, "otel_logs", "otel_logs")
        for path in LOG_FIXTURES:
            insert(session, "otel_logs", exporter_log_rows(json.loads(path.read_text())))
        yield folder, session
    finally:
        session.close()


@pytest.fixture
def chdb_dir(chdb_loaded: Any) -> Path:
    return chdb_loaded[0]  # type: ignore[no-any-return]


def ledger(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.execute(q).fetchall() for name, q in LEDGER.items()}
    finally:
        con.close()


def file_ingest(db: Path, *paths: Path) -> Any:
    con = store.connect(db)
    try:
        return ingest.ingest(con, list(paths))
    finally:
        con.close()


def ch_ingest(db: Path, arg: str, **kw: Any) -> tuple[Any, clickhouse.Pull]:
    pull = clickhouse.Pull()
    con = store.connect(db)
    try:
        return clickhouse.ingest_source(con, arg, pull=pull, **kw), pull
    finally:
        con.close()


def test_the_fixture_set_is_the_projects_otlp_fixtures():
    names = {p.relative_to(FIXTURES).as_posix() for p in TRACE_FIXTURES}
    assert "otlp/genai_current.json" in names
    assert "realdata/pydantic_ai_slow_tool.otlp.json" in names
    assert any(n.startswith("frameworks/") for n in names)
    assert len(names) > 40


Ledger = dict[str, list[tuple[Any, ...]]]
SPANS_BY_RUN = "select trace_id, count(*) from spans group by all order by all"


def _ledger_by_fixture(
    db: Path, group: list[Path], trace_ids: dict[Path, frozenset[str]]
) -> dict[Path | None, Ledger]:
    """A database's ledger (and its span count per trace) split by run id (the trace id): each
    fixture's rows, and (None) the rows of no fixture's trace."""
    whole = {**ledger(db), "spans": []}
    con = duckdb.connect(str(db), read_only=True)
    try:
        whole["spans"] = con.execute(SPANS_BY_RUN).fetchall()
    finally:
        con.close()
    return chdb_groups.split_by_fixture(whole, group, trace_ids)


@pytest.fixture(scope="module")
def group_ledgers(
    chdb_loaded: Any,
    groups: list[list[Path]],
    trace_ids: dict[Path, frozenset[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[Path | None, tuple[Ledger, Ledger]]:
    """Per fixture: the ledger from its group's otel_traces table and from the file ingest of the
    group's files, split by run; None: what of them belongs to no fixture's trace."""
    chdb_dir = chdb_loaded[0]
    out: dict[Path | None, tuple[Ledger, Ledger]] = {}
    strays: list[tuple[Ledger, Ledger]] = []
    for i, group in enumerate(groups):
        folder = tmp_path_factory.mktemp(f"ledger_group_{i}")
        file_ingest(folder / "file.duckdb", *group)
        summary, pull = ch_ingest(folder / "ch.duckdb", f"chdb:{chdb_dir}", table=_group_table(i))
        assert summary.errors == []
        spans = sum(len(exporter_span_rows(json.loads(p.read_text()))) for p in group)
        assert pull.rows == summary.records == spans > 0
        got = _ledger_by_fixture(folder / "ch.duckdb", group, trace_ids)
        expected = _ledger_by_fixture(folder / "file.duckdb", group, trace_ids)
        strays.append((got.pop(None), expected.pop(None)))
        out.update({p: (got[p], expected[p]) for p in group})
    out[None] = (
        {k: [r for s in strays for r in s[0][k]] for k in strays[0][0]},
        {k: [r for s in strays for r in s[1][k]] for k in strays[0][1]},
    )
    return out


@pytest.mark.parametrize("path", TRACE_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_the_ledger_from_otel_traces_equals_the_file_ingest(path, group_ledgers):
    got, expected = group_ledgers[path]
    assert got == expected
    assert expected["spans"]  # the fixture's spans crossed, each trace's count the file's


def test_every_ledger_row_belongs_to_a_fixtures_trace(group_ledgers):
    """The per-fixture comparison above sees every row of the group ingests."""
    got, expected = group_ledgers[None]
    assert not any(got.values()) and not any(expected.values())


def test_claude_code_events_in_otel_logs_give_the_file_ingests_ledger(chdb_dir, tmp_path):
    file_ingest(tmp_path / "file.duckdb", *LOG_FIXTURES)
    expected = ledger(tmp_path / "file.duckdb")
    assert expected["ticks"] and expected["tool_calls"]
    summary, pull = ch_ingest(tmp_path / "ch.duckdb", f"chdb:{chdb_dir}", table="otel_logs")
    assert ledger(tmp_path / "ch.duckdb") == expected
    # Only the api_request and tool_result events cross; the user prompt stays in ClickHouse.
    doc = LOG_FIXTURES[0].read_text()
    assert doc.count('"logRecords"') >= 1
    assert pull.rows == len(re.findall(r'claude_code\.(?:api_request|tool_result)"', doc))
    # The next run reads nothing new (no grace: every event was at or before the watermark).
    _, again = ch_ingest(tmp_path / "ch.duckdb", f"chdb:{chdb_dir}", table="otel_logs", grace_ns=0)
    assert (again.rows, again.spans_new, again.watermark_ns) == (0, 0, 1786200001500000000)


# --- what crosses ----------------------------------------------------------------------------


DERIVATION = ("derive_ticks.sql", "derive_tool_calls.sql")


def test_every_attribute_key_the_later_stages_read_crosses_from_clickhouse():
    """The oracle is the queries' own text: a key read after the tick and tool-call derivation
    (runs, diagnosis, reports) and missing from the projection would silently change them. The
    derivation's keys stay in ClickHouse, which derives ticks and tool calls itself."""
    keys, prefixes = clickhouse.attribute_keys()
    with (ROOT / "queries" / "dialects.csv").open(newline="", encoding="utf-8") as fh:
        dialect = list(csv.DictReader(fh))
    read: set[str] = set()
    derivation: set[str] = set()
    for path in (ROOT / "queries").rglob("*.sql"):
        if path.parent.name == "clickhouse":
            continue
        text = path.read_text()
        found = set(re.findall(r"\['([^'\]]+)'\]", text))
        fields = set(re.findall(r"\{\{(\w+)\}\}", text))
        found |= {row["key"] for row in dialect if row["field"] in fields}
        if path.name in DERIVATION and path.parent.name == "ingest":
            derivation |= found
        else:
            read |= found
    assert read and derivation, "no attribute read found"
    missing = sorted(k for k in read if k not in keys and not k.startswith(prefixes))
    assert missing == []
    assert {"gen_ai.conversation.id", "gen_ai.agent.name", "exception.type"} <= set(keys)
    assert "gen_ai.usage.input_tokens" in derivation - set(keys)
    assert "gen_ai.completion." not in prefixes


def test_attributes_nobody_reads_stay_in_clickhouse(chdb_loaded, tmp_path):
    folder, session = chdb_loaded
    create(session, "otel_traces", "t_projection")
    span = {
        "Timestamp": ts(1_800_000_000 * 10**9),
        "TraceId": "ab" * 16,
        "SpanId": "cd" * 8,
        "SpanName": "chat m",
        "SpanKind": "Client",
        "ServiceName": "svc",
        "ResourceAttributes": {"service.name": "svc", "host.name": "secret-host"},
        "SpanAttributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": "10",
            "gen_ai.input.messages": "the user's prompt",
            "gen_ai.completion.0.content": "call_1",
            "custom.secret": "x",
        },
        "Duration": 5 * 10**6,
        "StatusCode": "Unset",
    }
    insert(session, "t_projection", [span])
    db = tmp_path / "ch.duckdb"
    _, pull = ch_ingest(db, f"chdb:{folder}", table="t_projection")
    con = duckdb.connect(str(db), read_only=True)
    attrs_, resource = con.execute(
        "select map_keys(attributes), map_keys(resource_attributes) from spans"
    ).fetchone()
    con.close()
    # The derivation's keys (operation, usage, the model's output) stayed in ClickHouse too: the
    # tick itself crossed.
    assert attrs_ == []
    assert resource == ["service.name"]
    assert pull.rows == 1 and 0 < pull.bytes
    assert pull.tick_rows == 1


# --- incremental runs ------------------------------------------------------------------------

DAY_NS = 86_400 * 10**9


def _shifted(path: Path, out: Path, trace_from: str, trace_to: str, by_ns: int) -> Path:
    """A copy of an OTLP file whose trace id and times are moved (the next night's traffic)."""
    doc = json.loads(path.read_text().replace(trace_from, trace_to))
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("startTimeUnixNano", "endTimeUnixNano"):
                    span[key] = str(int(span[key]) + by_ns)
    out.write_text(json.dumps(doc))
    return out


def _spans(path: Path) -> list[dict[str, Any]]:
    return exporter_span_rows(json.loads(path.read_text()))


def test_incremental_runs_read_only_rows_past_the_watermark(chdb_loaded, tmp_path):
    folder, session = chdb_loaded
    create(session, "otel_traces", "t_nightly")
    a = FIXTURES / "otlp" / "split_across_files_a.json"
    b = FIXTURES / "otlp" / "split_across_files_b.json"
    trace = "0fc0ffee"
    a2 = _shifted(a, tmp_path / "a2.json", trace, "1fc0ffee", DAY_NS)
    b2 = _shifted(b, tmp_path / "b2.json", trace, "1fc0ffee", DAY_NS)
    db, src, second = tmp_path / "ch.duckdb", f"chdb:{folder}", 10**9

    # Night 1: a and b (7 rows; b repeats one span of a).
    insert(session, "t_nightly", _spans(a) + _spans(b))
    summary, pull = ch_ingest(db, src, table="t_nightly", grace_ns=second)
    assert (pull.rows, pull.spans_new, pull.watermark_ns) == (7, 6, None)
    mark = max(
        int(s["endTimeUnixNano"])
        for s in json.loads(a.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"]
    )
    # Nothing new: only the rows that ended within the grace second before the watermark
    # (invoke_agent at the mark itself, b's last chat 0.2 s before it) are read again.
    summary, pull = ch_ingest(db, src, table="t_nightly", grace_ns=second)
    assert (pull.rows, pull.spans_new, pull.watermark_ns) == (2, 0, mark)
    # Night 2: a's copy a day later: its 4 rows, plus the same 2.
    insert(session, "t_nightly", _spans(a2))
    summary, pull = ch_ingest(db, src, table="t_nightly", grace_ns=second)
    assert (pull.rows, pull.spans_new, pull.watermark_ns) == (6, 4, mark)
    # Late spans of night 2's trace, already derived, arrive: with the default grace (10 min)
    # they are read, the trace is derived again, and the ledger is the file path's.
    insert(session, "t_nightly", _spans(b2))
    summary, pull = ch_ingest(db, src, table="t_nightly")
    assert (pull.rows, pull.spans_new, pull.watermark_ns) == (7, 2, mark + DAY_NS)
    file_ingest(tmp_path / "file.duckdb", a, b, a2, b2)
    assert ledger(db) == ledger(tmp_path / "file.duckdb")


def test_an_explicit_window_reads_the_runs_that_started_in_it_whole(chdb_dir, tmp_path):
    table = _table_name(FIXTURES / "otlp" / "split_across_files_a.json")
    db, src = tmp_path / "ch.duckdb", f"chdb:{chdb_dir}"
    # The run's root starts at …800.0 s, its last span at …801.6 s.
    at = datetime.fromtimestamp(1795186800, UTC)
    _, pull = ch_ingest(db, src, table=table, since=at + timedelta(seconds=0.05))
    assert (pull.rows, pull.spans_new) == (0, 0)  # it started before the window
    _, pull = ch_ingest(db, src, table=table, since=at, until=at + timedelta(seconds=0.5))
    assert (pull.rows, pull.spans_new) == (4, 4)  # started in it: all four spans
    assert ledger(db) == ledger(file_db(tmp_path, FIXTURES / "otlp" / "split_across_files_a.json"))
    # The watermark was left alone: an incremental run reads everything.
    _, pull = ch_ingest(db, src, table=table)
    assert (pull.rows, pull.spans_new, pull.watermark_ns) == (4, 0, None)


def file_db(tmp_path: Path, *paths: Path) -> Path:
    db = tmp_path / "file.duckdb"
    file_ingest(db, *paths)
    return db


# --- errors and the command line -------------------------------------------------------------


def test_a_missing_or_foreign_table_is_named(chdb_loaded, tmp_path):
    folder, session = chdb_loaded
    with pytest.raises(InputError) as missing:
        ch_ingest(tmp_path / "x.duckdb", f"chdb:{folder}", table="nope")
    assert missing.value.message() == (
        f"error: chdb:{folder}?database=default/nope: no table nope in database default"
    )
    session.query("CREATE TABLE IF NOT EXISTS foreign_t (x Int64) ENGINE = MergeTree ORDER BY x")
    with pytest.raises(InputError, match="neither an otel_traces nor an otel_logs table"):
        ch_ingest(tmp_path / "x.duckdb", f"chdb:{folder}", table="foreign_t")
    with pytest.raises(InputError, match="is not a plain ClickHouse identifier"):
        ch_ingest(tmp_path / "x.duckdb", f"chdb:{folder}", table="otel_traces; drop table x")


def test_a_url_and_the_environment_name_the_server():
    src = clickhouse.parse_source("clickhouse://ann:p%40ss@ch.example:9000/telemetry", env={})
    assert (src.host, src.port, src.user, src.password, src.database) == (
        "ch.example",
        9000,
        "ann",
        "p@ss",
        "telemetry",
    )
    assert src.label() == "clickhouse://ann@ch.example:9000/telemetry"
    env = {
        "CLICKHOUSE_HOST": "h",
        "CLICKHOUSE_PORT": "8443",
        "CLICKHOUSE_USER": "u",
        "CLICKHOUSE_PASSWORD": "pw",
        "CLICKHOUSE_DATABASE": "otel",
    }
    src = clickhouse.parse_source("clickhouses://", env=env)
    assert (src.host, src.port, src.user, src.password, src.database, src.secure) == (
        "h",
        8443,
        "u",
        "pw",
        "otel",
        True,
    )
    assert "pw" not in src.label()


def test_a_server_that_cannot_be_reached_is_an_error_without_the_password(tmp_path):
    # Port 9 on loopback (discard): nothing listens there, the connection is refused at once.
    ran = run_cli(
        "ingest", "clickhouse://ann:Sup3rS3cret@127.0.0.1:9/default", "--db", tmp_path / "x.duckdb"
    )
    assert ran.exit_code == 1
    # one line, the operating system's reason, no driver log line or retry boilerplate
    assert ran.stderr == (
        "error: clickhouse://ann@127.0.0.1:9/default: cannot connect: Connection refused\n"
    )
    assert "Sup3rS3cret" not in ran.stderr + ran.stdout


def test_the_command_reads_a_chdb_folder(chdb_dir, tmp_path):
    path = FIXTURES / "otlp" / "genai_current.json"
    db = tmp_path / "ch.duckdb"
    ran = run_cli("ingest", f"chdb:{chdb_dir}", "--table", _table_name(path), "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    file_ingest(tmp_path / "file.duckdb", path)
    expected = ledger(tmp_path / "file.duckdb")
    assert ran.json()["ticks"] == len(expected["ticks"]) > 0
    assert ledger(db) == expected


def test_every_clickhouse_query_file_runs(chdb_dir, tmp_path, monkeypatch):
    """tests/test_sql_files.py leaves these to this file: each one runs here, on chdb."""
    from agentprof import sql
    from tests.test_sql_files import RUN_IN_CLICKHOUSE_TESTS

    loaded: set[str] = set()
    original = sql.query_text

    def recording(name: str) -> str:
        loaded.add(name)
        return original(name)

    monkeypatch.setattr(sql, "query_text", recording)
    db, src = tmp_path / "ch.duckdb", f"chdb:{chdb_dir}"
    table = _table_name(FIXTURES / "otlp" / "genai_current.json")
    ch_ingest(db, src, table=table)
    ch_ingest(db, src, table="otel_logs")
    assert RUN_IN_CLICKHOUSE_TESTS - loaded == set()
    assert "clickhouse/otel_traces_spans" in RUN_IN_CLICKHOUSE_TESTS


def test_an_error_inside_clickhouse_names_the_query_and_stores_nothing(chdb_loaded, tmp_path):
    folder, session = chdb_loaded
    # The exporter's columns, but a Duration ClickHouse cannot read as a number.
    create(session, "otel_traces", "t_bad_duration")
    session.query("ALTER TABLE t_bad_duration MODIFY COLUMN Duration String")
    insert(session, "t_bad_duration", [{"TraceId": "ab" * 16, "SpanId": "cd" * 8, "Duration": "x"}])
    db = tmp_path / "ch.duckdb"
    with pytest.raises(InputError) as failed:
        ch_ingest(db, f"chdb:{folder}", table="t_bad_duration")
    assert failed.value.message().startswith(
        f"error: chdb:{folder}?database=default (queries/clickhouse/otel_traces_spans.sql): "
    )
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from spans").fetchone() == (0,)
    assert con.execute("select count(*) from source_watermarks").fetchone() == (0,)
    con.close()


def test_older_exporters_kind_and_status_names_read_the_same(chdb_loaded, tmp_path):
    folder, session = chdb_loaded
    path = FIXTURES / "otlp" / "error_and_status.json"
    create(session, "otel_traces", "t_proto_names")
    insert(session, "t_proto_names", exporter_span_rows(json.loads(path.read_text()), True))
    ch_ingest(tmp_path / "ch.duckdb", f"chdb:{folder}", table="t_proto_names")
    expected = ledger(file_db(tmp_path, path))
    assert {t[12] for t in expected["ticks"]} >= {"error", "ok"}  # status: both kinds present
    assert ledger(tmp_path / "ch.duckdb") == expected
    con = duckdb.connect(str(tmp_path / "ch.duckdb"), read_only=True)
    kinds = {k for (k,) in con.execute("select distinct kind from spans").fetchall()}
    con.close()
    assert kinds - {0} != set()


def test_a_chdb_url_can_name_another_database(chdb_loaded, tmp_path):
    folder, session = chdb_loaded
    path = FIXTURES / "otlp" / "genai_current.json"
    session.query("CREATE DATABASE IF NOT EXISTS telemetry")
    create(session, "otel_traces", "telemetry.otel_traces")
    insert(session, "telemetry.otel_traces", exporter_span_rows(json.loads(path.read_text())))
    db = tmp_path / "ch.duckdb"
    summary, _ = ch_ingest(db, f"chdb:{folder}?database=telemetry")
    assert ledger(db) == ledger(file_db(tmp_path, path))
    assert summary.ticks > 0


def test_the_window_and_table_options_are_for_a_clickhouse_source_only(tmp_path):
    path = FIXTURES / "otlp" / "genai_current.json"
    ran = run_cli("ingest", path, "--since", "2026-01-01", "--db", tmp_path / "x.duckdb")
    assert ran.exit_code == 2
    assert "only with a clickhouse:// or chdb: source" in ran.stderr
    ran = run_cli("ingest", "chdb:/nowhere", path, "--db", tmp_path / "x.duckdb")
    assert ran.exit_code == 2
    assert "a ClickHouse source is read alone, without files" in ran.stderr
