"""Costs: by hand from published prices, against genai-prices as an independent oracle, with
>200k tiers, a user price file, and unknown models (NULL cost, one warning)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from genai_prices import Usage, calc_price

from tests.conftest import FIXTURES, ingest_json, run_cli, runs_json, ticks_json
from tests.otlp_builder import chat_trace

TRACE = "0123456789abcdef0123456789abcdef"


def test_anthropic_cost_by_hand_with_cache_reads_and_writes(tmp_path, db):
    # Claude Sonnet 4.5, published prices per MTok: input $3, 5m cache write $3.75,
    # cache read $0.30, output $15. 1k uncached + 8k read + 1k written, 500 out:
    # 0.003 + 0.0024 + 0.00375 + 0.0075 = $0.01665
    usage = {
        "model": "claude-sonnet-4-5",
        "input": 10_000,
        "cache_read": 8_000,
        "cache_write": 1_000,
        "output": 500,
    }
    ingest_json(db, chat_trace(tmp_path / "t.json", TRACE, [usage]))
    (tick,) = ticks_json(db, TRACE)
    assert tick["input_uncached_tokens"] == 1_000
    assert tick["cache_write_5m_tokens"] == 1_000
    assert tick["cost_usd"] == pytest.approx(0.01665)


def test_openai_cost_by_hand_with_cached_input(tmp_path, db):
    # GPT-4o per MTok: input $2.50, cached input $1.25, output $10. 10k prompt of which 8k cached,
    # 500 out: 2k × 2.5 + 8k × 1.25 + 500 × 10 = 0.005 + 0.01 + 0.005 = $0.02
    usage = {
        "model": "gpt-4o",
        "provider": "openai",
        "input": 10_000,
        "cache_read": 8_000,
        "output": 500,
    }
    ingest_json(db, chat_trace(tmp_path / "t.json", TRACE, [usage]))
    (tick,) = ticks_json(db, TRACE)
    assert tick["cache_write_5m_tokens"] is None  # not reported, not zero
    assert tick["cost_usd"] == pytest.approx(0.02)


def test_a_prompt_over_200k_tokens_pays_the_long_context_tier_on_every_token(tmp_path, db):
    # Sonnet 4.5 above 200k input: $6 input, $22.50 output per MTok on the whole request.
    usage = {"model": "claude-sonnet-4-5", "input": 300_000, "output": 1_000}
    ingest_json(db, chat_trace(tmp_path / "t.json", TRACE, [usage]))
    (tick,) = ticks_json(db, TRACE)
    assert tick["cost_usd"] == pytest.approx(300_000 * 6 / 1e6 + 1_000 * 22.5 / 1e6)  # $1.8225


MODELS = [
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-haiku-4-5"),
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-5"),
    ("openai", "o3"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("anthropic", "claude-3-haiku"),
]


def test_costs_agree_with_genai_prices_on_random_usage(tmp_path, db):
    rng = random.Random(7)
    usages = []
    for _ in range(60):
        provider, model = rng.choice(MODELS)
        total = rng.choice(
            [rng.randint(0, 5_000), rng.randint(5_000, 190_000), rng.randint(200_001, 400_000)]
        )
        read = rng.randint(0, total // 2)
        write = rng.randint(0, (total - read) // 2)
        usages.append(
            {
                "provider": provider,
                "model": model,
                "input": total,
                "cache_read": read,
                "cache_write": write,
                "output": rng.randint(0, 8_000),
            }
        )
    ingest_json(db, chat_trace(tmp_path / "t.json", TRACE, usages))
    ticks = ticks_json(db, TRACE)
    for tick, u in zip(ticks, usages, strict=True):
        when = datetime.fromisoformat(tick["started_at"].replace("Z", "+00:00")).astimezone(UTC)
        oracle = calc_price(
            Usage(
                input_tokens=u["input"],
                cache_read_tokens=u["cache_read"],
                cache_write_tokens=u["cache_write"],
                output_tokens=u["output"],
            ),
            u["model"],
            provider_id=u["provider"],
            genai_request_timestamp=when,
        )
        assert tick["cost_usd"] == pytest.approx(float(oracle.total_price), rel=1e-9, abs=1e-12), (
            u,
            tick,
        )


def test_an_unknown_model_gets_a_null_cost_and_one_warning(tmp_path, db):
    usages = [{"provider": "acme", "model": "acme-llm-9000", "input": 100, "output": 10}] * 3
    ran = run_cli("ingest", "--db", db, chat_trace(tmp_path / "t.json", TRACE, usages))
    assert ran.exit_code == 0
    assert ran.stderr.count("no price for model acme/acme-llm-9000") == 1
    assert [t["cost_usd"] for t in ticks_json(db, TRACE)] == [None, None, None]
    (run,) = runs_json(db)
    assert run["cost_usd"] is None
    assert run["unpriced_ticks"] == 3


def test_a_user_price_file_overrides_and_adds_models_with_tiers(tmp_path, db):
    prices = tmp_path / "prices.toml"
    prices.write_text(
        """
[[price]]
provider = "acme"
model = "acme-llm-*"
input = 1.0
output = 2.0
cache_read = 0.5
cache_write = 1.5
[[price.tier]]
above_input_tokens = 1000
input = 10.0
output = 20.0

[[price]]
model = "claude-sonnet-4-5"
valid_from = "2020-01-01"
input = 100.0
output = 100.0
"""
    )
    usages = [
        {
            "provider": "acme",
            "model": "acme-llm-9000",
            "input": 1_000,
            "cache_read": 400,
            "cache_write": 100,
            "output": 100,
        },
        {"provider": "acme", "model": "acme-llm-9000", "input": 2_000, "output": 100},
        {"model": "claude-sonnet-4-5", "input": 1_000, "output": 1_000},
    ]
    ran = run_cli(
        "ingest", "--db", db, "--prices", prices, chat_trace(tmp_path / "t.json", TRACE, usages)
    )
    assert ran.exit_code == 0, ran.stderr
    costs = [t["cost_usd"] for t in ticks_json(db, TRACE)]
    # 1: base tier (1,000 is not above 1,000): 500×1 + 400×0.5 + 100×1.5 + 100×2 per MTok.
    # 2: above the tier: cache prices fall back to the tier's input; 2,000×10 + 100×20.
    # 3: the file wins over genai-prices: 1,000×100 + 1,000×100.
    assert costs == pytest.approx(
        [(500 + 200 + 150 + 200) / 1e6, (20_000 + 2_000) / 1e6, 200_000 / 1e6]
    )


def test_a_broken_price_file_is_a_clear_error(tmp_path, db):
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmodel = "x"\ninput = "cheap"\noutput = 1\n')
    ran = run_cli("ingest", "--db", db, "--prices", prices, tmp_path)
    assert ran.exit_code == 1
    assert (
        ran.stderr.strip()
        == f"error: {prices}: [[price]] #1: input must be a non-negative number of USD per 1M "
        "tokens"
    )


def test_an_unreadable_or_malformed_price_file_is_a_clear_error(tmp_path, db):
    trace = FIXTURES / "otlp" / "genai_current.json"
    missing = tmp_path / "missing.toml"
    ran = run_cli("ingest", "--db", db, "--prices", missing, trace)
    assert ran.exit_code == 1
    assert ran.stderr.startswith(f"error: {missing}: cannot read (")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[price]\nmodel = 1\n")
    ran = run_cli("ingest", "--db", db, "--prices", broken, trace)
    assert ran.exit_code == 1
    assert ran.stderr.startswith(f"error: {broken}: not valid TOML (")
    assert not db.exists() or runs_json(db) == []
