"""Ingest benchmark: times `agentprof ingest` on generated OTLP/JSON and OTLP protobuf files, then
`agentprof runs --json` on the resulting databases, and prints the figures next to the targets.

Every measurement runs `python -m agentprof ...` in a fresh child process. Peak RSS is the child's
own high-water mark, read from os.wait4() on that one child (exact, and not polluted by earlier
children the way getrusage(RUSAGE_CHILDREN) would be).

  python bench/bench_ingest.py                   # 1,000,000 spans (generates bench/data if needed)
  python bench/bench_ingest.py --spans 50000     # quick run
  python bench/bench_ingest.py --only pb --keep  # protobuf only, keep the database
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
try:
    import gen_otlp
except ImportError:  # run with a python that lacks orjson/opentelemetry-proto: use the venv's
    _venv = REPO / ".venv" / "bin" / "python"
    if _venv.exists() and Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.execv(str(_venv), [str(_venv), __file__, *sys.argv[1:]])
    raise

SUMMARY_KEYS = ("files", "spans", "runs", "ticks", "tool_calls", "records_skipped", "seconds")

# Targets (defined for 1M spans on a laptop-class machine).
TARGET_SPANS_PER_S = {"json": 100_000, "pb": 60_000}
TARGET_PEAK_RSS = 1.5e9  # bytes
TARGET_RUNS_S = 2.0
TARGET_SCALE_SPANS = 1_000_000

FORMATS = {
    "json": ("OTLP/JSON", gen_otlp.JSONL_NAME),
    "pb": ("protobuf", gen_otlp.BINPB_NAME),
}


@dataclass
class Measurement:
    cmd: list[str]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_bytes: int
    stdout: str
    stderr: str
    timed_out: bool = False
    rss_killed: bool = False


@dataclass
class FormatResult:
    fmt: str
    path: Path
    size_bytes: int
    db: Path
    ingest: Measurement | None = None
    summary: dict[str, Any] | None = None
    db_bytes: int = 0
    runs: list[Measurement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def measure(
    cmd: list[str],
    *,
    stdout_to_devnull: bool = False,
    timeout: float = 3600.0,
    rss_limit: float = 0.0,
) -> Measurement:
    """Run cmd in a fresh child and return wall time, CPU time and the child's peak RSS.

    A watchdog kills the child if it runs past `timeout` seconds or its RSS passes `rss_limit`
    bytes (0 = no limit): the machine has no swap, and a runaway ingest must not take it down.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTPROF_DB", "AGENTPROF_PRICES")}
    env["PYTHONUNBUFFERED"] = "1"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if stdout_to_devnull else out,
            stderr=err,
        )
        done: dict[str, Any] = {}

        def reap() -> None:
            # wait4 reports this child's rusage (its own high-water RSS, and that of any
            # descendants it reaped), which is exactly the figure we want.
            try:
                _, status, ru = os.wait4(proc.pid, 0)
            except ChildProcessError:  # reaped by Popen.kill()'s poll() in a tiny race window
                status, ru = None, None
            done["t"] = time.perf_counter()
            done["status"] = status
            done["ru"] = ru

        th = threading.Thread(target=reap, daemon=True)
        th.start()
        timed_out = rss_killed = False
        while th.is_alive():
            th.join(0.1)
            if not th.is_alive():
                break
            if time.perf_counter() - t0 > timeout:
                timed_out = True
            elif rss_limit and _rss_bytes(proc.pid) > rss_limit:
                rss_killed = True
            if timed_out or rss_killed:
                proc.kill()  # this one child, by pid; it has not been reaped yet
                th.join()
        if done["status"] is not None:
            proc.returncode = os.waitstatus_to_exitcode(done["status"])  # reaped; tell Popen
        wall = done["t"] - t0
        ru = done["ru"]
        if ru is None:  # pragma: no cover - see reap()
            ru = resource.struct_rusage((0.0, 0.0) + (0,) * 14)
        out.seek(0)
        err.seek(0)
        return Measurement(
            cmd=cmd,
            returncode=proc.returncode if proc.returncode is not None else -9,
            wall_s=wall,
            user_s=ru.ru_utime,
            sys_s=ru.ru_stime,
            maxrss_bytes=ru.ru_maxrss * 1024,  # Linux reports KiB
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=timed_out,
            rss_killed=rss_killed,
        )


def ensure_data(data: Path, spans: int, formats: list[str], python: str) -> dict[str, Any]:
    """Reuse bench data if its manifest matches the request, else (re)generate it."""
    mpath = data / gen_otlp.MANIFEST_NAME
    if mpath.exists():
        m: dict[str, Any] = json.loads(mpath.read_text())
        names = [FORMATS[f][1] for f in formats]
        ok = (
            m.get("spans_requested") == spans
            and m.get("generator_version") == gen_otlp.GENERATOR_VERSION
            and all(
                n in m["files"]
                and (data / n).exists()
                and (data / n).stat().st_size == m["files"][n]["bytes"]
                for n in names
            )
        )
        if ok:
            print(
                f"using existing data in {data} ({m['spans']:,} spans, seed {m['seed']})",
                file=sys.stderr,
            )
            return m
        print(f"data in {data} does not match --spans {spans:,}; regenerating", file=sys.stderr)
    else:
        print(f"generating {spans:,} spans into {data} ...", file=sys.stderr)
    cmd = [python, str(BENCH_DIR / "gen_otlp.py"), "--spans", str(spans), "--out", str(data)]
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    fresh: dict[str, Any] = json.loads(mpath.read_text())
    return fresh


def warm(path: Path) -> None:
    """Read the file once so every measurement sees the same (warm) page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass


def db_size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


def run_format(
    fr: FormatResult,
    manifest: dict[str, Any],
    python: str,
    reps: int,
    timeout: float,
    rss_limit: float,
) -> None:
    label = FORMATS[fr.fmt][0]
    print(f"ingest {label}: {fr.path.name} ({fr.size_bytes / 1e6:,.1f} MB) ...", file=sys.stderr)
    cmd = [python, "-m", "agentprof", "ingest", "--db", str(fr.db), str(fr.path), "--json"]
    m = measure(cmd, timeout=timeout, rss_limit=rss_limit)
    fr.ingest = m
    if m.timed_out:
        fr.problems.append(f"ingest timed out after {timeout:.0f} s")
        return
    if m.rss_killed:
        fr.problems.append(
            f"ingest killed: RSS passed the --rss-limit-gb of {rss_limit / 1e9:.1f} GB "
            f"after {m.wall_s:.1f} s"
        )
        return
    if m.returncode != 0:
        fr.problems.append(f"ingest exited {m.returncode}: {_tail(m.stderr)}")
        return
    try:
        fr.summary = json.loads(m.stdout)
    except json.JSONDecodeError:
        fr.problems.append(f"ingest --json did not print one JSON document: {_tail(m.stdout)}")
        return
    missing = [k for k in SUMMARY_KEYS if k not in fr.summary]
    if missing:
        fr.problems.append(f"ingest summary lacks keys {missing}")
    for key in ("spans", "runs", "ticks", "tool_calls"):
        got, want = fr.summary.get(key), manifest.get(key)
        if got != want:
            fr.problems.append(f"summary {key}={got}, generator wrote {want}")
    if fr.summary.get("records_skipped"):
        fr.problems.append(f"{fr.summary['records_skipped']} records skipped")
    fr.db_bytes = db_size(fr.db)
    print(f"  {m.wall_s:.2f} s wall; timing `runs --json` x{reps} ...", file=sys.stderr)
    for _ in range(reps):
        rm = measure(
            [python, "-m", "agentprof", "runs", "--db", str(fr.db), "--json"],
            stdout_to_devnull=True,
            timeout=timeout,
            rss_limit=rss_limit,
        )
        fr.runs.append(rm)
        if rm.returncode != 0 or rm.timed_out or rm.rss_killed:
            fr.problems.append(f"runs exited {rm.returncode}: {_tail(rm.stderr)}")
            break


def _tail(text: str, n: int = 300) -> str:
    text = text.strip().replace("\n", " | ")
    return text if len(text) <= n else "..." + text[-n:]


# ------------------------------------------------------------------------------------------
# Reporting


def figures(fr: FormatResult) -> dict[str, Any]:
    f: dict[str, Any] = {"format": fr.fmt, "file": str(fr.path), "file_bytes": fr.size_bytes}
    m = fr.ingest
    if m is not None:
        # kept even when the child failed or was killed: a killed run's peak is a lower bound
        f.update(
            peak_rss_bytes=m.maxrss_bytes,
            cpu_s=round(m.user_s + m.sys_s, 2),
            ingest_killed=m.rss_killed or m.timed_out,
        )
    if m is not None and m.returncode == 0 and not m.timed_out and fr.summary is not None:
        spans = (fr.summary or {}).get("spans") or 0
        self_s = (fr.summary or {}).get("seconds")
        f.update(
            ingest_wall_s=round(m.wall_s, 3),
            ingest_self_s=self_s,
            spans=spans,
            spans_per_s=spans / m.wall_s if m.wall_s else None,
            spans_per_s_self=spans / self_s if self_s else None,
            mb_per_s=fr.size_bytes / 1e6 / m.wall_s if m.wall_s else None,
            db_bytes=fr.db_bytes,
            summary=fr.summary,
        )
    ok_runs = [r.wall_s for r in fr.runs if r.returncode == 0 and not (r.timed_out or r.rss_killed)]
    if ok_runs:
        f.update(
            runs_min_s=round(min(ok_runs), 3),
            runs_median_s=round(statistics.median(ok_runs), 3),
            runs_peak_rss_bytes=max(r.maxrss_bytes for r in fr.runs),
        )
    f["problems"] = fr.problems
    return f


def _fmt_int(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _fmt_mb(v: float | None) -> str:
    return "-" if v is None else f"{v / 1e6:,.0f} MB"


def _mark(ok: bool | None) -> str:
    return "" if ok is None else (" ok" if ok else " MISS")


def render_table(results: list[dict[str, Any]], manifest: dict[str, Any]) -> tuple[str, bool]:
    cols = [FORMATS[r["format"]][0] for r in results]
    rows: list[tuple[str, list[str], str]] = []
    all_ok = True

    def row(label: str, values: list[str], target: str = "") -> None:
        rows.append((label, values, target))

    def check(value: float | None, ok: bool) -> str:
        nonlocal all_ok
        if value is None:
            return ""
        all_ok &= ok
        return _mark(ok)

    row("input file", [f"{r['file_bytes'] / 1e6:,.1f} MB" for r in results])
    row(
        "spans ingested",
        [_fmt_int(r.get("spans")) for r in results],
        f"{manifest['spans']:,} written",
    )
    row(
        "ingest wall time",
        [f"{r['ingest_wall_s']:.2f} s" if "ingest_wall_s" in r else "-" for r in results],
    )
    row(
        "  (self-reported `seconds`)",
        [
            f"{r['ingest_self_s']:.2f} s" if r.get("ingest_self_s") is not None else "-"
            for r in results
        ],
    )
    vals = []
    for r in results:
        v = r.get("spans_per_s")
        t = TARGET_SPANS_PER_S[r["format"]]
        vals.append(_fmt_int(v) + check(v, v is not None and v >= t))
    row("spans/s (wall)", vals, "JSON >= 100,000; pb >= 60,000")
    row("  spans/s (self-reported)", [_fmt_int(r.get("spans_per_s_self")) for r in results])
    row(
        "MB/s (wall, 1 MB = 10^6 B)",
        [f"{r['mb_per_s']:,.1f}" if r.get("mb_per_s") else "-" for r in results],
    )
    vals = []
    for r in results:
        v = r.get("peak_rss_bytes")
        if r.get("ingest_killed"):
            vals.append(f">= {_fmt_mb(v)} (killed)" + check(v, False))
        else:
            vals.append(_fmt_mb(v) + check(v, v is not None and v < TARGET_PEAK_RSS))
    row("peak RSS (ingest)", vals, "< 1,500 MB")
    row("CPU user+sys (ingest)", [f"{r['cpu_s']:.1f} s" if "cpu_s" in r else "-" for r in results])
    row("database size", [_fmt_mb(r.get("db_bytes")) for r in results])
    vals = []
    for r in results:
        v = r.get("runs_median_s")
        cell = f"{r['runs_min_s']:.2f} / {v:.2f} s" if v is not None else "-"
        vals.append(cell + check(v, v is not None and v < TARGET_RUNS_S))
    row("`runs --json` min / median", vals, "median < 2 s at 1M spans")
    row("peak RSS (runs)", [_fmt_mb(r.get("runs_peak_rss_bytes")) for r in results])

    w0 = max(len(r[0]) for r in rows)
    wc = [max(len(c), *(len(r[1][i]) for r in rows)) for i, c in enumerate(cols)]
    head = f"{'':<{w0}}  " + "  ".join(f"{c:>{wc[i]}}" for i, c in enumerate(cols)) + "  target"
    body = [
        (
            f"{label:<{w0}}  "
            + "  ".join(f"{v:>{wc[i]}}" for i, v in enumerate(values))
            + f"  {target}"
        ).rstrip()
        for label, values, target in rows
    ]
    rule = "-" * max(len(line) for line in [head, *body])
    return "\n".join([head, rule, *body]), all_ok


def machine_info(python: str) -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_gb"] = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        out = subprocess.run(
            [
                python,
                "-c",
                "import sys, duckdb, agentprof; print(sys.version.split()[0], duckdb.__version__, "
                "getattr(agentprof, '__version__', '?'))",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout.split()
        info.update(python=out[0], duckdb=out[1], agentprof=out[2])
    except (subprocess.CalledProcessError, IndexError):
        pass
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "agentprof", "queries"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info["commit"] = rev + ("+dirty" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        pass
    return info


def default_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--spans", type=int, default=1_000_000, help="spans to generate (default 1,000,000)"
    )
    ap.add_argument(
        "--data", type=Path, default=BENCH_DIR / "data", help="data folder (default bench/data)"
    )
    ap.add_argument("--only", choices=["json", "pb"], help="benchmark one format only")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of `runs --json` (default 3)")
    ap.add_argument(
        "--python", default=default_python(), help="interpreter that runs agentprof (default .venv)"
    )
    ap.add_argument(
        "--tmp", type=Path, help="folder for the databases (default: a temp folder in --data)"
    )
    ap.add_argument(
        "--timeout", type=float, default=3600, help="seconds before a command is killed"
    )
    ap.add_argument(
        "--rss-limit-gb",
        type=float,
        default=8.0,
        help="kill a command whose RSS passes this many GB (default 8; 0 = no limit)",
    )
    ap.add_argument(
        "--no-warm", action="store_true", help="do not pre-read inputs into the page cache"
    )
    ap.add_argument("--save", type=Path, help="also write the results as JSON to this file")
    ap.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    args = ap.parse_args(argv)

    formats = [args.only] if args.only else ["json", "pb"]
    data = args.data.resolve()
    manifest = ensure_data(data, args.spans, formats, args.python)
    tmp_parent = args.tmp.resolve() if args.tmp else data
    tmp_parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix="bench-db-", dir=tmp_parent))

    results: list[FormatResult] = []
    try:
        for fmt in formats:
            path = data / FORMATS[fmt][1]
            fr = FormatResult(fmt, path, path.stat().st_size, tmpdir / f"bench-{fmt}.duckdb")
            if not args.no_warm:
                warm(path)
            run_format(fr, manifest, args.python, args.reps, args.timeout, args.rss_limit_gb * 1e9)
            results.append(fr)
    finally:
        if args.keep:
            print(f"databases kept in {tmpdir}", file=sys.stderr)
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)

    figs = [figures(fr) for fr in results]
    info = machine_info(args.python)
    table, all_ok = render_table(figs, manifest)
    print()
    m, i = manifest, info
    print(
        f"agentprof ingest benchmark: {m['spans']:,} spans, {m['runs']:,} runs, "
        f"{m['ticks']:,} ticks, {m['tool_calls']:,} tool calls "
        f"(seed {m['seed']}, content fraction {m.get('content_fraction', '?')})"
    )
    print(
        f"machine: {i.get('cpus')} CPUs ({i.get('cpu', '?')}), {i.get('mem_gb', '?')} GB RAM; "
        f"python {i.get('python', '?')}, duckdb {i.get('duckdb', '?')}, "
        f"agentprof {i.get('agentprof', '?')} @ {i.get('commit', '?')}"
    )
    print()
    print(table)
    if manifest["spans"] < TARGET_SCALE_SPANS:
        print(
            f"\nnote: targets are defined at {TARGET_SCALE_SPANS:,} spans; at {m['spans']:,} "
            "spans process start-up weighs more, so wall-clock rates are pessimistic."
        )
    failed = False
    for fr in results:
        for p in fr.problems:
            print(f"problem ({FORMATS[fr.fmt][0]}): {p}")
            failed |= any(w in p for w in ("exited", "timed out", "killed", "JSON"))
    if args.save:
        args.save.write_text(
            json.dumps(
                {"manifest": manifest, "machine": info, "results": figs}, indent=2, default=str
            )
            + "\n"
        )
    if failed:
        return 1
    if args.strict and not all_ok:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
