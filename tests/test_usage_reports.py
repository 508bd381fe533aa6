"""Organisation usage reports: buckets stored apart from ticks, `agentprof usage` by
model/day/key, reconciliation against the tick ledger. Numbers: fixtures/usage_reports/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ingest_json, run_cli

REPORTS = FIXTURES / "usage_reports"


def usage(db: Path, by: str = "model") -> dict[str, object]:
    ran = run_cli("usage", "--db", db, "--by", by, "--json")
    assert ran.exit_code == 0, ran.stderr
    return ran.json()  # type: ignore[no-any-return]


def test_reports_are_buckets_not_ticks(db: Path) -> None:
    out = ingest_json(db, REPORTS)
    # 2 + 1 + 1 + 1 results, 2 LiteLLM rows (one with a bad spend).
    assert (out["files"], out["records"], out["records_skipped"]) == (5, 7, 1)
    assert (out["ticks"], out["spans"]) == (0, 0)
    assert "litellm_spend_logs.jsonl:2: bad litellm record" in out["skipped_examples"][0]
    rows = {r["group"]: r for r in usage(db)["usage"]}  # type: ignore[union-attr]
    gpt = rows["gpt-5-2025-08-07"]
    # OpenAI input 12,010 includes 11,000 cached: 1,010 uncached; cost from the Costs API.
    assert (gpt["input_uncached_tokens"], gpt["cache_read_tokens"], gpt["output_tokens"]) == (
        1010, 11000, 420,
    )  # fmt: skip
    assert gpt["cost_usd"] == pytest.approx(0.06) and gpt["requests"] == 3
    sonnet = rows["claude-sonnet-4-5-20250929"]
    # Anthropic report 18 + LiteLLM (12,010 − 11,000 read − 1,000 write) = 28 uncached.
    assert sonnet["input_uncached_tokens"] == 28
    assert sonnet["cache_write_tokens"] == 600 + 600 + 1000
    # Anthropic's cost report amount is in cents: "1.1154" = $0.011154; LiteLLM spend $0.0213.
    assert sonnet["cost_usd"] == pytest.approx(0.011154 + 0.0213)


def test_by_day_and_key(db: Path) -> None:
    ingest_json(db, REPORTS)
    days = {r["group"]: r for r in usage(db, "day")["usage"]}  # type: ignore[union-attr]
    assert list(days) == ["2026-03-01"]
    keys = {r["group"] for r in usage(db, "key")["usage"]}  # type: ignore[union-attr]
    assert {"apikey_01demo", "key_1", "88dc28d0", "proj_abc", "wrkspc_01demo"} == keys


def test_reconciliation_against_the_ledger(db: Path) -> None:
    # The Anthropic reports for 2026-03-01 and the Claude Code fixture session of that day.
    ingest_json(
        db,
        REPORTS / "anthropic_usage_report.json",
        REPORTS / "anthropic_cost_report.json",
        FIXTURES / "claude_code",
    )
    recon = {r["model"]: r for r in usage(db)["reconciliation"]}  # type: ignore[union-attr]
    sonnet = recon["claude-sonnet-4-5-20250929"]
    # 18 + 8,000 + 600 + 600 input, 190 output, $0.011154 on both sides.
    assert (sonnet["report_input_tokens"], sonnet["ledger_input_tokens"]) == (9218, 9218)
    assert (sonnet["report_output_tokens"], sonnet["ledger_output_tokens"]) == (190, 190)
    assert sonnet["report_cost_usd"] == pytest.approx(sonnet["ledger_cost_usd"])
    assert sonnet["status"] == "match"
    # The report bills 150 haiku input tokens; the subagent transcript shows 100: a finding.
    haiku = recon["claude-haiku-4-5-20251001"]
    assert (haiku["report_input_tokens"], haiku["ledger_input_tokens"]) == (150, 100)
    assert haiku["status"] == "mismatch"


def test_newer_page_replaces_the_same_bucket(db: Path, tmp_path: Path) -> None:
    ingest_json(db, REPORTS / "anthropic_usage_report.json")
    doc = json.loads((REPORTS / "anthropic_usage_report.json").read_text())
    doc["data"][0]["results"][1]["output_tokens"] = 9
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    ingest_json(db, newer)
    rows = {r["group"]: r for r in usage(db)["usage"]}  # type: ignore[union-attr]
    assert rows["claude-haiku-4-5-20251001"]["output_tokens"] == 9
    assert rows["claude-sonnet-4-5-20250929"]["output_tokens"] == 190


def test_usage_table_and_empty_database(db: Path) -> None:
    ingest_json(db, FIXTURES / "codex")
    empty = run_cli("usage", "--db", db)
    assert empty.exit_code == 0 and "no usage reports" in empty.stderr
    ingest_json(db, REPORTS)
    ran = run_cli("usage", "--db", db, "--by", "day")
    assert ran.exit_code == 0 and "2026-03-01" in ran.stdout
    assert run_cli("usage", "--db", db, "--by", "week").exit_code == 2
