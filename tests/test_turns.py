"""Runs are turns: Claude Code and Codex sessions split at each real user input, grouped by
session; the diagnosis of a turn is a property of the turn (the same in any database), and on the
real sessions every saving is backed by evidence from the turn itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REALDATA, ingest_json, run_cli, runs_json

SPOTTER = REALDATA / "public" / "claude-code" / "spotter"
CODEMIE = REALDATA / "public" / "claude-code" / "codemie"
CODEX = REALDATA / "public" / "codex" / "codemie"
OTLP = REALDATA / "otlp"
GOLDEN = Path(__file__).parent / "golden"


def diagnosis(db: Path, *extra: str) -> dict[str, dict[str, Any]]:
    ran = run_cli("diagnose", "--db", db, "--json", *extra)
    assert ran.exit_code == 0, ran.stderr
    return {r["run_id"]: r for r in ran.json()["runs"]}


@pytest.fixture(scope="module")
def spotter_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("spotter") / "spotter.duckdb"
    ingest_json(db, SPOTTER)
    return db


@pytest.fixture(scope="module")
def mixed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("mixed") / "mixed.duckdb"
    ingest_json(db, SPOTTER, CODEMIE, CODEX, OTLP)
    return db


def _user_inputs(path: Path) -> list[tuple[str, str]]:
    """(uuid, text) of the user lines that start a turn, read independently of the reader: typed
    prompts, slash commands and task notifications; not tool results, meta lines, command output,
    interruption markers or compaction summaries."""
    out = []
    for line in path.read_text().splitlines():
        doc = json.loads(line)
        if doc.get("type") != "user" or doc.get("isSidechain") or doc.get("isMeta"):
            continue
        if doc.get("isCompactSummary"):
            continue
        content = doc["message"]["content"]
        if isinstance(content, list):
            if any(b.get("type") == "tool_result" for b in content):
                continue
            content = "".join(b.get("text", "") for b in content)
        text = content.lstrip()
        if text.startswith(("[Request interrupted", "<local-command-", "Caveat:")):
            continue
        out.append((doc["uuid"], text))
    return out


def test_spotter_sessions_split_into_one_run_per_user_input(spotter_db: Path) -> None:
    runs = runs_json(spotter_db)
    turns = [r for r in runs if r["parent_run_id"] is None and r["source"] == "claude-code"]
    inputs = {}
    for path in sorted(SPOTTER.glob("projects/*/*.jsonl")):
        inputs.update(dict(_user_inputs(path)))
    # Local slash commands (/compact, /mcp) call no model, so their turn makes no run.
    with_ticks = {r["run_id"] for r in turns if r["ticks"] > 0}
    assert with_ticks <= set(inputs)
    local = {u for u, text in inputs.items() if text.startswith("<command-name>/")}
    assert set(inputs) - with_ticks <= local
    # 13 typed prompts, one slash command that prompted the model (/handgemacht:create-beads)
    # and 5 background-task notifications reached the model.
    assert len(with_ticks) == 19
    assert sum(inputs[r].startswith("<task-notification>") for r in with_ticks) == 5
    assert sum(inputs[r].startswith("<command-") for r in with_ticks) == 1
    # Every run carries its session; the 8 main sessions hold all the turns.
    assert all(r["session_id"] for r in runs)
    assert len({r["session_id"] for r in turns}) == 8


def test_time_between_turns_belongs_to_no_run(spotter_db: Path) -> None:
    ran = run_cli("sessions", "--db", spotter_db, "--json")
    assert ran.exit_code == 0, ran.stderr
    sessions = {s["session_id"]: s for s in ran.json()["sessions"]}
    # 4d5611e5: three turns over five hours, most of it waiting for the user.
    s = sessions["4d5611e5-241a-462a-8d15-5122611a9569"]
    assert s["turns"] == 3 and s["subagent_runs"] == 2
    assert s["elapsed_ms"] > 5 * 3600_000 > s["active_ms"]
    turns = [
        r
        for r in runs_json(spotter_db)
        if r["session_id"] == s["session_id"] and r["parent_run_id"] is None
    ]
    assert s["active_ms"] == pytest.approx(sum(r["wall_ms"] for r in turns))
    detail = run_cli("sessions", "4d5611e5", "--db", spotter_db, "--json").json()
    assert detail["session_id"] == s["session_id"]
    ids = [r["run_id"] for r in detail["runs"]]
    # each subagent run is listed right after the turn that spawned it
    for i, r in enumerate(detail["runs"]):
        if r["parent_run_id"]:
            assert r["parent_run_id"] in ids[:i]


def test_codex_threads_split_at_user_messages(tmp_path: Path) -> None:
    db = tmp_path / "codex.duckdb"
    ingest_json(db, CODEX)
    runs = runs_json(db)
    thread = "019e1625-789d-76c0-80ab-3724b5ddb799"
    turns = sorted((r for r in runs if r["session_id"] == thread), key=lambda r: r["started_at"])
    # Two user messages, each under its Codex turn_id.
    assert [r["run_id"] for r in turns] == [
        "019e1625-d031-75e3-a85f-f143e43c0d84",
        "019e162b-0011-7240-abbc-f7b732e49728",
    ]
    assert [r["ticks"] for r in turns] == [3, 63]


def test_a_turns_verdict_and_saving_do_not_depend_on_other_runs(
    spotter_db: Path, mixed_db: Path
) -> None:
    alone, mixed = diagnosis(spotter_db), diagnosis(mixed_db)
    assert len(mixed) > len(alone) >= 30
    for run_id, run in alone.items():
        other = mixed[run_id]
        assert (run["bottleneck"], run["saving_usd"], run["saving_ms"]) == (
            other["bottleneck"],
            other["saving_usd"],
            other["saving_ms"],
        ), run_id
        assert {f["kind"] for f in run["findings"]} - {"batching_candidate"} == {
            f["kind"] for f in other["findings"]
        } - {"batching_candidate"}


def test_every_too_many_ticks_saving_is_waste_the_turn_shows(mixed_db: Path) -> None:
    waste = ("failed attempt", "repeated a call", "single-call tick")
    seen = 0
    for run in diagnosis(mixed_db).values():
        if run["source"] not in ("claude-code", "codex"):
            continue
        for f in run["findings"]:
            if f["kind"] == "too_many_ticks" and f["saving_usd"] is not None:
                seen += 1
                assert f["ticks"], f
                assert any(w in f["evidence"] for w in waste), f["evidence"]
                assert "iteration cap" not in f["lever"]
                assert f["saving_usd"] < 0.5 * run["cost_usd"]
    assert seen > 0


def test_turns_whose_history_dominates_get_context_growth(mixed_db: Path) -> None:
    grown = [r for r in diagnosis(mixed_db).values() if r["bottleneck"] == "context_growth"]
    assert {r["source"] for r in grown} >= {"claude-code", "codex"}
    for r in grown:
        assert 0 < r["saving_usd"] < r["cost_usd"]
        (f,) = [f for f in r["findings"] if f["kind"] == "context_growth"]
        assert "history is" in f["evidence"] and "compacting" in f["evidence"]


def test_read_write_ratio_is_reported_where_cache_counts_are(mixed_db: Path) -> None:
    for r in runs_json(mixed_db):
        reported = r["cache_read_tokens"] is not None or r["cache_write_tokens"] is not None
        if reported and (r["cache_write_tokens"] or 0) > 0:
            assert r["cache_read_write_ratio"] is not None, r["run_id"]
        if not reported:
            assert r["cache_read_write_ratio"] is None, r["run_id"]


def test_golden_diagnosis_of_one_real_turn(
    spotter_db: Path, request: pytest.FixtureRequest
) -> None:
    """`diagnose RUN` at 80 columns on a real Claude Code turn: review a diff like code
    (`pytest --update-golden` rewrites it)."""
    ran = run_cli("diagnose", "212245f4", "--db", spotter_db, columns=80)
    assert ran.exit_code == 0, ran.stderr
    assert max(len(line) for line in ran.stdout.splitlines()) <= 80
    golden = GOLDEN / "diagnose_spotter_turn_80.txt"
    if request.config.getoption("--update-golden"):
        golden.write_text(ran.stdout)
    assert ran.stdout == golden.read_text()
