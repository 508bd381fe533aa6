"""`agentprof diagnose`: verdicts on real third-party traces, savings checked by hand on the
fixtures/diagnose runs (numbers in fixtures/README.md), every rule firing on one fixture and not
on another, thresholds, --fail-on and the terminal views."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REAL_OTLP, ingest_json, run_cli
from tests.otlp_builder import span, write_trace

DIAG = FIXTURES / "diagnose"


def trace_id_of(path: Path) -> str:
    doc = json.loads(path.read_text())
    return str(doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]).lower()


def diagnose_json(db: Path, *extra: str | Path) -> dict[str, Any]:
    ran = run_cli("diagnose", "--db", db, "--json", *extra)
    assert ran.exit_code == 0, ran.stderr
    return ran.json()  # type: ignore[no-any-return]


def by_run(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["run_id"]: r for r in document["runs"]}


def kinds(run: dict[str, Any]) -> set[str]:
    return {f["kind"] for f in run["findings"]}


def finding(run: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [f for f in run["findings"] if f["kind"] == kind]
    return found


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("real") / "real.duckdb"
    ingest_json(db, REAL_OTLP)
    return db


@pytest.fixture(scope="module")
def real_runs(real_db: Path) -> dict[str, dict[str, Any]]:
    return by_run(diagnose_json(real_db))


@pytest.fixture(scope="module")
def fixture_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    db = tmp_path_factory.mktemp("diag") / "diag.duckdb"
    ingest_json(db, DIAG)
    return by_run(diagnose_json(db))


def run_of(runs: dict[str, dict[str, Any]], path: Path) -> dict[str, Any]:
    return runs[trace_id_of(path)]


# The verdicts that shared/realdata/README.md describes, read from the data (the rules never see
# file names: the runs come from two instrumentation libraries with different attribute names).
REAL_VERDICTS = [
    ("pydantic_ai/slow_tool", "slow_tool", set(), {"slow_model_call", "cache_not_used"}),
    ("openai_sdk_traceloop/slow_tool", "slow_tool", set(), {"slow_model_call"}),
    ("pydantic_ai/many_iterations", "too_many_ticks", set(), {"cache_not_used"}),
    ("openai_sdk_traceloop/many_iterations", "too_many_ticks", set(), set()),
    # pydantic-ai reports no cache counts when nothing was cached: no cache finding, long inputs
    # still names the lever.
    (
        "pydantic_ai/huge_system_prompt_uncached",
        "long_inputs",
        set(),
        {"slow_tool", "cache_not_used"},
    ),
    (
        "openai_sdk_traceloop/cache_busting_prompt",
        "long_inputs",
        {"cache_not_used"},
        set(),
    ),
    (
        "pydantic_ai/huge_system_prompt_cached",
        "healthy",
        set(),
        {"long_inputs", "cache_not_used", "cache_broken"},
    ),
    (
        "openai_sdk_traceloop/huge_prompt_cached",
        "healthy",
        set(),
        {"long_inputs", "cache_not_used", "cache_broken"},
    ),
    ("openai_sdk_traceloop/untraced_tools", "untraced_gap", {"harness_overhead"}, {"slow_tool"}),
    ("openai_sdk_traceloop/slow_model", "slow_model", {"slow_model_call"}, {"slow_tool"}),
    ("pydantic_ai/usage_limit_exceeded", "too_many_ticks", {"runaway_loop"}, set()),
    ("openai_sdk_traceloop/parallel_tool_calls", "slow_tool", {"serial_tool_calls"}, set()),
    ("pydantic_ai/parallel_tools", "slow_tool", set(), {"serial_tool_calls"}),
    ("openai_sdk_traceloop/streaming", "healthy", set(), {"slow_model_call"}),
]


@pytest.mark.parametrize(("name", "bottleneck", "present", "absent"), REAL_VERDICTS)
def test_real_traces_get_the_verdict_their_behaviour_calls_for(
    real_runs: dict[str, dict[str, Any]],
    name: str,
    bottleneck: str,
    present: set[str],
    absent: set[str],
) -> None:
    run = run_of(real_runs, REAL_OTLP / f"{name}.otlp.json")
    assert run["bottleneck"] == bottleneck, run["findings"]
    assert present <= kinds(run)
    assert not (absent & kinds(run))
    if bottleneck != "healthy":
        primary = [f for f in run["findings"] if f["primary"]]
        assert [f["kind"] for f in primary] == [bottleneck]
        assert primary[0]["evidence"] and primary[0]["lever"]


def test_timestamp_prefixed_prompt_has_a_zero_hit_ratio_and_unreported_cache_is_null(
    real_runs: dict[str, dict[str, Any]],
) -> None:
    busting = run_of(real_runs, REAL_OTLP / "openai_sdk_traceloop/cache_busting_prompt.otlp.json")
    assert busting["cache_hit_ratio"] == 0.0
    uncached = run_of(real_runs, REAL_OTLP / "pydantic_ai/huge_system_prompt_uncached.otlp.json")
    assert uncached["cache_hit_ratio"] is None
    assert "cache_not_used" not in kinds(uncached)
    assert "reported as 0" in finding(busting, "cache_not_used")["evidence"]


def test_long_inputs_evidence_names_share_ticks_and_prefix(
    real_runs: dict[str, dict[str, Any]],
) -> None:
    run = run_of(real_runs, REAL_OTLP / "pydantic_ai/huge_system_prompt_uncached.otlp.json")
    evidence = finding(run, "long_inputs")["evidence"]
    assert "of token cost on 4 of 4 ticks" in evidence
    assert "-token prefix replayed 4×" in evidence
    assert finding(run, "long_inputs")["ticks"] == [1, 2, 3, 4]


def test_slow_model_run_names_the_slow_tick(real_runs: dict[str, dict[str, Any]]) -> None:
    run = run_of(real_runs, REAL_OTLP / "openai_sdk_traceloop/slow_model.otlp.json")
    assert finding(run, "slow_model_call")["ticks"] == [3]


# Savings worked out by hand in fixtures/README.md (claude-sonnet-4-5: input $3, cache read
# $0.30, 5-minute write $3.75, output $15 per million tokens).
def test_serial_tools_of_300_500_700_ms_save_800_ms(fixture_runs: dict[str, Any]) -> None:
    run = run_of(fixture_runs, DIAG / "serial_tools.json")
    assert finding(run, "serial_tool_calls")["saving_ms"] == pytest.approx(800)
    assert finding(run, "serial_tool_calls")["ticks"] == [1]


def test_uncached_10k_prompt_on_4_ticks_saves_the_repriced_difference(
    fixture_runs: dict[str, Any],
) -> None:
    run = run_of(fixture_runs, DIAG / "long_inputs.json")
    assert run["bottleneck"] == "long_inputs"
    # 3 ticks × 10,000 × (3.00 − 0.30) − 10,000 × (3.75 − 3.00), per million
    assert run["saving_usd"] == pytest.approx(0.081 - 0.0075)
    assert run["cost_usd"] == pytest.approx(4 * (10_000 * 3 + 100 * 15) / 1e6)


def test_broken_cache_saving_prices_rewrites_as_reads(fixture_runs: dict[str, Any]) -> None:
    run = run_of(fixture_runs, DIAG / "cache_broken.json")
    assert finding(run, "cache_broken")["saving_usd"] == pytest.approx(8000 * 3.45 / 1e6)
    assert finding(run, "cache_broken")["ticks"] == [2, 3]


def test_expired_cache_rewrite_is_priced_as_a_read(fixture_runs: dict[str, Any]) -> None:
    run = run_of(fixture_runs, DIAG / "cache_expiring.json")
    assert finding(run, "cache_expiring")["saving_usd"] == pytest.approx(4000 * 3.45 / 1e6)
    assert finding(run, "cache_expiring")["ticks"] == [2]


def test_repeated_identical_calls_save_every_call_after_the_first(
    fixture_runs: dict[str, Any],
) -> None:
    # The second call writes its argument keys in another order: still the same arguments.
    run = run_of(fixture_runs, DIAG / "repeated_tool_calls.json")
    assert finding(run, "repeated_tool_calls")["saving_ms"] == pytest.approx(800)
    assert "called 3×" in finding(run, "repeated_tool_calls")["evidence"]


def test_too_many_ticks_saves_only_the_waste_the_run_shows(fixture_runs: dict[str, Any]) -> None:
    # fixtures/README.md: tick 4 repeats tick 3's read (repeat), tick 5's fetch failed and was
    # retried (failed_retry), ticks 8 and 9 read one doc each after a tick that read one (serial
    # single calls). Each tick costs 500·3 + 100·15 = 3,000 µ$ (its prompt 1,500 µ$) and takes
    # 800 ms, plus a 200 ms tool call.
    run = run_of(fixture_runs, DIAG / "waste_ticks.json")
    assert run["bottleneck"] == "too_many_ticks"
    found = finding(run, "too_many_ticks")
    assert found["ticks"] == [4, 5, 8, 9]
    assert run["saving_usd"] == pytest.approx((3000 + 3000 + 1500 + 1500) / 1e6)
    assert run["saving_ms"] == pytest.approx(1000 + 1000 + 800 + 800)
    for words in ("1 failed attempt(s) retried (tick 5)", "(tick 4)", "(tick 8, 9)"):
        assert words in found["evidence"]


def test_a_long_run_without_waste_is_not_called_too_long(fixture_runs: dict[str, Any]) -> None:
    # 12 ticks: reads and updates of distinct orders, alternating. Tick 3 of waste_ticks re-reads
    # order A after tick 2 updated it, and its ticks 10-11 update one order each: no waste either.
    run = run_of(fixture_runs, DIAG / "no_waste_ticks.json")
    assert run["ticks"] == 12
    assert "too_many_ticks" not in kinds(run)


def test_comparable_runs_are_evidence_never_a_verdict(fixture_runs: dict[str, Any]) -> None:
    # 6 ticks where three runs of the same agent took 2: no waste, so no too_many_ticks.
    run = run_of(fixture_runs, DIAG / "looper_6_ticks_14.json")
    assert run["bottleneck"] == "healthy"


def test_context_growth_saving_reprices_the_run_as_if_compacted(
    fixture_runs: dict[str, Any],
) -> None:
    # Prompts 10k, 30k … 150k (uncached, $3/MTok; read $0.30, 5m write $3.75, output $15).
    # Passing 80,000 tokens before ticks 5 and 8, the history is summarised into 4,000 tokens:
    # simulated prompts 10k, 30k, 50k, 70k, 34k, 54k, 74k, 34k (356k tokens, $1.068 against
    # $1.92). Each compaction reads the context it replaces (70k, then 74k) at $0.30, writes the
    # 4,000-token summary at $15 and re-writes prefix + summary (14k) to the cache at $3.75 − $0.30.
    run = run_of(fixture_runs, DIAG / "context_growth.json")
    assert run["bottleneck"] == "context_growth"
    compactions = (70_000 + 74_000) * 0.3 + 2 * (4_000 * 15 + 14_000 * 3.45)
    assert run["saving_usd"] == pytest.approx((640_000 * 3 - 356_000 * 3 - compactions) / 1e6)
    evidence = finding(run, "context_growth")["evidence"]
    assert "from 10,000 to 150,000 tokens over 8 ticks (about 20,000 added per tick)" in evidence
    assert "history is 88% of the prompt tokens sent" in evidence
    flat = run_of(fixture_runs, DIAG / "context_flat.json")
    assert "context_growth" not in kinds(flat) and flat["bottleneck"] == "long_inputs"


def test_context_pressure_needs_the_models_window(fixture_runs: dict[str, Any]) -> None:
    # claude-sonnet-4-5's window is 200,000 tokens (genai-prices): 170,000 is 85%, 150,000 is 75%.
    found = finding(run_of(fixture_runs, DIAG / "context_pressure.json"), "context_pressure")
    assert found["ticks"] == [3]
    assert (
        "170,000 prompt tokens, 85% of the model's 200,000-token context window"
        in found["evidence"]
    )
    assert "context_pressure" not in kinds(run_of(fixture_runs, DIAG / "context_growth.json"))


def test_slow_model_call_saving_is_the_latency_beyond_the_models_norm(
    fixture_runs: dict[str, Any],
) -> None:
    # Tick 4 takes 5,000 ms where the run's other calls take 500: half the 10 s wall-clock, so
    # the run is slow because of that call, not healthy.
    run = run_of(fixture_runs, DIAG / "slow_model_call.json")
    assert finding(run, "slow_model_call")["saving_ms"] == pytest.approx(4500)
    assert run["bottleneck"] == "slow_model"
    assert run["saving_ms"] == pytest.approx(4500)


def test_a_turn_cap_makes_too_many_ticks_whatever_the_tick_count(
    fixture_runs: dict[str, Any],
) -> None:
    run = run_of(fixture_runs, DIAG / "turn_cap.json")
    assert run["ticks"] == 3
    assert run["bottleneck"] == "too_many_ticks"
    assert "MaxTurnsExceeded" in finding(run, "runaway_loop")["evidence"]


# Every rule: a fixture it fires on, and one it stays silent on.
RULES = [
    ("long_inputs", "long_inputs.json", "long_inputs_cached.json"),
    ("cache_not_used", "cache_not_used.json", "long_inputs.json"),
    ("cache_broken", "cache_broken.json", "long_inputs_cached.json"),
    ("cache_expiring", "cache_expiring.json", "cache_warm.json"),
    ("cache_write_unpaid", "cache_write_unpaid.json", "cache_write_paid.json"),
    ("repeated_tool_calls", "repeated_tool_calls.json", "distinct_tool_calls.json"),
    ("serial_tool_calls", "serial_tools.json", "parallel_tools.json"),
    ("too_many_ticks", "waste_ticks.json", "no_waste_ticks.json"),
    ("context_growth", "context_growth.json", "context_flat.json"),
    ("context_pressure", "context_pressure.json", "context_growth.json"),
    ("slow_model", "slow_model_call.json", "looper_2_ticks_11.json"),
    ("untraced_gap", "harness_gap.json", "serial_tools.json"),
    ("runaway_loop", "turn_cap.json", "looper_6_ticks_14.json"),
    ("slow_model_call", "slow_model_call.json", "looper_2_ticks_11.json"),
    ("harness_overhead", "harness_gap.json", "serial_tools.json"),
    ("batching_candidate", "batching.json", "repeated_tool_calls.json"),
]


@pytest.mark.parametrize(("kind", "fires", "silent"), RULES)
def test_every_rule_fires_on_its_fixture_and_not_on_its_twin(
    fixture_runs: dict[str, Any], kind: str, fires: str, silent: str
) -> None:
    assert kind in kinds(run_of(fixture_runs, DIAG / fires))
    assert kind not in kinds(run_of(fixture_runs, DIAG / silent))


def test_slow_tool_fires_on_a_real_slow_tool_and_not_on_a_slow_model(
    real_runs: dict[str, Any],
) -> None:
    assert "slow_tool" in kinds(run_of(real_runs, REAL_OTLP / "pydantic_ai/slow_tool.otlp.json"))
    slow_model = run_of(real_runs, REAL_OTLP / "openai_sdk_traceloop/slow_model.otlp.json")
    assert "slow_tool" not in kinds(slow_model)


def test_every_rule_file_has_a_fire_and_silent_fixture() -> None:
    from agentprof.diagnose import rule_names

    covered = {kind for kind, _, _ in RULES} | {"slow_tool"}
    assert {name.rsplit("/", 1)[-1] for name in rule_names()} == covered


def test_distribution_and_total_saving_add_up(fixture_runs: dict[str, Any], tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG)
    doc = diagnose_json(db)
    assert sum(d["runs"] for d in doc["distribution"]) == len(doc["runs"])
    assert doc["total_saving_usd"] == pytest.approx(sum(r["saving_usd"] or 0 for r in doc["runs"]))
    assert doc["thresholds"]["max_ticks"] == 10


def test_thresholds_come_from_the_command_line_and_a_config_file(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "serial_tools.json")
    assert "serial_tool_calls" in kinds(diagnose_json(db)["runs"][0])
    raised = diagnose_json(db, "--threshold", "min_saving_ms=900")
    assert raised["thresholds"]["min_saving_ms"] == 900
    assert "serial_tool_calls" not in kinds(raised["runs"][0])
    config = tmp_path / "agentprof.toml"
    config.write_text("[thresholds]\nmin_saving_ms = 900\n")
    assert "serial_tool_calls" not in kinds(diagnose_json(db, "--config", config)["runs"][0])


def test_unknown_threshold_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "serial_tools.json")
    ran = run_cli("diagnose", "--db", db, "--threshold", "max_tickz=3")
    assert ran.exit_code == 1
    assert ran.stderr.startswith("error: --threshold: unknown threshold 'max_tickz'; known: ")
    ran = run_cli("diagnose", "--db", db, "--threshold", "max_ticks=many")
    assert ran.exit_code == 1
    assert "threshold max_ticks must be a number" in ran.stderr


def test_fail_on_exits_3_naming_the_runs_and_0_when_absent(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "serial_tools.json", DIAG / "looper_2_ticks_11.json")
    ran = run_cli("diagnose", "--db", db, "--fail-on", "serial_tool_calls,too_many_ticks")
    assert ran.exit_code == 3
    assert "fail-on: run d1c0ffee000000000000000000000000 has serial_tool_calls" in ran.stderr
    assert run_cli("diagnose", "--db", db, "--fail-on", "slow_tool").exit_code == 0
    ran = run_cli("diagnose", "--db", db, "--fail-on", "slow_tool,typo")
    assert ran.exit_code == 2
    ran = run_cli("diagnose", "--db", db, "--json", "--fail-on", "serial_tool_calls")
    assert ran.exit_code == 3
    assert ran.json()["fail_on"]["failed"] == [
        {"run_id": "d1c0ffee000000000000000000000000", "kind": "serial_tool_calls"}
    ]


def test_one_run_view_has_bars_timeline_and_findings_within_the_width(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "serial_tools.json")
    ran = run_cli("diagnose", "d1c0", "--db", db)
    assert ran.exit_code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert max(len(line) for line in lines) <= 200
    assert any(line.lstrip().startswith("1 #") for line in lines)  # tick 1's token bar
    assert sum("lookup_" in line and "=" in line for line in lines) == 3  # three timeline rows
    assert not any("|=" in line for line in lines)  # serial: no overlap marks
    assert "* serial_tool_calls  saves 800 ms" in ran.stdout
    detail = run_cli("diagnose", "d1c0", "--db", db, "--json").json()["runs"][0]
    assert [t["tick"] for t in detail["tick_ledger"]] == [1, 2]
    assert [c["tool_name"] for c in detail["tool_timeline"]] == [
        "lookup_user",
        "lookup_balance",
        "lookup_history",
    ]


def test_one_run_view_fits_a_narrow_terminal(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agentprof.cli import app

    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "parallel_tools.json")
    out = CliRunner().invoke(app, ["diagnose", "d2c0", "--db", str(db)], env={"COLUMNS": "60"})
    assert out.exit_code == 0
    assert max(len(line) for line in out.stdout.splitlines()) <= 60
    timeline = [line for line in out.stdout.splitlines() if "lookup_" in line and "ms" in line]
    assert len(timeline) == 3 and all("|" in line for line in timeline)  # all three overlap


def test_trace_text_is_never_markup_in_the_run_view(tmp_path: Path) -> None:
    trace = "e1c0ffee".ljust(32, "0")
    root = "0" * 15 + "1"
    spans = [
        span(trace, root, "invoke_agent x", 0, 3000, gen_ai__operation__name="invoke_agent"),
        span(
            trace,
            "0" * 15 + "2",
            "chat",
            0,
            500,
            root,
            gen_ai__operation__name="chat",
            gen_ai__request__model="claude-sonnet-4-5",
            gen_ai__provider__name="anthropic",
            gen_ai__usage__input_tokens=100,
            gen_ai__usage__output_tokens=10,
        ),
        span(
            trace,
            "0" * 15 + "3",
            "execute_tool",
            500,
            2900,
            root,
            gen_ai__operation__name="execute_tool",
            gen_ai__tool__name="[bold red]x[/bold red]",
        ),
    ]
    db = tmp_path / "d.duckdb"
    ingest_json(db, write_trace(tmp_path / "m.json", spans))
    ran = run_cli("diagnose", "e1c0", "--db", db)
    assert "[bold red]x[/bold red]" in ran.stdout  # the slow_tool evidence and the timeline
    fleet = run_cli("diagnose", "--db", db)
    assert fleet.exit_code == 0 and "slow_tool" in fleet.stdout


def test_fleet_view_groups_by_bottleneck_and_ends_with_the_total(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG)
    ran = run_cli("diagnose", "--db", db, "--sort", "saving")
    assert ran.exit_code == 0, ran.stderr
    out = ran.stdout
    assert out.index("long_inputs: 6 runs") < out.index("too_many_ticks: 2 runs")
    assert out.index("too_many_ticks: 2 runs") < out.index("healthy:")
    # The headline comes first: where the money went, where the time went, the biggest lever.
    assert out.startswith("$")
    assert "Wall-clock" in out[: out.index("long_inputs: 6 runs")]
    assert "Biggest lever: " in out[: out.index("long_inputs: 6 runs")]
    assert "bottleneck distribution" in out
    assert out.rstrip().splitlines()[-1].startswith("total achievable saving: $")


def test_diagnose_of_an_empty_database_says_so(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "serial_tools.json")
    ran = run_cli("diagnose", "--db", db, "--since", "2030-01-01")
    assert ran.exit_code == 0
    assert "no runs to diagnose" in ran.stderr
    assert run_cli("diagnose", "--db", db, "--json", "--since", "2030-01-01").json()["runs"] == []
    assert run_cli("diagnose", "nope", "--db", db).exit_code == 1


def test_an_unreadable_or_malformed_config_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    ingest_json(db, DIAG / "serial_tools.json")
    missing = tmp_path / "missing.toml"
    ran = run_cli("diagnose", "--db", db, "--config", missing)
    assert ran.exit_code == 1
    assert ran.stderr.startswith(f"error: {missing}: cannot read (")
    broken = tmp_path / "agentprof.toml"
    broken.write_text("[thresholds\nmin_saving_ms = 900\n")
    ran = run_cli("diagnose", "--db", db, "--config", broken)
    assert ran.exit_code == 1
    assert ran.stderr.startswith(f"error: {broken}: not valid TOML (")


def test_a_run_with_a_tool_call_and_no_model_call_is_diagnosed(tmp_path: Path) -> None:
    # Found by fuzzing Claude Code's OTel events: slow_tool fired on a tool call linked to no
    # tick, its tick list came out NULL and `diagnose RUN` crashed rendering it.
    trace = "e7c0ffee".ljust(32, "0")
    spans = [
        span(trace, "1".rjust(16, "0"), "agent", 0, 100, gen_ai__agent__name="tool-only"),
        span(trace, "2".rjust(16, "0"), "execute_tool Read", 0, 90, "1".rjust(16, "0"),
             gen_ai__operation__name="execute_tool", gen_ai__tool__name="Read"),
    ]  # fmt: skip
    db = tmp_path / "d.duckdb"
    ingest_json(db, write_trace(tmp_path / "tool_only.json", spans))
    (run,) = diagnose_json(db)["runs"]
    assert run["ticks"] == 0
    assert all(f["ticks"] == [] for f in run["findings"])
    ran = run_cli("diagnose", trace[:8], "--db", db)
    assert ran.exit_code == 0, ran.stderr
    assert "slow_tool" in ran.stdout
