"""Make fixtures/frameworks/vercel_ai/, vercel_ai_responses/ and vercel_ai_anthropic/: the Vercel
AI SDK's own tool loop (`generateText` / `streamText` with tools and `stopWhen:
stepCountIs(20)`) over `@ai-sdk/openai`'s Chat Completions or Responses model or
`@ai-sdk/anthropic`'s Messages model, traced by the SDK's own telemetry
(`experimental_telemetry`), against the scripted mock model.

The agent runs in Node (gen_vercel_ai.mjs, packages pinned in package-vercel-ai.json and
installed outside the repo); this script runs the mock, starts Node once per scenario with the
mock's URL, and writes the OTLP/JSON that Node serialised with the JS OTLP exporter's
JsonTraceSerializer, unchanged, plus the mock's record as the truth:

    mkdir -p /tmp/corpus-vercel && cp tools/corpus/package-vercel-ai.json \
        /tmp/corpus-vercel/package.json && npm install --prefix /tmp/corpus-vercel
    .venv/bin/python tools/corpus/gen_vercel_ai.py [openai|responses|anthropic] [scenario ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mock_model import LONG_REPORT, SCENARIOS, SYSTEM_PROMPT, MockModel, scenario_steps  # noqa: E402
from otlp_file import write_truth  # noqa: E402

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "fixtures" / "frameworks"
# openai: Chat Completions (`.chat()`); responses: the provider's default, the Responses API.
FRAMEWORKS = {
    "openai": "vercel_ai",
    "responses": "vercel_ai_responses",
    "anthropic": "vercel_ai_anthropic",
}
MODELS = {"openai": "gpt-4o-mini", "responses": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
# The mock serves Anthropic's Messages API and OpenAI's Responses API unstreamed only.
EXTRA = {
    "openai": ("streaming", "cached_prompt"),
    "responses": ("cached_prompt",),
    "anthropic": ("cached_prompt",),
}
NODE_TIMEOUT_S = 90
VENDOR = "/tmp/corpus-vercel"  # npm install --prefix target of package-vercel-ai.json


def run(sdk: str, scenario: str) -> None:
    framework = FRAMEWORKS[sdk]
    model = MODELS[sdk]
    # The SDK times the first chunk that carries output (text or a tool call; an empty role
    # delta is held back), so the mock streams a tool call's id and name in its first chunk.
    mock_model = MockModel(scenario_steps(scenario), model=model, tool_call_in_first_chunk=True)
    # Node first runs the loop once, untraced, against this mock (record discarded) so that
    # its lazy loading does not land in the traced run's first tick.
    warm_model = MockModel(scenario_steps("healthy"), model=model, tool_call_in_first_chunk=True)
    with tempfile.TemporaryDirectory() as tmp, warm_model as warm, mock_model as mock:
        result = Path(tmp) / "spans.json"
        node = [
            "node",
            str(HERE / "gen_vercel_ai.mjs"),
            sdk,
            scenario,
            mock.base_url,
            warm.base_url,
            str(result),
            SYSTEM_PROMPT,
            LONG_REPORT,
        ]
        env = {**os.environ, "CORPUS_VERCEL_DIR": os.environ.get("CORPUS_VERCEL_DIR", VENDOR)}
        subprocess.run(node, check=True, timeout=NODE_TIMEOUT_S, env=env)
        done = json.loads(result.read_text())
        record = mock.record(
            framework=framework, scenario=scenario, tools_executed=done["tools_executed"]
        )
    out = FIXTURES / framework
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{scenario}.otlp.json").write_text(json.dumps(done["otlp"], indent=1) + "\n")
    write_truth(record, out / f"{scenario}.truth.json")
    calls, tools = record["model_calls"], done["tools_executed"]
    print(framework, scenario, calls, "calls", tools, "tools", file=sys.stderr)


def main() -> None:
    args = sys.argv[1:]
    sdk = args.pop(0) if args and args[0] in FRAMEWORKS else "openai"
    for scenario in args or (*SCENARIOS, *EXTRA[sdk]):
        run(sdk, scenario)


if __name__ == "__main__":
    main()
