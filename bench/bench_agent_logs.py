"""Benchmark: ingest the real Claude Code and Codex folders, and a scaled synthetic copy of the
Claude Code one (the real files repeated under new session ids, real layout), against
`ccusage session --offline` on the same folders when ccusage is installed.

    .venv/bin/python bench/bench_agent_logs.py [--lines 1000000] [--ccusage PATH]

Both tools are timed as fresh processes, start-up included.

Prints figures only; nothing is asserted. ccusage: `npm install ccusage@20.0.24
@ccusage/ccusage-linux-x64@20.0.24` in /tmp."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "realdata" / "public"
SPOTTER = REAL / "claude-code" / "spotter"


def scaled_copy(dest: Path, target_lines: int) -> int:
    """Copy spotter's transcripts again and again, each copy with fresh session ids (so nothing
    dedupes away), until about `target_lines` lines exist. Returns the line count."""
    files = sorted(SPOTTER.rglob("*.jsonl"))
    texts = [(f.relative_to(SPOTTER), f.read_text()) for f in files]
    per_copy = sum(t.count("\n") for _, t in texts)
    copies = max(1, round(target_lines / per_copy))
    for i in range(copies):
        for rel, text in texts:
            sessions = {part for part in rel.parts if len(part) == 36 or part.endswith(".jsonl")}
            out = text
            for s in sessions:
                sid = s.removesuffix(".jsonl")
                if len(sid) == 36:
                    out = out.replace(sid, str(uuid.uuid5(uuid.NAMESPACE_OID, f"{sid}{i}")))
            # Message and request ids must differ per copy too, or they dedupe (correctly).
            out = out.replace('"id":"msg_', f'"id":"msg_{i}_').replace(
                '"requestId":"req_', f'"requestId":"req_{i}_'
            )
            target = dest / f"copy{i}" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(out)
    return per_copy * copies


def time_ingest(paths: list[Path], db: Path) -> tuple[float, int]:
    """Wall clock of a fresh `agentprof ingest` process, start-up included (as ccusage's is)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "agentprof", "ingest", "--db", str(db), "--json", *map(str, paths)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    return seconds, int(json.loads(done.stdout)["ticks"])


def time_ccusage(binary: str, config_dir: Path) -> float | None:
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config_dir)}
    started = time.perf_counter()
    try:
        subprocess.run(
            [binary, "session", "--offline", "--json"],
            env=env,
            check=True,
            capture_output=True,
            timeout=1800,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  ccusage failed: {exc}")
        return None
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000, help="synthetic transcript lines")
    parser.add_argument("--ccusage", default="/tmp/node_modules/.bin/ccusage")
    args = parser.parse_args()
    has_ccusage = shutil.which(args.ccusage) is not None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, folder in (
            ("claude-code/spotter", SPOTTER),
            ("claude-code/codemie", REAL / "claude-code" / "codemie"),
            ("codex/codemie", REAL / "codex" / "codemie"),
        ):
            seconds, ticks = time_ingest([folder], work / f"{name.replace('/', '_')}.duckdb")
            print(f"{name}: agentprof ingest {seconds:.2f} s ({ticks} ticks)")
            if has_ccusage and name.startswith("claude-code"):
                cc = time_ccusage(args.ccusage, folder)
                if cc:
                    print(f"  ccusage session --offline {cc:.2f} s")
        synth = work / "synthetic"
        lines = scaled_copy(synth / "projects", args.lines)
        size = sum(f.stat().st_size for f in synth.rglob("*.jsonl")) / 1e6
        seconds, ticks = time_ingest([synth], work / "synthetic.duckdb")
        print(
            f"synthetic ({lines:,} lines, {size:.0f} MB): agentprof ingest {seconds:.2f} s"
            f" ({lines / seconds:,.0f} lines/s, {ticks:,} ticks)"
        )
        if has_ccusage:
            cc = time_ccusage(args.ccusage, synth)
            if cc:
                print(
                    f"  ccusage session --offline {cc:.2f} s;"
                    f" ratio ccusage/agentprof {cc / seconds:.2f}"
                )
        else:
            print(f"  (ccusage not found at {args.ccusage}; install it to compare)")


if __name__ == "__main__":
    main()
