"""Incremental-ingest benchmark: the same small file (~2k spans) ingested into databases of 0, 1M
and 3M stored spans, each trial in a fresh child process on a fresh copy of the database, and the
CPU-seconds and peak RSS of each size as a ratio against the empty database (target: ≤ 1.2).

  python bench/bench_incremental.py                      # 0, 1M, 3M; JSON lines and protobuf
  python bench/bench_incremental.py --sizes 0,1 --reps 3 --only json

The base databases are built once, in --work (default bench/data/incremental/, which git ignores
with the rest of bench/data):

- 1M: bench/data/diagnose.duckdb (the 1M-span JSON-lines bench data, made by bench_diagnose.py)
  when it is there, else an ingest of bench/data/otlp.binpb; migrated to the current schema.
- 3M (any N ≥ 2): the 1M database tiled N times in SQL. Each extra copy gets fresh trace, span
  and file ids (md5 of the old id and the copy number) and times shifted past the previous copy,
  so the table holds N×1M distinct spans in ingest-time order, as a database that grew night after
  night would; runs, ticks and tool calls are tiled the same way.

The small file: gen_otlp.py with another seed (its trace ids are new to every base database).
Both encodings are written; JSON lines (≥ 1 MB) takes DuckDB's native reader, protobuf the Python
decoder, so both store paths are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DATA = BENCH_DIR / "data"
SMALL_SEED = 424242
SMALL_SPANS = 2000
TARGET_RATIO = 1.2
SPANS_PER_TILE = "1M"


# The checkout whose agentprof the trials run (--repo: e.g. an unpacked `git archive` of the
# commit before a change, to measure before and after on the same databases).
CODE = REPO


def _run(cmd: list[str]) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds (user+sys) and peak RSS (KB) of one child, and its stdout."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(CODE)}
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=CODE, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        err = proc.stderr.read() if proc.stderr else b""
        if os.waitstatus_to_exitcode(status) not in (0,):
            sys.exit(f"command failed: {' '.join(cmd)}\n{err.decode(errors='replace')}")
        out.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out.read()


def _agentprof(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentprof", *args]


def small_files(work: Path) -> dict[str, Path]:
    folder = work / "small"
    if not (folder / "manifest.json").exists():
        subprocess.run(
            [
                sys.executable,
                str(BENCH_DIR / "gen_otlp.py"),
                "--spans",
                str(SMALL_SPANS),
                "--seed",
                str(SMALL_SEED),
                "--out",
                str(folder),
                "-q",
            ],
            check=True,
            cwd=REPO,
        )
    return {"json": folder / "otlp.jsonl", "pb": folder / "otlp.binpb"}


def _connect(path: Path):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(REPO))
    from agentprof import store

    return store.connect(path)


def base_1m(work: Path) -> Path:
    db = work / "db_1.duckdb"
    if db.exists():
        return db
    tmp = work / "db_1.tmp.duckdb"
    tmp.unlink(missing_ok=True)
    source = DATA / "diagnose.duckdb"
    if source.exists():
        print(f"copying {source} ...", flush=True)
        shutil.copyfile(source, tmp)
    else:
        pb = DATA / "otlp.binpb"
        if not pb.exists():
            subprocess.run([sys.executable, str(BENCH_DIR / "gen_otlp.py")], check=True, cwd=REPO)
        print(f"ingesting {pb} ...", flush=True)
        _run(_agentprof("ingest", "--db", str(tmp), str(pb), "--json"))
    con = _connect(tmp)  # migrates to the current schema
    con.execute("checkpoint")
    con.close()
    tmp.rename(db)
    return db


def base_tiled(work: Path, tiles: int) -> Path:
    """The 1M database repeated `tiles` times with fresh ids and later times (see the docstring)."""
    db = work / f"db_{tiles}.duckdb"
    if db.exists():
        return db
    one = base_1m(work)
    tmp = work / f"db_{tiles}.tmp.duckdb"
    shutil.copyfile(one, tmp)
    con = _connect(tmp)
    lo, hi = con.execute("select min(start_ns), max(end_ns) from spans").fetchone()
    shift_ns = hi - lo + 3_600_000_000_000  # one hour after the previous copy ends
    con.execute("create temp table original_spans as select * from spans")
    for k in range(1, tiles):
        print(f"tiling copy {k + 1} of {tiles} ...", flush=True)
        sh = shift_ns * k
        tag = f"'#{k}'"

        def hexid(col: str, width: int = 32, tag: str = tag) -> str:
            return f"case when {col} is null then null else left(md5({col} || {tag}), {width}) end"

        def sha(col: str, tag: str = tag) -> str:
            return f"md5({col} || {tag}) || md5({col} || {tag} || '+')"

        def ts(col: str, sh: int = sh) -> str:
            return f"{col} + to_microseconds({sh // 1000})"

        con.begin()
        con.execute(
            f"""insert into spans select * replace (
                {hexid("trace_id")} as trace_id, {hexid("span_id", 16)} as span_id,
                {hexid("parent_span_id", 16)} as parent_span_id,
                start_ns + {sh} as start_ns, end_ns + {sh} as end_ns,
                {sha("file_sha256")} as file_sha256,
                list_transform(events, lambda e: struct_pack(name := e.name,
                    time_ns := e.time_ns + {sh}, attributes := e.attributes)) as events,
                list_transform(links, lambda l: struct_pack(
                    trace_id := left(md5(l.trace_id || {tag}), 32),
                    span_id := left(md5(l.span_id || {tag}), 16))) as links)
            from original_spans"""
        )
        con.execute(
            f"""insert into files select * replace ({sha("sha256")} as sha256)
            from files where sha256 in (select distinct file_sha256 from original_spans)"""
        )
        con.execute(
            f"""insert into runs select * replace (
                {hexid("run_id")} as run_id, {hexid("parent_run_id")} as parent_run_id,
                {hexid("session_id")} as session_id,
                {ts("started_at")} as started_at, {ts("ended_at")} as ended_at)
            from runs where run_id in (select trace_id from original_spans)"""
        )
        con.execute(
            f"""insert into ticks select * replace (
                {hexid("run_id")} as run_id, {hexid("span_id", 16)} as span_id,
                {ts("started_at")} as started_at, {ts("ended_at")} as ended_at,
                start_ns + {sh} as start_ns, end_ns + {sh} as end_ns)
            from ticks where run_id in (select trace_id from original_spans)"""
        )
        con.execute(
            f"""insert into tool_calls select * replace (
                {hexid("run_id")} as run_id, {hexid("span_id", 16)} as span_id,
                {ts("started_at")} as started_at,
                start_ns + {sh} as start_ns, end_ns + {sh} as end_ns)
            from tool_calls where run_id in (select trace_id from original_spans)"""
        )
        con.commit()
    con.execute("drop table original_spans")
    con.execute("checkpoint")
    con.close()
    tmp.rename(db)
    return db


def base_db(work: Path, millions: int) -> Path | None:
    if millions == 0:
        return None
    if millions == 1:
        return base_1m(work)
    return base_tiled(work, millions)


def trial(
    base: Path | None, small: Path, scratch: Path
) -> tuple[float, float, int, dict[str, Any]]:
    db = scratch / "trial.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    if base is not None:
        shutil.copyfile(base, db)
    wall, cpu, rss, out = _run(_agentprof("ingest", "--db", str(db), str(small), "--json"))
    # DuckDB's progress bar can land on stdout before the summary: read from the summary's "{".
    start = 0 if out.startswith(b"{") else out.find(b"\n{") + 1
    try:
        summary = json.loads(out[start:])
    except ValueError:
        sys.exit(f"not a JSON summary: {out[:500]!r}")
    db.unlink()
    return wall, cpu, rss, summary


def profile(base: Path | None, small: Path, scratch: Path) -> None:
    """One ingest in this process, with the CPU and wall time of every SQL statement it runs."""
    sys.path.insert(0, str(CODE))
    from agentprof import ingest, sql, store

    db = scratch / "profile.duckdb"
    db.unlink(missing_ok=True)
    if base is not None:
        shutil.copyfile(base, db)
    con = store.connect(db)
    spent: dict[str, list[float]] = {}  # name -> [CPU s, wall s, calls, peak RSS growth MB]
    bind, arrow = sql._bind, sql.run_arrow

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(con: Any, name: str, *a: Any, **k: Any) -> Any:
            cpu, wall = time.process_time(), time.perf_counter()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            try:
                return fn(con, name, *a, **k)
            finally:
                row = spent.setdefault(name, [0.0, 0.0, 0, 0.0])
                row[0] += time.process_time() - cpu
                row[1] += time.perf_counter() - wall
                row[2] += 1
                row[3] += (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024

        return wrapper

    setattr(sql, "_bind", timed(bind))  # noqa: B010 - patched for this one ingest
    setattr(sql, "run_arrow", timed(arrow))  # noqa: B010
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        summary = ingest.ingest(con, [small])
    finally:
        setattr(sql, "_bind", bind)  # noqa: B010
        setattr(sql, "run_arrow", arrow)  # noqa: B010
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    con.close()
    db.unlink()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ingest(): {cpu:.3f} CPU-s, {wall:.3f} s wall, {summary.spans} spans, {peak:.0f} MB")
    print("  CPU-s   wall s  calls  +peak RSS MB  statement")
    for name, (c, w, n, r) in sorted(spent.items(), key=lambda kv: -kv[1][0]):
        print(f"  {c:7.3f} {w:7.3f}  x{int(n):<3} {r:+9.0f}      {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,1,3", help="base sizes in millions of spans")
    parser.add_argument("--reps", type=int, default=3, help="trials per size (median)")
    parser.add_argument("--only", choices=("json", "pb"), help="one encoding of the small file")
    parser.add_argument("--work", type=Path, default=DATA / "incremental")
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    parser.add_argument("--repo", type=Path, help="run the agentprof of this checkout instead")
    parser.add_argument(
        "--profile", action="store_true", help="instead: time each SQL statement of one ingest"
    )
    args = parser.parse_args()
    if args.repo:
        global CODE
        CODE = args.repo.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    smalls = small_files(args.work)
    formats = [args.only] if args.only else ["json", "pb"]
    bases = {m: base_db(args.work, m) for m in sizes}
    scratch = Path(tempfile.mkdtemp(prefix="bench-inc-", dir=args.work))
    if args.profile:
        try:
            for fmt in formats:
                for m in sizes:
                    print(f"--- {fmt} into {m}M")
                    profile(bases[m], smalls[fmt], scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    results: dict[str, dict[int, dict[str, float]]] = {}
    try:
        # Alternate sizes within each repetition, so a drift of the machine hits every size alike.
        raw: dict[tuple[str, int], list[tuple[float, float, int]]] = {}
        for _ in range(args.reps):
            for fmt in formats:
                for m in sizes:
                    wall, cpu, rss, summary = trial(bases[m], smalls[fmt], scratch)
                    raw.setdefault((fmt, m), []).append((wall, cpu, rss))
                    if summary["spans"] < SMALL_SPANS or summary["errors"]:
                        sys.exit(f"unexpected summary on {m}M ({fmt}): {summary}")
        for (fmt, m), rows in raw.items():
            results.setdefault(fmt, {})[m] = {
                "wall_s": statistics.median(r[0] for r in rows),
                "cpu_s": statistics.median(r[1] for r in rows),
                "cpu_min_s": min(r[1] for r in rows),
                "rss_mb": statistics.median(r[2] for r in rows) / 1024,
            }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"small file: {SMALL_SPANS:,} spans (seed {SMALL_SEED}); median of {args.reps} trials")
    print(
        f"{'file':6} {'base':>5} {'CPU s':>7} {'min':>6} {'wall s':>7} {'RSS MB':>7} "
        f"{'CPU ratio':>9} {'RSS ratio':>9}"
    )
    for fmt, by_size in results.items():
        empty = by_size.get(0)
        for m, f in sorted(by_size.items()):
            cr = f"{f['cpu_s'] / empty['cpu_s']:.2f}" if empty else "-"
            rr = f"{f['rss_mb'] / empty['rss_mb']:.2f}" if empty else "-"
            flag = ""
            if empty and m and max(float(cr), float(rr)) > TARGET_RATIO:
                flag = f"  MISS (target ≤ {TARGET_RATIO})"
            print(
                f"{fmt:6} {str(m) + 'M':>5} {f['cpu_s']:7.2f} {f['cpu_min_s']:6.2f} "
                f"{f['wall_s']:7.2f} {f['rss_mb']:7.0f} {cr:>9} {rr:>9}{flag}"
            )
    if args.save:
        args.save.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
