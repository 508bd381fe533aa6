"""Organisation usage reports: aggregates, not ticks (FORMATS.md §4.6, §4.7, §4.9). Stored as
rows of the `usage_buckets` table, one per (report kind, period, group):

- Anthropic Admin API usage report (`uncached_input_tokens`, `cache_read_input_tokens`,
  `cache_creation.ephemeral_{5m,1h}_input_tokens`, `output_tokens`; disjoint) and cost report
  (`amount` is a decimal string in **cents**).
- OpenAI Usage API completions pages (`input_tokens` includes cached and cache-write tokens) and
  Costs API pages (`amount.value` in USD).
- LiteLLM spend logs (`LiteLLM_SpendLogs` rows or `/spend/logs` output): one bucket per request,
  `spend` in USD, cache counts from `metadata.usage_object`.

A bucket's key hashes its kind, period and group, so a later page covering the same period
replaces the earlier one instead of adding to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import IO, Any

import duckdb
import orjson
import pyarrow as pa

from agentprof import sql
from agentprof.sources import agentlog, validate
from agentprof.sources.otlp import BadRecord

BUCKET_SCHEMA = pa.schema(
    [
        ("bucket_key", pa.string()),
        ("report", pa.string()),
        ("starting_at", pa.timestamp("us")),
        ("ending_at", pa.timestamp("us")),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("api_key", pa.string()),
        ("workspace", pa.string()),
        ("service_tier", pa.string()),
        ("line_item", pa.string()),
        ("requests", pa.int64()),
        ("input_uncached_tokens", pa.int64()),
        ("cache_read_tokens", pa.int64()),
        ("cache_write_5m_tokens", pa.int64()),
        ("cache_write_1h_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("line", pa.int64()),
    ]
)


class BadBucket(ValueError):
    pass


def _kind(doc: Any) -> str | None:
    if isinstance(doc, list):
        return "litellm" if doc and _is_litellm_row(doc[0]) else None
    if not isinstance(doc, dict):
        return None
    if _is_litellm_row(doc):
        return "litellm"
    data = doc.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    first = data[0]
    results = first.get("results")
    result = results[0] if isinstance(results, list) and results else {}
    if not isinstance(result, dict):
        return None
    if "starting_at" in first:
        return "anthropic-cost" if "amount" in result else "anthropic-usage"
    if first.get("object") == "bucket":
        obj = str(result.get("object", ""))
        if obj.startswith("organization.costs"):
            return "openai-costs"
        if obj.startswith("organization.usage"):
            return "openai-usage"
    if _is_litellm_row(first):
        return "litellm"
    return None


def _is_litellm_row(row: Any) -> bool:
    return isinstance(row, dict) and "request_id" in row and "spend" in row


def looks_like(doc: Any) -> bool:
    return _kind(doc) is not None


def _int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadBucket(f"{what} {str(value)[:40]!r} is not a token count")
    return int(value)


def _money(value: Any, what: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadBucket(f"{what} {str(value)[:40]!r} is not an amount") from None


def _ts(value: Any, what: str) -> datetime:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
        ns = agentlog.iso_ns(value)
        if ns is not None:
            return datetime.fromtimestamp(ns / 1e9, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        pass
    raise BadBucket(f"{what} {str(value)[:40]!r} is not a time in 1970..2200")


_TEXT_FIELDS = [f.name for f in BUCKET_SCHEMA if pa.types.is_string(f.type)]


def _check_row(row: dict[str, Any]) -> None:
    """The shared ranges (validate.py) for a bucket: ids as text (a number is written as text),
    counts whole and in 0..10^12, cost finite and >= 0, times in 1970..2200, end >= start."""
    for name in _TEXT_FIELDS:
        value = row.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            row[name] = str(value)
        elif value is not None and not isinstance(value, str):
            raise BadBucket(f"{name} {str(value)[:40]!r} is not text")
        if isinstance(row[name], str):
            try:
                row[name].encode("utf-8")
            except UnicodeEncodeError:
                raise BadBucket(f"{name} is not valid UTF-8 (a lone surrogate)") from None
    for name in ("requests", *(n for n in row if n.endswith("_tokens"))):
        value = row.get(name)
        why = None if value is None else validate.token_problem(name, str(value))
        if why:
            raise BadBucket(why)
    cost = row.get("cost_usd")
    why = None if cost is None else validate.cost_problem("cost_usd", str(cost))
    if why:
        raise BadBucket(why)
    for name in ("starting_at", "ending_at"):
        ts = row.get(name)
        if ts is not None and not 1970 <= ts.year < 2200:
            raise BadBucket(f"{name} {ts.isoformat()} is outside 1970..2200")
    if row["starting_at"] is not None and row["ending_at"] is not None:
        if row["ending_at"] < row["starting_at"]:
            raise BadBucket("bucket end is before its start")


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _bucket(report: str, start: datetime, end: datetime, r: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in BUCKET_SCHEMA.names}
    row.update(report=report, starting_at=start, ending_at=end)
    if report == "anthropic-usage":
        row.update(
            provider="anthropic",
            model=r.get("model"),
            api_key=r.get("api_key_id"),
            workspace=r.get("workspace_id"),
            service_tier=r.get("service_tier"),
            input_uncached_tokens=_int(r.get("uncached_input_tokens"), "uncached_input_tokens"),
            cache_read_tokens=_int(r.get("cache_read_input_tokens"), "cache_read_input_tokens"),
            cache_write_5m_tokens=_int(
                _get(r, "cache_creation", "ephemeral_5m_input_tokens"), "ephemeral_5m"
            ),
            cache_write_1h_tokens=_int(
                _get(r, "cache_creation", "ephemeral_1h_input_tokens"), "ephemeral_1h"
            ),
            output_tokens=_int(r.get("output_tokens"), "output_tokens"),
        )
    elif report == "anthropic-cost":
        cents = _money(r.get("amount"), "amount")
        row.update(
            provider="anthropic",
            model=r.get("model"),
            workspace=r.get("workspace_id"),
            service_tier=r.get("service_tier"),
            line_item=r.get("token_type") or r.get("cost_type") or r.get("description"),
            cost_usd=None if cents is None else cents / 100.0,
        )
    elif report == "openai-usage":
        total = _int(r.get("input_tokens"), "input_tokens")
        cached = _int(r.get("input_cached_tokens"), "input_cached_tokens") or 0
        write = _int(r.get("input_cache_write_tokens"), "input_cache_write_tokens") or 0
        row.update(
            provider="openai",
            model=r.get("model"),
            api_key=r.get("api_key_id") or r.get("project_id"),
            workspace=r.get("project_id"),
            service_tier=r.get("service_tier"),
            requests=_int(r.get("num_model_requests"), "num_model_requests"),
            input_uncached_tokens=None if total is None else max(total - cached - write, 0),
            cache_read_tokens=cached,
            cache_write_5m_tokens=write,
            output_tokens=_int(r.get("output_tokens"), "output_tokens"),
        )
    elif report == "openai-costs":
        line_item = r.get("line_item")
        model = line_item.split(",", 1)[0].strip() if isinstance(line_item, str) else None
        row.update(
            provider="openai",
            model=model or None,
            api_key=r.get("api_key_id") or r.get("project_id"),
            workspace=r.get("project_id"),
            line_item=line_item,
            cost_usd=_money(_get(r, "amount", "value"), "amount.value"),
        )
    return row


def _litellm(r: dict[str, Any]) -> dict[str, Any]:
    start = _ts(r.get("startTime"), "startTime")
    end = _ts(r.get("endTime"), "endTime") if r.get("endTime") is not None else start
    usage = _get(r, "metadata", "usage_object") or {}
    prompt = _int(r.get("prompt_tokens"), "prompt_tokens")
    read = _int(usage.get("cache_read_input_tokens"), "cache_read_input_tokens")
    if read is None:
        read = _int(_get(usage, "prompt_tokens_details", "cached_tokens"), "cached_tokens")
    write = _int(usage.get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    if write is None:
        write = _int(
            _get(usage, "prompt_tokens_details", "cache_creation_tokens"), "cache_creation_tokens"
        )
    row: dict[str, Any] = {name: None for name in BUCKET_SCHEMA.names}
    provider = r.get("custom_llm_provider")
    row.update(
        report="litellm",
        starting_at=start,
        ending_at=end,
        provider=provider if isinstance(provider, str) and provider else None,
        model=r.get("model"),
        api_key=r.get("api_key"),
        workspace=r.get("team_id"),
        line_item=r.get("request_id"),
        requests=1,
        # LiteLLM's prompt_tokens is inclusive of cache reads and writes.
        input_uncached_tokens=None
        if prompt is None
        else max(prompt - (read or 0) - (write or 0), 0),
        cache_read_tokens=read,
        cache_write_5m_tokens=write,
        output_tokens=_int(r.get("completion_tokens"), "completion_tokens"),
        cost_usd=_money(r.get("spend"), "spend"),
    )
    return row


def _rows(doc: Any, kind: str, line: int) -> list[tuple[int, Any]]:
    """(line, result record) pairs of one document; each is a record."""
    if kind == "litellm":
        items = doc if isinstance(doc, list) else doc.get("data") if "data" in doc else [doc]
        return [(line, r) for r in items or ()]
    out = []
    for b in doc.get("data") or ():
        for r in (b.get("results") if isinstance(b, dict) else None) or ():
            out.append((line, (b, r)))
    return out


def load(
    con: duckdb.DuckDBPyConnection, stream: IO[bytes], sha: str, bad: BadRecord
) -> tuple[int, int]:
    """Store the buckets of one report file; returns (records, bad records)."""
    data = stream.read()
    docs: list[tuple[int, Any]] = []
    try:
        docs.append((1, orjson.loads(data)))
    except orjson.JSONDecodeError:
        for lineno, raw in enumerate(data.splitlines(), 1):
            if raw.strip():
                try:
                    docs.append((lineno, orjson.loads(raw)))
                except orjson.JSONDecodeError as exc:
                    docs.append((lineno, exc))
    rows: list[dict[str, Any]] = []
    records = nbad = 0
    for lineno, doc in docs:
        kind = None if isinstance(doc, orjson.JSONDecodeError) else _kind(doc)
        if kind is None:
            records += 1
            nbad += 1
            why = f"malformed JSON ({doc})" if isinstance(doc, Exception) else "not a usage report"
            bad(lineno, why, "")
            continue
        for line, item in _rows(doc, kind, lineno):
            records += 1
            try:
                if kind == "litellm":
                    row = _litellm(item)
                else:
                    b, r = item
                    start = _ts(b.get("starting_at", b.get("start_time")), "bucket start")
                    end = _ts(b.get("ending_at", b.get("end_time")), "bucket end")
                    row = _bucket(kind, start, end, r)
                _check_row(row)
            except (BadBucket, AttributeError, TypeError, ValueError, OverflowError) as exc:
                nbad += 1
                bad(line, f"bad {kind} record: {exc}", agentlog.excerpt(orjson.dumps(item)))
                continue
            group = [row[k] for k in ("report", "starting_at", "ending_at", "provider", "model")]
            group += [row[k] for k in ("api_key", "workspace", "service_tier", "line_item")]
            row["bucket_key"] = agentlog.stable_id(*group)
            row["line"] = line
            rows.append(row)
    if rows:
        batch = pa.Table.from_pylist(rows, schema=BUCKET_SCHEMA)
        tables = {"bucket_batch": batch}
        sql.execute(con, "ingest/usage_delete_buckets", tables=tables)
        sql.execute(con, "ingest/usage_insert_buckets", {"file_sha256": sha}, tables=tables)
    return records, nbad
