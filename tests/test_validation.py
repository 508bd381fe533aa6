"""Issue 17: bad values are quarantined on every path (one regression input per crash or
wrong-number class, fixtures/bad/), derivation cannot brick a database, an unexpected error fails
one file, and Ctrl-C says what was not stored."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from agentprof import ingest as ingest_mod
from agentprof import sources, sql, store
from agentprof.cli import app
from agentprof.sources import validate

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "fixtures" / "bad"
GOOD = ROOT / "fixtures" / "otlp" / "genai_current.json"
ENV = {"COLUMNS": "1000", "NO_COLOR": "1", "AGENTPROF_DB": None}


def cli(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def stderr_lines(result: Any) -> list[str]:
    return [line.strip() for line in result.stderr.splitlines()]


# --- the shared checks know every value the derivation reads -------------------------------


def test_every_token_and_cost_attribute_the_derivation_reads_is_range_checked() -> None:
    text = sql.query_text("ingest/derive_ticks")  # the dialect table's keys rendered in
    read = set(re.findall(r"a\['([^']+)'\]", text))
    counts = {k for k in read if re.search(r"token|cost", k, re.I)}
    counts.discard("gen_ai.usage.input_token_details")  # a dict as text, read by regexp
    counts -= {k for k in counts if "time_to_first" in k}  # durations (TTFT), not counts
    assert counts == validate.TOKEN_KEYS | validate.COST_KEYS


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("12", None),
        ("12.0", None),
        ("1000000000000", None),
        ("1000000000001", "not a token count (a whole number 0..10^12)"),
        ("-1", "not a token count (a whole number 0..10^12)"),
        ("1.5", "not a token count (a whole number 0..10^12)"),
        ("NaN", "not a token count (a whole number 0..10^12)"),
        ("1e400", "not a token count (a whole number 0..10^12)"),
        ("many", "is not a token count"),
    ],
)
def test_a_token_count_is_a_whole_number_up_to_a_trillion(text: str, why: str | None) -> None:
    got = validate.token_problem("output_tokens", text)
    assert (got is None) if why is None else (why in str(got))


@pytest.mark.parametrize(
    ("text", "ok"), [("0.5", True), ("0", True), ("-0.01", False), ("Infinity", False)]
)
def test_a_cost_is_finite_and_not_negative(text: str, ok: bool) -> None:
    assert (validate.cost_problem("cost_usd", text) is None) == ok


# --- one regression input per class: the exact message, the rest of the file stored --------

QUARANTINED = [
    (
        "poison_tokens.jsonl",
        "2: bad span: attribute gen_ai.usage.input_tokens '-9223372036854775808' is not a token "
        "count (a whole number 0..10^12)",
    ),
    (
        "nan_cost.jsonl",
        "1: bad span: attribute gen_ai.usage.cost 'NaN' is not a cost (finite and >= 0)",
    ),
    (
        "end_before_start.jsonl",
        "1: bad span: end time 1795201200099999999 is before start time 1795201200100000000",
    ),
    ("negative_start.jsonl", "1: bad span: startTimeUnixNano -1 is outside 1970..2200"),
    (
        "lone_surrogate.jsonl",
        "2: malformed JSON (invalid high surrogate in string: line 1 column 1610 (char 1609))",
    ),
    (
        "deep_nesting.jsonl",
        "2: malformed JSON (depth limit exceeded: line 1 column 3392 (char 3391))",
    ),
    (
        "year_0001_claude_code.jsonl",
        "3: bad span: start time -62130463197000000000 is outside 1970..2200",
    ),
    ("year_9999_codex.jsonl", "7: bad span: end time 253375894803200000000 is outside 1970..2200"),
    (
        "year_1900_api_log.jsonl",
        "1: bad span: start time -2203761600000000000 is outside 1970..2200",
    ),
]


@pytest.mark.parametrize(("name", "message"), QUARANTINED)
def test_a_bad_record_is_quarantined_with_its_reason_and_the_rest_goes_in(
    name: str, message: str, tmp_path: Path
) -> None:
    path = BAD / name
    result = cli("ingest", "--db", tmp_path / "a.duckdb", path)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{path}:{message}" in stderr_lines(result)
    con = duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True)
    reasons = [r for (r,) in con.execute("select reason from quarantine").fetchall()]
    spans, bad_tokens, bad_times = con.execute(
        "select count(*), count(*) filter (where try_cast(attributes['gen_ai.usage.input_tokens'] "
        "as double) < 0), count(*) filter (where end_ns < start_ns or start_ns < 0) from spans"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert message.split(": ", 1)[1] in reasons
    assert spans > 0 and bad_tokens == 0 and bad_times == 0


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (
            "infinity.json",
            "line 1: malformed JSON (unexpected character, expected a JSON value: line 161 "
            "column 23 (char 3694)); rest of file skipped",
        ),
        (
            "number_1e400.json",
            "line 1: malformed JSON (number is infinity when parsed as double: line 161 column 23 "
            "(char 3694)); rest of file skipped",
        ),
        (
            "resource_spans_number.json",
            "line 1: not an OTLP trace request: resourceSpans is a JSON int, not an array",
        ),
    ],
)
def test_a_document_that_is_not_json_or_not_a_request_fails_its_file_with_one_line(
    name: str, why: str, tmp_path: Path
) -> None:
    path = BAD / name
    result = cli("ingest", "--db", tmp_path / "a.duckdb", path, GOOD)
    assert result.exit_code == 1
    assert f"error: {path}: not an OTLP trace export ({why})" in stderr_lines(result)
    assert "Traceback" not in result.stderr
    con = duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True)
    assert con.execute("select count(*) from runs").fetchone() == (1,)  # the good file
    con.close()


def test_a_span_name_that_is_a_number_is_stored_as_its_text_on_both_paths(tmp_path: Path) -> None:
    pretty = BAD / "span_name_number.json"
    lines = tmp_path / "span_name_number.jsonl"
    lines.write_text(json.dumps(json.loads(pretty.read_text())) + "\n")
    for path in (pretty, lines):
        db = tmp_path / f"{path.suffix}.duckdb"
        result = cli("ingest", "--db", db, path)
        assert result.exit_code == 0, result.stderr
        con = duckdb.connect(str(db), read_only=True)
        names = sorted(n for (n,) in con.execute("select name from spans").fetchall())
        con.close()
        assert names == ["5", "chat claude-sonnet-4-5", "invoke_agent span-agent"]


def test_a_usage_report_id_that_is_a_number_is_read_as_text(tmp_path: Path) -> None:
    result = cli("ingest", "--db", tmp_path / "u.duckdb", BAD / "usage_id_number.jsonl", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["records"], summary["records_skipped"]) == (1, 0)


def _stored(db: Path, native: bool, path: Path) -> tuple[list[Any], list[Any]]:
    con = store.connect(db)
    try:
        ingest_mod.ingest(con, [path], native_json=native)
        spans = con.execute(
            "select trace_id, span_id, name, start_ns, end_ns, attributes from spans order by all"
        ).fetchall()
        bad = con.execute("select line, reason from quarantine order by all").fetchall()
    finally:
        con.close()
    return spans, bad


@pytest.mark.parametrize(
    "name",
    [
        "poison_tokens.jsonl",
        "nan_cost.jsonl",
        "end_before_start.jsonl",
        "negative_start.jsonl",
        "lone_surrogate.jsonl",
        "deep_nesting.jsonl",
    ],
)
def test_the_native_json_lines_path_stores_and_quarantines_what_the_python_path_does(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = BAD / name
    assert sources.detect(path).name in sources.NATIVE_JSON_FORMATS
    monkeypatch.setattr(ingest_mod, "NATIVE_MIN_BYTES", 0)  # small files take it too
    assert _stored(tmp_path / "n.duckdb", True, path) == _stored(tmp_path / "p.duckdb", False, path)


# --- derivation cannot brick the database --------------------------------------------------


def test_a_stored_value_that_breaks_derivation_quarantines_its_trace_and_the_rest_is_derived(
    tmp_path: Path,
) -> None:
    # A database written before validation existed: a start time of -2^63 ns is stored (a
    # token count out of range is read as not reported, see schema/028_token_macro.sql).
    db = tmp_path / "old.duckdb"
    assert cli("ingest", "--db", db, GOOD).exit_code == 0
    con = duckdb.connect(str(db))
    con.execute(
        "update spans set start_ns = -9223372036854775808"
        " where trace_id = '01c0ffee000000000000000000000000' and parent_span_id is not null"
    )
    con.execute("insert into pending_traces select distinct trace_id from spans")
    con.close()
    result = cli("ingest", "--db", db, BAD / "bad_span.jsonl")
    assert result.exit_code == 0, result.stderr
    (warning,) = [line for line in stderr_lines(result) if line.startswith("warning: cannot")]
    assert warning.startswith(
        "warning: cannot derive trace 01c0ffee000000000000000000000000: Out of Range Error: "
        "Overflow in subtraction of INT64"
    )
    assert warning.endswith("; its spans stay stored, see `agentprof quarantine`")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from pending_traces").fetchone() == (0,)
    assert con.execute(
        "select count(*) from runs where run_id = '13c0ffee000000000000000000000000'"
    ).fetchone() == (1,)
    assert con.execute(
        "select count(*) from quarantine where path = 'trace 01c0ffee000000000000000000000000'"
    ).fetchone() == (1,)
    con.close()
    # The next ingest is clean again.
    assert cli("ingest", "--db", db, ROOT / "fixtures" / "otlp" / "vercel_ai.json").exit_code == 0


# --- an unexpected error fails one file; Ctrl-C says what was not stored -------------------


def _explode_on(monkeypatch: pytest.MonkeyPatch, name: str, exc: BaseException) -> None:
    real = sources.detect

    def detect(path: Path) -> sources.Format:
        if path.name == name:
            raise exc
        return real(path)

    monkeypatch.setattr(sources, "detect", detect)


def test_an_internal_error_fails_its_file_the_others_are_stored_and_exit_is_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    boom = tmp_path / "boom.json"
    boom.write_bytes(GOOD.read_bytes().replace(b"01c0ffee", b"99c0ffee"))
    _explode_on(monkeypatch, "boom.json", RuntimeError("kaput"))
    other = ROOT / "fixtures" / "otlp" / "vercel_ai.json"
    result = cli("ingest", "--db", tmp_path / "a.duckdb", GOOD, boom, other)
    assert result.exit_code == 4
    assert stderr_lines(result)[0] == (
        f"error: {boom}: internal error (RuntimeError: kaput); this is a bug: run with --debug "
        "for the traceback and report it"
    )
    assert "Traceback" not in result.stderr
    con = duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True)
    assert con.execute("select count(*) from files").fetchone() == (2,)
    con.close()
    debug = cli("ingest", "--db", tmp_path / "b.duckdb", boom, "--debug")
    assert debug.exit_code == 4
    assert "Traceback (most recent call last):" in debug.stderr
    assert "RuntimeError: kaput" in debug.stderr


def test_ctrl_c_prints_one_line_naming_the_file_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = ROOT / "fixtures" / "otlp" / "vercel_ai.json"
    _explode_on(monkeypatch, second.name, KeyboardInterrupt())
    db = tmp_path / "a.duckdb"
    result = cli("ingest", "--db", db, GOOD, second)
    assert result.exit_code == 130
    assert result.stderr.splitlines() == [
        f"interrupted: nothing of {second} was stored; run the same command again to finish"
    ]
    monkeypatch.undo()
    again = cli("ingest", "--db", db, GOOD, second, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["files"] == 2
