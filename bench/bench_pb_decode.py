"""Time the protobuf decoders alone (no DuckDB): the reference decoder (upb messages, a Python
loop per span, Arrow tables built from row tuples) stage by stage, and the columnar decoder
(agentprof/sources/pbwire.py) that ingest uses.

    .venv/bin/python bench/bench_pb_decode.py /tmp/b200/otlp.binpb [--reference]

The reference stages hold every parsed request in memory: use --reference on files of up to a
few hundred thousand spans. Times are process CPU seconds (all threads) and wall seconds.
"""

from __future__ import annotations

import argparse
import gc
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentprof.sources import otlp  # noqa: E402


def frames_of(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos = [], 0
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        out.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return out


def timed(label: str, spans: int, fn: Callable[[], Any]) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rate = f"{spans / wall:>12,.0f} spans/s" if spans else ""
    print(f"  {label:44s} wall {wall:6.2f} s  cpu {cpu:6.2f} s {rate}")
    return result


def reference(path: Path) -> int:
    frames = frames_of(path)
    print("reference decoder (upb + per-span Python loop + SpanBatcher):")
    requests = timed("parse frames (upb)", 0, lambda: [otlp.parse_pb_request(f) for f in frames])
    batcher = otlp.SpanBatcher()
    take = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for line, req in enumerate(requests, 1):
        otlp._spans_from_pb_request(req, line, batcher, lambda *r: None)
        if batcher.full():
            started = time.perf_counter()
            batcher.take()
            take += time.perf_counter() - started
    started = time.perf_counter()
    batcher.take()
    take += time.perf_counter() - started
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    spans = batcher.count
    print(f"  {'per-span loop (_spans_from_pb_request)':44s} wall {wall - take:6.2f} s")
    print(f"  {'Arrow tables (SpanBatcher.take)':44s} wall {take:6.2f} s")
    rate = f"{spans / wall:>12,.0f} spans/s"
    print(f"  {'loop and tables':44s} wall {wall:6.2f} s  cpu {cpu:6.2f} s {rate}")
    return spans


def columnar(path: Path, prefetch: bool) -> None:
    read = otlp.read_pb_frames if prefetch else otlp._pb_frames
    label = "read_pb_frames (decoding thread)" if prefetch else "columnar decode, one thread"

    def run() -> int:
        with path.open("rb") as f:
            return sum(t.num_rows for t, _, _ in read(f, lambda *r: None) if t is not None)

    wall, cpu = time.perf_counter(), time.process_time()
    spans = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:44s} wall {wall:6.2f} s  cpu {cpu:6.2f} s {spans / wall:>12,.0f} spans/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="a Collector proto file (length-prefixed frames)")
    ap.add_argument("--reference", action="store_true", help="also time the reference decoder")
    args = ap.parse_args()
    gc.disable()  # as ingest does while decoding
    if args.reference:
        reference(args.path)
    print("columnar decoder (file read included):")
    columnar(args.path, prefetch=False)
    columnar(args.path, prefetch=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
