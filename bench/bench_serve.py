"""Benchmark `agentprof serve`: several concurrent OTLP/HTTP clients over loopback, bounded in
request count and time. Prints spans/s accepted (HTTP 200, i.e. fsynced into the spool), request
latency percentiles, and how long the server took to store the rest in DuckDB on SIGTERM; then
checks that every acknowledged span is in the database exactly once.

    .venv/bin/python bench/bench_serve.py                     # 400 requests, 8 clients
    .venv/bin/python bench/bench_serve.py --requests 1000 --clients 16 --gzip
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
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
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "otlp.binpb"
TARGET_SPANS_PER_S = 50_000


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


def start_server(db: Path) -> tuple[subprocess.Popen[str], int, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentprof", "serve", "--db", str(db), "--port", "0"],
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
    port: int, bodies: list[tuple[bytes, int]], clients: int, compress: bool, seconds: float
) -> tuple[float, list[float], dict[str, int]]:
    work: asyncio.Queue[tuple[bytes, int]] = asyncio.Queue()
    headers = {"Content-Type": "application/x-protobuf"}
    if compress:
        headers["Content-Encoding"] = "gzip"
    for body, spans in bodies:
        work.put_nowait((gzip.compress(body, 1) if compress else body, spans))
    latencies: list[float] = []
    stats = {"requests": 0, "spans": 0, "lost": 0}
    url = f"http://127.0.0.1:{port}/v1/traces"
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests to send (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float, default=60, help="stop sending after this long")
    parser.add_argument("--gzip", action="store_true", help="gzip request bodies (level 1)")
    parser.add_argument(
        "--synthetic",
        type=int,
        default=0,
        metavar="SPANS",
        help="send generated requests of SPANS spans instead of bench/data/otlp.binpb",
    )
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the database")
    parser.add_argument("--save", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()

    if args.synthetic or not DATA.exists():
        bodies = synthetic_bodies(args.requests, args.synthetic or 512)
        source = f"synthetic, {args.synthetic or 512} spans per request"
    else:
        bodies = bodies_from_data(DATA, args.requests)
        source = f"{DATA.relative_to(ROOT)} (100-300 spans per request, realistic attributes)"
    total_bytes = sum(len(b) for b, _ in bodies)
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-", dir=args.tmp))
    db = tmp / "serve.duckdb"
    proc, port, lines = start_server(db)
    try:
        elapsed, latencies, stats = asyncio.run(
            load(port, bodies, args.clients, args.gzip, args.seconds)
        )
    finally:
        stop_started = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(600)
        drain = time.perf_counter() - stop_started
    con = duckdb.connect(str(db), read_only=True)
    stored, unique = con.execute(
        "select count(*), count(distinct (trace_id, span_id)) from spans"
    ).fetchone()  # type: ignore[misc]
    con.close()
    rate = stats["spans"] / elapsed
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
    }
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
    if not ok:
        print("problem: a request was lost or the database does not hold every span once")
        print("".join(lines[-20:]))
    if args.save:
        args.save.write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
