"""Issue 18's benchmarks side by side: one table, each figure next to a floor measured in the
same run and the ratio between them.

- ingest: `agentprof ingest` of OTLP/JSON lines and of protobuf into a fresh database, against
  DuckDB's own `read_json` of the same JSON file and upb's parse of the same protobuf file;
- incremental ingest: the same small file into databases of 1M (and 3M) spans
  (bench_incremental.py), against that file into an empty database;
- coding-agent logs: first ingest, a re-run with nothing new, a grown and a new session
  (bench_agent_logs.py), against `ccusage session --offline` on the same folder when installed;
- fleet commands: `diagnose --json`, `diagnose RUN`, `report`, `check` (bench_diagnose.py,
  bench_report.py), against the same command on the smallest database given (per span);
- serve: spans stored per second from the first request to the last stored, spool bounded
  (bench_serve.py), against `agentprof ingest` of the same requests.

Every figure comes from fresh child processes (CPU = user + sys from wait4, start-up included).
The other scripts run as subprocesses with a small size flag and print one JSON line (`--json`)
or write one (`--save`); a script that fails shows as a row saying so, and the rest still runs.

    .venv/bin/python bench/bench_all.py                 # default: a few minutes on 2 cores
    .venv/bin/python bench/bench_all.py --size full     # 1M spans, 1M lines, 0/1M/3M: long
    .venv/bin/python bench/bench_all.py --only ingest,serve --json

Ratios: CPU-seconds of the figure over CPU-seconds of its floor (lower is better), except serve's
stored rate over ingest's (higher is better). On a shared machine read CPU, not wall.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
SECTIONS = ("ingest", "incremental", "agent_logs", "fleet", "serve")

# Sizes: `small` finishes in a few minutes on 2 cores; `full` is the acceptance run of issue 18.
PRESETS: dict[str, dict[str, Any]] = {
    "small": {
        "spans": 100_000,
        "serve_requests": 500,
        "agent_lines": 100_000,
        "incremental_sizes": "0,1",
        "reps": 1,
        "fleet_dbs": [DATA / "diagnose.duckdb"],
    },
    "full": {
        "spans": 1_000_000,
        "serve_requests": 3000,
        "agent_lines": 1_000_000,
        "incremental_sizes": "0,1,3",
        "reps": 3,
        "fleet_dbs": [DATA / "incremental" / "db_1.duckdb", DATA / "incremental" / "db_3.duckdb"],
    },
}

DUCKDB_PARSE = """
import sys, duckdb
con = duckdb.connect(config={"preserve_insertion_order": "false"})
# Every line parsed and shaped into DuckDB values (the filter reads the one top-level column).
(n,) = con.execute(
    "select count(*) from read_json(?, format='newline_delimited',"
    " maximum_object_size=1073741824) where resourceSpans is not null",
    [sys.argv[1]],
).fetchone()
print(n)
"""

UPB_PARSE = """
import struct, sys
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
n = 0
with open(sys.argv[1], "rb") as f:
    while header := f.read(4):
        (size,) = struct.unpack(">I", header)
        if size:
            req = ExportTraceServiceRequest.FromString(f.read(size))
            n += sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
print(n)
"""


@dataclass
class Child:
    wall_s: float
    cpu_s: float
    rss_mb: float
    out: str
    err: str
    code: int


def run_measured(cmd: list[str], timeout: float = 3600) -> Child:
    """One child process, reaped by wait4: its CPU-seconds (user + sys, with the descendants it
    waited for) and peak RSS; killed after `timeout` seconds."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            code,
        )


def json_line(child: Child) -> dict[str, Any]:
    """The last stdout line that is a JSON object (the scripts' `--json` output)."""
    for line in reversed(child.out.strip().splitlines()):
        if line.startswith("{"):
            doc: dict[str, Any] = json.loads(line)
            return doc
    raise ValueError("printed no JSON line")


def failure(child: Child) -> str:
    lines = (child.err.strip() or child.out.strip() or "no output").splitlines()
    # The last line that says what went wrong (a traceback's own last line is the exception).
    said = [line for line in lines if line.startswith(("error", "Error")) or "Error:" in line]
    return f"failed (exit {child.code}): {(said or lines)[-1].strip()[:100]}"


@dataclass
class Row:
    area: str
    figure: str
    value: str
    floor: str = ""
    floor_value: str = ""
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    data: dict[str, Any] = field(default_factory=dict)


def fmt_cpu(child_or_cpu: Any, rss: float | None = None) -> str:
    cpu = child_or_cpu.cpu_s if isinstance(child_or_cpu, Child) else child_or_cpu
    rss = child_or_cpu.rss_mb if isinstance(child_or_cpu, Child) else rss
    text = f"{cpu:.2f} CPU-s"
    if rss is not None:
        text += f", {rss:,.0f} MB"
    return text


# --- ingest against DuckDB's and upb's parse -------------------------------------------------


def ingest_data(spans: int) -> Path:
    """bench/data when it holds `spans`, else bench/data/all-SPANS (made once, git-ignored)."""
    for folder in (DATA, DATA / f"all-{spans}"):
        manifest = folder / "manifest.json"
        if manifest.exists() and json.loads(manifest.read_text()).get("spans_requested") == spans:
            if (folder / "otlp.jsonl").exists() and (folder / "otlp.binpb").exists():
                return folder
    folder = DATA / f"all-{spans}"
    print(f"generating {spans:,} spans into {folder} ...", file=sys.stderr, flush=True)
    subprocess.run(
        [sys.executable, str(HERE / "gen_otlp.py"), "--spans", str(spans), "--out", str(folder)],
        check=True,
        capture_output=True,
    )
    return folder


def bench_ingest(spans: int, tmp: Path) -> list[Row]:
    folder = ingest_data(spans)
    rows = []
    for label, path, floor_label, floor_code in (
        ("OTLP/JSON lines", folder / "otlp.jsonl", "DuckDB read_json", DUCKDB_PARSE),
        ("protobuf", folder / "otlp.binpb", "upb parse", UPB_PARSE),
    ):
        path.read_bytes()  # warm the page cache for both, so neither pays the disk
        db = tmp / f"ingest-{path.suffix[1:]}.duckdb"
        cmd = [sys.executable, "-m", "agentprof", "ingest", "--db", str(db), str(path), "--json"]
        ingested = run_measured(cmd)
        floor = run_measured([sys.executable, "-c", floor_code, str(path)])
        db.unlink(missing_ok=True)
        if ingested.code or floor.code:
            bad = ingested if ingested.code else floor
            rows.append(Row("ingest", f"{label}, {spans:,} spans", failure(bad)))
            continue
        stored = json.loads(ingested.out)["spans"]
        rate = stored / ingested.wall_s
        rows.append(
            Row(
                "ingest",
                f"{label}, {stored:,} spans ({rate:,.0f} spans/s wall)",
                fmt_cpu(ingested),
                floor_label,
                fmt_cpu(floor),
                ingested.cpu_s / floor.cpu_s,
                "lower is better",
                None,
                {
                    "spans": stored,
                    "wall_s": ingested.wall_s,
                    "cpu_s": ingested.cpu_s,
                    "rss_mb": ingested.rss_mb,
                    "floor_cpu_s": floor.cpu_s,
                    "floor_wall_s": floor.wall_s,
                },
            )
        )
    return rows


# --- incremental ingest against the empty database -------------------------------------------


def bench_incremental(sizes: str, reps: int, tmp: Path) -> list[Row]:
    save = tmp / "incremental.json"
    cmd = [sys.executable, str(HERE / "bench_incremental.py"), "--sizes", sizes]
    child = run_measured([*cmd, "--reps", str(reps), "--save", str(save)], timeout=7200)
    if child.code or not save.exists():
        return [Row("incremental", f"2k spans into {sizes}M spans", failure(child))]
    results: dict[str, dict[str, dict[str, float]]] = json.loads(save.read_text())
    rows = []
    for fmt, by_size in results.items():
        empty = by_size.get("0")
        for m, f in sorted(by_size.items(), key=lambda kv: int(kv[0])):
            if m == "0" or empty is None:
                continue
            cpu_ratio = f["cpu_s"] / empty["cpu_s"]
            rss_ratio = f["rss_mb"] / empty["rss_mb"]
            rows.append(
                Row(
                    "incremental",
                    f"small {fmt} file into {m}M spans (RSS ratio {rss_ratio:.2f})",
                    fmt_cpu(f["cpu_s"], f["rss_mb"]),
                    "into an empty database",
                    fmt_cpu(empty["cpu_s"], empty["rss_mb"]),
                    cpu_ratio,
                    "<= 1.2 (CPU and RSS)",
                    max(cpu_ratio, rss_ratio) <= 1.2,
                    {"fmt": fmt, "base_mspans": int(m), **f, "empty": empty},
                )
            )
    return rows


# --- coding-agent logs against ccusage --------------------------------------------------------


def bench_agent_logs(lines: int, tmp: Path) -> list[Row]:
    # A data folder per size: the script remakes its synthetic folder when the size differs.
    data = DATA / ("agentlogs" if lines == 1_000_000 else f"agentlogs-{lines}")
    cmd = [sys.executable, str(HERE / "bench_agent_logs.py"), "--lines", str(lines), "--json"]
    cmd += ["--data", str(data)]
    child = run_measured(cmd, timeout=7200)
    if child.code:
        return [Row("agent logs", f"{lines:,} transcript lines", failure(child))]
    try:
        doc = json_line(child)
    except ValueError as exc:
        return [Row("agent logs", f"{lines:,} transcript lines", str(exc))]
    return agent_log_rows(doc)


def _fig(doc: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    for key in keys:
        value = doc.get(key)
        if isinstance(value, dict) and "cpu_s" in value:
            return value
    return None


def agent_log_rows(doc: dict[str, Any]) -> list[Row]:
    """Rows from bench_agent_logs.py's JSON line: figures are objects with cpu_s, wall_s and
    rss_mb, under `synthetic` (first, rerun, grown, new_session, ccusage) and per real folder."""
    rows = []
    synth = doc.get("synthetic", doc)
    cc = _fig(synth, "ccusage", "ccusage_first")
    lines = synth.get("lines", doc.get("lines", 0))
    mb = synth.get("mb", doc.get("mb"))
    size = f"{lines:,} lines" + (f", {mb:,.0f} MB" if mb else "")
    floor_label = "ccusage session --offline" if cc else "ccusage (not installed)"
    floor_text = fmt_cpu(cc["cpu_s"], cc.get("rss_mb")) if cc else ""
    for keys, label, target, check in (
        (("first", "first_ingest"), f"first ingest, {size}", "<= 2", "ratio"),
        (
            ("rerun", "nothing_new", "rerun_nothing_new"),
            "re-run, nothing new",
            "<= 0.5 s wall",
            "w",
        ),
        (("grown", "grew"), "one transcript grew", "", ""),
        (("new_session",), "one new session", "", ""),
    ):
        fig = _fig(synth, *keys)
        if fig is None:
            continue
        ratio = fig["cpu_s"] / cc["cpu_s"] if cc else None
        ok: bool | None = None
        if check == "ratio" and ratio is not None:
            ok = ratio <= 2
        elif check == "w":
            ok = fig["wall_s"] <= 0.5
        value = f"{fig['cpu_s']:.2f} CPU-s, {fig['wall_s']:.2f} s wall"
        rows.append(
            Row("agent logs", label, value, floor_label, floor_text, ratio, target, ok, fig)
        )
    for name, real in (doc.get("real") or {}).items():
        fig = _fig(real, "first", "first_ingest")
        rcc = _fig(real, "ccusage")
        if fig is None:
            continue
        ratio = fig["cpu_s"] / rcc["cpu_s"] if rcc else None
        rows.append(
            Row(
                "agent logs",
                f"{name}: first ingest",
                fmt_cpu(fig["cpu_s"], fig.get("rss_mb")),
                "ccusage session --offline" if rcc else "ccusage (not run)",
                fmt_cpu(rcc["cpu_s"], rcc.get("rss_mb")) if rcc else "",
                ratio,
                "",
                None,
                fig,
            )
        )
    if not rows:
        rows.append(Row("agent logs", "bench_agent_logs.py --json", "no figures recognised"))
    return rows


# --- fleet commands against the smallest database ---------------------------------------------


def bench_fleet(dbs: list[Path], reps: int) -> list[Row]:
    rows: list[Row] = []
    per_span: dict[str, tuple[float, int]] = {}  # figure -> (CPU-s per M spans, spans) smallest
    for db in dbs:
        if not db.exists():
            rows.append(Row("fleet", str(db), "no such database (skipped)"))
            continue
        for script in ("bench_diagnose.py", "bench_report.py"):
            cmd = [sys.executable, str(HERE / script), "--db", str(db), "--json"]
            child = run_measured([*cmd, "--repeat", str(reps)], timeout=7200)
            try:
                doc = json_line(child) if child.code == 0 else None
            except ValueError:
                doc = None
            if doc is None:
                rows.append(Row("fleet", f"{script} on {db.name}", failure(child)))
                continue
            spans = int(doc.get("spans", 0))
            figures = {
                k: v
                for k, v in doc.items()
                if isinstance(v, dict) and "cpu_s" in v and k not in ("distribution",)
            }
            for name, f in figures.items():
                label = name.replace("_", " ").replace("diagnose run json", "diagnose RUN --json")
                cpu_m = f["cpu_s"] * 1e6 / max(spans, 1)
                base = per_span.setdefault(name, (cpu_m, spans))
                one_run = name == "diagnose_run_json"
                # One run's view should not grow with the database: compare whole CPU-s there.
                if one_run:
                    base_cpu = base[0] * base[1] / 1e6
                    ratio = f["cpu_s"] / base_cpu if base[1] != spans else None
                    target = "~1 (independent of size)"
                else:
                    ratio = cpu_m / base[0] if base[1] != spans else None
                    target = "<= 2 per span; RSS < 1 GB"
                ok = None
                if ratio is not None and not one_run:
                    ok = ratio <= 2 and f.get("rss_mb", 0) < 1024
                floor = f"same, {base[1] / 1e6:.1f}M spans" if base[1] != spans else ""
                floor_value = f"{base[0]:.2f} CPU-s/M spans" if base[1] != spans else ""
                rows.append(
                    Row(
                        "fleet",
                        f"{label} at {spans / 1e6:.1f}M spans ({f['wall_s']:.1f} s wall)",
                        f"{f['cpu_s']:.2f} CPU-s, {f.get('rss_mb', 0):,.0f} MB",
                        floor,
                        floor_value,
                        ratio,
                        target,
                        ok,
                        {"db": str(db), "spans": spans, **f},
                    )
                )
    return rows


# --- serve against ingest ---------------------------------------------------------------------


def bench_serve(requests: int) -> list[Row]:
    cmd = [sys.executable, str(HERE / "bench_serve.py"), "--requests", str(requests), "--json"]
    child = run_measured(cmd, timeout=3600)
    try:
        doc = json_line(child)
    except ValueError:
        return [Row("serve", f"{requests} requests", failure(child))]
    ratio = doc.get("stored_vs_ingest")
    stored = doc["stored_spans_per_s"]
    return [
        Row(
            "serve",
            f"stored spans/s, {doc['spans_in_db']:,} spans, spool <= {doc['max_spool_mb']:g} MB "
            f"({doc['serve_cpu_s']:.1f} CPU-s)",
            f"{stored:,} spans/s",
            "agentprof ingest, same requests",
            f"{doc.get('ingest_spans_per_s', 0):,} spans/s "
            f"({doc.get('ingest_cpu_s', 0):.1f} CPU-s)",
            ratio,
            ">= 0.8 (higher is better)",
            ratio >= 0.8 if ratio is not None else None,
            doc,
        ),
        Row(
            "serve",
            f"accepted (HTTP 200) spans/s, p99 {doc['latency_p99_ms']:.0f} ms",
            f"{doc['spans_per_s']:,} spans/s",
            data={"lost": doc["lost"], "exit_code": doc["exit_code"]},
        ),
    ]


# --- the table --------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = ("area", "figure", "value", "floor", "floor value", "ratio", "target")
    body = []
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        if r.ok is not None:
            ratio += " ok" if r.ok else " MISS"
        body.append((r.area, r.figure, r.value, r.floor, r.floor_value, ratio, r.target))
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cells in body:
        lines.append(
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(PRESETS), default="small", help="preset (small)")
    ap.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    ap.add_argument("--spans", type=int, help="ingest: spans generated (small: 100,000)")
    ap.add_argument("--serve-requests", type=int, help="serve: requests sent (small: 500)")
    ap.add_argument("--agent-lines", type=int, help="agent logs: transcript lines (small: 100k)")
    ap.add_argument("--incremental-sizes", help="incremental: base sizes in M spans (small: 0,1)")
    ap.add_argument("--fleet-db", type=Path, action="append", help="fleet: database (repeatable)")
    ap.add_argument("--reps", type=int, help="repetitions where a script takes them (small: 1)")
    ap.add_argument("--save", type=Path, help="write every figure as JSON")
    ap.add_argument("--json", action="store_true", help="print one JSON line after the table")
    args = ap.parse_args()
    preset = PRESETS[args.size]
    sections = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    spans = args.spans or preset["spans"]
    reps = args.reps or preset["reps"]
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-all-", dir=DATA if DATA.exists() else None) as t:
        tmp = Path(t)
        for section in sections:
            print(f"running {section} ...", file=sys.stderr, flush=True)
            if section == "ingest":
                rows += bench_ingest(spans, tmp)
            elif section == "incremental":
                sizes = args.incremental_sizes or preset["incremental_sizes"]
                rows += bench_incremental(sizes, reps, tmp)
            elif section == "agent_logs":
                rows += bench_agent_logs(args.agent_lines or preset["agent_lines"], tmp)
            elif section == "fleet":
                rows += bench_fleet(args.fleet_db or preset["fleet_dbs"], reps)
            elif section == "serve":
                rows += bench_serve(args.serve_requests or preset["serve_requests"])
    elapsed = time.perf_counter() - started
    print(table(rows))
    print(
        f"\n{os.cpu_count()} cores; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; {elapsed:.0f} s in all. "
        "Ratios: CPU-s over the floor's CPU-s; serve: stored rate over ingest's rate."
    )
    result = {
        "bench": "all",
        "size": args.size,
        "seconds": round(elapsed, 1),
        "load_average": os.getloadavg(),
        "rows": [r.__dict__ for r in rows],
    }
    if args.save:
        args.save.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
