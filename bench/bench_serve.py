"""Benchmark `agentprof serve`: several concurrent OTLP/HTTP clients over loopback, bounded in
request count and time. Prints spans/s accepted (HTTP 200, i.e. fsynced into the spool), request
latency percentiles, and how long the server took to store the rest in DuckDB on SIGTERM; then
checks that every acknowledged span is in the database exactly once.

It also reports the sustained stored rate: spans in the database divided by the time from the
first request until the server has stored the last one and exited (the spool bounded by
--max-spool-mb, so a server that stores slowly answers 429 and the clients wait), next to
`agentprof ingest` of the same requests written as one Collector proto file into an empty
database (issue 18: serve's stored rate >= 80% of ingest's).

    .venv/bin/python bench/bench_serve.py                     # 1000 requests, 8 clients
    .venv/bin/python bench/bench_serve.py --json              # one machine-readable line last
    .venv/bin/python bench/bench_serve.py --requests 1000 --clients 16 --gzip
    .venv/bin/python bench/bench_serve.py --claude-code-events 200   # /v1/logs, Claude Code events

With --claude-code-events every request is an ExportLogsServiceRequest of Claude Code
api_request/tool_result events; each one becomes a span (a tick or a tool call), so "spans" below
counts events.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import duckdb
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "otlp.binpb"
TARGET_SPANS_PER_S = 50_000
TARGET_STORED_VS_INGEST = 0.8


def bodies_from_data(path: Path, count: int) -> list[tuple[bytes, int]]:
    """The first `count` requests of the generator's Collector proto file (100-300 spans each)."""
    out: list[tuple[bytes, int]] = []
    with open(path, "rb") as f:
        while len(out) < count:
            header = f.read(4)
            if len(header) < 4:
                break
            (size,) = struct.unpack(">I", header)
            body = f.read(size)
            req = ExportTraceServiceRequest.FromString(body)
            spans = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
            out.append((body, spans))
    return out


def synthetic_bodies(count: int, spans: int) -> list[tuple[bytes, int]]:
    out = []
    for batch in range(count):
        req = ExportTraceServiceRequest()
        ss = req.resource_spans.add().scope_spans.add()
        for i in range(spans):
            span = ss.spans.add()
            span.trace_id = bytes.fromhex(f"{batch // 10:032x}")
            span.span_id = bytes.fromhex(f"{batch:08x}{i:08x}")
            span.name = "chat gpt-4o"
            span.start_time_unix_nano = 1_763_720_000_000_000_000 + batch * 10**9 + i * 10**6
            span.end_time_unix_nano = span.start_time_unix_nano + 10**6
            for key, value in (
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.request.model", "gpt-4o"),
            ):
                a = span.attributes.add()
                a.key, a.value.string_value = key, value
            a = span.attributes.add()
            a.key, a.value.int_value = "gen_ai.usage.input_tokens", 1000 + i
        out.append((req.SerializeToString(), spans))
    return out


def claude_code_bodies(count: int, events: int) -> list[tuple[bytes, int]]:
    """Requests of `events` Claude Code events each, alternating api_request and tool_result, as
    Claude Code's exporter sends them (string-valued attributes); ten requests per session."""
    out = []
    for batch in range(count):
        req = ExportLogsServiceRequest()
        rl = req.resource_logs.add()
        a = rl.resource.attributes.add()
        a.key, a.value.string_value = "service.name", "claude-code"
        sl = rl.scope_logs.add()
        sl.scope.name = "com.anthropic.claude_code.events"
        for i in range(events):
            rec = sl.log_records.add()
            rec.time_unix_nano = 1_763_720_000_000_000_000 + (batch * events + i) * 10**9
            kind = "api_request" if i % 2 == 0 else "tool_result"
            rec.body.string_value = f"claude_code.{kind}"
            attrs = {
                "event.name": kind,
                "session.id": f"bench-session-{batch // 10}",
                "prompt.id": f"prompt-{batch}",
                "duration_ms": "800",
            }
            if kind == "api_request":
                attrs |= {
                    "model": "claude-sonnet-4-5-20250929",
                    "request_id": f"req_{batch}_{i}",
                    "input_tokens": "12",
                    "output_tokens": str(100 + i),
                    "cache_read_tokens": str(20_000 + 500 * i),
                    "cache_creation_tokens": "500",
                    "cost_usd": "0.0125",
                }
            else:
                attrs |= {
                    "tool_name": "Read",
                    "tool_use_id": f"toolu_{batch}_{i}",
                    "success": "true",
                }
            for key, value in attrs.items():
                kv = rec.attributes.add()
                kv.key, kv.value.string_value = key, value
        out.append((req.SerializeToString(), events))
    return out


def start_server(
    db: Path, max_spool_mb: float, python: str = sys.executable
) -> tuple[subprocess.Popen[str], int, list[str]]:
    command = [python, "-m", "agentprof", "serve", "--db", str(db), "--port", "0", "--verbose"]
    command += ["--max-spool-mb", str(max_spool_mb)]
    proc = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    lines: list[str] = []
    ready = threading.Event()
    port = [0]

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "listening on http://127.0.0.1:" in line:
                port[0] = int(line.split("127.0.0.1:")[1].split()[0])
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        raise SystemExit("server did not start:\n" + "".join(lines))
    return proc, port[0], lines


async def client(
    session: aiohttp.ClientSession,
    url: str,
    work: asyncio.Queue[tuple[bytes, int]],
    headers: dict[str, str],
    latencies: list[float],
    stats: dict[str, int],
    deadline: float,
) -> None:
    while time.monotonic() < deadline:
        try:
            body, spans = work.get_nowait()
        except asyncio.QueueEmpty:
            return
        while True:  # retry as an OTLP exporter does: 429/503 honour Retry-After
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                status = resp.status
                retry_after = float(resp.headers.get("Retry-After", "1"))
            latencies.append(time.perf_counter() - started)
            if status == 200:
                stats["requests"] += 1
                stats["spans"] += spans
                break
            stats[f"status_{status}"] = stats.get(f"status_{status}", 0) + 1
            if status not in (429, 502, 503, 504):
                stats["lost"] += 1
                break
            await asyncio.sleep(retry_after)


async def load(
    port: int,
    bodies: list[tuple[bytes, int]],
    clients: int,
    compress: bool,
    seconds: float,
    path: str = "/v1/traces",
) -> tuple[float, list[float], dict[str, int]]:
    work: asyncio.Queue[tuple[bytes, int]] = asyncio.Queue()
    headers = {"Content-Type": "application/x-protobuf"}
    if compress:
        headers["Content-Encoding"] = "gzip"
    for body, spans in bodies:
        work.put_nowait((gzip.compress(body, 1) if compress else body, spans))
    latencies: list[float] = []
    stats = {"requests": 0, "spans": 0, "lost": 0}
    url = f"http://127.0.0.1:{port}{path}"
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(
                client(session, url, work, headers, latencies, stats, deadline)
                for _ in range(clients)
            )
        )
        elapsed = time.perf_counter() - started
    stats["unsent"] = work.qsize()
    return elapsed, latencies, stats


def wait_child(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> tuple[int, float, int]:
    """Reap `proc` with wait4: its exit code, CPU-seconds (user + sys, with every descendant it
    waited for, so serve's worker counts) and peak RSS in MB (largest single process)."""
    watchdog = threading.Timer(900, proc.kill)  # a hung server must not hang the benchmark
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def own_cpu_s(pid: int) -> float:
    """CPU-seconds (user + sys) of one process itself, children not included (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_rusage_cpu_s() -> float:
    """CPU-seconds (user + sys) of this process so far, every thread: the clients' share."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_frames(bodies: list[tuple[bytes, int]], path: Path) -> None:
    """The requests as a Collector proto file (what the spool's segments are): an empty frame
    first, then each body behind its 4-byte big-endian length."""
    with open(path, "wb") as f:
        f.write(b"\x00\x00\x00\x00")
        for body, _ in bodies:
            f.write(struct.pack(">I", len(body)) + body)


def run_ingest(path: Path, db: Path, python: str) -> dict[str, float | int]:
    """`agentprof ingest` of one file into an empty database, in a fresh process."""
    proc = subprocess.Popen(
        [python, "-m", "agentprof", "ingest", str(path), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    started = time.perf_counter()
    code, cpu, rss = wait_child(proc)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if code != 0:
        raise SystemExit(f"ingest failed ({code}):\n{err}")
    con = duckdb.connect(str(db), read_only=True)
    (spans,) = con.execute("select count(*) from spans").fetchone()  # type: ignore[misc]
    con.close()
    return {"spans": spans, "wall_s": wall, "cpu_s": cpu, "rss_mb": rss}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=1000, help="requests to send (default 1000)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--seconds", type=float, default=600, help="stop sending after this long (default 600)"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip request bodies (level 1)")
    parser.add_argument(
        "--synthetic",
        type=int,
        default=0,
        metavar="SPANS",
        help="send generated requests of SPANS spans instead of bench/data/otlp.binpb",
    )
    parser.add_argument(
        "--claude-code-events",
        type=int,
        default=0,
        metavar="EVENTS",
        help="send Claude Code log events to /v1/logs, EVENTS per request",
    )
    parser.add_argument(
        "--max-spool-mb",
        type=float,
        default=128,
        help="serve's --max-spool-mb: the bound on acknowledged, unstored bytes (default 128, "
        "below the 184 MB of the default 1000 requests, so the bound is reached)",
    )
    parser.add_argument(
        "--no-ingest", action="store_true", help="skip `agentprof ingest` of the same requests"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter that runs agentprof (default: this)"
    )
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the database")
    parser.add_argument("--save", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as one JSON line, last"
    )
    args = parser.parse_args()

    path = "/v1/traces"
    if args.claude_code_events:
        bodies = claude_code_bodies(args.requests, args.claude_code_events)
        source = f"Claude Code log events, {args.claude_code_events} per request"
        path = "/v1/logs"
    elif args.synthetic or not DATA.exists():
        bodies = synthetic_bodies(args.requests, args.synthetic or 512)
        source = f"synthetic, {args.synthetic or 512} spans per request"
    else:
        bodies = bodies_from_data(DATA, args.requests)
        source = f"{DATA.relative_to(ROOT)} (100-300 spans per request, realistic attributes)"
    total_bytes = sum(len(b) for b, _ in bodies)
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-", dir=args.tmp))
    db = tmp / "serve.duckdb"
    proc, port, lines = start_server(db, args.max_spool_mb, args.python)
    load_started = time.perf_counter()
    client_cpu_started = own_rusage_cpu_s()
    try:
        elapsed, latencies, stats = asyncio.run(
            load(port, bodies, args.clients, args.gzip, args.seconds, path)
        )
    finally:
        stop_started = time.perf_counter()
        client_cpu = own_rusage_cpu_s() - client_cpu_started
        # The HTTP side's own CPU (the worker process is its child: what wait4 adds is mostly
        # the worker's). After SIGTERM the server only waits for the worker.
        receiver_cpu = own_cpu_s(proc.pid)
        proc.send_signal(signal.SIGTERM)
        code, serve_cpu, serve_rss = wait_child(proc)
        done = time.perf_counter()
        drain = done - stop_started
    total = done - load_started
    con = duckdb.connect(str(db), read_only=True)
    stored, unique, ticks = con.execute(
        "select count(*), count(distinct (trace_id, span_id)), (select count(*) from ticks)"
        " from spans"
    ).fetchone()  # type: ignore[misc]
    con.close()
    rate = stats["spans"] / elapsed
    stored_rate = stored / total
    batch_lines = [line.split() for line in lines if line.startswith("stored ")]
    batches = len(batch_lines)  # "stored N segments: S new spans, ..."
    # "derived R runs (...) touched by B batches": one line per derivation that had work.
    derive_lines = [line.split() for line in lines if line.startswith("derived ")]
    ingest_figures: dict[str, float | int] = {}
    if not args.no_ingest and path == "/v1/traces":
        frames = tmp / "requests.binpb"
        write_frames(bodies[: len(bodies) - stats["unsent"]], frames)  # what was sent, in order
        ingest_figures = run_ingest(frames, tmp / "ingest.duckdb", args.python)
    figures = {
        "source": source,
        "cores": os.cpu_count(),
        "clients": args.clients,
        "gzip": args.gzip,
        "requests_sent": len(bodies) - stats["unsent"],
        "requests_accepted": stats["requests"],
        "spans_accepted": stats["spans"],
        "request_mb": round(total_bytes / 1e6, 1),
        "seconds": round(elapsed, 2),
        "spans_per_s": round(rate),
        "requests_per_s": round(stats["requests"] / elapsed, 1),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1),
        "refused": {k: v for k, v in stats.items() if k.startswith("status_")},
        "lost": stats["lost"],
        "stop_and_store_s": round(drain, 2),
        "exit_code": code,
        "spans_in_db": stored,
        "spans_in_db_unique": unique,
        "ticks_in_db": ticks,
        "max_spool_mb": args.max_spool_mb,
        "worker_batches": batches,
        "worker_batch_segments": [int(w[1]) for w in batch_lines],
        "worker_batch_spans": [int(w[3].replace(",", "")) for w in batch_lines],
        "worker_derivations": len(derive_lines),
        "worker_derivation_batches": [int(w[-2]) for w in derive_lines],
        "first_request_to_all_stored_s": round(total, 2),
        "stored_spans_per_s": round(stored_rate),
        "serve_cpu_s": round(serve_cpu, 2),
        "serve_receiver_cpu_s": round(receiver_cpu, 2),
        "serve_worker_cpu_s": round(serve_cpu - receiver_cpu, 2),
        "serve_peak_rss_mb": serve_rss,
        "client_cpu_s": round(client_cpu, 2),
    }
    if ingest_figures:
        ingest_rate = float(ingest_figures["spans"]) / float(ingest_figures["wall_s"])
        figures |= {
            "ingest_spans": ingest_figures["spans"],
            "ingest_wall_s": round(float(ingest_figures["wall_s"]), 2),
            "ingest_cpu_s": round(float(ingest_figures["cpu_s"]), 2),
            "ingest_peak_rss_mb": ingest_figures["rss_mb"],
            "ingest_spans_per_s": round(ingest_rate),
            "stored_vs_ingest": round(stored_rate / ingest_rate, 3),
            "serve_cpu_per_ingest_cpu": round(serve_cpu / float(ingest_figures["cpu_s"]), 3),
        }
    if not args.json:
        print(json.dumps(figures, indent=2))
    ok = stats["lost"] == 0 and code == 0 and stored == unique == stats["spans"]
    if stats["unsent"]:
        print(f"note: time limit reached, {stats['unsent']} requests not sent")
    verdict = "MET" if rate >= TARGET_SPANS_PER_S else "MISSED"
    print(
        f"\n{stats['spans']:,} spans accepted in {elapsed:.2f} s = {rate:,.0f} spans/s "
        f"(target {TARGET_SPANS_PER_S:,}: {verdict}); p99 latency "
        f"{figures['latency_p99_ms']} ms; stored {stored:,} spans ({unique:,} unique) of "
        f"{stats['spans']:,} acknowledged; stop+store {drain:.1f} s"
    )
    print(
        f"stored {stored:,} spans in {total:.1f} s from the first request "
        f"= {stored_rate:,.0f} spans/s sustained (spool <= {args.max_spool_mb:g} MB, "
        f"{batches} worker batches, {len(derive_lines)} derivations, serve {serve_cpu:.1f} "
        f"CPU-s: receiver {receiver_cpu:.1f}, worker {serve_cpu - receiver_cpu:.1f}; "
        f"{serve_rss:,} MB peak; the clients {client_cpu:.1f} CPU-s)"
    )
    if ingest_figures:
        ratio = figures["stored_vs_ingest"]
        verdict = "MET" if float(ratio) >= TARGET_STORED_VS_INGEST else "MISSED"
        print(
            f"ingest of the same requests: {figures['ingest_spans_per_s']:,} spans/s "
            f"({ingest_figures['wall_s']:.1f} s, {ingest_figures['cpu_s']:.1f} CPU-s, "
            f"{ingest_figures['rss_mb']:,} MB); serve/ingest = {ratio} "
            f"(target >= {TARGET_STORED_VS_INGEST}: {verdict})"
        )
    if not ok:
        print("problem: a request was lost or the database does not hold every span once")
        print("".join(lines[-20:]))
    if args.save:
        args.save.write_text(json.dumps(figures, indent=2) + "\n")
    if args.json:
        print(json.dumps({"bench": "serve", **figures}))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
