"""Make fixtures/frameworks/strands/: a Strands Agents agent over its OpenAI model provider,
traced by Strands' own OpenTelemetry instrumentation, against the scripted mock model.

Run with its own venv (see requirements-strands.txt), not the project's:
    /tmp/corpus-strands/bin/python tools/corpus/gen_strands.py [scenario ...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Strands' tracer reads this once, when the first agent is made; the default (legacy) GenAI
# conventions are the ones most deployments emit, so nothing is opted in.
os.environ.pop("OTEL_SEMCONV_STABILITY_OPT_IN", None)
os.environ["OTEL_SERVICE_NAME"] = "corpus-strands"

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mock_model import SCENARIOS, SYSTEM_PROMPT, MockModel, Weather, scenario_steps  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from otlp_file import write_otlp_json, write_truth  # noqa: E402
from strands import Agent, tool  # noqa: E402
from strands.models.openai import OpenAIModel  # noqa: E402
from strands.telemetry import StrandsTelemetry  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "frameworks" / "strands"
FRAMEWORK = "strands"


def run(scenario: str, exporter: InMemorySpanExporter, keep: bool = True) -> None:
    weather = Weather(scenario)

    @tool  # type: ignore[untyped-decorator]  # strands is not in the project venv
    def get_weather(city: str) -> str:
        """Return the current weather for a city.

        Args:
            city: The city to look up.
        """
        return weather(city)

    exporter.clear()
    with MockModel(scenario_steps(scenario)) as mock:
        # Strands' OpenAI provider streams by default (stream_options.include_usage), so every
        # scenario is a streamed call; `streaming` is the one whose first chunk comes early.
        # One client for the run (Strands' documented reuse): with client_args it builds a new
        # client, TLS context included, for every call, and that set-up counts as TTFT.
        client = AsyncOpenAI(api_key="mock", base_url=mock.base_url, max_retries=0)
        model = OpenAIModel(client=client, model_id=mock.model)
        agent = Agent(
            model=model,
            tools=[get_weather],
            system_prompt=SYSTEM_PROMPT if scenario == "cached_prompt" else None,
            callback_handler=None,
            name="weather_agent",
        )
        agent("What is the weather? Use the tool for each city asked.")
        record = mock.record(
            framework=FRAMEWORK, scenario=scenario, tools_executed=weather.executed
        )
    if not keep:
        return
    write_otlp_json(exporter.get_finished_spans(), OUT / f"{scenario}.otlp.json")
    write_truth(record, OUT / f"{scenario}.truth.json")
    print(scenario, record["model_calls"], "calls", weather.executed, "tools", file=sys.stderr)


def main() -> None:
    exporter = InMemorySpanExporter()
    # StrandsTelemetry makes the tracer provider and sets it as the global one, which is the
    # provider Strands' tracer takes its tracer from.
    telemetry = StrandsTelemetry()
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    # A throwaway first run: the first model call in a process pays for lazy imports and
    # client set-up (about a second here), which would read as time to first token.
    run("healthy", exporter, keep=False)
    for scenario in sys.argv[1:] or (*SCENARIOS, "streaming", "cached_prompt"):
        run(scenario, exporter)


if __name__ == "__main__":
    main()
