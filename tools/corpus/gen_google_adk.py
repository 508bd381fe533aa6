"""Make fixtures/frameworks/google_adk/: a Google ADK LlmAgent over a LiteLLM model
(`openai/gpt-4o-mini`, pointed at the mock), run by ADK's in-memory Runner and traced by ADK's
own OpenTelemetry instrumentation, against the scripted mock model.

Run with its own venv (see requirements-google_adk.txt), not the project's:
    /tmp/corpus-adk/bin/python tools/corpus/gen_google_adk.py [legacy] [scenario ...]
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

# Offline: LiteLLM would download its model price map at import; ADK exports to Google Cloud
# only when these are set, so make sure they are not.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
for _var in (
    "GOOGLE_CLOUD_AGENT_ENGINE_ID",
    "GOOGLE_CLOUD_AGENT_ENGINE_ENABLE_TELEMETRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SEMCONV_STABILITY_OPT_IN",
    "ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN",
):
    os.environ.pop(_var, None)
# `legacy` as the first argument: ADK's telemetry schema 1 (call_llm spans, stable GenAI
# semconv), still supported and what deployments pinned before schema 2 emit.
LEGACY = sys.argv[1:2] == ["legacy"]
if LEGACY:
    os.environ["ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN"] = "1"
    del sys.argv[1]

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mock_model import SCENARIOS, SYSTEM_PROMPT, MockModel, Weather, scenario_steps  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from otlp_file import write_otlp_json, write_truth  # noqa: E402

# ADK's tracer is the global provider's: set it before ADK is imported.
EXPORTER = InMemorySpanExporter()
_provider = TracerProvider(resource=Resource.create({"service.name": "corpus-google-adk"}))
_provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(_provider)

import litellm  # noqa: E402
from google.adk.agents import LlmAgent  # noqa: E402
from google.adk.agents.run_config import RunConfig, StreamingMode  # noqa: E402
from google.adk.models.lite_llm import LiteLlm  # noqa: E402
from google.adk.runners import Runner  # noqa: E402
from google.adk.sessions import InMemorySessionService  # noqa: E402
from google.genai import types  # noqa: E402

litellm.telemetry = False

FRAMEWORK = "google_adk_legacy" if LEGACY else "google_adk"
OUT = Path(__file__).resolve().parents[2] / "fixtures" / "frameworks" / FRAMEWORK
MODEL_ID = "openai/gpt-4o-mini"  # LiteLLM's router-prefixed id: provider/model


async def _run_agent(agent: LlmAgent, streaming: bool) -> None:
    sessions = InMemorySessionService()
    runner = Runner(app_name="corpus", agent=agent, session_service=sessions)
    session = await sessions.create_session(app_name="corpus", user_id="corpus")
    message = types.Content(
        role="user",
        parts=[types.Part(text="What is the weather? Use the tool for each city asked.")],
    )
    config = RunConfig(streaming_mode=StreamingMode.SSE if streaming else StreamingMode.NONE)
    async for _event in runner.run_async(
        user_id="corpus", session_id=session.id, new_message=message, run_config=config
    ):
        pass


def run(scenario: str, keep: bool = True) -> None:
    weather = Weather(scenario)

    def get_weather(city: str) -> str:
        """Return the current weather for a city.

        Args:
            city: The city to look up.
        """
        return weather(city)

    EXPORTER.clear()
    with MockModel(scenario_steps(scenario)) as mock:
        model = LiteLlm(model=MODEL_ID, api_base=mock.base_url, api_key="mock", num_retries=0)
        agent = LlmAgent(
            name="weather_agent",
            model=model,
            instruction=SYSTEM_PROMPT
            if scenario == "cached_prompt"
            else "Answer weather questions with the tool.",
            tools=[get_weather],
        )
        asyncio.run(_run_agent(agent, streaming=scenario == "streaming"))
        record = mock.record(
            framework=FRAMEWORK, scenario=scenario, tools_executed=weather.executed
        )
    if not keep:
        return
    write_otlp_json(EXPORTER.get_finished_spans(), OUT / f"{scenario}.otlp.json")
    write_truth(record, OUT / f"{scenario}.truth.json")
    print(scenario, record["model_calls"], "calls", weather.executed, "tools", file=sys.stderr)


def main() -> None:
    # A throwaway first run: the first model call in a process pays for lazy imports and
    # client set-up (a second or more here, streamed or not), which would read as model latency.
    run("healthy", keep=False)
    run("streaming", keep=False)
    for scenario in sys.argv[1:] or (*SCENARIOS, "streaming", "cached_prompt"):
        run(scenario)


if __name__ == "__main__":
    main()
