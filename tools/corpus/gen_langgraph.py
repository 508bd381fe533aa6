"""Make fixtures/frameworks/langgraph/: LangGraph's prebuilt ReAct agent over langchain-openai,
traced by OpenInference's LangChain instrumentation, against the scripted mock model.

Run with the corpus venv (see requirements-langgraph.txt), not the project's:
    /tmp/corpus-venv/bin/python tools/corpus/gen_langgraph.py [scenario ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from langchain_core.tools import tool  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from langgraph.prebuilt import create_react_agent  # noqa: E402
from mock_model import SCENARIOS, SYSTEM_PROMPT, MockModel, Weather, scenario_steps  # noqa: E402
from openinference.instrumentation.langchain import LangChainInstrumentor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from otlp_file import write_otlp_json, write_truth  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "frameworks" / "langgraph"
FRAMEWORK = "langgraph"


def run(scenario: str, exporter: InMemorySpanExporter) -> None:
    weather = Weather(scenario)

    @tool
    def get_weather(city: str) -> str:
        """Return the current weather for a city."""
        return weather(city)

    exporter.clear()
    with MockModel(scenario_steps(scenario)) as mock:
        model = ChatOpenAI(
            model=mock.model,
            base_url=mock.base_url,
            api_key="mock",
            max_retries=0,
            timeout=30,
            streaming=scenario == "streaming",
            stream_usage=True,
        )
        prompt = SYSTEM_PROMPT if scenario == "cached_prompt" else None
        agent = create_react_agent(model, [get_weather], prompt=prompt)
        agent.invoke(
            {"messages": [("user", "What is the weather? Use the tool for each city asked.")]},
            {"recursion_limit": 40},
        )
        record = mock.record(
            framework=FRAMEWORK, scenario=scenario, tools_executed=weather.executed
        )
    write_otlp_json(exporter.get_finished_spans(), OUT / f"{scenario}.otlp.json")
    write_truth(record, OUT / f"{scenario}.truth.json")
    print(scenario, record["model_calls"], "calls", weather.executed, "tools", file=sys.stderr)


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "corpus-langgraph"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    LangChainInstrumentor().instrument(tracer_provider=provider)
    for scenario in sys.argv[1:] or (*SCENARIOS, "streaming", "cached_prompt"):
        run(scenario, exporter)


if __name__ == "__main__":
    main()
