"""Report benchmark: time, CPU seconds, peak RSS and size of `agentprof report` (top 50
drill-downs), `report --json` and `check` (two budgets), each in a fresh child process (rusage
from os.wait4), either on a small generated fleet or on an existing database (issue 18: 3M spans in
at most 2× the 1M time per span, RSS under 1 GB, an HTML page whose size does not grow with the
fleet).

Usage:
  python bench/bench_report.py                  # generates ~1,000 runs, adds report --all-runs
  python bench/bench_report.py --runs 200
  python bench/bench_report.py --db bench/data/diagnose.duckdb     # an existing database
  python bench/bench_report.py --db big.duckdb --src /tmp/old-tree  # another source tree
  python bench/bench_report.py --db big.duckdb --json               # one machine-readable line
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SPANS_PER_RUN = 30.0  # measured: 25,607 spans gave 854 runs with the default mix


@dataclass
class Child:
    wall_s: float
    cpu_s: float
    rss_mb: float
    out_bytes: int


# This process stays small: Linux counts the memory a child had when it was forked (a copy of this
# one) in the child's peak RSS, so outputs are checked by helper processes, never read in here.
_CHECK = "import json, sys; json.load(open(sys.argv[1], encoding='utf-8'))"
_SIZE = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
q = "select (select count(*) from spans), (select count(*) from runs)"
print(*con.execute(q).fetchall()[0])
"""


def run_child(args: list[str], src: Path, out: Path, out_file: Path | None = None) -> Child:
    """`python -m agentprof ARGS` from the tree `src` with its own rusage, stdout into `out`; the
    size of its stdout, or of `out_file` when it writes one. A `--json` command's stdout must be
    one JSON document and nothing else."""
    started = time.perf_counter()
    with open(out, "wb") as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentprof", *args], cwd=src, stdout=stdout, stderr=stderr
        )
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 3):
            stderr.seek(0)
            raise SystemExit(
                f"agentprof {' '.join(args)} exited with {code}:\n{stderr.read().decode()}"
            )
    if args[-1] == "--json":
        subprocess.run([sys.executable, "-c", _CHECK, str(out)], check=True)
    size = (out_file or out).stat().st_size
    return Child(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, size)


def migrate(db: Path, src: Path) -> None:
    """Bring the database to `src`'s schema first, outside the timing: the reading commands open
    it read-only and refuse an older schema."""
    code = "import sys; from agentprof import store; store.connect(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", code, str(db)], cwd=src, check=True)


def spans_in(db: Path) -> tuple[int, int]:
    ran = subprocess.run(
        [sys.executable, "-c", _SIZE, str(db)], check=True, capture_output=True, text=True
    )
    spans, runs = ran.stdout.split()
    return int(spans), int(runs)


def measure(db: Path, src: Path, tmp: Path, repeat: int, all_runs: bool) -> dict[str, Any]:
    commands: list[tuple[str, list[str], Path | None]] = []
    html = tmp / "report.html"
    commands.append(("report", ["report", "--db", str(db), "-o", str(html)], html))
    if all_runs:
        every = tmp / "report-all.html"
        commands.append(
            ("report_all_runs", ["report", "--db", str(db), "-o", str(every), "--all-runs"], every)
        )
    commands.append(("report_json", ["report", "--db", str(db), "--json"], None))
    budgets = ["--max-cost-p95", "1", "--max-ticks-p95", "50"]
    commands.append(("check", ["check", "--db", str(db), *budgets, "--json"], None))
    spans, runs = spans_in(db)
    figures: dict[str, Any] = {"spans": spans, "runs": runs}
    for name, args, out_file in commands:
        children = [run_child(args, src, tmp / f"{name}.out", out_file) for _ in range(repeat)]
        cpu = statistics.median(c.cpu_s for c in children)
        figures[name] = {
            "wall_s": round(statistics.median(c.wall_s for c in children), 3),
            "cpu_s": round(cpu, 3),
            "cpu_s_per_mspans": round(cpu * 1e6 / max(spans, 1), 3),
            "rss_mb": round(max(c.rss_mb for c in children), 1),
            "bytes": children[-1].out_bytes,
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="about this many runs (default 1000)")
    ap.add_argument("--db", type=Path, help="benchmark this database instead of generating one")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command (median)")
    ap.add_argument(
        "--all-runs",
        action="store_true",
        help="also time report --all-runs (always on generated data; on a large --db it writes a "
        "drill-down for every run)",
    )
    ap.add_argument(
        "--src", type=Path, default=REPO, help="source tree whose agentprof runs (default: this)"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON line, nothing else")
    args = ap.parse_args(argv)
    src = args.src.resolve()
    with tempfile.TemporaryDirectory(prefix="agentprof-bench-report-") as tmp:
        out = Path(tmp)
        if args.db is not None:
            db = args.db.resolve()
            all_runs = args.all_runs
        else:
            spans = int(args.runs * SPANS_PER_RUN)
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "gen_otlp.py"),
                    "--spans",
                    str(spans),
                    "--out",
                    str(out / "data"),
                    "--only",
                    "pb",
                    "-q",
                ],
                check=True,
                capture_output=True,
            )
            db = out / "bench.duckdb"
            ingest = run_child(
                ["ingest", "--db", str(db), str(out / "data" / "otlp.binpb")],
                src,
                out / "ingest.out",
            )
            if not args.json:
                print(f"ingest: {ingest.wall_s:.2f} s, {ingest.cpu_s:.2f} CPU-s")
            all_runs = True
        migrate(db, src)
        figures = measure(db, src, out, args.repeat, all_runs)
    result = {"bench": "report", "db": str(db), "src": str(src), "repeat": args.repeat, **figures}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"database: {db} ({figures['spans']:,} spans, {figures['runs']:,} runs)")
    print(f"source tree: {src}")
    print(
        f"{'command':22s} {'wall s':>8s} {'CPU s':>7s} {'CPU s/M spans':>14s} {'RSS MB':>8s} "
        f"{'output MB':>10s}"
    )
    for name in ("report", "report_all_runs", "report_json", "check"):
        if name in figures:
            f = figures[name]
            print(
                f"{name:22s} {f['wall_s']:8.2f} {f['cpu_s']:7.2f} {f['cpu_s_per_mspans']:14.2f} "
                f"{f['rss_mb']:8.0f} {f['bytes'] / 1e6:10.2f}"
            )
    print("(fresh processes, start-up included; CPU is user + sys of the child; report = top 50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
