"""Provider API response logs: Anthropic (disjoint, 5m/1h writes), OpenAI Chat and Responses
(inclusive), Gemini (thoughts added to output). Numbers: fixtures/api_logs/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURES, ingest_json, run_cli, runs_json

LOG = FIXTURES / "api_logs" / "responses.jsonl"


def tick_rows(db: Path) -> dict[str, tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "select model, provider, input_uncached_tokens, cache_read_tokens, cache_write_5m_tokens,"
        " cache_write_1h_tokens, output_tokens, reasoning_tokens, latency_ms, input_provenance,"
        " cost_usd from ticks"
    ).fetchall()
    con.close()
    return {r[0]: r[1:] for r in rows}


def test_each_provider_usage_shape(db: Path) -> None:
    out = ingest_json(db, LOG)
    # Six lines: four responses, one non-response line, one response logged twice.
    assert (out["records"], out["records_skipped"], out["spans"]) == (6, 1, 4)
    t = tick_rows(db)
    assert t["claude-sonnet-4-5-20250929"][:9] == (
        "anthropic", 12, 11000, 400, 600, 420, None, 1500.0, "reported_disjoint",
    )  # fmt: skip
    # prompt 2000 of which 1024 cached.
    assert t["gpt-4o-2024-08-06"][:9] == (
        "openai", 976, 1024, None, None, 300, 0, 800.0, "derived_from_inclusive",
    )  # fmt: skip
    # Responses: input 5000 of which 4000 cached; latency from created_at → completed_at.
    assert t["gpt-5"][:8] == ("openai", 1000, 4000, None, None, 900, 600, 3000.0)
    # Gemini: output = candidates 200 + thoughts 150.
    assert t["gemini-2.5-flash"][:7] == ("google", 2000, 1000, None, None, 350, 150)
    costs = {m: row[-1] for m, row in t.items()}
    assert costs["claude-sonnet-4-5-20250929"] == pytest.approx(
        (12 * 3 + 400 * 3.75 + 600 * 6 + 11000 * 0.3 + 420 * 15) / 1e6
    )
    assert costs["gpt-4o-2024-08-06"] == pytest.approx((976 * 2.5 + 1024 * 1.25 + 300 * 10) / 1e6)
    assert costs["gpt-5"] == pytest.approx((1000 * 1.25 + 4000 * 0.125 + 900 * 10) / 1e6)


def test_grouped_by_session_else_by_file(db: Path) -> None:
    ingest_json(db, LOG)
    runs = {r["run_id"]: r for r in runs_json(db, "--source", "api-log")}
    assert runs["conv-1"]["ticks"] == 2
    (other,) = [r for r in runs.values() if r["run_id"] != "conv-1"]
    assert other["run_id"].startswith("api-log-") and other["ticks"] == 2


def test_bad_line_quarantined(db: Path) -> None:
    ingest_json(db, LOG)
    rows = run_cli("quarantine", "--db", db, "--json").json()["quarantine"]
    assert [(Path(r["path"]).name, r["line"]) for r in rows] == [("responses.jsonl", 5)]


def test_single_pretty_printed_response(db: Path, tmp_path: Path) -> None:
    body = json.loads(LOG.read_text().splitlines()[2])
    path = tmp_path / "resp.json"
    path.write_text(json.dumps(body, indent=2))
    out = ingest_json(db, path)
    assert (out["records"], out["spans"]) == (1, 1)
    assert tick_rows(db)["gpt-5"][5] == 900


def test_bad_token_count_is_quarantined(db: Path, tmp_path: Path) -> None:
    lines = LOG.read_text().splitlines()
    broken = json.loads(lines[2])
    broken["usage"]["output_tokens"] = "many"
    path = tmp_path / "log.jsonl"
    path.write_text(lines[0] + "\n" + json.dumps(broken) + "\n")
    out = ingest_json(db, path)
    assert (out["records"], out["records_skipped"], out["spans"]) == (2, 1, 1)
    assert "is not a token count" in out["skipped_examples"][0]
