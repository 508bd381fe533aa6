"""Make fixtures/frameworks/crewai/: a one-agent CrewAI crew over CrewAI's native OpenAI client,
traced by OpenInference's CrewAI instrumentation (crew, task, agent and tool spans) with
OpenInference's OpenAI instrumentation for the model calls (the pairing its README recommends),
against the scripted mock model. With `events` first, fixtures/frameworks/crewai_events/: the
CrewAI instrumentation alone in its event-listener mode, which writes the model-call spans itself
from CrewAI's LLM call events.

CrewAI's own anonymous telemetry and its cloud tracing are switched off before it is imported
(CREWAI_DISABLE_TELEMETRY, CREWAI_DISABLE_TRACKING, CREWAI_TRACING_ENABLED=false). Not
OTEL_SDK_DISABLED: CrewAI reads it too, but it would switch off our own TracerProvider as well.

Run with its own venv (see requirements-crewai.txt), not the project's:
    /tmp/corpus-crewai/bin/python tools/corpus/gen_crewai.py [events] [scenario ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.update(
    {
        "CREWAI_DISABLE_TELEMETRY": "true",
        "CREWAI_DISABLE_TRACKING": "true",
        "CREWAI_TRACING_ENABLED": "false",
        "CREWAI_DISABLE_VERSION_CHECK": "true",
        "CREWAI_STORAGE_DIR": tempfile.mkdtemp(prefix="corpus-crewai-"),
        "OPENAI_API_KEY": "mock",
    }
)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from crewai import LLM, Agent, Crew, Task  # noqa: E402
from crewai.tools import tool  # noqa: E402
from mock_model import SCENARIOS, SYSTEM_PROMPT, MockModel, Weather, scenario_steps  # noqa: E402
from openinference.instrumentation.crewai import CrewAIInstrumentor  # noqa: E402
from openinference.instrumentation.openai import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from otlp_file import write_otlp_json, write_truth  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "frameworks"


def run(scenario: str, exporter: InMemorySpanExporter, framework: str, write: bool = True) -> None:
    weather = Weather(scenario)

    @tool("get_weather")
    def get_weather(city: str) -> str:
        """Return the current weather for a city."""
        return weather(city)

    exporter.clear()
    # Streamed tool calls start in the first chunk, as OpenAI streams them.
    with MockModel(scenario_steps(scenario), tool_call_in_first_chunk=True) as mock:
        llm = LLM(
            model=mock.model,
            base_url=mock.base_url,
            api_key="mock",
            max_retries=0,
            timeout=30,
            stream=scenario == "streaming",
        )
        agent = Agent(
            role="Weather assistant",
            goal="Report the weather for each city asked, using the tool.",
            # The cached_prompt scenario's long, stable system prompt goes into the backstory,
            # which CrewAI puts into its system message.
            backstory=SYSTEM_PROMPT if scenario == "cached_prompt" else "You check the weather.",
            tools=[get_weather],
            llm=llm,
            max_iter=40,
            allow_delegation=False,
            verbose=False,
        )
        task = Task(
            description="What is the weather? Use the tool for each city asked.",
            expected_output="A short weather report.",
            agent=agent,
        )
        Crew(agents=[agent], tasks=[task], verbose=False).kickoff()
        record = mock.record(
            framework=framework, scenario=scenario, tools_executed=weather.executed
        )
    if not write:
        return
    write_otlp_json(exporter.get_finished_spans(), CORPUS / framework / f"{scenario}.otlp.json")
    write_truth(record, CORPUS / framework / f"{scenario}.truth.json")
    print(scenario, record["model_calls"], "calls", weather.executed, "tools", file=sys.stderr)


def main() -> None:
    args = sys.argv[1:]
    events = bool(args) and args[0] == "events"
    if events:
        args = args[1:]
    framework = "crewai_events" if events else "crewai"
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": f"corpus-{framework}"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    if events:
        CrewAIInstrumentor().instrument(tracer_provider=provider, use_event_listener=True)
    else:
        CrewAIInstrumentor().instrument(tracer_provider=provider)
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    # One unrecorded run first: the first run in a process pays one-off lazy imports and client
    # set-up (about 1 s in CrewAI's executor) as untraced time that no later run has.
    run("healthy", exporter, framework, write=False)
    for scenario in args or (*SCENARIOS, "streaming", "cached_prompt"):
        run(scenario, exporter, framework)


if __name__ == "__main__":
    main()
