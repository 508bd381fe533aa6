"""Make fixtures/frameworks/smolagents/: smolagents' ToolCallingAgent over its OpenAI server
model, traced by OpenInference's smolagents instrumentation, against the scripted mock model.

Run with the corpus venv (see requirements-smolagents.txt), not the project's:
    /tmp/corpus-venv/bin/python tools/corpus/gen_smolagents.py [scenario ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mock_model import SCENARIOS, MockModel, Weather, scenario_steps  # noqa: E402
from openinference.instrumentation.smolagents import SmolagentsInstrumentor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from otlp_file import write_otlp_json, write_truth  # noqa: E402
from smolagents import OpenAIServerModel, ToolCallingAgent, tool  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "frameworks" / "smolagents"
FRAMEWORK = "smolagents"


def run(scenario: str, exporter: InMemorySpanExporter) -> None:
    weather = Weather(scenario)

    @tool
    def get_weather(city: str) -> str:
        """Return the current weather for a city.

        Args:
            city: The city to look up.
        """
        return weather(city)

    exporter.clear()
    # ToolCallingAgent answers by calling its built-in final_answer tool.
    with MockModel(scenario_steps(scenario, final_tool="final_answer")) as mock:
        model = OpenAIServerModel(model_id=mock.model, api_base=mock.base_url, api_key="mock")
        agent = ToolCallingAgent(tools=[get_weather], model=model, max_steps=20, verbosity_level=0)
        agent.run("What is the weather? Use the tool for each city asked.")
        # final_answer is a tool the model calls and smolagents executes: it counts as one.
        finals = sum(
            1
            for step in agent.memory.steps
            for call in getattr(step, "tool_calls", None) or []
            if call.name == "final_answer"
        )
        record = mock.record(
            framework=FRAMEWORK,
            scenario=scenario,
            tools_executed=weather.executed + finals,
            final_answer_tool_calls=finals,
        )
    write_otlp_json(exporter.get_finished_spans(), OUT / f"{scenario}.otlp.json")
    write_truth(record, OUT / f"{scenario}.truth.json")
    print(scenario, record["model_calls"], "calls", weather.executed, "tools", file=sys.stderr)


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "corpus-smolagents"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    SmolagentsInstrumentor().instrument(tracer_provider=provider)
    for scenario in sys.argv[1:] or SCENARIOS:
        run(scenario, exporter)


if __name__ == "__main__":
    main()
