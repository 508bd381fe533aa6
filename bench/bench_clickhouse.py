"""Profile a window of an otel_traces table without exporting files: agentprof reads a ClickHouse
table through chdb (ClickHouse embedded) and prints what crossed against what ClickHouse scanned.

The table has the Collector exporter's DDL (tests/clickhouse_ddl/otel_traces.sql) and is filled by
ClickHouse itself from numbers(): agent runs of 10 spans (an invoke_agent root, 5 chat calls with
token counts, a 2 KB prompt and the tool-call ids in their output, 4 tool calls with arguments and
a 1 KB result), one run starting every `days * 86400 / runs` seconds, spread over `--days` days.
Each window is ingested into a fresh DuckDB file by a child process, so its peak RSS is that of
one `agentprof ingest chdb:… --since … --until …`. chdb's engine runs in that process too, so a
second child runs the same ClickHouse queries (the spans, and the ticks and tool calls ClickHouse
derives) and drops the batches: the difference of the two peaks (and CPU times) is agentprof's
own. A window of twice the spans shows whether it grows with the window.

Usage:
  python bench/bench_clickhouse.py                      # 1M spans over 10 days
  python bench/bench_clickhouse.py --spans 10000000     # the issue's figure (minutes, ~GBs)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE = datetime(2026, 11, 1, tzinfo=UTC)
SPANS_PER_RUN = 10

# ClickHouse SQL: every value is the exporter's (strings in the maps, kind and status names).
GENERATE = """
INSERT INTO otel_traces
SELECT
    fromUnixTimestamp64Nano(toInt64({base_ns:Int64} + run * {gap_ns:Int64}
                                    + k * 1000000000 + if(k = 0, 0, 50000000))) AS Timestamp,
    lower(hex(cityHash64(run, 1))) || lower(hex(cityHash64(run, 2))) AS TraceId,
    lower(hex(cityHash64(run, k, 3))) AS SpanId,
    if(k = 0, '', lower(hex(cityHash64(run, 0, 3)))) AS ParentSpanId,
    '' AS TraceState,
    multiIf(k = 0, 'invoke_agent bench', k % 2 = 1, 'chat gpt-4o', 'execute_tool search')
        AS SpanName,
    if(k % 2 = 1, 'Client', 'Internal') AS SpanKind,
    concat('agent-', toString(run % 5)) AS ServiceName,
    map('service.name', concat('agent-', toString(run % 5)), 'host.name', 'bench-host',
        'telemetry.sdk.language', 'python') AS ResourceAttributes,
    'bench.instrumentation' AS ScopeName,
    '1.0.0' AS ScopeVersion,
    multiIf(
        k = 0, map('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', 'bench',
                   'gen_ai.conversation.id', concat('conv-', toString(run % 1000))),
        k % 2 = 1, map(
            'gen_ai.operation.name', 'chat',
            'gen_ai.provider.name', 'openai',
            'gen_ai.request.model', 'gpt-4o',
            'gen_ai.response.model', 'gpt-4o-2024-08-06',
            'gen_ai.usage.input_tokens', toString(2000 + k * 700),
            'gen_ai.usage.output_tokens', '180',
            'gen_ai.usage.cache_read.input_tokens', toString(k * 600),
            'gen_ai.response.finish_reasons', '["tool_calls"]',
            'gen_ai.input.messages', repeat('You are a careful assistant. ', {prompt_reps:UInt32}),
            'gen_ai.output.messages',
                concat('[{"role":"assistant","tool_calls":[{"id":"call_', toString(run), '_',
                       toString(k), '","name":"search"}]}]')),
        map('gen_ai.operation.name', 'execute_tool',
            'gen_ai.tool.name', 'search',
            'gen_ai.tool.call.id', concat('call_', toString(run), '_', toString(k - 1)),
            'gen_ai.tool.call.arguments', concat('{"q":"query ', toString(run % 97), '"}'),
            'gen_ai.tool.call.result', repeat('result line ', {result_reps:UInt32}))
    ) AS SpanAttributes,
    toUInt64(multiIf(k = 0, 9500000000, k % 2 = 1, 900000000, 800000000)) AS Duration,
    'Unset' AS StatusCode,
    '' AS StatusMessage,
    [] AS `Events.Timestamp`, [] AS `Events.Name`, [] AS `Events.Attributes`,
    [] AS `Links.TraceId`, [] AS `Links.SpanId`, [] AS `Links.TraceState`, [] AS `Links.Attributes`
FROM (SELECT intDiv(number, 10) AS run, number % 10 AS k FROM numbers({spans:UInt64}))
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, spans: int, days: int) -> dict[str, object]:
    from chdb import session

    manifest = folder / "manifest.json"
    want = {"spans": spans, "days": days, "version": 1}
    if manifest.exists() and json.loads(manifest.read_text()).get("want") == want:
        return json.loads(manifest.read_text())  # type: ignore[no-any-return]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ddl = (ROOT / "tests" / "clickhouse_ddl" / "otel_traces.sql").read_text()
    ddl = re.sub(r"^--.*\n", "", ddl, flags=re.M)
    runs = spans // SPANS_PER_RUN
    started = time.perf_counter()
    s = session.Session(str(folder))
    try:
        s.query(ddl)
        params = {
            "base_ns": str(int(BASE.timestamp()) * 10**9),
            "gap_ns": str(days * 86400 * 10**9 // max(runs, 1)),
            "prompt_reps": "70",  # ~2 KB
            "result_reps": "85",  # ~1 KB
            "spans": str(runs * SPANS_PER_RUN),
        }
        s.query(GENERATE, params=params)
        s.query("OPTIMIZE TABLE otel_traces FINAL")
        size = s.query(
            "SELECT sum(data_compressed_bytes), sum(data_uncompressed_bytes) FROM system.parts "
            "WHERE table = 'otel_traces' AND active",
            "CSV",
        )
    finally:
        s.close()
    compressed, uncompressed = (int(x) for x in str(size).strip().split(","))
    info = {
        "want": want,
        "spans": runs * SPANS_PER_RUN,
        "compressed_bytes": compressed,
        "uncompressed_bytes": uncompressed,
        "generate_s": round(time.perf_counter() - started, 1),
    }
    manifest.write_text(json.dumps(info))
    return info


def _ns(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) * 10**9


def measure(folder: Path, since: str, until: str, read_only: bool) -> None:
    """The child: one windowed ingest into a fresh DuckDB file, or (`read_only`) the same
    ClickHouse query with its batches dropped as they come; prints one JSON line. The difference
    of the two peaks is what agentprof (Arrow, DuckDB, derivation) adds to chdb's own memory."""
    from chdb import session

    from agentprof import store
    from agentprof.sources import clickhouse

    s = session.Session(str(folder))
    scanned = int(
        str(
            s.query(
                "SELECT count() FROM otel_traces "
                "WHERE Timestamp >= fromUnixTimestamp64Nano({a:Int64}) "
                "AND Timestamp < fromUnixTimestamp64Nano({b:Int64})",
                "CSV",
                params={"a": str(_ns(since)), "b": str(_ns(until))},
            )
        ).strip()
    )
    s.close()
    a, b = datetime.fromisoformat(since), datetime.fromisoformat(until)
    cpu0, t0 = time.process_time(), time.perf_counter()
    result: dict[str, object] = {"window_spans_scanned": scanned}
    if read_only:
        source = clickhouse.parse_source(f"chdb:{folder}")
        executor = clickhouse.connect(source)
        window = clickhouse._window(clickhouse.TRACES, a, b, None, 0)
        params = clickhouse.span_params("otel_traces", window)
        # What ClickHouse runs for one pull: the spans, then the ticks and tool calls it derives.
        for _ in clickhouse._run(executor, source, "otel_traces_spans", params):
            pass
        mat = clickhouse.has_materialized_cte(executor, source)
        queries = clickhouse.derive_queries(materialized=mat)
        for which in ("ticks", "tool_calls"):
            for _ in clickhouse.derived_rows(executor, source, params, which, queries=queries):
                pass
        executor.close()
        result |= {"rows_crossed": executor.rows_received, "bytes_crossed": executor.bytes_received}
    else:
        db = Path(tempfile.mkdtemp()) / "bench.duckdb"
        con = store.connect(db)
        pull = clickhouse.Pull()
        summary = clickhouse.ingest_source(con, f"chdb:{folder}", since=a, until=b, pull=pull)
        con.close()
        result |= {
            "rows_crossed": pull.rows + pull.tick_rows + pull.tool_call_rows,
            "span_rows": pull.rows,
            "tick_rows": pull.tick_rows,
            "tool_call_rows": pull.tool_call_rows,
            "bytes_crossed": pull.bytes,
            "runs": summary.runs,
            "ticks": summary.ticks,
            "tool_calls": summary.tool_calls,
            "duckdb_mb": round(db.stat().st_size / 1e6, 1),
        }
        shutil.rmtree(db.parent, ignore_errors=True)
    result |= {
        "wall_s": round(time.perf_counter() - t0, 2),
        "cpu_s": round(time.process_time() - cpu0, 2),
        "peak_rss_mb": round(rss_mb(), 1),
    }
    print(json.dumps(result))


def _child(args: argparse.Namespace, since: datetime, until: datetime, mode: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--spans", str(args.spans), "--days", str(args.days)]
    cmd += ["--data", str(args.data), mode, since.isoformat(), until.isoformat()]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "agentprof-bench-ch")
    ap.add_argument("--measure", nargs=2, metavar=("SINCE", "UNTIL"), help=argparse.SUPPRESS)
    ap.add_argument("--read-only", nargs=2, metavar=("SINCE", "UNTIL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    folder = args.data / f"{args.spans}-{args.days}d"
    if args.measure or args.read_only:
        measure(folder, *(args.measure or args.read_only), read_only=bool(args.read_only))
        return
    info = generate(folder, args.spans, args.days)
    compressed, raw = int(info["compressed_bytes"]), int(info["uncompressed_bytes"])
    print(
        f"otel_traces: {info['spans']:,} spans over {args.days} days, "
        f"{compressed / 1e6:,.0f} MB compressed ({raw / 1e6:,.0f} MB raw), "
        f"generated in {info['generate_s']} s"
    )
    day = BASE + timedelta(days=args.days // 2)
    for length in (1, 2):
        since, until = day, day + timedelta(days=length)
        r = _child(args, since, until, "--measure")
        base = _child(args, since, until, "--read-only")
        per_tick = r["bytes_crossed"] / max(r["ticks"], 1)
        print(
            f"{length}-day window: {r['window_spans_scanned']:,} spans in the window; "
            f"{r['rows_crossed']:,} rows ({r['span_rows']:,} spans, {r['tick_rows']:,} ticks, "
            f"{r['tool_call_rows']:,} tool calls), {r['bytes_crossed'] / 1e6:,.1f} MB crossed "
            f"({per_tick:,.0f} B per tick); {r['runs']:,} runs, {r['ticks']:,} ticks, "
            f"{r['tool_calls']:,} tool calls; {r['wall_s']} s wall, {r['cpu_s']} s CPU; "
            f"peak RSS {r['peak_rss_mb']:,.0f} MB, of which chdb reading the window "
            f"{base['peak_rss_mb']:,.0f} MB ({base['wall_s']} s, {base['cpu_s']} s CPU): "
            f"agentprof adds {r['peak_rss_mb'] - base['peak_rss_mb']:,.0f} MB"
        )


if __name__ == "__main__":
    main()
