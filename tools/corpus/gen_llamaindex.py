"""Make fixtures/frameworks/llamaindex/: LlamaIndex's FunctionAgent (its agent workflow) over
llama-index-llms-openai, traced by OpenInference's LlamaIndex instrumentation, against the
scripted mock model.

Run with its own venv (see requirements-llamaindex.txt), not the project's:
    /tmp/corpus-llamaindex/bin/python tools/corpus/gen_llamaindex.py [scenario ...]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llama_index.core.agent.workflow import FunctionAgent  # noqa: E402
from llama_index.llms.openai import OpenAI  # noqa: E402
from mock_model import SCENARIOS, SYSTEM_PROMPT, MockModel, Weather, scenario_steps  # noqa: E402
from openinference.instrumentation.llama_index import LlamaIndexInstrumentor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from otlp_file import write_otlp_json, write_truth  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "frameworks" / "llamaindex"
FRAMEWORK = "llamaindex"


def run(scenario: str, exporter: InMemorySpanExporter, write: bool = True) -> None:
    weather = Weather(scenario)

    async def get_weather(city: str) -> str:
        """Return the current weather for a city."""
        if scenario == "slow_tool":
            await asyncio.sleep(2.0)
        return weather.answer(city)

    exporter.clear()
    streaming = scenario == "streaming"
    # Streamed tool calls start in the first chunk, as OpenAI streams them.
    with MockModel(scenario_steps(scenario), tool_call_in_first_chunk=True) as mock:
        llm = OpenAI(
            model=mock.model,
            api_base=mock.base_url,
            api_key="mock",
            max_retries=0,
            timeout=30,
            # Only a streamed request may carry stream_options (llama-index drops it otherwise).
            additional_kwargs={"stream_options": {"include_usage": True}} if streaming else {},
        )
        agent = FunctionAgent(
            tools=[get_weather],
            llm=llm,
            system_prompt=SYSTEM_PROMPT if scenario == "cached_prompt" else None,
            # FunctionAgent streams by default; the plain scenarios make plain calls.
            streaming=streaming,
        )

        async def go() -> None:
            await agent.run(
                user_msg="What is the weather? Use the tool for each city asked.", max_iterations=40
            )

        asyncio.run(go())
        record = mock.record(
            framework=FRAMEWORK, scenario=scenario, tools_executed=weather.executed
        )
    if not write:
        return
    write_otlp_json(exporter.get_finished_spans(), OUT / f"{scenario}.otlp.json")
    write_truth(record, OUT / f"{scenario}.truth.json")
    print(scenario, record["model_calls"], "calls", weather.executed, "tools", file=sys.stderr)


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "corpus-llamaindex"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    LlamaIndexInstrumentor().instrument(tracer_provider=provider)
    # One unrecorded run first: the first run in a process pays one-off lazy imports and client
    # set-up (about 1 s in CrewAI's executor) as untraced time that no later run has.
    run("healthy", exporter, write=False)
    for scenario in sys.argv[1:] or (*SCENARIOS, "streaming", "cached_prompt"):
        run(scenario, exporter)


if __name__ == "__main__":
    main()
