"""Resolve USD-per-million-token rates per (provider, model, hour): the user's price file first,
then genai-prices' offline snapshot. SQL (`ingest/price_ticks`) multiplies them by the buckets."""

from __future__ import annotations

import fnmatch
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentprof.errors import PriceFileError, read_toml

TOKEN_CLASSES = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
if TYPE_CHECKING:
    from genai_prices.types import TieredPrices

# genai-prices is imported where a price is first looked up, not at start-up: a re-run with
# nothing new to price should not pay for loading its price tables.
GENAI_PRICES_SOURCE = f"genai-prices {version('genai-prices')}"

# (tier_start, usd_per_mtok) pairs; tier_start 0 is the base rate.
Rates = dict[str, list[tuple[int, float]]]


@dataclass(frozen=True)
class PriceRule:
    """One [[price]] entry of a user price file (USD per 1M tokens)."""

    model_glob: str | None
    model_regex: re.Pattern[str] | None
    provider: str | None
    valid_from: date | None
    valid_to: date | None
    rates: Rates

    def matches(self, provider: str, model: str, at: datetime) -> bool:
        if self.provider and self.provider.lower() != provider.lower():
            return False
        if self.model_glob is not None and not fnmatch.fnmatchcase(
            model.lower(), self.model_glob.lower()
        ):
            return False
        if self.model_regex is not None and not self.model_regex.search(model):
            return False
        day = at.date()
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day >= self.valid_to)


@dataclass
class PriceBook:
    rules: list[PriceRule] = field(default_factory=list)
    source: str = ""

    def lookup(
        self, provider: str, model: str, at: datetime
    ) -> tuple[Rates | None, str, str | None, str | None]:
        """Rates, their source and the (provider, model) they resolved to; None rates if unknown."""
        for rule in self.rules:
            if rule.matches(provider, model, at):
                return rule.rates, f"price file {self.source}", provider or None, model
        found = _genai_prices_rates(provider, model, at)
        if found[0] is None and "/" in model:
            # A router's id (LiteLLM, OpenRouter: `openai/gpt-4o-mini`): the model after the route,
            # priced at the provider the route names when the span named none.
            route, _, bare = model.rpartition("/")
            return self.lookup(provider or route.rsplit("/", 1)[-1], bare, at)
        return found


def _class_rates(entry: dict[str, Any], where: str) -> dict[str, float]:
    out: dict[str, float] = {}
    aliases = {"cache_write": "cache_write_5m"}
    for key, value in entry.items():
        cls = aliases.get(key, key)
        if cls not in TOKEN_CLASSES:
            continue
        if not isinstance(value, int | float) or value < 0:
            raise PriceFileError(where, f"{key} must be a non-negative number of USD per 1M tokens")
        out[cls] = float(value)
    return out


def _with_fallbacks(base: dict[str, float | None]) -> dict[str, float]:
    # genai-prices bills a token class with no price of its own at the next broader rate:
    # a 1h cache write as a 5m write, a cache write or read as plain input.
    out: dict[str, float] = {}
    inp = base.get("input")
    if inp is None or base.get("output") is None:
        return {k: v for k, v in base.items() if v is not None}
    out["input"] = inp
    out["output"] = base["output"]  # type: ignore[assignment]
    out["cache_read"] = base.get("cache_read") if base.get("cache_read") is not None else inp  # type: ignore[assignment]
    w5 = base.get("cache_write_5m")
    out["cache_write_5m"] = w5 if w5 is not None else inp
    w1 = base.get("cache_write_1h")
    out["cache_write_1h"] = w1 if w1 is not None else out["cache_write_5m"]
    return out


def load_price_file(path: Path) -> PriceBook:
    entries = read_toml(path, PriceFileError).get("price", [])
    if not isinstance(entries, list):
        raise PriceFileError(str(path), "expected [[price]] tables")
    rules: list[PriceRule] = []
    for i, entry in enumerate(entries, 1):
        where = f"{path}: [[price]] #{i}"
        model = entry.get("model")
        regex = entry.get("model_regex")
        if not model and not regex:
            raise PriceFileError(where, "needs `model` (a glob) or `model_regex`")
        base = _class_rates(entry, where)
        if "input" not in base or "output" not in base:
            raise PriceFileError(where, "needs at least `input` and `output` prices")
        rates: Rates = {cls: [(0, v)] for cls, v in _with_fallbacks(dict(base)).items()}
        for tier in entry.get("tier", []):
            start = tier.get("above_input_tokens")
            if not isinstance(start, int) or start <= 0:
                raise PriceFileError(
                    where, "each [[price.tier]] needs a positive above_input_tokens"
                )
            tier_rates = _with_fallbacks({**base, **_class_rates(tier, where)})
            for cls, v in tier_rates.items():
                rates.setdefault(cls, []).append((start, v))
        try:
            compiled = re.compile(regex) if regex else None
        except re.error as exc:
            raise PriceFileError(where, f"model_regex does not compile ({exc})") from exc
        rules.append(
            PriceRule(
                model_glob=model or None,
                model_regex=compiled,
                provider=entry.get("provider") or None,
                valid_from=_date(entry.get("valid_from"), where),
                valid_to=_date(entry.get("valid_to"), where),
                rates=rates,
            )
        )
    return PriceBook(rules=rules, source=str(path))


def _date(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PriceFileError(where, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _decimal_rates(price: Decimal | TieredPrices | None) -> list[tuple[int, float]] | None:
    if price is None:
        return None
    from genai_prices.types import TieredPrices

    if isinstance(price, TieredPrices):
        return [(0, float(price.base))] + [(t.start, float(t.price)) for t in price.tiers]
    return [(0, float(price))]


def _genai_calc(provider: str | None, model: str, at: datetime) -> Any:
    """genai-prices' answer for one token of each kind (None when it knows no such model): the
    provider it was asked for first, then any provider."""
    from genai_prices import Usage, calc_price

    stamp = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    for provider_id in [provider, None] if provider else [None]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return calc_price(
                    Usage(input_tokens=1, output_tokens=1),
                    model,
                    provider_id=provider_id,
                    genai_request_timestamp=stamp,
                )
        except (LookupError, ValueError):
            continue
    return None


def _genai_prices_rates(
    provider: str, model: str, at: datetime
) -> tuple[Rates | None, str, str | None, str | None]:
    calc = _genai_calc(provider, model, at)
    if calc is None:
        return None, "unpriced", None, None
    mp = calc.model_price
    base = {
        "input": _decimal_rates(mp.input_mtok),
        "output": _decimal_rates(mp.output_mtok),
        "cache_read": _decimal_rates(mp.cache_read_mtok),
        "cache_write_5m": _decimal_rates(mp.cache_write_mtok),
        "cache_write_1h": _decimal_rates(mp.cache_write_1h_mtok),
    }
    if base["input"] is None or base["output"] is None:
        return None, "unpriced", calc.provider.id, calc.model.id
    fallback = {
        "cache_read": "input",
        "cache_write_5m": "input",
        "cache_write_1h": "cache_write_5m",
    }
    for cls in ("cache_read", "cache_write_5m", "cache_write_1h"):
        if base[cls] is None:
            base[cls] = base[fallback[cls]]
    rates: Rates = {cls: v for cls, v in base.items() if v is not None}
    return rates, GENAI_PRICES_SOURCE, calc.provider.id, calc.model.id


def context_window(provider: str | None, model: str | None, at: datetime) -> int | None:
    """The model's context window in tokens as genai-prices knows it (None when it does not):
    the diagnosis reads it to see a prompt approaching the window."""
    calc = _genai_calc(provider, model, at) if model else None
    window = calc.model.context_window if calc is not None else None
    return window if isinstance(window, int) else None


def rate_rows(
    provider: str, model: str, hour: datetime, rates: Rates, source: str
) -> list[dict[str, Any]]:
    return [
        {
            "provider": provider,
            "model": model,
            "hour": hour,
            "token_class": cls,
            "tier_start": start,
            "usd_per_mtok": usd,
            "price_source": source,
        }
        for cls, tiers in rates.items()
        for start, usd in tiers
    ]
