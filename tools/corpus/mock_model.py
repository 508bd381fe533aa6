"""A scripted model server on 127.0.0.1 for the framework corpus.

Frameworks run their own agent loop against it; it answers from a script (tool calls, then a
final answer) with scripted token counts and latencies, and records what it served, which is the
truth the corpus tests compare agentprof's ledger with. Loopback only, bounded, stops by itself.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_REQUESTS = 64  # no scenario needs more; a runaway loop is cut off
MAX_BODY = 4 * 1024 * 1024
IDLE_SECONDS = 120  # the server stops by itself after this long without a request

MODEL = "gpt-4o-mini"


@dataclass
class Step:
    """One scripted model answer: tool calls (name, arguments) or, with none, a final text."""

    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = ""
    latency_s: float = 0.15
    cached_tokens: int = 0  # served as prompt_tokens_details.cached_tokens / cache_read
    cache_write_tokens: int = 0  # served as Anthropic's cache_creation_input_tokens only
    ttft_s: float | None = None  # when streamed: the first chunk comes after this, the rest later


# A long, stable system prompt for the cached_prompt scenario: written to the cache on call 1,
# read from it on call 2 (tokens = characters/4, like every count the mock serves).
SYSTEM_PROMPT = "You are a careful weather assistant. Always use the tool. " * 140
SYSTEM_PROMPT_TOKENS = len(SYSTEM_PROMPT) // 4
LONG_REPORT = "Hourly report for {city}: sunny, 21 C, light wind from the west. " * 200


class Weather:
    """The corpus's one tool (`get_weather`) as every generator's agent runs it, wrapped in each
    framework's own tool declaration: slow in `slow_tool`, a long uncached result in
    `cached_prompt` (the second call's fresh input then outweighs its cache read, so an inclusive
    and a disjoint input count cannot be confused). `executed` counts the runs, from any thread:
    the truth's `tools_executed`."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.executed = 0
        self._lock = threading.Lock()

    def __call__(self, city: str) -> str:
        if self.scenario == "slow_tool":
            time.sleep(2.0)
        return self.answer(city)

    def answer(self, city: str) -> str:
        """The tool's work without the slow scenario's wait (an async tool awaits its own)."""
        with self._lock:
            self.executed += 1
        if self.scenario == "cached_prompt":
            return LONG_REPORT.format(city=city)
        return f"The weather in {city} is sunny, 21 C."


def scenario_steps(name: str, final_tool: str | None = None) -> list[Step]:
    """The scripted answers for a scenario. `final_tool` turns the final answer into a call of
    that tool (smolagents' ToolCallingAgent answers through a `final_answer` tool)."""
    if name in ("healthy", "slow_tool"):
        steps = [Step([("get_weather", {"city": "Paris"})]), Step(text="It is sunny in Paris.")]
    elif name == "streaming":
        steps = [
            Step([("get_weather", {"city": "Paris"})], latency_s=0.6, ttft_s=0.3),
            Step(text="It is sunny in Paris.", latency_s=0.6, ttft_s=0.3),
        ]
    elif name == "cached_prompt":
        steps = [
            Step([("get_weather", {"city": "Paris"})], cache_write_tokens=SYSTEM_PROMPT_TOKENS),
            Step(text="It is sunny in Paris.", cached_tokens=SYSTEM_PROMPT_TOKENS),
        ]
    elif name == "many_ticks":
        steps = [Step([("get_weather", {"city": f"City{i}"})]) for i in range(12)]
        steps.append(Step(text="I checked all twelve cities; all are sunny."))
    elif name == "parallel_tools":
        cities = ("Paris", "Berlin", "Rome")
        steps = [Step([("get_weather", {"city": c}) for c in cities])]
        steps.append(Step(text="Sunny in Paris, Berlin and Rome."))
    else:
        raise ValueError(f"unknown scenario {name!r}")
    if final_tool:
        steps[-1] = Step([(final_tool, {"answer": steps[-1].text})], latency_s=steps[-1].latency_s)
    return steps


SCENARIOS = ("healthy", "slow_tool", "many_ticks", "parallel_tools")


def _prompt_chars(body: dict[str, Any]) -> int:
    """Characters the model would read: message contents, tool-call arguments, tool schemas."""
    n = _content_chars(body.get("system"))
    for m in body.get("messages", []):
        n += _content_chars(m.get("content"))
        for tc in m.get("tool_calls") or []:
            n += len(tc.get("function", {}).get("arguments", ""))
    # OpenAI's Responses API: instructions and input items (messages, function calls and outputs).
    n += _content_chars(body.get("instructions"))
    items = body.get("input")
    for item in [{"content": items}] if isinstance(items, str) else items or []:
        n += _content_chars(item.get("content"))
        n += len(item.get("arguments", "") or "") + len(item.get("output", "") or "")
    n += len(json.dumps(body.get("tools", []), sort_keys=True))
    return n


def _content_chars(content: Any) -> int:
    """A string, or a list of blocks: text, Anthropic tool_use input and tool_result content."""
    if isinstance(content, str):
        return len(content)
    if not isinstance(content, list):
        return 0
    n = 0
    for block in content:
        if isinstance(block, dict):
            n += len(block.get("text", "") or "")
            if "input" in block:
                n += len(json.dumps(block["input"]))
            n += _content_chars(block.get("content"))
    return n


class MockModel:
    """Serve `steps` in order; `record` holds one entry per model call served."""

    def __init__(
        self, steps: list[Step], model: str = MODEL, tool_call_in_first_chunk: bool = False
    ) -> None:
        self.steps = steps
        self.model = model
        # Streamed tool-call answers: by default the first chunk (at ttft_s) is an empty
        # assistant delta and the tool calls follow at latency_s. With this set, the first chunk
        # carries the first tool call's id and name (arguments follow), as OpenAI streams them,
        # so a client that times the first chunk with output (the Vercel AI SDK) sees ttft_s.
        self.tool_call_in_first_chunk = tool_call_in_first_chunk
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> MockModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self) -> None:
        watchdog = threading.Thread(target=self._watchdog, daemon=True)
        watchdog.start()
        self._server.serve_forever(poll_interval=0.1)

    def _watchdog(self) -> None:
        while True:
            time.sleep(1)
            if time.monotonic() - self._last > IDLE_SECONDS:
                self._server.shutdown()
                return

    def record(self, **extra: Any) -> dict[str, Any]:
        totals = {
            k: sum(c[k] for c in self.calls)
            for k in ("prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens")
        }
        return {
            "model": self.model,
            "model_calls": len(self.calls),
            "tool_calls_requested": sum(len(c["tool_calls"]) for c in self.calls),
            "tokens": totals,
            "calls": self.calls,
            **extra,
        }

    def _next(self, body: dict[str, Any], api: str) -> tuple[Step, dict[str, Any]]:
        with self._lock:
            i = len(self.calls)
            if i >= min(len(self.steps), MAX_REQUESTS):
                raise IndexError("script exhausted")
            step = self.steps[i]
            prompt = max(1, _prompt_chars(body) // 4)
            cached = min(step.cached_tokens, prompt)
            # OpenAI's usage has no cache-write count: only the Anthropic API serves one.
            written = (
                min(step.cache_write_tokens, prompt - cached) if api.startswith("anthropic") else 0
            )
            answer = step.text + "".join(json.dumps(a) + n for n, a in step.tool_calls)
            call = {
                "index": i + 1,
                "api": api,
                "stream": bool(body.get("stream")),
                "prompt_tokens": prompt,
                "completion_tokens": max(1, len(answer) // 4),
                "cached_tokens": cached,
                "cache_write_tokens": written,
                "latency_s": step.latency_s,
                "ttft_s": (step.ttft_s if step.ttft_s is not None else step.latency_s)
                if body.get("stream")
                else None,
                "tool_calls": [n for n, _ in step.tool_calls],
            }
            self.calls.append(call)
            self._last = time.monotonic()
        return step, call

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": mock.model}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                if length > MAX_BODY:
                    self._json(413, {"error": {"message": "too large"}})
                    return
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0].rstrip("/")
                try:
                    if path.endswith("/chat/completions"):
                        step, call = mock._next(body, "openai.chat")
                        # A streamed answer starts at once (headers) and sends its first
                        # chunk after ttft_s, as vLLM-style servers do.
                        time.sleep(0.0 if call["stream"] else step.latency_s)
                        self._openai(body, step, call)
                    elif path.endswith("/messages"):
                        step, call = mock._next(body, "anthropic.messages")
                        time.sleep(step.latency_s)
                        self._anthropic(step, call)
                    elif path.endswith("/responses") and not body.get("stream"):
                        step, call = mock._next(body, "openai.responses")
                        time.sleep(step.latency_s)
                        self._responses(step, call)
                    else:
                        self._json(404, {"error": {"message": "not found"}})
                except IndexError:
                    self._json(500, {"error": {"message": "mock script exhausted"}})

            def _openai(self, body: dict[str, Any], step: Step, call: dict[str, Any]) -> None:
                tool_calls: list[dict[str, Any]] = [
                    {
                        "id": f"call_{call['index']}_{k}",
                        "type": "function",
                        "function": {"name": n, "arguments": json.dumps(a)},
                    }
                    for k, (n, a) in enumerate(step.tool_calls)
                ]
                usage = {
                    "prompt_tokens": call["prompt_tokens"],
                    "completion_tokens": call["completion_tokens"],
                    "total_tokens": call["prompt_tokens"] + call["completion_tokens"],
                    "prompt_tokens_details": {"cached_tokens": call["cached_tokens"]},
                }
                finish = "tool_calls" if tool_calls else "stop"
                rid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
                created = int(time.time())
                if not body.get("stream"):
                    message: dict[str, Any] = {"role": "assistant", "content": step.text or None}
                    if tool_calls:
                        message["tool_calls"] = tool_calls
                    self._json(
                        200,
                        {
                            "id": rid,
                            "object": "chat.completion",
                            "created": created,
                            "model": mock.model,
                            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                            "usage": usage,
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                self.wfile.flush()
                time.sleep(call["ttft_s"])

                def chunk(delta: dict[str, Any], fin: str | None, use: Any = None) -> None:
                    doc: dict[str, Any] = {
                        "id": rid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": mock.model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]
                        if use is None
                        else [],
                    }
                    if use is not None:
                        doc["usage"] = use
                    self.wfile.write(f"data: {json.dumps(doc)}\n\n".encode())
                    self.wfile.flush()

                head = tool_calls[:1] if mock.tool_call_in_first_chunk else []
                first: dict[str, Any] = {"role": "assistant", "content": step.text[:4]}
                for tc in head:
                    fn = {"name": tc["function"]["name"], "arguments": ""}
                    first["tool_calls"] = [{"index": 0, **tc, "function": fn}]
                chunk(first, None)
                time.sleep(max(0.0, step.latency_s - call["ttft_s"]))
                if step.text[4:]:
                    chunk({"content": step.text[4:]}, None)
                for tc in head:
                    chunk(
                        {
                            "tool_calls": [
                                {"index": 0, "function": {"arguments": tc["function"]["arguments"]}}
                            ]
                        },
                        None,
                    )
                for k, tc in enumerate(tool_calls[len(head) :], start=len(head)):
                    chunk({"tool_calls": [{"index": k, **tc}]}, None)
                chunk({}, finish)
                if (body.get("stream_options") or {}).get("include_usage"):
                    chunk({}, None, usage)
                self.wfile.write(b"data: [DONE]\n\n")

            def _anthropic(self, step: Step, call: dict[str, Any]) -> None:
                content: list[dict[str, Any]] = []
                if step.text:
                    content.append({"type": "text", "text": step.text})
                for k, (n, a) in enumerate(step.tool_calls):
                    content.append(
                        {
                            "type": "tool_use",
                            "id": f"toolu_{call['index']}_{k}",
                            "name": n,
                            "input": a,
                        }
                    )
                self._json(
                    200,
                    {
                        "id": f"msg_{uuid.uuid4().hex[:12]}",
                        "type": "message",
                        "role": "assistant",
                        "model": mock.model,
                        "content": content,
                        "stop_reason": "tool_use" if step.tool_calls else "end_turn",
                        "usage": {
                            "input_tokens": call["prompt_tokens"]
                            - call["cached_tokens"]
                            - call["cache_write_tokens"],
                            "output_tokens": call["completion_tokens"],
                            "cache_read_input_tokens": call["cached_tokens"],
                            "cache_creation_input_tokens": call["cache_write_tokens"],
                        },
                    },
                )

            def _responses(self, step: Step, call: dict[str, Any]) -> None:
                """OpenAI's Responses API, unstreamed: function_call items, then a message."""
                i = call["index"]
                output: list[dict[str, Any]] = [
                    {
                        "type": "function_call",
                        "id": f"fc_{i}_{k}",
                        "call_id": f"call_{i}_{k}",
                        "name": n,
                        "arguments": json.dumps(a),
                        "status": "completed",
                    }
                    for k, (n, a) in enumerate(step.tool_calls)
                ]
                if step.text:
                    text = {"type": "output_text", "text": step.text, "annotations": []}
                    output.append(
                        {
                            "type": "message",
                            "id": f"msg_{i}",
                            "role": "assistant",
                            "status": "completed",
                            "content": [text],
                        }
                    )
                self._json(
                    200,
                    {
                        "id": f"resp_{uuid.uuid4().hex[:12]}",
                        "object": "response",
                        "created_at": int(time.time()),
                        "status": "completed",
                        "model": mock.model,
                        "output": output,
                        "incomplete_details": None,
                        "usage": {
                            "input_tokens": call["prompt_tokens"],
                            "input_tokens_details": {"cached_tokens": call["cached_tokens"]},
                            "output_tokens": call["completion_tokens"],
                            "output_tokens_details": {"reasoning_tokens": 0},
                            "total_tokens": call["prompt_tokens"] + call["completion_tokens"],
                        },
                    },
                )

        return Handler
