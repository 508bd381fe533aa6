"""Make fixtures/frameworks/openlit_openai/ and openlit_anthropic/: a plain agent loop over the
OpenAI or the Anthropic SDK, traced by OpenLIT's instrumentation, against the scripted mock.

A bare SDK loop has no agent or tool spans, so the root `invoke_agent` span and the
`execute_tool` spans come from this loop (GenAI semconv names); every model-call span, its usage
and timing attributes come from OpenLIT. Run with its own venv (OpenLIT needs openai<3):
    /tmp/corpus-openlit/bin/python tools/corpus/gen_openlit.py openai|anthropic [scenario ...]
"""

from __future__ import annotations

import contextvars
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anthropic  # noqa: E402
import openai  # noqa: E402
import openlit  # noqa: E402
from mock_model import SCENARIOS, SYSTEM_PROMPT, MockModel, Weather, scenario_steps  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from otlp_file import write_otlp_json, write_truth  # noqa: E402

FRAMEWORKS = Path(__file__).resolve().parents[2] / "fixtures" / "frameworks"
ANTHROPIC_MODEL = "claude-haiku-4-5"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Return the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def run(sdk: str, scenario: str, exporter: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    weather = Weather(scenario)

    def get_weather(city: str) -> str:
        return weather(city)

    def execute(call_id: str, name: str, arguments: dict[str, Any]) -> str:
        with tracer.start_as_current_span(f"execute_tool {name}") as span:
            span.set_attribute("gen_ai.operation.name", "execute_tool")
            span.set_attribute("gen_ai.tool.name", name)
            span.set_attribute("gen_ai.tool.call.id", call_id)
            return get_weather(**arguments)

    def execute_all(calls: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
        """Run one response's tool calls concurrently, each span under the agent span."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(contextvars.copy_context().run, execute, *c) for c in calls]
            return [f.result() for f in futures]

    exporter.clear()
    framework = f"openlit_{sdk}"
    system = SYSTEM_PROMPT if scenario == "cached_prompt" else "You are a weather assistant."
    question = "What is the weather? Use the tool for each city asked."
    model = ANTHROPIC_MODEL if sdk == "anthropic" else "gpt-4o-mini"
    with MockModel(scenario_steps(scenario), model=model) as mock:
        with tracer.start_as_current_span("invoke_agent corpus") as root:
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            root.set_attribute("gen_ai.agent.name", "corpus")
            if sdk == "anthropic":
                _anthropic_loop(mock.base_url, model, system, question, execute_all)
            else:
                _openai_loop(mock.base_url, model, system, question, execute_all, scenario)
        record = mock.record(
            framework=framework, scenario=scenario, tools_executed=weather.executed
        )
    out = FRAMEWORKS / framework
    write_otlp_json(exporter.get_finished_spans(), out / f"{scenario}.otlp.json")
    write_truth(record, out / f"{scenario}.truth.json")
    print(scenario, record["model_calls"], "calls", weather.executed, "tools", file=sys.stderr)


def _openai_loop(
    base_url: str, model: str, system: str, question: str, execute_all: Any, scenario: str
) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="mock", max_retries=0)
    messages: list[Any] = [
        {"role": "system", "content": system},
        {"role": "user", "content": question},
    ]
    for _ in range(20):
        if scenario == "streaming":
            message = _streamed(client, model, messages)
        else:
            response = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
            message = response.choices[0].message
        messages.append(message)
        calls = message.tool_calls or []
        if not calls:
            return
        results = execute_all(
            [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls]
        )
        for call, result in zip(calls, results, strict=True):
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})


def _anthropic_loop(
    base_url: str, model: str, system: str, question: str, execute_all: Any
) -> None:
    client = anthropic.Anthropic(
        base_url=base_url.removesuffix("/v1"), api_key="mock", max_retries=0
    )
    tools = [
        {
            "name": t["function"]["name"],
            "description": t["function"]["description"],
            "input_schema": t["function"]["parameters"],
        }
        for t in TOOLS
    ]
    blocks = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    messages: list[Any] = [{"role": "user", "content": question}]
    for _ in range(20):
        response = client.messages.create(
            model=model, max_tokens=512, system=blocks, messages=messages, tools=tools
        )
        messages.append({"role": "assistant", "content": response.content})
        calls = [b for b in response.content if b.type == "tool_use"]
        if not calls:
            return
        results = execute_all([(c.id, c.name, c.input) for c in calls])
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": c.id, "content": r}
                    for c, r in zip(calls, results, strict=True)
                ],
            }
        )


def _streamed(client: openai.OpenAI, model: str, messages: list[Any]) -> Any:
    """Consume a streamed answer and rebuild the assistant message from its chunks."""
    text, calls = "", {}
    for chunk in client.chat.completions.create(
        model=model,
        messages=messages,
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    ):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for tc in choice.delta.tool_calls or []:
                calls[tc.index] = tc
    from openai.types.chat import ChatCompletionMessage

    return ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": text or None,
            "tool_calls": [
                {
                    "id": tc.id,
                    "type": "function",
                    "function": {"name": tc.function.name, "arguments": tc.function.arguments},
                }
                for tc in calls.values()
            ]
            or None,
        }
    )


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "corpus-openlit"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    tracer = provider.get_tracer("corpus.agent_loop")
    openlit.init(
        application_name="corpus-openlit",
        disable_metrics=True,
        disable_batch=True,
        disable_events=True,
    )
    sdk = sys.argv[1]
    default = (*SCENARIOS, "cached_prompt") + (("streaming",) if sdk == "openai" else ())
    for scenario in sys.argv[2:] or default:
        run(sdk, scenario, exporter, tracer)


if __name__ == "__main__":
    main()
