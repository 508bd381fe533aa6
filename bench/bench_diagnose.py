"""Diagnose benchmark: times `agentprof diagnose --json` (every run, every rule) and the one-run
view on a database built from the 1M-span bench data, each in a fresh child process, and prints
the figures next to the target (under 5 s for 1M spans on 2 cores).

  python bench/bench_diagnose.py                 # builds bench/data/diagnose.duckdb if missing
  python bench/bench_diagnose.py --db some.duckdb --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DATA = BENCH_DIR / "data"
TARGET_S = 5.0


def agentprof(*args: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "agentprof", *args], check=True, capture_output=True, cwd=REPO
    ).stdout
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DATA / "diagnose.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.db.exists():
        source = DATA / "otlp.jsonl"
        if not source.exists():
            subprocess.run([sys.executable, str(BENCH_DIR / "gen_otlp.py")], check=True)
        print(f"building {args.db} from {source} ...", flush=True)
        seconds, _ = agentprof("ingest", "--db", str(args.db), str(source))
        print(f"  ingest took {seconds:.1f} s")
    _, runs_out = agentprof("runs", "--db", str(args.db), "--json")
    runs = json.loads(runs_out)["runs"]
    spans_note = f"{len(runs):,} runs, {sum(r['ticks'] for r in runs):,} ticks"

    fleet: list[float] = []
    document: dict[str, object] = {}
    for _ in range(args.repeat):
        seconds, out = agentprof("diagnose", "--db", str(args.db), "--json")
        fleet.append(seconds)
        document = json.loads(out)
    one: list[float] = []
    busiest = max(runs, key=lambda r: r["ticks"])["run_id"]
    for _ in range(args.repeat):
        seconds, _ = agentprof("diagnose", busiest, "--db", str(args.db), "--json")
        one.append(seconds)

    distribution = {d["bottleneck"]: d["runs"] for d in document["distribution"]}  # type: ignore[index,union-attr]
    print(f"database: {args.db} ({spans_note})")
    print(f"bottlenecks: {distribution}")
    print(
        f"diagnose --json, all runs: median {statistics.median(fleet):.2f} s "
        f"(min {min(fleet):.2f}, max {max(fleet):.2f}; target < {TARGET_S:.0f} s: "
        f"{'met' if statistics.median(fleet) < TARGET_S else 'MISSED'})"
    )
    print(f"diagnose RUN --json, one run: median {statistics.median(one):.2f} s")
    print("(each figure includes process start-up and opening the database)")


if __name__ == "__main__":
    main()
