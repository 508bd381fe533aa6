"""Many small files (issue 17): N single-line OTLP/JSON files (one request, a few spans each, each
its own trace) ingested by one `agentprof ingest FOLDER`, in a fresh child process. Prints the
time per file next to the target (about 2 ms per file: 50,000 files in under two minutes).

  python bench/bench_small_files.py                 # 5,000 files
  python bench/bench_small_files.py --files 50000   # the issue's figure
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "fixtures" / "otlp" / "genai_current.json"
TARGET_MS = 2.0


def write_files(folder: Path, n: int, pretty: bool) -> None:
    text = json.dumps(json.loads(SEED.read_text()), indent=1 if pretty else None)
    for i in range(n):
        trace = f"{i:08x}"
        body = text.replace("01c0ffee", trace)
        (folder / f"t{i:06d}.json").write_text(body + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--pretty", action="store_true", help="pretty-printed files instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "in")
        folder.mkdir()
        write_files(folder, args.files, args.pretty)
        db = Path(tmp, "small.duckdb")
        started = time.perf_counter()
        ran = subprocess.run(
            [sys.executable, "-m", "agentprof", "ingest", "--db", str(db), str(folder), "--json"],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        seconds = time.perf_counter() - started
    if ran.returncode != 0:
        sys.exit(ran.stderr)
    summary = json.loads(ran.stdout)
    per_file = seconds * 1000 / args.files
    shape = "pretty-printed" if args.pretty else "single-line"
    print(
        f"{args.files:,} {shape} files: {seconds:.1f} s, {per_file:.2f} ms/file "
        f"(target {TARGET_MS:.0f} ms/file: {'ok' if per_file <= TARGET_MS else 'MISSED'}); "
        f"{summary['spans']:,} spans, {summary['runs']:,} runs; "
        f"50,000 files would take ~{per_file * 50:.0f} s"
    )


if __name__ == "__main__":
    main()
