"""Deterministic generator of realistic AI-agent OTLP traces for the ingest benchmark.

Writes the same spans twice, as the OpenTelemetry Collector file exporter would:
  otlp.jsonl  - format: json  (one OTLP/JSON ExportTraceServiceRequest per line)
  otlp.binpb  - format: proto (4-byte big-endian length + serialized ExportTraceServiceRequest)
plus manifest.json (counts, sizes, sha256) written last, so a half-written data set is never
mistaken for a complete one.

Realism, in short: several agent services run concurrently (so runs interleave and a run's spans
can straddle two export batches, as with a real Collector), spans are exported in end-time order
(the invoke_agent root ends last), and three dialects are mixed: pydantic-ai (v5 instrumentation),
OpenLLMetry with gen_ai.* names, and legacy OpenLLMetry (prompt_tokens, flattened
gen_ai.prompt.N.*).
Token counts are inclusive (gen_ai.usage.input_tokens includes cache reads/writes) and grow tick by
tick. Memory stays bounded: only the few in-flight runs and one batch are held in RAM.

Usage:
  python bench/gen_otlp.py --spans 1000000 --out bench/data
  python bench/gen_otlp.py --spans 20000 --out /tmp/d --check   # generate, then re-read, verify
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import random
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

GENERATOR_VERSION = 1
DEFAULT_SEED = 20261121
BASE_TIME_NS = 1_793_491_200 * 1_000_000_000  # 2026-11-01T00:00:00Z
SPANS_PER_BATCH = (100, 300)
CONCURRENT_RUNS = 6

# --------------------------------------------------------------------------------------------
# AnyValue / KeyValue helpers (OTLP/JSON shape; the proto writer converts from this shape)


def S(v: str) -> dict[str, Any]:
    return {"stringValue": v}


def I(v: int) -> dict[str, Any]:  # noqa: E743 - mirrors the OTLP oneof name
    return {"intValue": str(v)}


def D(v: float) -> dict[str, Any]:
    return {"doubleValue": v}


def B(v: bool) -> dict[str, Any]:
    return {"boolValue": v}


def SA(vs: list[str]) -> dict[str, Any]:
    return {"arrayValue": {"values": [{"stringValue": v} for v in vs]}}


def kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def jdump(obj: Any) -> str:
    """Compact JSON (pydantic-ai style)."""
    return orjson.dumps(obj).decode()


def jdump_spaced(obj: Any) -> str:
    """json.dumps default separators (OpenLLMetry style, as in the real captures)."""
    return json.dumps(obj)


# --------------------------------------------------------------------------------------------
# Vocabulary and agent templates

WORDS = (
    "the order refund policy region customer shipping invoice warehouse inventory stock item sku "
    "package carrier tracking delivery window days business return label account payment card "
    "billing address country express standard priority estimate weight dimension customs duty tax "
    "query result page document section paragraph reference source citation summary answer detail "
    "function module class method test failure error exception stack trace line file path patch "
    "diff commit branch build pipeline job step timeout retry latency cache token prompt model "
    "table column row index schema join filter group aggregate metric dashboard chart series trend "
    "is are was were be been has have had will would could should may might must can not no yes "
    "and or but if then else when while for with without from into onto over under about after "
    "before during between among per via a an this that these those it its they them their we our "
    "you your he she his her one two three four five ten hundred first second last next previous "
    "new old large small fast slow high low open closed pending shipped delivered cancelled active "
    "please check confirm verify update create delete list fetch search lookup compute compare"
).split()

USER_PROMPTS = {
    "support_agent": [
        "Where is order {id} and can {sku} ship to {country}?",
        "I was charged twice for order {id}, please refund one of the charges.",
        "Can you change the shipping address on {id} to the office in {country}?",
        "What is the return window for {sku} bought in {country}?",
    ],
    "research_agent": [
        "What is the EU refund window for digital goods?",
        "Summarise the latest guidance on {topic} with citations.",
        "Find three sources comparing {topic} across regions and summarise the differences.",
    ],
    "coding_agent": [
        "The test {test} fails on main, find the cause and propose a patch.",
        "Add retry with backoff to the HTTP client in {path} and update the tests.",
        "Why does {path} raise KeyError under load? Fix it.",
    ],
    "data_agent": [
        "How many orders shipped to {country} last month, by carrier?",
        "Plot weekly revenue for {sku} over the last quarter.",
        "Which warehouses had stock-outs in {country} this year?",
    ],
}

SYSTEM_PROMPTS = {
    "support_agent": "You are a customer support agent for ACME. Use the tools to look up "
    "orders, inventory and shipping. Never promise refunds above 500 EUR without a manager. "
    "Answer briefly.",
    "research_agent": "You are a research assistant. Search the documentation, read the most "
    "relevant pages and answer with citations. If nothing is found, say so.",
    "coding_agent": "You are a senior software engineer working in a Python monorepo. Read files, "
    "run tests and propose minimal patches. Explain the root cause before the fix.",
    "data_agent": "You are a data analyst with read-only SQL access to the warehouse. Inspect the "
    "schema before querying, keep queries cheap, and report numbers with units.",
}

TOOLS: dict[str, list[tuple[str, str, list[tuple[str, str]]]]] = {
    # agent -> [(tool name, description, [(param, generator kind)])]
    "support_agent": [
        ("lookup_order", "Look up an order by id.", [("order_id", "order")]),
        (
            "fetch_inventory",
            "Fetch stock levels for a SKU.",
            [("sku", "sku"), ("country", "country")],
        ),
        (
            "estimate_shipping",
            "Estimate shipping time and cost.",
            [("sku", "sku"), ("country", "country")],
        ),
        (
            "issue_refund",
            "Issue a refund for an order.",
            [("order_id", "order"), ("amount_eur", "amount")],
        ),
    ],
    "research_agent": [
        (
            "search_docs",
            "Search documentation (returns a page of snippets).",
            [("query", "query"), ("page", "page")],
        ),
        ("fetch_url", "Fetch a web page and return its text.", [("url", "url")]),
        (
            "read_section",
            "Read one section of a document.",
            [("doc_id", "doc"), ("section", "page")],
        ),
    ],
    "coding_agent": [
        ("read_file", "Read a file from the repository.", [("path", "path")]),
        (
            "grep",
            "Search the repository with a regular expression.",
            [("pattern", "query"), ("path", "path")],
        ),
        ("run_tests", "Run a pytest selection.", [("selection", "test")]),
        ("apply_patch", "Apply a unified diff.", [("diff", "diff")]),
    ],
    "data_agent": [
        ("describe_table", "Describe the columns of a table.", [("table", "table")]),
        ("run_sql", "Run a read-only SQL query.", [("sql", "sql")]),
        ("plot", "Render a chart from a query result.", [("sql", "sql"), ("kind", "chart")]),
    ],
}

SERVICES = {
    "support_agent": "support-bot",
    "research_agent": "research-assistant",
    "coding_agent": "code-fixer",
    "data_agent": "analytics-copilot",
}

COUNTRIES = ["DE", "FR", "US", "GB", "NL", "ES", "IT", "PL", "SE", "JP", "CA", "BR"]
TABLES = ["orders", "shipments", "customers", "inventory", "payments", "returns", "warehouses"]
PATHS = [
    "src/acme/http/client.py",
    "src/acme/billing/invoice.py",
    "src/acme/orders/service.py",
    "src/acme/cache/lru.py",
    "tests/test_client.py",
    "tests/orders/test_service.py",
    "src/acme/shipping/rates.py",
    "src/acme/api/routes.py",
]
TOPICS = [
    "prompt caching",
    "data retention",
    "refund regulation",
    "carbon reporting",
    "VAT on e-books",
]

# model, provider, response model, (input $/Mtok, cache read, cache write, output)
MODELS = [
    ("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5-20250929", (3.0, 0.3, 3.75, 15.0)),
    ("gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18", (0.15, 0.075, 0.15, 0.6)),
    ("gpt-4o", "openai", "gpt-4o-2024-08-06", (2.5, 1.25, 2.5, 10.0)),
]
MODEL_WEIGHTS = [0.45, 0.35, 0.20]

DIALECTS = ["pydantic_ai", "openllmetry", "openllmetry_legacy"]
DIALECT_WEIGHTS = [0.45, 0.45, 0.1]

PYDANTIC_CHAT_SCHEMA = jdump(
    {
        "type": "object",
        "properties": {
            "gen_ai.input.messages": {"type": "array"},
            "gen_ai.output.messages": {"type": "array"},
            "gen_ai.system_instructions": {"type": "array"},
            "model_request_parameters": {"type": "object"},
        },
    }
)
PYDANTIC_TOOL_SCHEMA = jdump(
    {
        "type": "object",
        "properties": {
            "gen_ai.tool.call.arguments": {"type": "object"},
            "gen_ai.tool.call.result": {"type": "object"},
            "gen_ai.tool.name": {},
            "gen_ai.tool.call.id": {},
        },
    }
)
PYDANTIC_ROOT_SCHEMA = jdump(
    {
        "type": "object",
        "properties": {
            "pydantic_ai.all_messages": {"type": "array"},
            "gen_ai.system_instructions": {"type": "array"},
            "final_result": {"type": "object"},
        },
    }
)

STACKTRACE = (
    "Traceback (most recent call last):\n"
    '  File "/opt/venv/lib/python3.12/site-packages/httpx/_transports/default.py", line 101, '
    "in map_httpcore_exceptions\n"
    "    yield\n"
    '  File "/opt/venv/lib/python3.12/site-packages/httpx/_transports/default.py", line 394, '
    "in handle_async_request\n"
    "    resp = await self._pool.handle_async_request(req)\n"
    "{etype}: {emsg}\n"
)


class Corpus:
    """A seeded block of pseudo-text; slicing it is far cheaper than drawing words per span."""

    def __init__(self, rng: random.Random, size: int = 262_144) -> None:
        parts: list[str] = []
        n = 0
        while n < size:
            sentence = " ".join(rng.choices(WORDS, k=rng.randint(6, 18)))
            sentence = (
                sentence[0].upper()
                + sentence[1:]
                + rng.choice([". ", ". ", "? ", ".\n", ': "ok". '])
            )
            parts.append(sentence)
            n += len(sentence)
        self.text = "".join(parts)
        self.n = len(self.text)

    def take(self, rng: random.Random, length: int) -> str:
        start = rng.randrange(0, self.n - length - 64)
        sp = self.text.find(" ", start, start + 32)
        if sp >= 0:
            start = sp + 1
        return self.text[start : start + length].rstrip()


# --------------------------------------------------------------------------------------------
# Run generation


@dataclass
class Stats:
    spans: int = 0
    runs: int = 0
    ticks: int = 0
    tool_calls: int = 0
    error_spans: int = 0
    batches: int = 0
    dialects: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Resource:
    key: int
    attributes: list[dict[str, Any]]


@dataclass
class Run:
    resource: Resource
    spans: list[
        tuple[int, tuple[str, str], dict[str, Any]]
    ]  # (end_ns, (scope name, version), span)
    end_ns: int


def make_resources(rng: random.Random) -> dict[str, list[Resource]]:
    out: dict[str, list[Resource]] = {}
    key = 0
    for agent, service in SERVICES.items():
        out[agent] = []
        for inst in range(3):
            attrs = [
                kv("telemetry.sdk.language", S("python")),
                kv("telemetry.sdk.name", S("opentelemetry")),
                kv("telemetry.sdk.version", S("1.45.2")),
                kv("service.name", S(service)),
                kv("service.version", S(f"1.{rng.randint(0, 30)}.{rng.randint(0, 9)}")),
                kv("service.instance.id", S(_uuid4(rng))),
                kv("deployment.environment.name", S("production" if inst < 2 else "staging")),
                kv("host.name", S(f"{service}-{rng.getrandbits(32):08x}-{inst}")),
                kv("host.arch", S("amd64")),
                kv("os.type", S("linux")),
                kv("process.pid", I(rng.randint(7, 60000))),
                kv("process.runtime.name", S("cpython")),
                kv("process.runtime.version", S("3.12.7")),
                kv("cloud.provider", S("aws")),
                kv("cloud.region", S(rng.choice(["eu-central-1", "us-east-1", "eu-west-1"]))),
            ]
            out[agent].append(Resource(key, attrs))
            key += 1
    return out


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _uuid7(rng: random.Random, ts_ns: int) -> str:
    ms = ts_ns // 1_000_000
    h = f"{ms:012x}{rng.getrandbits(80):020x}"
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-8{h[17:20]}-{h[20:32]}"


class RunFactory:
    def __init__(self, rng: random.Random, stats: Stats, content_fraction: float = 0.25) -> None:
        self.rng = rng
        self.stats = stats
        self.content_fraction = content_fraction
        self.corpus = Corpus(rng)
        self.resources = make_resources(rng)
        self.tool_defs: dict[str, dict[str, Any]] = {}
        for agent, tools in TOOLS.items():
            defs = []
            for name, desc, params in tools:
                props = {
                    p: {"type": "integer" if k in ("page", "amount") else "string"}
                    for p, k in params
                }
                defs.append(
                    {
                        "type": "function",
                        "name": name,
                        "description": desc,
                        "parameters": {
                            "additionalProperties": False,
                            "properties": props,
                            "required": [p for p, _ in params],
                            "type": "object",
                        },
                    }
                )
            mrp = {
                "function_tools": [
                    {
                        "name": d["name"],
                        "parameters_json_schema": d["parameters"],
                        "description": d["description"],
                        "outer_typed_dict_key": None,
                        "strict": False,
                        "sequential": False,
                        "kind": "function",
                        "metadata": None,
                        "timeout": None,
                    }
                    for d in defs
                ],
                "builtin_tools": [],
                "output_mode": "text",
                "output_object": None,
                "output_tools": [],
                "prompted_output_template": None,
                "allow_text_output": True,
                "allow_image_output": False,
            }
            self.tool_defs[agent] = {
                "compact": jdump(defs),
                "spaced": jdump_spaced(defs),
                "mrp": jdump(mrp),
                "sysinstr": jdump([{"type": "text", "content": SYSTEM_PROMPTS[agent]}]),
            }

    # -- small random helpers ---------------------------------------------------------------

    def _arg(self, kind: str) -> Any:
        r = self.rng
        if kind == "order":
            return f"A-{r.randint(1000, 99999)}"
        if kind == "sku":
            return f"SKU-{r.randint(1, 999)}"
        if kind == "country":
            return r.choice(COUNTRIES)
        if kind == "amount":
            return r.randint(5, 800)
        if kind == "page":
            return r.randint(1, 12)
        if kind == "query":
            return self.corpus.take(r, r.randint(12, 48))
        if kind == "url":
            return (
                f"https://docs.example.com/{r.choice(WORDS)}/{r.choice(WORDS)}-{r.randint(1, 400)}"
            )
        if kind == "doc":
            return f"doc_{r.getrandbits(40):010x}"
        if kind == "path":
            return r.choice(PATHS)
        if kind == "test":
            return f"{r.choice(PATHS[4:6])}::test_{r.choice(WORDS)}_{r.choice(WORDS)}"
        if kind == "diff":
            p = r.choice(PATHS)
            body = self.corpus.take(r, r.randint(60, 260)).replace(". ", ".\n+    ")
            a, b = r.randint(1, 300), r.randint(1, 300)
            return f"--- a/{p}\n+++ b/{p}\n@@ -{a},7 +{b},9 @@\n+    {body}\n"
        if kind == "table":
            return r.choice(TABLES)
        if kind == "sql":
            t = r.choice(TABLES)
            return (
                f"select {r.choice(['country', 'carrier', 'sku', 'status'])}, count(*) as n "
                f"from {t} where created_at >= date '2026-{r.randint(1, 10):02d}-01' "
                f"group by 1 order by n desc limit {r.choice([10, 20, 50, 100])}"
            )
        if kind == "chart":
            return r.choice(["line", "bar", "area"])
        return r.choice(WORDS)

    def _tool_result(self, tool: str) -> str:
        r = self.rng
        size = int(min(2400, r.lognormvariate(5.0, 0.75)))  # median ~150 B, long tail
        if tool in (
            "run_sql",
            "describe_table",
            "lookup_order",
            "fetch_inventory",
            "estimate_shipping",
        ):
            rows = [
                {"id": r.randint(1, 10**6), "value": r.choice(WORDS), "n": r.randint(0, 5000)}
                for _ in range(max(1, size // 45))
            ]
            return jdump({"rows": rows, "truncated": len(rows) > 20})
        return self.corpus.take(r, size)

    def _tick_count(self) -> int:
        # 2..40, skewed to short runs (mean ~11); a few runs hit the 40-request cap
        x = self.rng.random()
        return min(40, 2 + int(38 * x * x * x) + (self.rng.random() < 0.03) * 38)

    # -- the run ----------------------------------------------------------------------------

    def make_run(self, start_ns: int) -> Run:
        r = self.rng
        st = self.stats
        agent = r.choice(list(TOOLS))
        dialect = r.choices(DIALECTS, DIALECT_WEIGHTS)[0]
        model, provider, resp_model, prices = r.choices(MODELS, MODEL_WEIGHTS)[0]
        resource = r.choice(self.resources[agent])
        st.runs += 1
        st.dialects[dialect] = st.dialects.get(dialect, 0) + 1
        st.models[model] = st.models.get(model, 0) + 1

        trace_id = f"{r.getrandbits(128):032x}"
        root_id = f"{r.getrandbits(64) | 1:016x}"
        call_id = _uuid7(r, start_ns)
        conv_id = _uuid7(r, start_ns)
        n_ticks = _clamp(self._tick_count(), 2, 40)
        hit_cap = n_ticks == 40
        defs = self.tool_defs[agent]
        tools = TOOLS[agent]
        # Instrumentation settings vary by deployment and version: content capture is opt-in for
        # OpenLLMetry, tool definitions / model_request_parameters only on newer versions, and
        # message history is kept within a size budget (a few hundred bytes to a few KB).
        with_mrp = dialect == "pydantic_ai" and r.random() < 0.08
        with_tool_defs = r.random() < 0.15
        capture_content = (
            r.random() < self.content_fraction
        )  # include_content / TRACELOOP_TRACE_CONTENT / CAPTURE_MESSAGE_CONTENT
        capture_tool_io = capture_content and (dialect != "openllmetry" or r.random() < 0.6)
        msg_budget = _clamp(int(r.lognormvariate(6.0, 0.65)), 150, 4000)
        if provider == "anthropic":
            cache_mode = r.choices(["explicit", "none", "broken"], [0.6, 0.3, 0.1])[0]
        else:
            cache_mode = r.choices(["auto", "none"], [0.7, 0.3])[0]
        parallel_p = {"pydantic_ai": 0.75, "openllmetry": 0.3, "openllmetry_legacy": 0.0}[dialect]

        if dialect == "pydantic_ai":
            chat_scope = ("pydantic-ai", "2.68.0")
            tool_scope = chat_scope
        elif dialect == "openllmetry":
            chat_scope = (
                ("opentelemetry.instrumentation.anthropic", "0.62.4")
                if provider == "anthropic"
                else ("opentelemetry.instrumentation.openai.v1", "0.62.4")
            )
            tool_scope = ("traceloop.tracer", "0.62.4")
        else:
            chat_scope = (
                ("opentelemetry.instrumentation.anthropic", "0.40.14")
                if provider == "anthropic"
                else ("opentelemetry.instrumentation.openai", "0.40.14")
            )
            tool_scope = ("traceloop.tracer", "0.40.14")

        user = r.choice(USER_PROMPTS[agent]).format(
            id=self._arg("order"),
            sku=self._arg("sku"),
            country=self._arg("country"),
            topic=r.choice(TOPICS),
            test=self._arg("test"),
            path=self._arg("path"),
        )
        history: list[tuple[dict[str, Any], int]] = [
            ({"role": "user", "parts": [{"type": "text", "content": user}]}, 0)
        ]
        base_tokens = r.randint(350, 2600) + len(defs["compact"]) // 4  # system prompt + tool defs
        context_tokens = base_tokens + len(user) // 4
        prev_input = 0
        spans: list[tuple[int, tuple[str, str], dict[str, Any]]] = []
        common = (
            [
                kv("gen_ai.agent.name", S(agent)),
                kv("gen_ai.agent.call.id", S(call_id)),
                kv("gen_ai.conversation.id", S(conv_id)),
            ]
            if dialect == "pydantic_ai"
            else []
        )
        t = start_ns + r.randint(200_000, 3_000_000)
        agg_in = agg_out = agg_cr = agg_cw = 0
        tick = 0
        final_text = ""
        while tick < n_ticks:
            tick += 1
            last = tick == n_ticks
            # ---- model call -------------------------------------------------------------
            failed = r.random() < 0.01
            n_calls = 0 if last else r.choices([1, 2, 3, 4], [0.72, 0.18, 0.07, 0.03])[0]
            calls = []
            for _ in range(n_calls):
                name, _desc, params = r.choice(tools)
                args = {p: self._arg(k) for p, k in params}
                cid = (
                    f"pyd_ai_{r.getrandbits(128):032x}"
                    if dialect == "pydantic_ai"
                    else f"toolu_01{r.getrandbits(96):024x}"
                    if provider == "anthropic"
                    else f"call_{r.getrandbits(96):024x}"
                )
                calls.append((name, args, cid))
            text = self.corpus.take(r, r.randint(30, 160) if calls else r.randint(120, 900))
            out_tokens = max(
                8,
                len(text) // 4
                + sum(len(jdump(a)) // 3 + 12 for _, a, _ in calls)
                + r.randint(0, 60),
            )
            in_tokens = context_tokens
            cache_read = cache_write = 0
            if cache_mode == "explicit":
                cache_read = prev_input if tick > 1 else 0
                cache_write = in_tokens - cache_read - r.randint(3, 12) if tick > 1 else base_tokens
                cache_write = max(0, cache_write)
            elif cache_mode == "broken":
                cache_write = base_tokens
            elif cache_mode == "auto" and prev_input >= 1024:
                cache_read = (min(prev_input, in_tokens) // 128) * 128
            ttft_ms = r.uniform(250, 1400) * (1.3 if provider == "anthropic" else 1.0)
            dur_ns = int((ttft_ms + out_tokens * r.uniform(7, 22)) * 1e6)
            if failed:
                dur_ns = int(r.uniform(80, 2500) * 1e6)
            chat_id = f"{r.getrandbits(64) | 1:016x}"
            c_start, c_end = t, t + dur_ns
            out_msg = {
                "role": "assistant",
                "parts": ([{"type": "text", "content": text}] if text else [])
                + [
                    {"type": "tool_call", "id": cid, "name": n, "arguments": a}
                    for n, a, cid in calls
                ],
            }
            finish = "tool_call" if calls else "stop"
            if not last:
                out_msg_final = out_msg
            else:
                out_msg_final = {**out_msg, "finish_reason": "stop"}
                final_text = text
            inp_msgs = _window(history, msg_budget)
            attrs: list[dict[str, Any]]
            cost = (
                max(0, in_tokens - cache_read - cache_write) * prices[0]
                + cache_read * prices[1]
                + cache_write * prices[2]
                + out_tokens * prices[3]
            ) / 1e6

            if dialect == "pydantic_ai":
                name = f"chat {model}"
                attrs = [
                    kv("gen_ai.operation.name", S("chat")),
                    *common,
                    kv("gen_ai.provider.name", S(provider)),
                    kv("gen_ai.system", S(provider)),
                    kv("gen_ai.request.model", S(model)),
                ]
                if with_mrp:
                    attrs.append(kv("model_request_parameters", S(defs["mrp"])))
                if with_tool_defs:
                    attrs.append(kv("gen_ai.tool.definitions", S(defs["compact"])))
                if capture_content:
                    attrs.append(kv("gen_ai.input.messages", S(jdump(inp_msgs))))
                    if not failed:
                        attrs.append(kv("gen_ai.output.messages", S(jdump([out_msg_final]))))
                    attrs.append(kv("gen_ai.system_instructions", S(defs["sysinstr"])))
                attrs.append(kv("logfire.json_schema", S(PYDANTIC_CHAT_SCHEMA)))
                if not failed:
                    attrs += [
                        kv("gen_ai.usage.input_tokens", I(in_tokens)),
                        kv("gen_ai.usage.output_tokens", I(out_tokens)),
                    ]
                    if cache_write:
                        attrs.append(kv("gen_ai.usage.cache_creation.input_tokens", I(cache_write)))
                    if cache_read:
                        attrs.append(kv("gen_ai.usage.cache_read.input_tokens", I(cache_read)))
                    if cache_write:
                        attrs.append(kv("gen_ai.usage.details.cache_write_tokens", I(cache_write)))
                    if cache_read:
                        attrs.append(kv("gen_ai.usage.details.cache_read_tokens", I(cache_read)))
                    attrs += [
                        kv("gen_ai.response.model", S(resp_model)),
                        kv("gen_ai.response.id", S(_resp_id(r, provider))),
                        kv("gen_ai.response.finish_reasons", SA([finish])),
                        kv("operation.cost", D(round(cost, 9))),
                    ]
            elif dialect == "openllmetry":
                name = f"{provider}.chat"
                attrs = [
                    kv("gen_ai.operation.name", S("chat")),
                    kv("gen_ai.provider.name", S(provider)),
                    kv("gen_ai.request.model", S(model)),
                    kv("gen_ai.request.max_tokens", I(4096)),
                    kv("gen_ai.request.temperature", D(0.2)),
                    kv("gen_ai.is_streaming", B(False)),
                ]
                if provider == "openai":
                    attrs.append(kv("gen_ai.openai.api_base", S("https://api.openai.com/v1/")))
                if capture_content:
                    sys_msg = {
                        "role": "system",
                        "parts": [{"content": SYSTEM_PROMPTS[agent], "type": "text"}],
                    }
                    attrs.append(kv("gen_ai.input.messages", S(jdump_spaced([sys_msg, *inp_msgs]))))
                if with_tool_defs:
                    attrs.append(kv("gen_ai.tool.definitions", S(defs["spaced"])))
                if not failed:
                    attrs += [
                        kv("gen_ai.response.model", S(resp_model)),
                        kv("gen_ai.response.id", S(_resp_id(r, provider))),
                        kv("gen_ai.response.finish_reasons", SA([finish])),
                    ]
                    if provider == "openai":
                        attrs += [
                            kv(
                                "gen_ai.openai.response.system_fingerprint",
                                S("fp_" + f"{r.getrandbits(40):010x}"),
                            ),
                            kv("openai.response.service_tier", S("default")),
                        ]
                    attrs += [
                        kv("gen_ai.usage.total_tokens", I(in_tokens + out_tokens)),
                        kv("gen_ai.usage.output_tokens", I(out_tokens)),
                        kv("gen_ai.usage.input_tokens", I(in_tokens)),
                    ]
                    if provider == "openai":
                        if cache_mode != "none":
                            attrs.append(kv("gen_ai.usage.cache_read.input_tokens", I(cache_read)))
                        attrs.append(kv("gen_ai.usage.reasoning_tokens", I(0)))
                    elif cache_mode != "none":
                        attrs += [
                            kv("gen_ai.usage.cache_read.input_tokens", I(cache_read)),
                            kv("gen_ai.usage.cache_creation.input_tokens", I(cache_write)),
                        ]
                    if capture_content:
                        attrs.append(kv("gen_ai.output.messages", S(jdump_spaced([out_msg_final]))))
            else:  # legacy OpenLLMetry: no operation name, prompt/completion tokens, flattened
                name = f"{provider}.chat"
                attrs = [
                    kv("llm.request.type", S("chat")),
                    kv("gen_ai.system", S("Anthropic" if provider == "anthropic" else "openai")),
                    kv("gen_ai.request.model", S(model)),
                    kv("llm.is_streaming", B(False)),
                    kv("traceloop.workflow.name", S(agent)),
                    kv("traceloop.entity.path", S(f"{agent}.step_{tick}")),
                ]
                for i, m in enumerate(inp_msgs if capture_content else ()):
                    attrs.append(kv(f"gen_ai.prompt.{i}.role", S(m["role"])))
                    attrs.append(kv(f"gen_ai.prompt.{i}.content", S(jdump_spaced(m["parts"]))))
                if not failed:
                    attrs += [
                        kv("gen_ai.response.model", S(resp_model)),
                        kv("gen_ai.response.id", S(_resp_id(r, provider))),
                        kv("gen_ai.usage.prompt_tokens", I(in_tokens)),
                        kv("gen_ai.usage.completion_tokens", I(out_tokens)),
                        kv("llm.usage.total_tokens", I(in_tokens + out_tokens)),
                    ]
                    if provider == "anthropic" and cache_mode != "none":
                        attrs += [
                            kv("gen_ai.usage.cache_read_input_tokens", I(cache_read)),
                            kv("gen_ai.usage.cache_creation_input_tokens", I(cache_write)),
                        ]
                    attrs += [
                        kv("gen_ai.completion.0.role", S("assistant")),
                        kv("gen_ai.completion.0.finish_reason", S(finish)),
                    ]
                    if capture_content:
                        attrs.append(kv("gen_ai.completion.0.content", S(text)))
                    for j, (n, a, cid) in enumerate(calls):
                        attrs += [
                            kv(f"gen_ai.completion.0.tool_calls.{j}.id", S(cid)),
                            kv(f"gen_ai.completion.0.tool_calls.{j}.name", S(n)),
                        ]
                        if capture_content:
                            attrs.append(
                                kv(
                                    f"gen_ai.completion.0.tool_calls.{j}.arguments",
                                    S(jdump_spaced(a)),
                                )
                            )
            span = _span(trace_id, chat_id, root_id, name, 3, c_start, c_end, attrs)
            if failed:
                etype, emsg = (
                    ("anthropic.OverloadedError", "Error code: 529 - overloaded_error")
                    if provider == "anthropic"
                    else ("openai.RateLimitError", "Error code: 429 - rate_limit_exceeded")
                )
                attrs.append(kv("error.type", S(etype.split(".")[-1])))
                span["events"] = [
                    {
                        "timeUnixNano": str(c_end - 1000),
                        "name": "exception",
                        "attributes": [
                            kv("exception.type", S(etype)),
                            kv("exception.message", S(emsg)),
                            kv(
                                "exception.stacktrace", S(STACKTRACE.format(etype=etype, emsg=emsg))
                            ),
                            kv("exception.escaped", S("False")),
                        ],
                    }
                ]
                span["status"] = {"message": f"{etype}: {emsg}", "code": 2}
                st.error_spans += 1
            spans.append((c_end, chat_scope, span))
            st.ticks += 1
            t = c_end
            if failed:
                # the harness retries the same request after a backoff; the retry is another tick
                t += int(r.uniform(0.5, 4.0) * 1e9)
                n_ticks += 1 if n_ticks < 60 else 0
                continue
            st.input_tokens += in_tokens
            st.output_tokens += out_tokens
            agg_in += in_tokens
            agg_out += out_tokens
            agg_cr += cache_read
            agg_cw += cache_write
            prev_input = in_tokens
            history.append(
                (out_msg, len(text) + 80 + sum(len(jdump(a)) + 110 for _, a, _ in calls))
            )
            context_tokens += out_tokens
            if last:
                break
            # ---- tool calls -------------------------------------------------------------
            t += r.randint(300_000, 4_000_000)
            parallel = n_calls > 1 and r.random() < parallel_p
            tool_end = t
            result_parts = []
            for name, args, cid in calls:
                if tool_end > t and not parallel:
                    t = tool_end + r.randint(50_000, 1_500_000)
                ts = t + (r.randint(20_000, 900_000) if parallel else 0)
                slow = r.random() < 0.03
                dur = (
                    int(r.lognormvariate(4.0, 1.1) * 1e6)
                    if not slow
                    else int(r.uniform(3, 12) * 1e9)
                )
                te = ts + max(200_000, dur)
                tool_failed = r.random() < 0.02
                result = (
                    ("Error: " + self.corpus.take(r, 60))
                    if tool_failed
                    else self._tool_result(name)
                )
                sid = f"{r.getrandbits(64) | 1:016x}"
                args_s = jdump(args) if dialect == "pydantic_ai" else jdump_spaced(args)
                if dialect == "openllmetry_legacy":
                    tname = f"{name}.tool"
                    tattrs = [
                        kv("traceloop.span.kind", S("tool")),
                        kv("traceloop.entity.name", S(name)),
                        kv("traceloop.workflow.name", S(agent)),
                        kv("traceloop.entity.path", S(f"{agent}.step_{tick}")),
                    ]
                    if capture_tool_io:
                        tattrs += [
                            kv(
                                "traceloop.entity.input",
                                S(jdump_spaced({"args": [], "kwargs": args})),
                            ),
                            kv("traceloop.entity.output", S(jdump_spaced(result))),
                        ]
                elif dialect == "openllmetry":
                    tname = f"execute_tool {name}"
                    tattrs = [
                        kv("gen_ai.operation.name", S("execute_tool")),
                        kv("gen_ai.tool.name", S(name)),
                        kv("gen_ai.tool.call.id", S(cid)),
                        kv("gen_ai.tool.type", S("function")),
                        kv("traceloop.span.kind", S("tool")),
                        kv("traceloop.entity.name", S(name)),
                        kv("traceloop.workflow.name", S(agent)),
                    ]
                    if capture_tool_io:
                        tattrs += [
                            kv("gen_ai.tool.call.arguments", S(args_s)),
                            kv("gen_ai.tool.call.result", S(result)),
                        ]
                else:
                    tname = f"execute_tool {name}"
                    tattrs = [
                        kv("gen_ai.operation.name", S("execute_tool")),
                        kv("gen_ai.tool.name", S(name)),
                        kv("gen_ai.tool.call.id", S(cid)),
                    ]
                    if capture_tool_io:
                        tattrs.append(kv("gen_ai.tool.call.arguments", S(args_s)))
                    tattrs += [
                        *common,
                        kv("logfire.msg", S(f"running tool: {name}")),
                        kv("logfire.json_schema", S(PYDANTIC_TOOL_SCHEMA)),
                    ]
                    if tool_failed:
                        tattrs += [
                            kv("pydantic_ai.tool.retry.cause", S("model_retry")),
                            kv("pydantic_ai.tool.retry.attempt", I(1)),
                            kv("pydantic_ai.tool.retry.max_retries", I(3)),
                        ]
                    if capture_tool_io:
                        tattrs.append(kv("gen_ai.tool.call.result", S(result)))
                tspan = _span(trace_id, sid, root_id, tname, 1, ts, te, tattrs)
                if tool_failed:
                    tspan["status"] = {"message": result[:80], "code": 2}
                    st.error_spans += 1
                spans.append((te, tool_scope, tspan))
                st.tool_calls += 1
                tool_end = max(tool_end, te)
                result_parts.append(
                    {"type": "tool_call_response", "id": cid, "name": name, "result": result}
                )
            t = tool_end + r.randint(500_000, 30_000_000)  # harness time before the next request
            msg = {"role": "user", "parts": result_parts}
            rb = sum(len(p["result"]) + 90 for p in result_parts)
            history.append((msg, rb))
            context_tokens += rb // 4 + 10 * len(result_parts)

        # ---- root span (ends last) ----------------------------------------------------------
        root_end = t + r.randint(200_000, 5_000_000)
        status: dict[str, Any] = {}
        if dialect == "pydantic_ai":
            rattrs = [
                kv("model_name", S(model)),
                kv("agent_name", S(agent)),
                *common,
                kv("gen_ai.operation.name", S("invoke_agent")),
                kv("logfire.msg", S(f"{agent} run")),
            ]
            if capture_content:
                rattrs.append(kv("final_result", S(final_text[:400])))
            prefix = (
                "gen_ai.aggregated_usage" if r.random() < 0.7 else "gen_ai.usage"
            )  # double-count trap
            rattrs += [
                kv(f"{prefix}.input_tokens", I(agg_in)),
                kv(f"{prefix}.output_tokens", I(agg_out)),
            ]
            if agg_cw:
                rattrs.append(kv(f"{prefix}.cache_creation.input_tokens", I(agg_cw)))
            if agg_cr:
                rattrs.append(kv(f"{prefix}.cache_read.input_tokens", I(agg_cr)))
            if capture_content:
                rattrs += [
                    kv("pydantic_ai.all_messages", S(jdump(_window(history, msg_budget * 2)))),
                    kv("gen_ai.system_instructions", S(defs["sysinstr"])),
                ]
            rattrs.append(kv("logfire.json_schema", S(PYDANTIC_ROOT_SCHEMA)))
            rname = f"invoke_agent {agent}"
            if hit_cap:
                status = {
                    "message": "UsageLimitExceeded: The next request would exceed "
                    "the request_limit of 40",
                    "code": 2,
                }
        elif dialect == "openllmetry":
            rattrs = [
                kv("gen_ai.operation.name", S("invoke_agent")),
                kv("gen_ai.agent.name", S(agent)),
                kv("gen_ai.provider.name", S(provider)),
                kv("gen_ai.request.model", S(model)),
                kv("gen_ai.conversation.id", S(conv_id)),
                kv("traceloop.span.kind", S("agent")),
                kv("traceloop.entity.name", S(agent)),
                kv("traceloop.workflow.name", S(agent)),
                kv("agent.steps", I(tick)),
            ]
            if capture_content:
                rattrs += [
                    kv("traceloop.entity.input", S(jdump_spaced({"args": [user], "kwargs": {}}))),
                    kv("traceloop.entity.output", S(jdump_spaced(final_text[:400]))),
                ]
            rname = f"invoke_agent {agent}"
            if hit_cap:
                status = {"message": "MaxTurnsExceeded: 40", "code": 2}
        else:
            rattrs = [
                kv("traceloop.span.kind", S("agent")),
                kv("traceloop.entity.name", S(agent)),
                kv("traceloop.workflow.name", S(agent)),
            ]
            if capture_content:
                rattrs += [
                    kv("traceloop.entity.input", S(jdump_spaced({"args": [user], "kwargs": {}}))),
                    kv("traceloop.entity.output", S(jdump_spaced(final_text[:400]))),
                ]
            rname = f"{agent}.agent"
        root = _span(trace_id, root_id, None, rname, 1, start_ns, root_end, rattrs)
        if status:
            root["status"] = status
            st.error_spans += 1
        root_scope = chat_scope if dialect == "pydantic_ai" else tool_scope
        spans.append((root_end, root_scope, root))
        spans.sort(key=lambda x: x[0])
        return Run(resource, spans, root_end)


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def _resp_id(r: random.Random, provider: str) -> str:
    if provider == "anthropic":
        return f"msg_01{r.getrandbits(110):028x}"[:30]
    return f"chatcmpl-{r.getrandbits(96):024x}"


def _window(history: list[tuple[dict[str, Any], int]], budget: int) -> list[dict[str, Any]]:
    """The newest messages that fit in `budget` bytes (always the first user message too)."""
    out: list[dict[str, Any]] = []
    used = 0
    for msg, size in reversed(history[1:]):
        if used + size > budget and out:
            break
        out.append(msg)
        used += size
    out.append(history[0][0])
    out.reverse()
    return out


def _span(
    trace_id: str,
    span_id: str,
    parent: str | None,
    name: str,
    kind: int,
    start: int,
    end: int,
    attrs: list[dict[str, Any]],
) -> dict[str, Any]:
    s: dict[str, Any] = {"traceId": trace_id, "spanId": span_id}
    if parent:
        s["parentSpanId"] = parent
    s["flags"] = 256
    s["name"] = name
    s["kind"] = kind
    s["startTimeUnixNano"] = str(start)
    s["endTimeUnixNano"] = str(end)
    s["attributes"] = attrs
    s["status"] = {}
    return s


# --------------------------------------------------------------------------------------------
# Streaming: interleave concurrent runs, cut export batches


def iter_batches(
    n_spans: int, seed: int, stats: Stats, content_fraction: float = 0.25
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    factory = RunFactory(rng, stats, content_fraction)
    started = 0
    heap: list[tuple[int, int, int]] = []  # (end_ns, seq, slot)
    slots: list[tuple[Run, int] | None] = []
    seq = 0

    def start_run(slot: int, at_ns: int) -> None:
        nonlocal started, seq
        run = factory.make_run(at_ns)
        started += len(run.spans)
        if slot == len(slots):
            slots.append(None)
        slots[slot] = (run, 0)
        heapq.heappush(heap, (run.spans[0][0], seq, slot))
        seq += 1

    for slot in range(CONCURRENT_RUNS):
        if started >= n_spans:
            break
        start_run(slot, BASE_TIME_NS + slot * rng.randint(1, 20) * 1_000_000_000)

    batch: list[tuple[Resource, tuple[str, str], dict[str, Any]]] = []
    target = rng.randint(*SPANS_PER_BATCH)
    while heap:
        _, _, slot = heapq.heappop(heap)
        entry = slots[slot]
        assert entry is not None
        run, idx = entry
        end_ns, scope, span = run.spans[idx]
        batch.append((run.resource, scope, span))
        idx += 1
        if idx < len(run.spans):
            slots[slot] = (run, idx)
            heapq.heappush(heap, (run.spans[idx][0], seq, slot))
            seq += 1
        else:
            slots[slot] = None
            if started < n_spans:
                start_run(slot, run.end_ns + int(rng.uniform(0.2, 45.0) * 1e9))
        if len(batch) >= target:
            yield _envelope(batch)
            stats.spans += len(batch)
            stats.batches += 1
            batch = []
            target = rng.randint(*SPANS_PER_BATCH)
    if batch:
        yield _envelope(batch)
        stats.spans += len(batch)
        stats.batches += 1


def _envelope(batch: list[tuple[Resource, tuple[str, str], dict[str, Any]]]) -> dict[str, Any]:
    """Group a batch by resource then scope, first-seen order (what the Collector's pdata does)."""
    by_res: dict[int, tuple[Resource, dict[tuple[str, str], list[dict[str, Any]]]]] = {}
    for res, scope, span in batch:
        ent = by_res.get(res.key)
        if ent is None:
            ent = by_res[res.key] = (res, {})
        ent[1].setdefault(scope, []).append(span)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": res.attributes},
                "scopeSpans": [
                    {"scope": {"name": sc[0], "version": sc[1]}, "spans": sp}
                    for sc, sp in scopes.items()
                ],
            }
            for res, scopes in by_res.values()
        ]
    }


# --------------------------------------------------------------------------------------------
# Proto conversion (same content as the JSON line)


def _fill_any(pv: Any, v: dict[str, Any]) -> None:
    ((k, val),) = v.items()
    if k == "stringValue":
        pv.string_value = val
    elif k == "intValue":
        pv.int_value = int(val)
    elif k == "doubleValue":
        pv.double_value = val
    elif k == "boolValue":
        pv.bool_value = val
    elif k == "arrayValue":
        arr = pv.array_value
        arr.SetInParent()
        for x in val["values"]:
            _fill_any(arr.values.add(), x)
    elif k == "kvlistValue":
        kl = pv.kvlist_value
        kl.SetInParent()
        _fill_kvs(kl.values, val["values"])
    else:  # pragma: no cover - the generator never emits bytesValue
        raise ValueError(k)


def _fill_kvs(target: Any, attrs: list[dict[str, Any]]) -> None:
    for a in attrs:
        item = target.add()
        item.key = a["key"]
        _fill_any(item.value, a["value"])


def to_proto(doc: dict[str, Any]) -> bytes:
    req = ExportTraceServiceRequest()
    fromhex = bytes.fromhex
    for rs in doc["resourceSpans"]:
        prs = req.resource_spans.add()
        _fill_kvs(prs.resource.attributes, rs["resource"]["attributes"])
        for ss in rs["scopeSpans"]:
            pss = prs.scope_spans.add()
            pss.scope.name = ss["scope"]["name"]
            pss.scope.version = ss["scope"]["version"]
            for s in ss["spans"]:
                p = pss.spans.add()
                p.trace_id = fromhex(s["traceId"])
                p.span_id = fromhex(s["spanId"])
                if "parentSpanId" in s:
                    p.parent_span_id = fromhex(s["parentSpanId"])
                p.flags = s["flags"]
                p.name = s["name"]
                p.kind = s["kind"]
                p.start_time_unix_nano = int(s["startTimeUnixNano"])
                p.end_time_unix_nano = int(s["endTimeUnixNano"])
                _fill_kvs(p.attributes, s["attributes"])
                for ev in s.get("events", ()):
                    pe = p.events.add()
                    pe.time_unix_nano = int(ev["timeUnixNano"])
                    pe.name = ev["name"]
                    _fill_kvs(pe.attributes, ev["attributes"])
                st = s["status"]
                p.status.SetInParent()
                if st:
                    p.status.code = st.get("code", 0)
                    if "message" in st:
                        p.status.message = st["message"]
    body: bytes = req.SerializeToString()
    return body


# --------------------------------------------------------------------------------------------
# Writing, manifest, verification

JSONL_NAME = "otlp.jsonl"
BINPB_NAME = "otlp.binpb"
MANIFEST_NAME = "manifest.json"


def generate(
    out: Path,
    n_spans: int,
    seed: int = DEFAULT_SEED,
    formats: tuple[str, ...] = ("json", "pb"),
    progress: bool = True,
    content_fraction: float = 0.25,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    stats = Stats()
    files: dict[str, dict[str, Any]] = {}
    handles = {}
    hashes = {}
    for fmt, name in (("json", JSONL_NAME), ("pb", BINPB_NAME)):
        if fmt in formats:
            handles[fmt] = open(out / (name + ".tmp"), "wb", buffering=4 << 20)  # noqa: SIM115
            hashes[fmt] = hashlib.sha256()
            files[name] = {"bytes": 0}
    t0 = time.perf_counter()
    last_report = t0
    try:
        for doc in iter_batches(n_spans, seed, stats, content_fraction):
            if "json" in handles:
                line = orjson.dumps(doc) + b"\n"
                handles["json"].write(line)
                hashes["json"].update(line)
                files[JSONL_NAME]["bytes"] += len(line)
            if "pb" in handles:
                body = to_proto(doc)
                frame = struct.pack(">I", len(body)) + body
                handles["pb"].write(frame)
                hashes["pb"].update(frame)
                files[BINPB_NAME]["bytes"] += len(frame)
            now = time.perf_counter()
            if progress and now - last_report > 5:
                last_report = now
                print(
                    f"  ... {stats.spans:,} / {n_spans:,} spans ({now - t0:.0f} s)", file=sys.stderr
                )
    finally:
        for h in handles.values():
            h.close()
    for fmt, name in (("json", JSONL_NAME), ("pb", BINPB_NAME)):
        if fmt in handles:
            os.replace(out / (name + ".tmp"), out / name)
            files[name]["sha256"] = hashes[fmt].hexdigest()
            files[name]["bytes_per_span"] = round(files[name]["bytes"] / max(1, stats.spans), 1)
    manifest = {
        "generator": "bench/gen_otlp.py",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "spans_requested": n_spans,
        "content_fraction": content_fraction,
        "spans": stats.spans,
        "runs": stats.runs,
        "ticks": stats.ticks,
        "tool_calls": stats.tool_calls,
        "error_spans": stats.error_spans,
        "batches": stats.batches,
        "input_tokens": stats.input_tokens,
        "output_tokens": stats.output_tokens,
        "dialects": stats.dialects,
        "models": stats.models,
        "files": files,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def iter_binpb(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            head = f.read(4)
            if not head:
                return
            if len(head) != 4:
                raise ValueError(f"{path}: truncated frame header")
            (n,) = struct.unpack(">I", head)
            body = f.read(n)
            if len(body) != n:
                raise ValueError(f"{path}: truncated frame")
            yield body


def check(out: Path) -> None:
    """Re-read both files and verify they parse and hold the same spans as the manifest says."""
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    digest_j = hashlib.blake2b(digest_size=16)
    digest_p = hashlib.blake2b(digest_size=16)
    counts = {}
    if (out / JSONL_NAME).exists():
        n = lines = 0
        ops: dict[str, int] = {}
        with open(out / JSONL_NAME, "rb") as f:
            for line in f:
                lines += 1
                doc = orjson.loads(line)
                for rs in doc["resourceSpans"]:
                    for ss in rs["scopeSpans"]:
                        for s in ss["spans"]:
                            n += 1
                            assert len(s["traceId"]) == 32 and len(s["spanId"]) == 16
                            digest_j.update(bytes.fromhex(s["traceId"] + s["spanId"]))
                            digest_j.update(s["endTimeUnixNano"].encode())
                            for a in s["attributes"]:
                                if a["key"] == "gen_ai.operation.name":
                                    op = a["value"]["stringValue"]
                                    ops[op] = ops.get(op, 0) + 1
        counts["json"] = n
        print(
            f"check {JSONL_NAME}: {lines:,} lines, {n:,} spans, gen_ai.operation.name counts {ops}"
        )
    if (out / BINPB_NAME).exists():
        n = frames = 0
        for body in iter_binpb(out / BINPB_NAME):
            frames += 1
            req = ExportTraceServiceRequest()
            req.ParseFromString(body)
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        n += 1
                        digest_p.update(s.trace_id + s.span_id)
                        digest_p.update(str(s.end_time_unix_nano).encode())
        counts["pb"] = n
        print(f"check {BINPB_NAME}: {frames:,} frames, {n:,} spans")
    for fmt, n in counts.items():
        if n != manifest["spans"]:
            raise SystemExit(
                f"check failed: {fmt} has {n} spans, manifest says {manifest['spans']}"
            )
    if len(counts) == 2 and digest_j.digest() != digest_p.digest():
        raise SystemExit("check failed: the JSON and proto files hold different span ids/times")
    print(
        "check ok"
        + (": JSON and proto hold identical span ids and end times" if len(counts) == 2 else "")
    )


def describe(manifest: dict[str, Any], out: Path) -> str:
    m = manifest
    lines = [
        f"wrote {out}/ in {m['seconds']} s (seed {m['seed']}): {m['spans']:,} spans, "
        f"{m['runs']:,} runs, {m['ticks']:,} chat spans (ticks), {m['tool_calls']:,} tool spans, "
        f"{m['batches']:,} export batches"
    ]
    for name, f in m["files"].items():
        lines.append(
            f"  {name:<12} {f['bytes']:>15,} bytes  ({f['bytes'] / 1e6:,.1f} MB, "
            f"{f['bytes_per_span']:,.0f} B/span)  {m['spans']:,} spans, {m['runs']:,} runs"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--spans",
        type=int,
        default=1_000_000,
        help="spans to write (default 1,000,000); "
        "the last run is completed, so the count can exceed this by < 1 run",
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--only", choices=["json", "pb"], help="write only one of the two files")
    ap.add_argument(
        "--content-fraction",
        type=float,
        default=0.25,
        help="share of runs that capture message content, tool arguments and results "
        "(default 0.25; 0 gives the leanest realistic spans, ~1.3 KB/span in JSON)",
    )
    ap.add_argument(
        "--check", action="store_true", help="re-read the files afterwards and verify them"
    )
    ap.add_argument(
        "--check-only", action="store_true", help="verify existing files, generate nothing"
    )
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.check_only:
        check(args.out)
        return 0
    if args.spans < 1:
        ap.error("--spans must be positive")
    formats = (args.only,) if args.only else ("json", "pb")
    manifest = generate(
        args.out,
        args.spans,
        args.seed,
        formats,
        progress=not args.quiet,
        content_fraction=args.content_fraction,
    )
    print(describe(manifest, args.out))
    if args.check:
        check(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
