"""Ingest from ClickHouse, where the OpenTelemetry Collector's ClickHouse exporter lands OTLP
(`otel_traces`, `otel_logs`): a server over HTTP (clickhouse-connect) or an embedded chdb data
folder, both behind one small executor. ClickHouse picks the window's spans and derives their
traces' ticks and tool calls itself (queries/clickhouse/derive_*.sql, the ClickHouse rendering of
queries/ingest/derive_*.sql); what crosses is those rows, plus the spans shaped like the `spans`
table with only the attribute keys the later stages read (runs, diagnosis, reports). The rows are
kept per trace (clickhouse_ticks, clickhouse_tool_calls) and the derivation takes them in place of
its own for those traces (use_stored_rows), so pricing, runs and everything after are the file
path's own, and re-deriving a trace later gives the same rows."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agentprof import dialects, sql
from agentprof.errors import InputError
from agentprof.pricing import PriceBook
from agentprof.sources import agentlog, otel_logs, validate
from agentprof.sources.otlp import SPAN_SCHEMA, SpanBatcher

TRACES = "otel_traces"
LOGS = "otel_logs"
HTTP_PORT, HTTPS_PORT = 8123, 8443
# Rows inserted after a run can still have ended before its watermark (the Collector batches and
# retries): each incremental run re-reads this much before the watermark; spans already stored
# are kept out by (trace id, span id), as for files.
LATE_GRACE_NS = 10 * 60 * 10**9
# An incremental run reads spans that started at most this long before the watermark, so
# ClickHouse can skip older partitions; a span lasting longer than this is missed.
LONGEST_SPAN_NS = 7 * 24 * 3600 * 10**9
# An explicit --since/--until reads whole runs: the spans of a run that started in the window are
# looked for this far around it (a run is assumed to last less).
RUN_PAD_NS = 24 * 3600 * 10**9
# Partition pruning and DateTime64(9) both stop at 2262; an open window ends here.
_END_OF_TIME_NS = 9 * 10**18  # 2255-03-14
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
# The columns each exporter table must have (its Map variant, tests/clickhouse_ddl/).
_TRACE_COLUMNS = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
)
_LOG_COLUMNS = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "SeverityText",
    "SeverityNumber",
    "ServiceName",
    "Body",
    "ResourceAttributes",
    "ScopeName",
    "LogAttributes",
)
# Resource attributes that cross: the service (the exporter also has it as ServiceName) and
# its version (Claude Code's release, otel_logs.span_row).
RESOURCE_KEYS = ("service.name", "service.version")

_MAP = pa.map_(pa.string(), pa.string())
# What a span batch from ClickHouse carries into ingest/insert_spans: SPAN_SCHEMA with plain
# resource maps (each row has its own), plus the pull it came from (file_sha256, file_seq).
STORE_SCHEMA = pa.schema(
    [
        pa.field("resource_attributes", _MAP) if f.name == "resource_attributes" else f
        for f in SPAN_SCHEMA
    ]
    + [pa.field("file_sha256", pa.string()), pa.field("file_seq", pa.int32())]
)


# --- which attributes cross ------------------------------------------------------------------


def attribute_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, prefixes): every span attribute the stages after the tick and tool-call derivation
    read (derive_runs, diagnosis, reports, check: agentprof.dialects.later_attribute_keys), so a
    key a later query starts to read crosses from ClickHouse without an edit here. The
    derivation's own keys stay in ClickHouse: it runs there."""
    return dialects.later_attribute_keys()


def _check_keys() -> dict[str, list[str]]:
    """The attributes agentprof's range check reads (validate.py): the queries send such a key
    along when its value fails it, and the derivation leaves its span out."""
    return {
        "token_keys": sorted(validate.TOKEN_KEYS),
        "cost_keys": sorted(validate.COST_KEYS),
    }


# --- where to read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A ClickHouse server (`clickhouse://`, `clickhouses://` for TLS) or a chdb folder."""

    kind: str  # "http" or "chdb"
    database: str
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    secure: bool = False
    path: str = ""

    def label(self) -> str:
        """The source as shown and recorded: never the password."""
        if self.kind == "chdb":
            return f"chdb:{self.path}?database={self.database}"
        scheme = "clickhouses" if self.secure else "clickhouse"
        user = f"{urllib.parse.quote(self.user, safe='')}@" if self.user else ""
        return f"{scheme}://{user}{self.host}:{self.port}/{self.database}"

    def redact(self, text: str) -> str:
        """`text` (an error from the driver or server) without the password."""
        if self.password:
            for secret in {self.password, urllib.parse.quote(self.password, safe="")}:
                text = text.replace(secret, "***")
        return text


def is_source(arg: str) -> bool:
    """Whether an `ingest` argument names a database source rather than a file."""
    return arg.startswith(("clickhouse://", "clickhouses://", "chdb:"))


def parse_source(arg: str, env: dict[str, str] | None = None) -> Source:
    """`clickhouse://USER:PASSWORD@HOST:PORT/DATABASE` (every part may instead come from
    CLICKHOUSE_HOST, _PORT, _USER, _PASSWORD, _DATABASE) or `chdb:PATH[?database=NAME]`."""
    env = dict(os.environ) if env is None else env
    if arg.startswith("chdb:"):
        path, _, query = arg[len("chdb:") :].partition("?")
        database = urllib.parse.parse_qs(query).get("database", ["default"])[0]
        if not path:
            raise InputError("chdb:", "no data folder named", "write chdb:PATH, e.g. chdb:./ch")
        return Source("chdb", _identifier(database, "database", "chdb:" + path), path=path)
    parts = urllib.parse.urlsplit(arg)
    secure = parts.scheme == "clickhouses"
    where = _redacted_url(parts)
    try:
        url_port = parts.port
    except ValueError:
        raise InputError(where, "the port is not a number") from None
    password = (
        urllib.parse.unquote(parts.password)
        if parts.password is not None
        else env.get("CLICKHOUSE_PASSWORD", "")
    )
    port_text = str(url_port) if url_port else env.get("CLICKHOUSE_PORT", "")
    if port_text and not port_text.isdigit():
        raise InputError(where, f"CLICKHOUSE_PORT {port_text[:20]!r} is not a number")
    return Source(
        "http",
        _identifier(
            parts.path.strip("/") or env.get("CLICKHOUSE_DATABASE", "") or "default",
            "database",
            where,
        ),
        host=parts.hostname or env.get("CLICKHOUSE_HOST", "") or "localhost",
        port=int(port_text) if port_text else (HTTPS_PORT if secure else HTTP_PORT),
        user=urllib.parse.unquote(parts.username or "") or env.get("CLICKHOUSE_USER", "default"),
        password=password,
        secure=secure,
    )


def _redacted_url(parts: urllib.parse.SplitResult) -> str:
    host = parts.netloc.rpartition("@")[2]
    user = parts.username
    return f"{parts.scheme}://{user + '@' if user else ''}{host}{parts.path}"


def _identifier(name: str, what: str, where: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise InputError(where, f"{what} {name[:60]!r} is not a plain ClickHouse identifier")
    return name


# --- the executor ----------------------------------------------------------------------------


class Executor(Protocol):
    """Runs one ClickHouse query with bound `{name:Type}` parameters; rows come back as Arrow
    record batches, a bounded number at a time. Counts what crossed."""

    rows_received: int
    bytes_received: int

    def batches(self, query: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]: ...

    def close(self) -> None: ...


def _param_text(value: Any) -> str:
    """A parameter in ClickHouse's text format, as chdb takes it (a String is sent as is)."""
    if isinstance(value, list | tuple):
        return "[" + ",".join(_quoted(str(v)) for v in value) + "]"
    return str(value)


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ChdbExecutor:
    """ClickHouse embedded in this process (chdb): the test suite's engine, and a local copy."""

    def __init__(self, source: Source) -> None:
        try:
            from chdb import session
        except ImportError:
            raise InputError(
                source.label(), "chdb is not installed", "pip install chdb (or use a server)"
            ) from None
        if not os.path.isdir(source.path):
            raise InputError(source.label(), "no such chdb data folder")
        self.session = session.Session(source.path)  # type: ignore[no-untyped-call]
        if source.database != "default":  # an identifier (parse_source checked it)
            self.session.query(f"USE {source.database}")  # type: ignore[no-untyped-call]
        self.rows_received = 0
        self.bytes_received = 0

    def batches(self, query: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        text = {k: _param_text(v) for k, v in params.items()}
        with self.session.send_query(query, "Arrow", params=text) as stream:
            for chunk in stream:
                data = chunk.bytes()
                self.bytes_received += len(data)
                with pa.ipc.open_file(pa.py_buffer(data)) as reader:
                    for i in range(reader.num_record_batches):
                        batch = reader.get_batch(i)
                        self.rows_received += batch.num_rows
                        yield batch

    def close(self) -> None:
        self.session.close()  # type: ignore[no-untyped-call]


class HttpExecutor:
    """A ClickHouse server over HTTP(S) with clickhouse-connect: Arrow blocks streamed, the
    parameters bound by the server."""

    def __init__(self, source: Source) -> None:
        import clickhouse_connect

        # The driver logs its own errors to stderr ("Unexpected Http Driver Exception") before
        # raising them; agentprof says what went wrong once, as `error: SOURCE: …`.
        logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)
        self.source = source
        self.client = clickhouse_connect.get_client(
            host=source.host,
            port=source.port,
            username=source.user,
            password=source.password,
            database=source.database,
            secure=source.secure,
        )
        self.rows_received = 0
        self.bytes_received = 0

    def batches(self, query: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        with self.client.query_arrow_stream(query, parameters=params) as stream:
            for block in stream:
                for batch in block.to_batches() if isinstance(block, pa.Table) else [block]:
                    self.rows_received += batch.num_rows
                    self.bytes_received += batch.nbytes
                    yield batch

    def close(self) -> None:
        self.client.close()


def connect(source: Source) -> Executor:
    """An executor for `source`; the driver's errors come back as InputError, password redacted."""
    try:
        return ChdbExecutor(source) if source.kind == "chdb" else HttpExecutor(source)
    except InputError:
        raise
    except Exception as exc:  # the driver's own error types; its text may echo the URL
        raise InputError(
            source.label(), f"cannot connect: {source.redact(_first_line(exc))}"
        ) from None


def _first_line(exc: BaseException) -> str:
    """What went wrong in one line: the operating system's reason when the driver wraps one
    ("[Errno 111] Connection refused" inside urllib3's retry message), else its first line."""
    text = str(exc).strip()
    reason = _OS_REASON.search(text)
    if reason:
        return reason.group(1).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^\"')\]]+)")


# --- reading ---------------------------------------------------------------------------------


@dataclass
class Pull:
    """What one run read from ClickHouse: the figures `bench/` reports and tests count."""

    rows: int = 0  # span (or log record) rows that crossed
    bytes: int = 0  # what crossed, as received (Arrow IPC from chdb, Arrow buffers over HTTP)
    tick_rows: int = 0  # tick rows ClickHouse derived that crossed
    tool_call_rows: int = 0  # tool-call rows ClickHouse derived that crossed
    records_skipped: int = 0
    spans_new: int = 0
    watermark_ns: int | None = None  # the watermark this run started from


def _run(
    executor: Executor,
    source: Source,
    name: str,
    params: dict[str, Any],
    state: _State | None = None,
    text: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """executor.batches over a named query (or `text`, made from that file), its errors as
    InputError naming the query file (kept in `state` too: DuckDB, pulling the stream, reports it
    wrapped in its own error)."""
    try:
        query = query_text(name) if text is None else text
        yield from executor.batches(query, params)
    except Exception as exc:  # the driver's or the server's error: a message, not a traceback
        error = (
            exc
            if isinstance(exc, InputError)
            else InputError(
                f"{source.label()} (queries/clickhouse/{name}.sql)",
                source.redact(_first_line(exc)),
            )
        )
        if state is not None:
            state.error = error
        raise error from None


_WINDOW = "where /*window*/"


def query_text(name: str) -> str:
    """queries/clickhouse/NAME.sql with the window predicate (window.sql, its comment left out)
    after `where /*window*/`: the spans query and the tick derivation read the same spans."""
    text = sql.query_text(f"clickhouse/{name}")
    if _WINDOW not in text:
        return text
    window = sql.query_text("clickhouse/window")
    predicate = "\n".join(line for line in window.splitlines() if not line.startswith("--"))
    return text.replace(_WINDOW, "where " + predicate)


# derive_ticks.sql ends with this statement; derive_tool_calls.sql continues its CTEs instead.
_TICKS_SELECT = "select * except (output_text) from ticks"


_MATERIALIZED = "/*materialized*/"
_SETTINGS = "settings join_use_nulls = 1"


def derive_queries(
    without: frozenset[dialects.Row] = frozenset(), *, materialized: bool = False
) -> tuple[str, str]:
    """The ClickHouse texts of the tick and tool-call derivation, their `{{field}}` dialect rows
    rendered for ClickHouse (agentprof.dialects; `without`: rows left out, for a test):
    derive_ticks.sql, and derive_ticks.sql's steps up to `ticks` followed by
    derive_tool_calls.sql. `materialized`: the steps marked so are materialized CTEs (a server
    that has them, see server_features.sql)."""
    ticks, tools = _derive_texts(without)
    if materialized:
        ticks, tools = (
            q.replace(_MATERIALIZED, "materialized").replace(
                _SETTINGS, _SETTINGS + ", enable_materialized_cte = 1"
            )
            for q in (ticks, tools)
        )
    return ticks, tools


def has_materialized_cte(executor: Executor, source: Source) -> bool:
    """Whether the server computes a `materialized` CTE once (ClickHouse 25.x+)."""
    for batch in _run(executor, source, "server_features", {}):
        return bool(batch.column("materialized_cte")[0].as_py()) if batch.num_rows else False
    return False


def _derive_texts(without: frozenset[dialects.Row]) -> tuple[str, str]:
    ticks = dialects.expand(query_text("derive_ticks"), "clickhouse", without)
    steps, found, _ = ticks.rpartition(_TICKS_SELECT)
    if not found:
        raise ValueError(f"queries/clickhouse/derive_ticks.sql does not end in {_TICKS_SELECT!r}")
    tools = dialects.expand(query_text("derive_tool_calls"), "clickhouse", without)
    return ticks, steps.rstrip() + ",\n" + tools


def table_kind(executor: Executor, source: Source, table: str) -> str:
    """TRACES or LOGS, from the table's columns; InputError for a missing or unknown table."""
    columns: set[str] = set()
    for batch in _run(executor, source, "table_columns", {"table": table}):
        columns.update(str(c) for c in batch.column("name").to_pylist())
    where = f"{source.label()}/{table}"
    if not columns:
        raise InputError(where, f"no table {table} in database {source.database}")
    for kind, needed in ((TRACES, _TRACE_COLUMNS), (LOGS, _LOG_COLUMNS)):
        probe = "SpanAttributes" if kind == TRACES else "LogAttributes"
        if probe in columns:
            missing = [c for c in needed if c not in columns]
            if missing:
                raise InputError(
                    where,
                    f"not the Collector exporter's {kind} table (no {', '.join(missing[:4])})",
                )
            return kind
    raise InputError(
        where, "neither an otel_traces nor an otel_logs table (no SpanAttributes, LogAttributes)"
    )


def _ns(value: datetime | None) -> int | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp()) * 10**9 + aware.microsecond * 1000


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    arg: str,
    *,
    table: str = TRACES,
    since: datetime | None = None,
    until: datetime | None = None,
    prices: PriceBook | None = None,
    env: dict[str, str] | None = None,
    pull: Pull | None = None,
    grace_ns: int = LATE_GRACE_NS,
) -> Any:
    """Read a ClickHouse table's spans (or Claude Code events) into the store and derive the
    traces they touched; returns the IngestSummary. With neither `since` nor `until` the run is
    incremental: it reads what ended after the source's watermark (less LATE_GRACE_NS) and moves
    the watermark on; an explicit window reads that window and leaves the watermark alone.
    `pull` receives what crossed (rows, bytes); `grace_ns` is the late-insert allowance."""
    from agentprof import ingest  # ingest imports the sources package: import it late

    started = time.perf_counter()
    source = parse_source(arg, env)
    table = _identifier(table, "table", source.label())
    summary = ingest.IngestSummary()
    pull = pull if pull is not None else Pull()
    book = prices or PriceBook()
    executor = connect(source)
    state = _State(source.label(), "")
    try:
        kind = table_kind(executor, source, table)
        rows_before, bytes_before = executor.rows_received, executor.bytes_received
        key = f"{source.label()}/{table}"
        incremental = since is None and until is None
        watermark = _watermark(con, key) if incremental else None
        pull.watermark_ns = watermark
        window = _window(kind, since, until, watermark, grace_ns)
        pull_id = hashlib.sha256(f"{key}\n{time.time_ns()}\n{window}".encode()).hexdigest()
        ingest.register_functions(con)
        with ingest.transaction(con):
            before = _count_spans(con)
            make = _trace_batches if kind == TRACES else _log_batches
            reader, state = make(executor, source, table, window, pull_id, pull)
            try:
                if kind == TRACES:
                    ingest.store_span_stream(con, reader, [pull_id])
                else:
                    agentlog.store_spans(con, reader)
            except duckdb.Error:
                # DuckDB pulled the stream: an error of ClickHouse's is wrapped in its own.
                if state.error is not None:
                    raise state.error from None
                raise
            sql.execute(con, "ingest/mark_pending_from_file", {"file_sha256": pull_id})
            pull.rows = executor.rows_received - rows_before
            pull.spans_new = _count_spans(con) - before
            if kind == TRACES and state.traces:
                _store_derived(con, executor, source, table, window, state.traces, pull)
            pull.bytes = executor.bytes_received - bytes_before
            _record(con, pull_id, key, kind, pull, state)
            if incremental and state.max_ns is not None:
                # A span stamped in the future (a skewed clock) must not hide the next ones.
                mark = max(min(state.max_ns, time.time_ns()), watermark or 0)
                sql.execute(
                    con, "ingest/set_source_watermark", {"source": key, "watermark_ns": mark}
                )
    finally:
        executor.close()
    summary.files = 1
    summary.records = state.records
    summary.records_skipped = pull.records_skipped
    summary.skipped_examples = state.examples[: ingest.QUARANTINE_EXAMPLES]
    summary.spans = pull.spans_new
    ingest.derive_pending(con, book, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _watermark(con: duckdb.DuckDBPyConnection, key: str) -> int | None:
    rows = sql.run(con, "ingest/source_watermark", {"source": key}).rows
    return int(rows[0][0]) if rows else None


def _window(
    kind: str, since: datetime | None, until: datetime | None, watermark: int | None, grace: int
) -> dict[str, int]:
    """The query's time parameters (see the query files)."""
    since_ns = max(_ns(since) or 0, 0)
    until_ns = min(_ns(until) or _END_OF_TIME_NS, _END_OF_TIME_NS)
    if kind == LOGS:
        after = -1 if watermark is None else watermark - grace
        return {"since_ns": max(since_ns, after), "until_ns": until_ns, "after_ns": after}
    if watermark is None and (since is not None or until is not None):
        # An explicit window: the runs that started in it, whole (derived from the same spans).
        scan_since, scan_until = (
            max(since_ns - RUN_PAD_NS, 0),
            min(until_ns + RUN_PAD_NS, _END_OF_TIME_NS),
        )
        return {
            "since_ns": since_ns,
            "until_ns": until_ns,
            "scan_since_ns": scan_since,
            "scan_until_ns": scan_until,
            "after_end_ns": -1,
            "whole_traces": 1,
            "derive_since_ns": scan_since,
            "derive_until_ns": scan_until,
        }
    after = -1 if watermark is None else watermark - grace
    # A span that ends after the mark started at most LONGEST_SPAN_NS before it.
    scan_since = since_ns if watermark is None else max(since_ns, after - LONGEST_SPAN_NS)
    return {
        "since_ns": since_ns,
        "until_ns": until_ns,
        "scan_since_ns": max(scan_since, 0),
        "scan_until_ns": until_ns,
        "after_end_ns": after,
        "whole_traces": 0,
        # The derivation reads the touched traces whole: their earlier spans (a run is assumed
        # to last less than RUN_PAD_NS) as well as the new ones.
        "derive_since_ns": max(scan_since - RUN_PAD_NS, 0) if watermark is not None else 0,
        "derive_until_ns": min(until_ns + RUN_PAD_NS, _END_OF_TIME_NS),
    }


@dataclass
class _State:
    """What the stream saw, filled in as DuckDB pulls it."""

    label: str
    pull_id: str
    records: int = 0
    max_ns: int | None = None

    def __post_init__(self) -> None:
        self.quarantined: list[tuple[Any, ...]] = []
        self.traces: set[str] = set()  # the trace ids the window's spans belong to
        self.examples: list[str] = []
        self.error: InputError | None = None  # what stopped the stream, for the caller

    def bad(self, line: int, reason: str, excerpt: str) -> None:
        self.quarantined.append((self.pull_id, self.label, line, reason, excerpt))
        self.examples.append(f"{self.label}: {reason}")

    def saw(self, ns: int | None) -> None:
        if ns is not None:
            self.max_ns = ns if self.max_ns is None else max(self.max_ns, ns)


_SPAN_TARGET = pa.schema([f for f in STORE_SCHEMA if f.name not in ("file_sha256", "file_seq")])


def _tagged(table: pa.Table, pull_id: str) -> Iterator[pa.RecordBatch]:
    for b in table.to_batches():
        n = b.num_rows
        yield pa.RecordBatch.from_arrays(
            [
                *b.columns,
                pa.repeat(pa.scalar(pull_id, pa.string()), n),
                pa.repeat(pa.scalar(0, pa.int32()), n),
            ],
            schema=STORE_SCHEMA,
        )


def _trace_batches(
    executor: Executor,
    source: Source,
    table: str,
    window: dict[str, int],
    pull_id: str,
    pull: Pull,
) -> tuple[pa.RecordBatchReader, _State]:
    """The spans as DuckDB pulls them: each ClickHouse block cast to the store's schema and
    range-checked like a file's (validate.keep_valid), one block in memory at a time."""
    state = _State(source.label(), pull_id)
    params = span_params(table, window)

    def stream() -> Iterator[pa.RecordBatch]:
        for raw in _run(executor, source, "otel_traces_spans", params, state):
            if not raw.num_rows:
                continue
            state.records += raw.num_rows
            spans = pa.Table.from_batches([raw]).cast(_SPAN_TARGET)
            state.traces.update(pc.unique(spans.column("trace_id")).to_pylist())
            state.saw(pc.max(spans.column("end_ns")).as_py())
            spans, refused = validate.keep_valid(spans, state.bad, _excerpt(spans))
            pull.records_skipped += refused
            yield from _tagged(spans, pull_id)

    return pa.RecordBatchReader.from_batches(STORE_SCHEMA, stream()), state


def span_params(table: str, window: dict[str, int]) -> dict[str, Any]:
    """The parameters of otel_traces_spans.sql and of the derivation queries."""
    keys, prefixes = attribute_keys()
    return {
        "table": table,
        "keys": list(keys),
        "prefixes": list(prefixes),
        "resource_keys": list(RESOURCE_KEYS),
        **_check_keys(),
        **window,
    }


# The rows derive_ticks.sql and derive_tool_calls.sql return, as agentprof stores them.
TICK_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("tick", pa.int64()),
        ("span_id", pa.string()),
        ("start_ns", pa.int64()),
        ("end_ns", pa.int64()),
        ("latency_ms", pa.float64()),
        ("ttft_ms", pa.float64()),
        ("model", pa.string()),
        ("request_model", pa.string()),
        ("provider", pa.string()),
        ("status", pa.string()),
        ("finish_reason", pa.string()),
        ("input_uncached_tokens", pa.int64()),
        ("cache_read_tokens", pa.int64()),
        ("cache_write_5m_tokens", pa.int64()),
        ("cache_write_1h_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("reasoning_tokens", pa.int64()),
        ("input_provenance", pa.string()),
        ("reported_cost_usd", pa.float64()),
    ]
)
TOOL_CALL_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("span_id", pa.string()),
        ("tool_name", pa.string()),
        ("call_id", pa.string()),
        ("tick", pa.int64()),
        ("tick_link", pa.string()),
        ("start_ns", pa.int64()),
        ("end_ns", pa.int64()),
        ("duration_ms", pa.float64()),
        ("status", pa.string()),
        ("args", pa.string()),
    ]
)


def derived_rows(
    executor: Executor,
    source: Source,
    params: dict[str, Any],
    which: str,
    state: _State | None = None,
    queries: tuple[str, str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The tick (`which` = "ticks") or tool-call rows ClickHouse derives for the window's traces,
    each block cast to TICK_SCHEMA or TOOL_CALL_SCHEMA. `queries`: derive_queries()' texts."""
    ticks_text, tools_text = queries or derive_queries()
    name, text, schema = (
        ("derive_ticks", ticks_text, TICK_SCHEMA)
        if which == "ticks"
        else ("derive_tool_calls", tools_text, TOOL_CALL_SCHEMA)
    )
    for raw in _run(executor, source, name, params, state, text):
        if raw.num_rows:
            table = pa.Table.from_batches([raw]).select(schema.names).cast(schema)
            yield from table.to_batches()


def _store_derived(
    con: duckdb.DuckDBPyConnection,
    executor: Executor,
    source: Source,
    table: str,
    window: dict[str, int],
    traces: set[str],
    pull: Pull,
) -> None:
    """Inside the pull's transaction: ClickHouse's ticks and tool calls of the traces the window
    touched replace the rows stored for them, and the traces are marked pending."""
    params = span_params(table, window)
    queries = derive_queries(materialized=has_materialized_cte(executor, source))
    touched = pa.table({"trace_id": pa.array(sorted(traces), pa.string())})
    sql.execute(con, "ingest/clickhouse_rows_forget", tables={"ch_traces": touched})
    for which, name, schema in (
        ("ticks", "ch_ticks", TICK_SCHEMA),
        ("tool_calls", "ch_tool_calls", TOOL_CALL_SCHEMA),
    ):
        before = executor.rows_received
        state = _State(source.label(), "")
        rows = pa.RecordBatchReader.from_batches(
            schema, derived_rows(executor, source, params, which, state, queries)
        )
        try:
            sql.execute(con, f"ingest/clickhouse_rows_store_{which}", tables={name: rows})
        except duckdb.Error:
            # DuckDB pulled the stream: an error of ClickHouse's is wrapped in its own.
            if state.error is not None:
                raise state.error from None
            raise
        if which == "ticks":
            pull.tick_rows = executor.rows_received - before
        else:
            pull.tool_call_rows = executor.rows_received - before


def use_stored_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Called by the derivation after derive_ticks and derive_tool_calls: for the affected traces
    a ClickHouse source derived, its stored rows replace DuckDB's (which saw only the keys the
    later stages read). A database that never pulled from ClickHouse pays one catalog lookup."""
    if int(sql.run(con, "ingest/clickhouse_rows_exist").rows[0][0]):
        sql.execute(con, "ingest/clickhouse_rows_use")


def _excerpt(table: pa.Table) -> Callable[[int], str]:
    def excerpt(row: int) -> str:
        ids = f"{table.column('trace_id')[row].as_py()}/{table.column('span_id')[row].as_py()}"
        return f"{ids} {table.column('name')[row].as_py()}"[:200]

    return excerpt


def _log_batches(
    executor: Executor,
    source: Source,
    table: str,
    window: dict[str, int],
    pull_id: str,
    pull: Pull,
) -> tuple[pa.RecordBatchReader, _State]:
    """Claude Code's api_request and tool_result events as spans, made by the OTLP logs reader's
    own rules (otel_logs.span_row) from the rows ClickHouse picked."""
    params: dict[str, Any] = {"table": table, "resource_keys": list(RESOURCE_KEYS), **window}
    state = _State(source.label(), pull_id)

    def stream() -> Iterator[pa.RecordBatch]:
        for raw in _run(executor, source, "otel_logs_events", params, state):
            batcher = SpanBatcher()
            for r in raw.to_pylist():
                state.records += 1
                state.saw(r["time_ns"])
                rec = otel_logs.log_row(
                    0,
                    r["time_ns"],
                    r["time_ns"],
                    r["severity_number"],
                    r["severity_text"],
                    "",
                    r["body"],
                    r["trace_id"],
                    r["span_id"],
                    r["resource_attributes"],
                    r["scope_name"],
                    r["attributes"],
                )
                try:
                    row = otel_logs.span_row(rec)
                except agentlog.BadLine as exc:
                    pull.records_skipped += 1
                    state.bad(0, str(exc), otel_logs._record_excerpt(rec))
                    continue
                if row is not None:
                    batcher.add(row)
            spans = batcher.take()
            if spans is None:
                continue
            spans = _plain_resource_maps(spans).cast(_SPAN_TARGET)
            spans, refused = validate.keep_valid(spans, state.bad, _excerpt(spans))
            pull.records_skipped += refused
            yield from _tagged(spans, pull_id)

    return pa.RecordBatchReader.from_batches(STORE_SCHEMA, stream()), state


def _plain_resource_maps(table: pa.Table) -> pa.Table:
    """SpanBatcher shares resource maps through a dictionary; the store schema has plain maps."""
    i = table.schema.get_field_index("resource_attributes")
    column = table.column(i)
    if not pa.types.is_dictionary(column.type):
        return table
    plain = pa.chunked_array(
        [chunk.dictionary.take(chunk.indices) for chunk in column.chunks], column.type.value_type
    )
    return table.set_column(i, "resource_attributes", plain)


def _record(
    con: duckdb.DuckDBPyConnection, pull_id: str, key: str, kind: str, pull: Pull, state: _State
) -> None:
    """Inside the pull's transaction: its refused rows (quarantine) and one `files` row naming
    the source, so `agentprof` lists the pull like a file read."""
    from agentprof import ingest  # ingest imports the sources package: import it late

    ingest.store_quarantine(con, state.quarantined)
    ingest.store_file_rows(
        con,
        {
            "sha256": [pull_id],
            "path": [key],
            "format": [f"clickhouse/{kind}"],
            "size_bytes": [pull.bytes],
            "records": [state.records],
            "records_skipped": [pull.records_skipped],
            "spans_new": [pull.spans_new],
        },
    )


def _count_spans(con: duckdb.DuckDBPyConnection) -> int:
    return int(sql.run(con, "ingest/span_count").rows[0][0])
