"""SWE-agent `.traj` files and OpenHands evaluation output (../shared/realdata/public/
trajectories), and the Claude Code OTel event sample: every expected number is computed here from
the file itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REALDATA, ingest_json, run_cli, runs_json, ticks_json

TRAJ = REALDATA / "public" / "trajectories"
OPENHANDS = TRAJ / "openhands" / "output.jsonl"
SWE = sorted((TRAJ / "swe-agent").glob("*/*.traj"))
OTEL_SAMPLE = REALDATA / "public" / "claude-code-otel" / "otel-events.sample.jsonl"

pytestmark = pytest.mark.skipif(not TRAJ.is_dir(), reason="../shared/realdata is not beside")


def openhands_runs() -> list[dict[str, Any]]:
    return [json.loads(line) for line in OPENHANDS.read_text().splitlines() if line.strip()]


def by_session(db: Path) -> dict[str, dict[str, Any]]:
    return {r["session_id"]: r for r in runs_json(db)}


# --------------------------------------------------------------------------- OpenHands


def test_each_openhands_instance_is_a_run_with_a_tick_per_model_call(db: Path) -> None:
    summary = ingest_json(db, OPENHANDS)
    assert summary["records_skipped"] == 0
    runs = by_session(db)
    expected = openhands_runs()
    assert set(runs) == {d["instance_id"] for d in expected}
    for d in expected:
        r = runs[d["instance_id"]]
        usages = d["metrics"]["token_usages"]
        assert r["source"] == "openhands"
        # Every call with a latency is a tick, with or without a token record.
        assert r["ticks"] == len(d["metrics"]["response_latencies"])
        assert r["input_uncached_tokens"] == sum(u["prompt_tokens"] for u in usages)
        assert r["output_tokens"] == sum(u["completion_tokens"] for u in usages)
        assert (
            r["input_uncached_tokens"] == d["metrics"]["accumulated_token_usage"]["prompt_tokens"]
        )


def test_an_openhands_call_without_a_token_record_is_a_tick_with_null_tokens(db: Path) -> None:
    ingest_json(db, OPENHANDS)
    runs = by_session(db)
    checked = 0
    for d in openhands_runs():
        with_tokens = {u["response_id"] for u in d["metrics"]["token_usages"]}
        missing = [
            c for c in d["metrics"]["response_latencies"] if c["response_id"] not in with_tokens
        ]
        ticks = ticks_json(db, runs[d["instance_id"]]["run_id"])
        null = [t for t in ticks if t["output_tokens"] is None]
        assert len(null) == len(missing)
        checked += len(missing)
    assert checked == 2  # ponyc-4593 and ponyc-4588 each have one


def test_openhands_ticks_last_their_reported_latency_and_end_at_the_action_in_utc(
    db: Path,
) -> None:
    ingest_json(db, OPENHANDS)
    d = openhands_runs()[0]
    (run,) = [r for r in runs_json(db) if r["session_id"] == d["instance_id"]]
    ticks = ticks_json(db, run["run_id"])
    latencies = [c["latency"] for c in d["metrics"]["response_latencies"]]
    assert [round(t["latency_ms"]) for t in ticks] == [round(x * 1000) for x in latencies]
    # History times are local (UTC+8 here, inferred from the responses' `created`): the first
    # action event ends the first tick, shifted to UTC.
    first_action = next(e for e in d["history"] if e.get("tool_call_metadata"))
    created = first_action["tool_call_metadata"]["model_response"]["created"]
    local = datetime.fromisoformat(first_action["timestamp"]).replace(tzinfo=UTC)
    offset_h = round((local.timestamp() - created) / 3600)
    assert offset_h == 8
    end = local.timestamp() - offset_h * 3600
    assert ticks[0]["started_at"].startswith(
        datetime.fromtimestamp(end - latencies[0], UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_openhands_tool_calls_are_actions_with_an_observation(db: Path) -> None:
    ingest_json(db, OPENHANDS)
    runs = by_session(db)
    for d in openhands_runs():
        causes = {str(e.get("cause")) for e in d["history"] if "observation" in e}
        tools = [
            e
            for e in d["history"]
            if "action" in e and e.get("tool_call_metadata") and str(e["id"]) in causes
        ]
        assert runs[d["instance_id"]]["tool_calls"] == len(tools)
        assert runs[d["instance_id"]]["tool_calls"] > 20


# --------------------------------------------------------------------------- SWE-agent


@pytest.mark.parametrize("path", SWE, ids=[p.stem for p in SWE])
def test_a_swe_agent_trajectory_is_one_run_with_its_reported_totals_and_no_made_up_ticks(
    path: Path, db: Path
) -> None:
    ingest_json(db, path)
    stats = json.loads(path.read_text())["info"]["model_stats"]
    (r,) = runs_json(db)
    assert (r["source"], r["session_id"]) == ("swe-agent", path.stem)
    assert r["ticks"] == 1  # one aggregate: the file has no per-call record
    assert r["tool_calls"] == 0  # and no times for its actions
    assert r["input_uncached_tokens"] == stats["tokens_sent"]
    assert r["output_tokens"] == stats["tokens_received"]
    assert r["reported_cost_usd"] == pytest.approx(stats["instance_cost"])
    assert r["wall_ms"] is None  # no times: not reported, not 0 ms


def test_swe_agent_model_comes_from_the_replay_config_else_the_run_folder(db: Path) -> None:
    ingest_json(db, *SWE)
    models = {r["session_id"]: r["models"] for r in runs_json(db)}
    for path in SWE:
        config = json.loads(path.read_text()).get("replay_config")
        want = config["agent"]["model"]["name"] if config else path.parent.name.split("__")[0]
        assert models[path.stem] == want
    assert sorted(models.values()) == ["gpt-4o", "gpt4", "gpt4"]


def test_a_trajectories_folder_ingests_and_reports_the_predictions_file_as_skipped(
    db: Path,
) -> None:
    ran = run_cli("ingest", "--db", db, TRAJ, "--json")
    assert ran.exit_code == 0, ran.stderr
    summary = ran.json()
    assert summary["files"] == 1 + len(SWE)  # output.jsonl and the .traj files
    (preds,) = TRAJ.glob("swe-agent/*/all_preds.jsonl")
    skipped = [w for w in summary["warnings"] if w.startswith("skipped")]
    assert skipped == [f"skipped 1 file in folders (1 not a format agentprof reads): {preds}"]
    assert f"warning: {skipped[0]}" in ran.stderr.splitlines()
    assert summary["runs"] == len(openhands_runs()) + len(SWE)


def test_swe_bench_predictions_named_explicitly_are_refused_with_what_they_are(db: Path) -> None:
    (preds,) = TRAJ.glob("swe-agent/*/all_preds.jsonl")
    ran = run_cli("ingest", "--db", db, preds)
    assert ran.exit_code == 1
    assert ran.stderr.splitlines()[0] == (
        f"error: {preds}: not a format agentprof reads (SWE-bench predictions: a patch per "
        "instance, with no model calls, tokens or times; the run's .traj files hold its model "
        "statistics)"
    )


# --------------------------------------------------------------------------- Claude Code OTel


def test_the_claude_code_otel_event_sample_becomes_session_runs(db: Path) -> None:
    summary = ingest_json(db, OTEL_SAMPLE)
    events = [json.loads(line) for line in OTEL_SAMPLE.read_text().splitlines() if line.strip()]
    logs = [e for e in events if e["_type"] == "log"]
    assert summary["records"] == len(logs)
    requests = [e["attrs"] for e in logs if e["name"] == "api_request"]
    results = [e["attrs"] for e in logs if e["name"] == "tool_result"]
    runs = by_session(db)
    assert set(runs) == {a["session.id"] for a in requests}
    for session, r in runs.items():
        mine = [a for a in requests if a["session.id"] == session]
        assert r["source"] == "claude-code-otel"
        assert r["ticks"] == len(mine)
        assert r["tool_calls"] == len([a for a in results if a["session.id"] == session])
        assert r["input_uncached_tokens"] == sum(a["input_tokens"] for a in mine)
        assert r["output_tokens"] == sum(a["output_tokens"] for a in mine)
        assert r["cache_read_tokens"] == sum(a["cache_read_tokens"] for a in mine)
        assert r["cache_write_tokens"] == sum(a["cache_creation_tokens"] for a in mine)
        assert r["reported_cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in mine))
