"""Names from the GenAI semantic conventions' own repository (v0.1.0) and Sentry's, read beside
the older spellings; TTFT in seconds or milliseconds; model ids behind a router prefix priced."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ingest_json, ticks_json
from tests.otlp_builder import span, write_trace

ROOT = "0" * 15 + "1"


def _one_call(tmp_path: Path, name: str, trace: str, **attrs: object) -> list[dict[str, object]]:
    spans = [
        span(trace, ROOT, "invoke_agent a", 0, 1000, gen_ai__operation__name="invoke_agent"),
        span(trace, "2".rjust(16, "0"), "chat", 0, 1000, ROOT, gen_ai__operation__name="chat",
             gen_ai__provider__name="openai", **attrs),
    ]  # fmt: skip
    db = tmp_path / f"{name}.duckdb"
    ingest_json(db, write_trace(tmp_path / f"{name}.json", spans))
    return ticks_json(db, trace)


def test_semconv_cache_write_and_sentry_cached_names(tmp_path: Path) -> None:
    (tick,) = _one_call(
        tmp_path, "semconv", "a1c0ffee".ljust(32, "0"),
        gen_ai__request__model="gpt-4o-mini", gen_ai__usage__input_tokens=1000,
        gen_ai__usage__output_tokens=10, gen_ai__usage__cache_write__input_tokens=300,
    )  # fmt: skip
    assert (tick["input_uncached_tokens"], tick["cache_write_5m_tokens"]) == (700, 300)
    (tick,) = _one_call(
        tmp_path, "sentry", "a2c0ffee".ljust(32, "0"),
        gen_ai__request__model="gpt-4o-mini", gen_ai__usage__input_tokens=1000,
        gen_ai__usage__output_tokens=10, **{"gen_ai.usage.input_tokens.cached": 600,
                                            "gen_ai.usage.input_tokens.cache_write": 100},
    )  # fmt: skip
    assert (tick["input_uncached_tokens"], tick["cache_read_tokens"]) == (300, 600)
    assert tick["cache_write_5m_tokens"] == 100


@pytest.mark.parametrize(("value", "ttft_ms"), [(0.25, 250.0), (250, 250.0), (5000, None)])
def test_time_to_first_token_in_seconds_or_milliseconds(
    tmp_path: Path, value: float, ttft_ms: float | None
) -> None:
    # The call lasts 1,000 ms: 0.25 is seconds, 250 milliseconds, 5,000 fits neither.
    (tick,) = _one_call(
        tmp_path, f"ttft{value}", "a3c0ffee".ljust(32, "0"),
        gen_ai__request__model="gpt-4o-mini", gen_ai__usage__input_tokens=10,
        gen_ai__usage__output_tokens=10, gen_ai__server__time_to_first_token=value,
    )  # fmt: skip
    assert tick["ttft_ms"] == ttft_ms


def test_a_router_prefixed_model_is_priced_as_the_model(tmp_path: Path) -> None:
    usage = {"gen_ai__usage__input_tokens": 1_000_000, "gen_ai__usage__output_tokens": 0}
    (plain,) = _one_call(
        tmp_path, "plain", "a4c0ffee".ljust(32, "0"), gen_ai__request__model="gpt-4o-mini", **usage
    )
    (routed,) = _one_call(
        tmp_path, "routed", "a5c0ffee".ljust(32, "0"),
        gen_ai__request__model="openai/gpt-4o-mini", **usage,
    )  # fmt: skip
    assert plain["cost_usd"] is not None
    assert routed["cost_usd"] == pytest.approx(plain["cost_usd"])
    assert routed["model"] == "openai/gpt-4o-mini"  # the id stays as the trace wrote it
