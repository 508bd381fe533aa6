"""Diagnose benchmark: `agentprof diagnose --json` (every run, every rule) and the one-run view
(`diagnose RUN --json`, the run with the most ticks) on a database, each in a fresh child process,
with wall time, CPU seconds (user + sys) and peak RSS of that child (os.wait4), and the figures per
million spans so that databases of different sizes compare (issue 18: 3M spans in at most 2× the
1M time per span, RSS under 1 GB; the one-run view independent of the database size).

  python bench/bench_diagnose.py                 # builds bench/data/diagnose.duckdb if missing
  python bench/bench_diagnose.py --db some.duckdb --repeat 5
  python bench/bench_diagnose.py --db big.duckdb --src /tmp/old-tree    # another source tree
  python bench/bench_diagnose.py --json          # one machine-readable line (bench/bench_all.py)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DATA = BENCH_DIR / "data"
TARGET_S = 5.0  # diagnose --json over 1M spans, wall


@dataclass
class Child:
    wall_s: float
    cpu_s: float
    rss_mb: float
    out: Path  # its stdout


# This process stays small: Linux counts the memory a child had when it was forked (a copy of this
# one) in the child's peak RSS, so big outputs are read by helper processes, never in here.
_CHECK = """
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
print(json.dumps({d["bottleneck"]: d["runs"] for d in doc.get("distribution") or []}))
"""
_SIZE = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
spans, runs, ticks = con.execute(
    "select (select count(*) from spans), (select count(*) from runs), (select count(*) from ticks)"
).fetchall()[0]
(busiest,) = con.execute(
    "select run_id from ticks group by run_id order by count(*) desc, run_id limit 1"
).fetchall()[0]
print(json.dumps({"spans": spans, "runs": runs, "ticks": ticks, "busiest": busiest}))
"""


def helper(code: str, *args: str, cwd: Path = REPO) -> Any:
    """Run `code` in a fresh interpreter and parse the JSON it prints."""
    ran = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return json.loads(ran.stdout)


def run_child(args: list[str], src: Path, out: Path) -> Child:
    """`python -m agentprof ARGS` from the tree `src`, stdout into `out`, with its own rusage."""
    started = time.perf_counter()
    with open(out, "wb") as stdout, open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentprof", *args], cwd=src, stdout=stdout, stderr=devnull
        )
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        raise SystemExit(f"agentprof {' '.join(args)} exited with {code}")
    return Child(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out)


def migrate(db: str, src: Path) -> None:
    """Bring the database to `src`'s schema first, outside the timing: the reading commands open
    it read-only and refuse an older schema."""
    code = "import sys; from agentprof import store; store.connect(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", code, db], cwd=src, check=True)


def summary(children: list[Child]) -> dict[str, float]:
    return {
        "wall_s": round(statistics.median(c.wall_s for c in children), 3),
        "wall_min_s": round(min(c.wall_s for c in children), 3),
        "cpu_s": round(statistics.median(c.cpu_s for c in children), 3),
        "rss_mb": round(max(c.rss_mb for c in children), 1),
        "bytes": children[-1].out.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DATA / "diagnose.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--src", type=Path, default=REPO, help="source tree whose agentprof runs (default: this)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line, nothing else")
    args = parser.parse_args()
    src = args.src.resolve()
    db = str(args.db.resolve())
    tmp = Path(tempfile.mkdtemp(prefix="agentprof-bench-diagnose-"))
    if not args.db.exists():
        source = DATA / "otlp.jsonl"
        if not source.exists():
            subprocess.run([sys.executable, str(BENCH_DIR / "gen_otlp.py")], check=True)
        print(f"building {args.db} from {source} ...", file=sys.stderr, flush=True)
        built = run_child(["ingest", "--db", db, str(source)], REPO, tmp / "ingest.out")
        print(f"  ingest took {built.wall_s:.1f} s", file=sys.stderr)
    migrate(db, src)
    size = helper(_SIZE, db)
    try:
        fleet = [
            run_child(["diagnose", "--db", db, "--json"], src, tmp / "fleet.json")
            for _ in range(args.repeat)
        ]
        # also proves that stdout is one clean JSON document
        distribution = helper(_CHECK, str(tmp / "fleet.json"))
        one = [
            run_child(["diagnose", size["busiest"], "--db", db, "--json"], src, tmp / "one.json")
            for _ in range(args.repeat)
        ]
        helper(_CHECK, str(tmp / "one.json"))
        result_fleet, result_one = summary(fleet), summary(one)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_m = 1e6 / max(size["spans"], 1)
    result: dict[str, Any] = {
        "bench": "diagnose",
        "db": db,
        "src": str(src),
        "spans": size["spans"],
        "runs": size["runs"],
        "ticks": size["ticks"],
        "repeat": args.repeat,
        "diagnose_json": {
            **result_fleet,
            "cpu_s_per_mspans": round(statistics.median(c.cpu_s for c in fleet) * per_m, 3),
        },
        "diagnose_run_json": result_one,
        "distribution": distribution,
    }
    if args.json:
        print(json.dumps(result))
        return
    f, o = result["diagnose_json"], result["diagnose_run_json"]
    print(
        f"database: {db} ({size['spans']:,} spans, {size['runs']:,} runs, {size['ticks']:,} ticks)"
    )
    print(f"source tree: {src}")
    print(f"bottlenecks: {result['distribution']}")
    print(
        f"{'command':28s} {'wall s':>8s} {'min s':>7s} {'CPU s':>7s} {'CPU s/M spans':>14s} "
        f"{'RSS MB':>8s} {'output MB':>10s}"
    )
    print(
        f"{'diagnose --json':28s} {f['wall_s']:8.2f} {f['wall_min_s']:7.2f} {f['cpu_s']:7.2f} "
        f"{f['cpu_s_per_mspans']:14.2f} {f['rss_mb']:8.0f} {f['bytes'] / 1e6:10.1f}"
    )
    print(
        f"{'diagnose RUN --json':28s} {o['wall_s']:8.2f} {o['wall_min_s']:7.2f} {o['cpu_s']:7.2f} "
        f"{'':14s} {o['rss_mb']:8.0f} {o['bytes'] / 1e6:10.3f}"
    )
    verdict = "met" if f["wall_s"] < TARGET_S * size["spans"] / 1e6 else "MISSED"
    print(
        f"(medians of {args.repeat} fresh processes, start-up included; target: under "
        f"{TARGET_S:.0f} s per 1M spans: {verdict}; CPU is user + sys of the child)"
    )


if __name__ == "__main__":
    main()
