"""Report benchmark: size and render time of `agentprof report` for about 1,000 runs.

Generates OTLP with bench/gen_otlp.py (≈ 30 spans per run), ingests it with the real CLI, then
times `report` with the default 50 drill-downs and with `--all-runs`, and `check`. Prints figures.

Usage:
  python bench/bench_report.py                 # ~1,000 runs
  python bench/bench_report.py --runs 200
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPANS_PER_RUN = 30.0  # measured: 25,607 spans gave 854 runs with the default mix


def _agentprof(*args: str | Path) -> tuple[float, str]:
    start = time.perf_counter()
    ran = subprocess.run(
        [sys.executable, "-m", "agentprof", *map(str, args)], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if ran.returncode not in (0, 3):
        raise SystemExit(f"agentprof {' '.join(map(str, args))} failed:\n{ran.stderr}")
    return seconds, ran.stderr.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="about this many runs (default 1000)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="agentprof-bench-report-") as tmp:
        out = Path(tmp)
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
        t_ingest, msg = _agentprof("ingest", "--db", db, out / "data" / "otlp.binpb")
        print(f"ingest: {t_ingest:.2f} s ({msg.splitlines()[-1]})")
        rows = []
        for label, extra in (
            ("report (top 50 drill-downs)", []),
            ("report --all-runs", ["--all-runs"]),
        ):
            html = out / f"report{len(rows)}.html"
            seconds, _ = _agentprof("report", "--db", db, "-o", html, *extra)
            rows.append((label, seconds, html.stat().st_size))
        t_check, _ = _agentprof("check", "--db", db, "--max-cost-p95", "1", "--max-ticks-p95", "50")
        t_json, _ = _agentprof("report", "--db", db, "--json")
    for label, seconds, size in rows:
        print(f"{label:32s} {seconds:6.2f} s  {size / 1e6:7.2f} MB")
    print(f"{'check (2 budgets)':32s} {t_check:6.2f} s")
    print(f"{'report --json':32s} {t_json:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
