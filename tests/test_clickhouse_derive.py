"""One rule, two renderings: the ticks and tool calls ClickHouse derives (queries/clickhouse/
derive_ticks.sql, derive_tool_calls.sql, run in chdb over the exporter's table) are DuckDB's
(queries/ingest/derive_ticks.sql, derive_tool_calls.sql over the file ingest's spans), row for row
and column by column, on every OTLP fixture and framework-corpus trace. The oracle is DuckDB's
derivation of the same file. A rule left out of the ClickHouse rendering (a dialect row, a
sibling or parent rule) makes some fixture differ: the mutation tests show it."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agentprof import dialects, ingest, sql, store
from agentprof.pricing import PriceBook
from agentprof.sources import clickhouse
from tests import chdb_groups
from tests.conftest import FIXTURES
from tests.otlp_builder import span, write_trace
from tests.test_clickhouse import (
    TRACE_FIXTURES,
    ch_ingest,
    create,
    exporter_span_rows,
    file_db,
    file_ingest,
    insert,
    ledger,
)

chdb_session = pytest.importorskip("chdb.session")

TICK_COLUMNS = clickhouse.TICK_SCHEMA.names
TOOL_COLUMNS = [n for n in clickhouse.TOOL_CALL_SCHEMA.names if n != "args"] + ["args_fingerprint"]
Rows = dict[str, list[tuple[Any, ...]]]


RULES_SERVICE = "agentprof-rules-trace"


def write_rules_trace(path: Path) -> Path:
    """Rules no project fixture exercises: a model-call span wrapping another (two
    instrumentations of one request: one tick), a LangSmith prompt run that reports usage (a
    template, not a call)."""
    trace, root = "5e" * 16, "a0" * 8
    usage = {"gen_ai__usage__input_tokens": 50, "gen_ai__usage__output_tokens": 5}
    return write_trace(
        path,
        [
            span(trace, root, "invoke_agent rules", 0, 1000),
            span(
                trace,
                "a1" * 8,
                "chat outer",
                10,
                100,
                root,
                gen_ai__operation__name="chat",
                **usage,
            ),
            span(
                trace,
                "a2" * 8,
                "chat inner",
                20,
                90,
                "a1" * 8,
                gen_ai__operation__name="chat",
                gen_ai__response__model="m-1",
                **usage,
            ),
            span(
                trace,
                "a3" * 8,
                "prompt tmpl",
                110,
                120,
                root,
                gen_ai__operation__name="chat",
                langsmith__span__kind="prompt",
                gen_ai__usage__input_tokens=7,
            ),
            span(
                trace,
                "a4" * 8,
                "chat last",
                130,
                200,
                root,
                gen_ai__operation__name="chat",
                **usage,
            ),
        ],
        service=RULES_SERVICE,
    )


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The project's OTLP fixtures and the rules trace."""
    return [*TRACE_FIXTURES, write_rules_trace(tmp_path_factory.mktemp("rules") / "rules.json")]


@pytest.fixture(scope="module")
def trace_ids(fixtures: list[Path]) -> dict[Path, frozenset[str]]:
    return {p: chdb_groups.trace_ids(p, exporter_span_rows) for p in fixtures}


@pytest.fixture(scope="module")
def groups(fixtures: list[Path], trace_ids: dict[Path, frozenset[str]]) -> list[list[Path]]:
    """The fixtures in groups without a shared trace id: one table (and one DuckDB) each."""
    return chdb_groups.disjoint_groups(fixtures, trace_ids)


def _group_table(i: int) -> str:
    return f"t_group_{i}"


@pytest.fixture(scope="module")
def chdb_tables(tmp_path_factory: pytest.TempPathFactory, groups: list[list[Path]]) -> Any:
    """Each group of trace fixtures in one otel_traces table, as the exporter writes it; the rules
    trace twice over (an exporter's retry: ClickHouse holds each span twice, the file once)."""
    folder = tmp_path_factory.mktemp("chdb_derive")
    session = chdb_session.Session(str(folder))
    try:
        for i, group in enumerate(groups):
            create(session, "otel_traces", _group_table(i))
            rows = []
            for path in group:
                spans = exporter_span_rows(json.loads(path.read_text()))
                rows += spans + spans if path not in TRACE_FIXTURES else spans
            insert(session, _group_table(i), rows)
        executor = clickhouse.connect(clickhouse.parse_source(f"chdb:{folder}"))
        yield folder, session, executor
        executor.close()
    finally:
        session.close()


@pytest.fixture(scope="module")
def duckdb_oracle(
    tmp_path_factory: pytest.TempPathFactory,
    groups: list[list[Path]],
    trace_ids: dict[Path, frozenset[str]],
) -> dict[Path | None, Rows]:
    """DuckDB's derived_ticks and derived_tool_calls of each fixture, from the file ingest of its
    group (None: the rows of no fixture's trace, for every group)."""
    folder = tmp_path_factory.mktemp("duckdb_derive")
    out: dict[Path | None, Rows] = {None: {"ticks": [], "tool_calls": []}}
    for i, group in enumerate(groups):
        db = folder / f"{i}.duckdb"
        file_ingest(db, *group)
        con = store.connect(db)
        try:
            ingest.register_functions(con)
            con.execute(
                "create or replace temp table affected_traces as "
                "select distinct trace_id from spans"
            )
            ingest._affected_spans(con)
            sql.execute(con, "ingest/derive_ticks")
            sql.execute(con, "ingest/derive_tool_calls")
            rows = {
                "ticks": con.execute(
                    f"select {', '.join(TICK_COLUMNS)} from derived_ticks order by run_id, tick"
                ).fetchall(),
                "tool_calls": con.execute(
                    f"select {', '.join(TOOL_COLUMNS)} from derived_tool_calls "
                    "order by run_id, span_id"
                ).fetchall(),
            }
        finally:
            con.close()
        split = chdb_groups.split_by_fixture(rows, group, trace_ids)
        stray = split.pop(None)
        out.update(split)
        for which in ("ticks", "tool_calls"):
            out[None][which] += stray[which]
    return out


# ClickHouse's rows of one table and query text, once: a mutation that leaves one of the two
# derivation texts as it was reuses the unmutated text's rows.
_CH_ROWS: dict[tuple[str, str, str, str], list[tuple[Any, ...]]] = {}


def ch_rows(tables: Any, table: str, queries: tuple[str, str] | None = None) -> Rows:
    folder, _, executor = tables
    source = clickhouse.parse_source(f"chdb:{folder}")
    # What an ingest from chdb runs: materialized CTEs (chdb 4.4 has them).
    queries = queries or clickhouse.derive_queries(materialized=True)
    window = clickhouse._window(clickhouse.TRACES, None, None, None, 0)
    params = clickhouse.span_params(table, window)
    out: Rows = {}
    for which, schema, text in (
        ("ticks", clickhouse.TICK_SCHEMA, queries[0]),
        ("tool_calls", clickhouse.TOOL_CALL_SCHEMA, queries[1]),
    ):
        key = (str(folder), table, which, text)
        if key not in _CH_ROWS:
            batches = list(
                clickhouse.derived_rows(executor, source, params, which, queries=queries)
            )
            found = pa.Table.from_batches(batches, schema=schema).to_pylist()
            if which == "ticks":
                rows = [tuple(r[c] for c in TICK_COLUMNS) for r in found]
            else:
                rows = [
                    tuple(r[c] for c in TOOL_COLUMNS[:-1]) + (ingest._args_fingerprint(r["args"]),)
                    for r in found
                ]
            _CH_ROWS[key] = sorted(rows, key=lambda r: (r[0], r[1]))
        out[which] = _CH_ROWS[key]
    return out


def ch_by_fixture(
    tables: Any,
    groups: list[list[Path]],
    trace_ids: dict[Path, frozenset[str]],
    queries: tuple[str, str] | None = None,
    which_groups: Any = None,
) -> dict[Path | None, Rows]:
    """ClickHouse's rows of each fixture (of the groups `which_groups` picks; all by default),
    one derivation per group table; None: the rows of no fixture's trace."""
    out: dict[Path | None, Rows] = {None: {"ticks": [], "tool_calls": []}}
    for i, group in enumerate(groups):
        if which_groups is not None and not which_groups(group):
            continue
        split = chdb_groups.split_by_fixture(
            ch_rows(tables, _group_table(i), queries), group, trace_ids
        )
        stray = split.pop(None)
        out.update(split)
        for which in ("ticks", "tool_calls"):
            out[None][which] += stray[which]
    return out


@pytest.fixture(scope="module")
def ch_derived(
    chdb_tables: Any, groups: list[list[Path]], trace_ids: dict[Path, frozenset[str]]
) -> dict[Path | None, Rows]:
    return ch_by_fixture(chdb_tables, groups, trace_ids)


def same(a: Rows, b: Rows) -> bool:
    """Equal row for row; floats to 1e-9 (relative) or 1e-9 ms."""

    def eq(x: Any, y: Any) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        return bool(x == y)

    return all(
        len(a[k]) == len(b[k])
        and all(
            len(r) == len(s) and all(eq(x, y) for x, y in zip(r, s, strict=True))
            for r, s in zip(a[k], b[k], strict=True)
        )
        for k in ("ticks", "tool_calls")
    )


def test_the_fixtures_share_few_tables(groups, fixtures, trace_ids):
    """The grouping puts every fixture in one group, none with another's trace id, in few."""
    assert sorted(p for g in groups for p in g) == sorted(fixtures)
    for group in groups:
        ids = [t for p in group for t in trace_ids[p]]
        assert len(ids) == len(set(ids))
    assert len(groups) <= 4


@pytest.mark.parametrize(
    "name", [*(str(p.relative_to(FIXTURES)) for p in TRACE_FIXTURES), "rules trace"]
)
def test_clickhouse_derives_duckdbs_ticks_and_tool_calls(name, fixtures, ch_derived, duckdb_oracle):
    path = fixtures[-1] if name == "rules trace" else FIXTURES / name
    expected = duckdb_oracle[path]
    got = ch_derived[path]
    if not same(got, expected):  # the rows themselves, for a readable failure
        assert got == expected


def test_no_derived_row_is_outside_the_fixtures_traces(ch_derived, duckdb_oracle):
    """Every row ClickHouse (or DuckDB) derives from a group's table belongs to one fixture's
    trace: the per-fixture comparison sees them all."""
    assert ch_derived[None] == {"ticks": [], "tool_calls": []}
    assert duckdb_oracle[None] == {"ticks": [], "tool_calls": []}


FRAMEWORKS = [p for p in TRACE_FIXTURES if p.relative_to(FIXTURES).parts[0] == "frameworks"]


@pytest.fixture(scope="module")
def plain_derived(
    chdb_tables: Any, groups: list[list[Path]], trace_ids: dict[Path, frozenset[str]]
) -> dict[Path | None, Rows]:
    """The plain rendering's rows (the /*materialized*/ marks left as comments), on the groups
    holding a framework fixture."""
    plain = clickhouse.derive_queries()
    assert "materialized (" not in plain[0] + plain[1]
    return ch_by_fixture(
        chdb_tables, groups, trace_ids, plain, lambda g: any(p in FRAMEWORKS for p in g)
    )


@pytest.mark.parametrize("path", FRAMEWORKS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_a_server_without_materialized_ctes_derives_the_same(path, plain_derived, duckdb_oracle):
    """The plain rendering (the /*materialized*/ marks left as comments) an older server runs."""
    assert same(plain_derived[path], duckdb_oracle[path])


def test_chdb_has_materialized_ctes(chdb_tables):
    folder, _, executor = chdb_tables
    assert clickhouse.has_materialized_cte(executor, clickhouse.parse_source(f"chdb:{folder}"))
    ticks, tools = clickhouse.derive_queries(materialized=True)
    assert ticks.count("as materialized (") == 2 and tools.count("as materialized (") == 3


def test_the_comparison_covers_ticks_tool_calls_and_every_field(duckdb_oracle):
    ticks = [r for rows in duckdb_oracle.values() for r in rows["ticks"]]
    tools = [r for rows in duckdb_oracle.values() for r in rows["tool_calls"]]
    assert len(ticks) > 300 and len(tools) > 100
    # every tick column is non-NULL somewhere, so each is compared on real values
    for i, name in enumerate(TICK_COLUMNS):
        assert any(r[i] is not None for r in ticks), name
    for i, name in enumerate(TOOL_COLUMNS):
        assert any(r[i] is not None for r in tools), name
    links = {r[TOOL_COLUMNS.index("tick_link")] for r in tools}
    assert {"call_id", "time"} <= links
    provenances = {r[TICK_COLUMNS.index("input_provenance")] for r in ticks}
    assert {"reported_disjoint", "derived_from_inclusive"} <= provenances


# --- a rule left out shows ---------------------------------------------------------------------


def _row(field: str, key: str) -> dialects.Row:
    return next(r for r in dialects.rows() if r.field == field and r.key == key)


def _differs_somewhere(
    tables: Any,
    groups: list[list[Path]],
    trace_ids: dict[Path, frozenset[str]],
    oracle: dict[Path | None, Rows],
    queries: tuple[str, str],
    needle: str,
) -> list[str]:
    """The fixtures (of those whose text holds `needle`) where `queries` give other rows, in the
    first group (of those holding such a fixture) where some do: one derivation per group."""
    holds = {p for g in groups for p in g if needle in p.read_text(encoding="utf-8")}
    for i, group in enumerate(groups):
        if holds & set(group):
            got = chdb_groups.split_by_fixture(
                ch_rows(tables, _group_table(i), queries), group, trace_ids
            )
            differ = [p.name for p in group if p in holds and not same(got[p], oracle[p])]
            if differ:
                return differ
    return []


# One dialect row of each kind of field: counts, text, a unit conversion, a dict entry, tools.
DIALECT_ROWS = [
    ("input", "gen_ai.usage.input_tokens"),
    ("input", "llm.token_count.prompt"),
    ("cache_read", "gen_ai.usage.cache_read_input_tokens"),
    ("cache_write", "gen_ai.usage.cache_creation_input_tokens"),
    ("output", "gen_ai.usage.output_tokens"),
    ("model", "llm.model_name"),
    ("provider", "gen_ai.system"),
    ("ttft", "gen_ai.server.time_to_first_token"),
    ("finish_reason", "gen_ai.response.finish_reasons"),
    ("tool_name", "gen_ai.tool.name"),
    ("tool_call_id", "gen_ai.tool.call.id"),
    ("tool_args", "gen_ai.tool.call.arguments"),
]


@pytest.mark.parametrize(("field", "key"), DIALECT_ROWS)
def test_a_dialect_row_left_out_of_the_clickhouse_rendering_changes_some_fixture(
    field, key, chdb_tables, groups, trace_ids, duckdb_oracle
):
    without = frozenset({_row(field, key)})
    queries = clickhouse.derive_queries(without)
    assert queries != clickhouse.derive_queries()
    assert _differs_somewhere(chdb_tables, groups, trace_ids, duckdb_oracle, queries, f'"{key}"')


# The rules that look at siblings, parents and names, each taken out of the ClickHouse text.
RULE_MUTATIONS = [
    # a usage-less, answerless call followed by a sibling with usage only prepared it
    ("and (trace_id, span_id) not in (select trace_id, span_id from prep)", "", "_prepare_chat"),
    # a model-call span wrapping another yields to the inner one
    (
        "where (trace_id, span_id) not in (select trace_id, parent_span_id from calls)",
        "where 1",
        RULES_SERVICE,
    ),
    # a streamed call ending before its events lasts until its parent ends
    ("if(r.last_event_ns > r.end_ns,", "if(0,", "astream_chat"),
    # LangSmith's prompt runs are templates
    ("and a['langsmith.span.kind'] != 'prompt'", "", RULES_SERVICE),
    # a span stored twice (an exporter's retry) counts once
    ("limit 1 by trace_id, span_id", "", RULES_SERVICE),
    # the requesting tick by the call id in its output, not by time
    ("and position(o.output_text, assumeNotNull(t.t_call_id)) > 0", "and 0", "tool.call.id"),
]


@pytest.mark.parametrize(("clause", "replacement", "needle"), RULE_MUTATIONS)
def test_a_rule_left_out_of_the_clickhouse_rendering_changes_some_fixture(
    clause, replacement, needle, chdb_tables, groups, trace_ids, duckdb_oracle
):
    ticks, tools = clickhouse.derive_queries()
    assert clause in ticks + tools
    mutated = (ticks.replace(clause, replacement), tools.replace(clause, replacement))
    assert _differs_somewhere(chdb_tables, groups, trace_ids, duckdb_oracle, mutated, needle)


def test_a_tool_named_in_parentheses_is_a_placeholder_in_clickhouse_too(
    chdb_tables, groups, trace_ids, duckdb_oracle
):
    ticks, tools = clickhouse.derive_queries()
    placeholder = re.compile(r"^\s*and not ifNull\(.* like '\(%\)', false\)\n", re.M)
    assert placeholder.search(tools)
    mutated = (ticks, placeholder.sub("", tools))
    assert _differs_somewhere(
        chdb_tables, groups, trace_ids, duckdb_oracle, mutated, "(merged tools)"
    )


# --- the ledger keeps ClickHouse's rows when a trace is derived again ---------------------------


GENAI_CURRENT = FIXTURES / "otlp" / "genai_current.json"


@pytest.fixture(scope="module")
def genai_table(chdb_tables: Any) -> tuple[Path, str]:
    """genai_current.json alone in its own otel_traces table: the chdb folder and the table."""
    folder, session, _ = chdb_tables
    create(session, "otel_traces", "t_genai_current")
    insert(session, "t_genai_current", exporter_span_rows(json.loads(GENAI_CURRENT.read_text())))
    return folder, "t_genai_current"


def test_a_trace_derived_again_keeps_clickhouses_rows(genai_table, tmp_path):
    """The stored spans of a ClickHouse trace lack the keys the derivation reads: deriving it again
    (every trace marked pending, as a retry or a later file would) keeps the ledger, and so does
    ingesting the same trace from its file afterwards."""
    folder, table = genai_table
    path = GENAI_CURRENT
    expected = ledger(file_db(tmp_path, path))
    db = tmp_path / "ch.duckdb"
    ch_ingest(db, f"chdb:{folder}", table=table)
    assert ledger(db) == expected and expected["ticks"]
    con = store.connect(db)
    try:
        keys = {
            k
            for (ks,) in con.execute("select map_keys(attributes) from spans").fetchall()
            for k in ks
        }
        assert "gen_ai.usage.input_tokens" not in keys  # the derivation's keys stayed there
        con.execute("insert into pending_traces select distinct trace_id from spans")
        summary = ingest.IngestSummary()
        ingest.derive_pending(con, PriceBook(), summary)
        assert summary.ticks == len(expected["ticks"])
        # One trace at a time (the fallback when deriving all at once fails): the same.
        con.execute("insert into pending_traces select distinct trace_id from spans")
        ingest._derive_one_by_one(con, PriceBook(), summary)
    finally:
        con.close()
    assert ledger(db) == expected
    file_ingest(db, path)  # the same spans from a file: nothing new, nothing changes
    assert ledger(db) == expected


def test_without_clickhouses_rows_the_duckdb_derivation_would_differ(genai_table, tmp_path):
    """The stored rows matter: the same database without them derives other ticks."""
    folder, table = genai_table
    db = tmp_path / "ch.duckdb"
    ch_ingest(db, f"chdb:{folder}", table=table)
    before = ledger(db)
    con = store.connect(db)
    try:
        con.execute("delete from clickhouse_traces")
        con.execute("insert into pending_traces select distinct trace_id from spans")
        ingest.derive_pending(con, PriceBook(), ingest.IngestSummary())
    finally:
        con.close()
    assert ledger(db)["ticks"] != before["ticks"]


def test_a_span_the_range_check_refuses_is_quarantined_and_no_tick(chdb_tables, tmp_path):
    """A token count that is not one: the file path quarantines the span; from ClickHouse the
    offending attribute crosses so agentprof quarantines it with the same reason, and ClickHouse's
    derivation leaves the span out. The ledgers and quarantines agree."""
    folder, session, _ = chdb_tables
    trace = "ee" * 16
    spans = [
        span(trace, "01" * 8, "invoke_agent a", 0, 100),
        span(
            trace,
            "02" * 8,
            "chat m",
            1,
            40,
            parent="01" * 8,
            gen_ai__operation__name="chat",
            gen_ai__usage__input_tokens=10,
            gen_ai__usage__output_tokens=3,
        ),
        span(
            trace,
            "03" * 8,
            "chat m",
            41,
            90,
            parent="01" * 8,
            gen_ai__operation__name="chat",
            gen_ai__usage__input_tokens="-5",
            gen_ai__usage__output_tokens=2,
        ),
    ]
    path = write_trace(tmp_path / "bad.json", spans)
    create(session, "otel_traces", "t_refused")
    insert(session, "t_refused", exporter_span_rows(json.loads(path.read_text())))
    db = tmp_path / "ch.duckdb"
    summary, pull = ch_ingest(db, f"chdb:{folder}", table="t_refused")
    assert (pull.rows, pull.records_skipped, pull.tick_rows) == (3, 1, 1)
    from_file = file_db(tmp_path, path)
    assert ledger(db) == ledger(from_file)
    reasons = []
    for d in (db, from_file):
        con = duckdb.connect(str(d), read_only=True)
        reasons.append(con.execute("select reason from quarantine").fetchall())
        con.close()
    assert reasons[0] == reasons[1] and len(reasons[0]) == 1
    assert "gen_ai.usage.input_tokens" in reasons[0][0][0]


def test_what_crosses_per_tick(genai_table, tmp_path):
    """Tick and tool-call rows cross as rows; the spans carry no derivation key."""
    folder, table = genai_table
    summary, pull = ch_ingest(tmp_path / "ch.duckdb", f"chdb:{folder}", table=table)
    assert (pull.tick_rows, pull.tool_call_rows) == (summary.ticks, summary.tool_calls)
    assert pull.tick_rows > 0 and pull.tool_call_rows > 0
    con = duckdb.connect(str(tmp_path / "ch.duckdb"), read_only=True)
    crossed = con.execute("select count(*) from clickhouse_ticks").fetchone()
    con.close()
    assert crossed == (pull.tick_rows,)
