"""The attribute-dialect table (queries/dialects.csv): every field a query names has rows, every
row's unit reads its value right when DuckDB evaluates the rendering, no derivation query keeps a
list of attribute names of its own, and the README's table is the generated one."""

from __future__ import annotations

import json
import re
from base64 import b64encode
from pathlib import Path

import duckdb
import pytest

from agentprof import dialects, store
from agentprof.resources import data_dir

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_0-9]+)\s*\}\}")


def _query_files() -> list[Path]:
    return sorted(p for p in data_dir("queries").rglob("*.sql") if p.parent.name != "clickhouse")


def test_every_field_a_query_names_has_rows_and_every_field_is_read_somewhere():
    named = {m for p in _query_files() for m in PLACEHOLDER.findall(p.read_text())}
    assert named == set(dialects.fields())


def test_no_derivation_query_keeps_its_own_list_of_attribute_names():
    """Two or more attribute keys in one coalesce is a dialect list: it belongs in the table."""
    own_list = re.compile(r"coalesce\(\s*a\['[^']+'\]\s*,\s*a\['", re.S)
    for path in _query_files():
        assert not own_list.search(path.read_text()), path


def test_the_table_is_well_formed():
    rows = dialects.rows()
    assert len({(r.field, r.key) for r in rows}) == len(rows)
    for field in dialects.fields():
        priorities = [r.priority for r in rows if r.field == field]
        assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities)
    assert all(r.frameworks.strip() for r in rows)


def _read(con: duckdb.DuckDBPyConnection, field: str, attrs: dict[str, str], latency_ms: float):
    """A field's rendering evaluated by DuckDB on one span's attribute map."""
    sql = (
        f"select {dialects.render(field)} from (select $a::map(varchar, varchar) as a,"
        " 0::bigint as start_ns, ($ms * 1e6)::bigint as end_ns)"
    )
    return con.execute(sql, {"a": attrs, "ms": latency_ms}).fetchone()[0]


@pytest.fixture
def con(tmp_path):
    connection = store.connect(tmp_path / "d.duckdb")  # the schema's macros (token_count, ...)
    yield connection
    connection.close()


CASES = (
    ("field", "attrs", "latency_ms", "expected"),
    [
        # first present key in priority order wins
        ("input", {"llm.token_count.prompt": "7", "gen_ai.usage.prompt_tokens": "5"}, 1, 5),
        ("input", {"ai.usage.inputTokens": "9"}, 1, 9),
        # a count that is not a count is not read, and the next key is
        ("input", {"gen_ai.usage.input_tokens": "lots", "ai.usage.inputTokens": "9"}, 1, 9),
        ("input", {"gen_ai.usage.input_tokens": "-3"}, 1, None),
        ("input", {}, 1, None),
        # LangChain's usage details, a Python dict repr
        ("cache_read", {"gen_ai.usage.input_token_details": "{'cache_read': 12}"}, 1, 12),
        ("cache_write", {"gen_ai.usage.input_token_details": "{'cache_creation': 4}"}, 1, 4),
        # an entry the dict lacks falls through to later keys instead of stopping at ''
        (
            "cache_read",
            {"gen_ai.usage.input_token_details": "{'audio': 1}", "cache_read_tokens": "3"},
            1,
            3,
        ),
        ("cache_write", {"gen_ai.usage.cache_write.input_tokens": "40"}, 1, 40),
        # seconds, milliseconds, and the unit inferred from the call's latency
        ("ttft", {"gen_ai.response.time_to_first_chunk": "0.25"}, 1000, 250),
        ("ttft", {"ai.response.msToFirstChunk": "120"}, 1000, 120),
        ("ttft", {"gen_ai.server.time_to_first_token": "0.4"}, 1000, 400),
        ("ttft", {"gen_ai.server.time_to_first_token": "400"}, 1000, 400),
        ("ttft", {"gen_ai.server.time_to_first_token": "4000"}, 1000, None),
        ("finish_reason", {"gen_ai.response.finish_reasons": '["tool_calls"]'}, 1, "tool_calls"),
        ("finish_reason", {"gen_ai.response.finish_reasons": "stop"}, 1, "stop"),
        ("reported_cost", {"llm.cost.total": "0.5"}, 1, 0.5),
        ("model", {"gen_ai.request.model": "a", "gen_ai.response.model": "b"}, 1, "b"),
    ],
)


@pytest.mark.parametrize(*CASES)
def test_each_unit_reads_its_value(con, field, attrs, latency_ms, expected):
    assert _read(con, field, attrs, latency_ms) == expected


@pytest.mark.parametrize(*CASES)
def test_the_clickhouse_rendering_reads_the_same_values(field, attrs, latency_ms, expected):
    """The same rows rendered for ClickHouse (a missing map key is '' there, not NULL), run by
    chdb, give what DuckDB gives."""
    chdb = pytest.importorskip("chdb")
    sql = (
        f"select {dialects.render(field, 'clickhouse')} as v from (select"
        " JSONExtract(base64Decode({a:String}), 'Map(String, String)') as a,"
        " toInt64(0) as start_ns,"
        " toInt64({ms:Float64} * 1e6) as end_ns)"
    )
    # base64: chdb's parameter passing mangles backslash escapes in a string
    out = chdb.query(
        sql,
        "JSONCompact",
        params={"a": b64encode(json.dumps(attrs).encode()).decode(), "ms": latency_ms},
    )
    (value,) = json.loads(out.bytes())["data"][0]
    assert value == expected


def test_every_key_the_table_names_is_shipped_by_a_remote_engine():
    keys = set(dialects.attribute_keys())
    assert {r.key for r in dialects.rows()} <= keys
    # and the literal keys the queries read outside the table (structure, diagnosis)
    assert {"gen_ai.operation.name", "openinference.span.kind", "exception.type"} <= keys


def test_the_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    begin, end = "<!-- dialects:begin -->\n", "\n<!-- dialects:end -->"
    assert begin in readme and end in readme
    table = readme.split(begin, 1)[1].split(end, 1)[0]
    assert table == dialects.markdown(), "regenerate it: python -m agentprof.dialects"
