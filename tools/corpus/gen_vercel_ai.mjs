// One agent run of the Vercel AI SDK against the corpus mock model, traced by the SDK's own
// telemetry (experimental_telemetry), written as OTLP/JSON by the JS OTLP exporter's serializer.
//
// Started by gen_vercel_ai.py, which runs the mocks and writes the truth; not meant to be run
// by hand. Arguments: <openai|responses|anthropic> <scenario> <mock url> <warm-up mock url>
// <out.json>, and the system prompt and long tool report of the cached_prompt scenario. The
// packages come from $CORPUS_VERCEL_DIR (default /tmp/corpus-vercel; package-vercel-ai.json).
// Writes {"otlp": <ExportTraceServiceRequest as JSON>, "tools_executed": n} to out.json.

import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const dir = process.env.CORPUS_VERCEL_DIR || "/tmp/corpus-vercel";
const require = createRequire(join(dir, "package.json"));
const { generateText, streamText, tool, stepCountIs } = require("ai");
const { createOpenAI } = require("@ai-sdk/openai");
const { createAnthropic } = require("@ai-sdk/anthropic");
const { z } = require("zod");
const { NodeTracerProvider } = require("@opentelemetry/sdk-trace-node");
const { SimpleSpanProcessor, InMemorySpanExporter } = require("@opentelemetry/sdk-trace-base");
const { resourceFromAttributes } = require("@opentelemetry/resources");
const { JsonTraceSerializer } = require("@opentelemetry/otlp-transformer");

const [sdk, scenario, baseURL, warmURL, out, systemPrompt, longReport] = process.argv.slice(2);
const known = ["openai", "responses", "anthropic"].includes(sdk);
if (!known || !scenario || !baseURL || !warmURL || !out) {
  console.error("usage: gen_vercel_ai.mjs openai|responses|anthropic <scenario> <url> <url> <out>");
  process.exit(2);
}
const streamed = scenario === "streaming";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "corpus-vercel-ai" }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
provider.register(); // the AsyncLocalStorage context manager: ai.toolCall nests under its run

let executed = 0;

function getWeather(counted) {
  return tool({
    description: "Return the current weather for a city.",
    inputSchema: z.object({ city: z.string().describe("The city to look up.") }),
    execute: async ({ city }) => {
      if (!counted) return "warm-up";
      if (scenario === "slow_tool") await new Promise((r) => setTimeout(r, 2000));
      executed += 1;
      if (scenario === "cached_prompt") {
        // A long uncached tool result, so the second call's fresh input outweighs its cache
        // read: an inclusive and a disjoint input count can then not be confused.
        return longReport.replaceAll("{city}", city);
      }
      return `The weather in ${city} is sunny, 21 C.`;
    },
  });
}

// The SDK's own tool loop: generateText / streamText with tools until no tool is called.
async function agentRun(url, traced) {
  // The cached_prompt system prompt is marked for Anthropic's prompt cache (OpenAI caches long
  // prefixes by itself).
  const cache = { anthropic: { cacheControl: { type: "ephemeral" } } };
  const system =
    traced && scenario === "cached_prompt"
      ? { system: { role: "system", content: systemPrompt, providerOptions: cache } }
      : {};
  const models = {
    // .chat(): Chat Completions; the provider's default (openai(id)) is the Responses API.
    openai: () => createOpenAI({ baseURL: url, apiKey: "mock" }).chat("gpt-4o-mini"),
    responses: () => createOpenAI({ baseURL: url, apiKey: "mock" })("gpt-4o-mini"),
    anthropic: () => createAnthropic({ baseURL: url, apiKey: "mock" })("claude-haiku-4-5"),
  };
  const args = {
    model: models[sdk](),
    tools: { get_weather: getWeather(traced) },
    stopWhen: stepCountIs(20),
    maxRetries: 0,
    ...system,
    prompt: "What is the weather? Use the tool for each city asked.",
    experimental_telemetry: { isEnabled: traced, functionId: `corpus-${scenario}` },
  };
  if (streamed) {
    const result = streamText(args);
    for await (const _ of result.textStream) {
      // drain the stream; the run's spans end when it is consumed
    }
    await result.steps;
  } else {
    await generateText(args);
  }
}

// A first call in a fresh Node process pays for lazy loading (fetch, the SDK's code paths, zod
// compiling the response schemas): 60-90 ms that the SDK's own clock (msToFirstChunk starts
// before the request is built) would put into the first tick. One untraced run against a
// separate warm-up mock, whose record is discarded, pays it before the traced run.
await agentRun(warmURL, false);
exporter.reset();

await agentRun(baseURL, true);

await provider.forceFlush();
const spans = exporter.getFinishedSpans();
const otlp = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
writeFileSync(out, JSON.stringify({ otlp, tools_executed: executed }));
await provider.shutdown();
