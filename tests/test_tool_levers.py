"""Levers that fit the tool (issue 13 item 5): no result cache for tools that change state or read
state that changes, serial/parallel claims only where the source's times can show them, and
slow-tool savings computed from the run alone. Numbers: fixtures/README.md, diagnose/ (d70–d79)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import FIXTURES, REAL_OTLP, REALDATA, ingest_json, run_cli

DIAG = FIXTURES / "diagnose"
LOCAL_LOGS = ("claude_code_session.jsonl", "codex_rollout.jsonl")
SPOTTER = REALDATA / "public" / "claude-code" / "spotter"
CODEX = REALDATA / "public" / "codex"


def trace_id_of(path: Path) -> str:
    doc = json.loads(path.read_text())
    return str(doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]).lower()


def diagnose(db: Path, *extra: str | Path) -> dict[str, dict[str, Any]]:
    ran = run_cli("diagnose", "--db", db, "--json", *extra)
    assert ran.exit_code == 0, ran.stderr
    return {r["run_id"]: r for r in ran.json()["runs"]}


def findings(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["kind"]: f for f in run["findings"]}


def one_run(db: Path, *paths: Path, extra: tuple[str | Path, ...] = ()) -> dict[str, Any]:
    ingest_json(db, *paths)
    (run,) = diagnose(db, *extra).values()
    return run


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every diagnose fixture and the real OTLP traces in one database."""
    db = tmp_path_factory.mktemp("fleet") / "fleet.duckdb"
    ingest_json(db, DIAG, REAL_OTLP)
    return diagnose(db)


def local_run(runs: dict[str, dict[str, Any]], source: str) -> dict[str, Any]:
    (run,) = [r for r in runs.values() if r["source"] == source and r["run_id"].startswith("d7")]
    return run


# --- (a) a result cache only for tools that can be cached ---------------------------------------

REPEATS = [
    # file, fires: the same arguments three times, 400 ms each → 800 ms after the first call
    ("repeated_tool_calls.json", True),  # lookup_order: nothing says it changes state
    ("stateful_repeats.json", False),  # run_command: "run" in its name
    ("mcp_unmarked_repeats.json", False),  # mcp__crm__lookup_order, not marked read-only
    ("mcp_read_only_repeats.json", True),  # the same, mcp.tool.annotations.readOnlyHint = true
    ("not_read_only_repeats.json", False),  # get_invoice, readOnlyHint false in tool definitions
]


@pytest.mark.parametrize(("name", "fires"), REPEATS)
def test_repeated_calls_are_a_cache_finding_only_for_cacheable_tools(
    fleet: dict[str, dict[str, Any]], name: str, fires: bool
) -> None:
    run = fleet[trace_id_of(DIAG / name)]
    found = findings(run).get("repeated_tool_calls")
    if fires:
        assert found is not None and found["saving_ms"] == pytest.approx(800)
        assert "called 3× with identical arguments" in found["evidence"]
    else:
        assert found is None, found


def test_slow_stateful_tool_gets_no_cache_lever_and_no_borrowed_estimate(
    fleet: dict[str, dict[str, Any]],
) -> None:
    # execute_command 500–3500 and 4000–7000 with the same arguments, no other tool in the run:
    # the repeat (3,000 ms) is no cache candidate and nothing else gives a typical call time.
    run = fleet[trace_id_of(DIAG / "slow_stateful_tool.json")]
    slow = findings(run)["slow_tool"]
    assert "repeated_tool_calls" not in findings(run)
    assert slow["lever"] == "fix or speed up execute_command"
    assert slow["saving_ms"] is None
    assert 'no cache candidate: execute_command has "execute" in its name' in slow["evidence"]
    assert "saving is not estimated" in slow["evidence"]
    assert run["bottleneck"] == "slow_tool"


def test_slow_cacheable_tool_keeps_the_cache_lever(fleet: dict[str, dict[str, Any]]) -> None:
    # fetch_report, the same layout: the repeat's 3,000 ms is what a result cache saves.
    run = fleet[trace_id_of(DIAG / "slow_cacheable_tool.json")]
    slow = findings(run)["slow_tool"]
    assert slow["lever"].startswith("result caching keyed on the tool name")
    assert slow["saving_ms"] == pytest.approx(3000)
    assert findings(run)["repeated_tool_calls"]["saving_ms"] == pytest.approx(3000)


# --- (b) serial or parallel only where the source's times show it -------------------------------


def test_local_logs_get_no_serial_claim_and_no_cache_for_shell_or_edits(
    fleet: dict[str, dict[str, Any]],
) -> None:
    # Claude Code: Grep 2.0–3.0 s and Glob 2.6–3.4 s in tick 1 look 400 ms "serial" only because
    # their tool_use lines were streamed 600 ms apart; Bash `npm test` runs twice for 10 s.
    claude = local_run(fleet, "claude-code")
    assert not {"serial_tool_calls", "repeated_tool_calls"} & set(findings(claude))
    slow = findings(claude)["slow_tool"]
    assert slow["lever"] == "fix or speed up Bash"
    # Bash 2 × 10,000 ms beyond the 800 ms median of Grep 1,000, Glob 800 and Edit 200
    assert slow["saving_ms"] == pytest.approx(2 * (10_000 - 800))
    # Codex: exec_command npm test 2.0–4.0 s and lint 2.5–5.5 s logged 500 ms apart, apply_patch
    # 300 ms, npm test again 4,000 ms.
    codex = local_run(fleet, "codex")
    assert not {"serial_tool_calls", "repeated_tool_calls"} & set(findings(codex))
    slow = findings(codex)["slow_tool"]
    assert slow["lever"] == "fix or speed up exec_command"
    assert slow["saving_ms"] == pytest.approx((2000 - 300) + (3000 - 300) + (4000 - 300))


def test_the_same_serial_calls_in_a_trace_are_still_a_finding(
    fleet: dict[str, dict[str, Any]],
) -> None:
    run = fleet[trace_id_of(DIAG / "serial_tools.json")]
    assert findings(run)["serial_tool_calls"]["saving_ms"] == pytest.approx(800)


# --- (c) savings are a property of the run -------------------------------------------------------

LONE = ["lone_slow_tool.json", "slow_stateful_tool.json", "slow_cacheable_tool.json"]


@pytest.mark.parametrize("name", LONE)
def test_a_slow_tool_saving_is_the_same_alone_and_among_unrelated_runs(
    fleet: dict[str, dict[str, Any]], tmp_path: Path, name: str
) -> None:
    alone = one_run(tmp_path / "alone.duckdb", DIAG / name)
    among = fleet[trace_id_of(DIAG / name)]
    assert findings(alone)["slow_tool"] == findings(among)["slow_tool"]
    assert (alone["bottleneck"], alone["saving_ms"]) == (among["bottleneck"], among["saving_ms"])


def test_one_slow_call_with_nothing_to_compare_is_not_estimated(
    fleet: dict[str, dict[str, Any]],
) -> None:
    # render_report 500–4500 of a 5,000 ms run, its only tool call: the database holds hundreds of
    # other tool calls, but none of them says what render_report should take.
    slow = findings(fleet[trace_id_of(DIAG / "lone_slow_tool.json")])["slow_tool"]
    assert slow["saving_ms"] is None
    assert "nothing else in the run to compare it with" in slow["evidence"]


# --- (d) tools that hold the run are a finding even when no lever saves much --------------------


def test_tools_already_in_parallel_are_a_slow_tool_without_an_estimate(
    fleet: dict[str, dict[str, Any]],
) -> None:
    # search_flights 500–3500, search_hotels 500–3400, search_cars 500–3300 of a 4,000 ms run:
    # tools 3,000 ms (75%); parallel saves 0, fixing search_flights to the 2,850 ms median of the
    # others 150 ms, below the bar of max(100 ms, 5% of 4,000 ms) = 200 ms.
    run = fleet[trace_id_of(DIAG / "parallel_slow_tools.json")]
    slow = findings(run)["slow_tool"]
    assert slow["lever"] == "the tools already run in parallel: speed up search_flights itself"
    assert slow["saving_ms"] is None
    assert "(150 ms at best)" in slow["evidence"]
    assert run["bottleneck"] == "slow_tool"
    assert "serial_tool_calls" not in findings(run)


def test_tools_below_the_share_are_no_slow_tool(fleet: dict[str, dict[str, Any]]) -> None:
    # serial_tools.json: tools 1,500 of 3,500 ms (43%) < 50%
    assert "slow_tool" not in findings(fleet[trace_id_of(DIAG / "serial_tools.json")])


# --- the [tools] table of the config -------------------------------------------------------------


def test_config_lists_override_the_name_heuristics(tmp_path: Path) -> None:
    config = tmp_path / "agentprof.toml"
    config.write_text('[tools]\nstateful = ["lookup_*"]\n')
    run = one_run(
        tmp_path / "a.duckdb", DIAG / "repeated_tool_calls.json", extra=("--config", config)
    )
    assert "repeated_tool_calls" not in findings(run)
    config.write_text('[tools]\ncacheable = ["run_*", "other"]\n')
    run = one_run(tmp_path / "b.duckdb", DIAG / "stateful_repeats.json", extra=("--config", config))
    assert findings(run)["repeated_tool_calls"]["saving_ms"] == pytest.approx(800)
    # a name in both lists is stateful
    config.write_text('[tools]\ncacheable = ["run_command"]\nstateful = ["run_*"]\n')
    (run,) = diagnose(tmp_path / "b.duckdb", "--config", config).values()
    assert "repeated_tool_calls" not in findings(run)


def test_config_can_declare_a_built_in_tool_cacheable(tmp_path: Path) -> None:
    config = tmp_path / "agentprof.toml"
    config.write_text('[tools]\ncacheable = ["Bash"]\n')
    db = tmp_path / "c.duckdb"
    ingest_json(db, DIAG / "claude_code_session.jsonl")
    (run,) = diagnose(db, "--config", config).values()
    assert findings(run)["repeated_tool_calls"]["saving_ms"] == pytest.approx(10_000)


BAD_CONFIGS = [
    ("tools = 3\n", "[tools] must be a table with cacheable and stateful lists"),
    (
        '[tools]\ncachable = ["x"]\n',
        "unknown key 'cachable' in [tools]; known: cacheable, stateful",
    ),
    (
        '[tools]\ncacheable = "get_*"\n',
        "[tools] cacheable must be a list of tool names or glob patterns, not 'get_*'",
    ),
    (
        '[tools]\nstateful = ["deploy_*", 3]\n',
        "[tools] stateful must hold tool names or glob patterns, not 3",
    ),
    (
        '[tools]\nstateful = [""]\n',
        "[tools] stateful must hold tool names or glob patterns, not ''",
    ),
    (
        '[tools]\ncacheable = ["get_[ab"]\n',
        "[tools] cacheable: 'get_[ab' has an unclosed [ in its pattern",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_a_bad_tools_table_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "serial_tools.json")
    config = tmp_path / "agentprof.toml"
    config.write_text(text)
    ran = run_cli("diagnose", "--db", db, "--config", config)
    assert ran.exit_code == 1
    assert ran.stderr.strip() == f"error: {config}: {message}"


# --- real sessions -------------------------------------------------------------------------------


@pytest.mark.skipif(not SPOTTER.is_dir(), reason="shared/realdata is not present")
def test_real_claude_code_and_codex_sessions_get_levers_that_fit(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    ingest_json(db, SPOTTER, *([CODEX] if CODEX.is_dir() else []))
    con = duckdb.connect(str(db), read_only=True)
    try:
        (bash_repeats,) = con.execute(
            "select count(*) from (select run_id from tool_calls where tool_name = 'Bash'"
            " and args_fingerprint is not null group by run_id, args_fingerprint"
            " having count(*) >= 2)"
        ).fetchone() or (0,)
        sources = dict(con.execute("select run_id, source from runs").fetchall())
    finally:
        con.close()
    assert bash_repeats > 10  # the sessions re-run the same commands (tests after an edit)
    runs = diagnose(db)
    stateful = ("Bash", "Edit", "Write", "MultiEdit", "exec_command", "apply_patch")
    slow_levers = []
    for run_id, run in runs.items():
        found = findings(run)
        repeated = found.get("repeated_tool_calls")
        if repeated is not None:
            assert not any(f"{t} called" in repeated["evidence"] for t in stateful), repeated
        if "slow_tool" in found:
            lever = found["slow_tool"]["lever"]
            slow_levers.append(lever)
            assert not ("cach" in lever and any(lever.find(t) >= 0 for t in stateful)), lever
            assert not lever.startswith("dispatch the tool calls"), lever
        if sources[run_id] in ("claude-code", "codex"):
            assert "serial_tool_calls" not in found, run_id
    assert "fix or speed up Bash" in slow_levers  # the slow Bash runs still get their lever
