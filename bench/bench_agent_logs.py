"""Benchmark: coding-agent logs. Ingests the real Claude Code and Codex folders, then a scaled
synthetic copy of the Claude Code one (the real files repeated under new session ids, real
layout; about 1.6 GB for the default 1M lines), against `ccusage session --offline` on the same
folders when ccusage is installed. On the synthetic folder it also times the repeat runs:

1. first ingest, with the largest transcript cut short (its last lines held back);
2. a re-run with nothing new (target <= 0.5 s);
3. the held-back lines appended to that transcript (a session that grew);
4. one new session file (a fresh copy of a real transcript).

    .venv/bin/python bench/bench_agent_logs.py [--lines 1000000] [--data bench/data/agentlogs]
        [--ccusage PATH] [--no-real] [--check]
    .venv/bin/python bench/bench_agent_logs.py --first-only [--repeat 3] [--against CHECKOUT]

Each figure is a fresh process, start-up included: wall time, CPU (user+sys) and peak RSS from
os.wait4 on that child. `--check` also ingests the final folder into a fresh database and
compares run, tick and token totals with the incrementally grown one. The synthetic folder is
kept in --data (git ignores bench/data) and made again when its line count differs; the
transcript the bench cuts short is restored at the end.

`--first-only` times only the first ingest of the synthetic folder (into a fresh database) and
ccusage on it, `--repeat` times in alternation, and prints the CPU ratio of each pair and their
medians; `--against CHECKOUT` also times the same ingest run from another checkout of agentprof
(e.g. one with a change backed out), in the same alternation, so a before/after comparison on a
busy machine sees the same load. `--breakdown` runs one first ingest in this process with CPU
timers around its steps (decode, store, derivation, hashing, ...) and prints where the
CPU-seconds went.

Prints figures only; nothing is asserted. ccusage: `npm install ccusage@20.0.24
@ccusage/ccusage-linux-x64@20.0.24` in /tmp."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "realdata" / "public"
SPOTTER = REAL / "claude-code" / "spotter"


# Made again when this changes (ids made unique in more places).
GENERATOR = 2
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _fresh_ids(text: str, tag: str) -> str:
    """The transcript with every UUID (session ids, the line uuids that name turns), message,
    request and tool-use id made unique to `tag`: a copy shares no run, tick or tool call with
    another (or they would dedupe, correctly)."""
    fresh: dict[str, str] = {}

    def swap(m: re.Match[str]) -> str:
        old = m.group(0)
        if old not in fresh:
            fresh[old] = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{old}{tag}"))
        return fresh[old]

    out = _UUID.sub(swap, text)
    return (
        out.replace('"id":"msg_', f'"id":"msg_{tag}_')
        .replace('"requestId":"req_', f'"requestId":"req_{tag}_')
        .replace("toolu_", f"toolu_{tag}_")
    )


def scaled_copy(dest: Path, target_lines: int) -> int:
    """Copy spotter's transcripts again and again, each copy with fresh session ids (so nothing
    dedupes away), until about `target_lines` lines exist. Returns the line count."""
    files = sorted(SPOTTER.rglob("*.jsonl"))
    texts = [(f.relative_to(SPOTTER), f.read_text()) for f in files]
    per_copy = sum(t.count("\n") for _, t in texts)
    copies = max(1, round(target_lines / per_copy))
    for i in range(copies):
        for rel, text in texts:
            target = dest / f"copy{i}" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_fresh_ids(text, str(i)))
    (dest.parent / "manifest.json").write_text(
        json.dumps(
            {"target_lines": target_lines, "lines": per_copy * copies, "generator": GENERATOR}
        )
    )
    return per_copy * copies


def synthetic_folder(data: Path, target_lines: int) -> tuple[Path, int]:
    """The synthetic folder in `data`, made (again) when missing or of another size."""
    manifest = data / "manifest.json"
    projects = data / "projects"
    if manifest.exists():
        doc = json.loads(manifest.read_text())
        if (doc.get("target_lines"), doc.get("generator")) == (target_lines, GENERATOR) and (
            projects.exists()
        ):
            return projects, int(doc["lines"])
    shutil.rmtree(projects, ignore_errors=True)
    manifest.unlink(missing_ok=True)
    projects.mkdir(parents=True)
    return projects, scaled_copy(projects, target_lines)


@dataclass
class Figure:
    wall: float
    cpu: float
    rss_mb: float
    out: str


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> Figure:
    """A fresh child: wall time, its CPU (user+sys) and its peak RSS (os.wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {err.read().decode()[-2000:]}")
        return Figure(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out.read().decode())


def ingest(paths: list[Path], db: Path, checkout: Path = ROOT) -> tuple[Figure, dict[str, Any]]:
    """`agentprof ingest` run from `checkout` (its package and queries; this venv's libraries)."""
    cmd = [sys.executable, "-m", "agentprof", "ingest", "--db", str(db), "--json"]
    fig = measure([*cmd, *map(str, paths)], cwd=checkout)
    # (DuckDB's progress bar on stdout, where a build does not turn it off, comes first)
    return fig, json.loads(fig.out[fig.out.index("{") :])


def ccusage(binary: str, config_dir: Path) -> Figure | None:
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config_dir)}
    try:
        return measure([binary, "session", "--offline", "--json"], env)
    except SystemExit as exc:
        print(f"  ccusage failed: {exc}")
        return None


def totals(db: Path) -> dict[str, str]:
    """A digest of each column of the runs, ticks and tool calls: what must not depend on how
    the data came in. Doubles are rounded to 1 µs or 0.001 token: DuckDB sums them in parallel,
    in no fixed order."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    out = {}
    try:
        for table, key in (
            ("runs", "run_id"),
            ("ticks", "run_id, tick"),
            ("tool_calls", "run_id, span_id"),
        ):
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            for name, kind in columns:
                value = f"round({name}, 3)" if kind == "DOUBLE" else name
                digest = con.execute(
                    f"select md5(string_agg(coalesce({value}::varchar, '-'), ',' order by {key}))"
                    f" || ' ' || count(*) from {table}"
                ).fetchall()[0][0]
                out[f"{table}.{name}"] = str(digest)
    finally:
        con.close()
    return out


# Every figure printed, with its section (a real folder's name or "synthetic"), for --json.
RECORDED: list[tuple[str, str, Figure]] = []
SECTION = {"name": "", "lines": 0, "mb": 0.0}


def figures_json() -> dict[str, Any]:
    """The figures as one JSON document (bench/bench_all.py reads it): per section, `first`,
    `rerun` (the last), `grown`, `new_session`, `ccusage` (and `ccusage_after`, the second run on
    the synthetic folder), each {wall_s, cpu_s, rss_mb}."""
    doc: dict[str, Any] = {"bench": "agent_logs", "real": {}, "synthetic": {}}
    for section, label, fig in RECORDED:
        out = doc["synthetic"] if section == "synthetic" else doc["real"].setdefault(section, {})
        key = {
            "first ingest": "first",
            "agentprof ingest": "first",
            "re-run, nothing new": "rerun",
            "agentprof ingest, nothing new": "rerun",
            "ccusage session --offline": "ccusage_after" if "ccusage" in out else "ccusage",
        }.get(label)
        if key is None and label.startswith("one transcript grew"):
            key = "grown"
        if key is None and label.startswith("one new session"):
            key = "new_session"
        if key:
            out[key] = {"wall_s": fig.wall, "cpu_s": fig.cpu, "rss_mb": fig.rss_mb}
    doc["synthetic"] |= {"lines": SECTION["lines"], "mb": SECTION["mb"]}
    return doc


def row(label: str, fig: Figure, extra: str = "") -> None:
    RECORDED.append((str(SECTION["name"]), label, fig))
    print(f"  {label:<34} {fig.wall:7.2f} s wall {fig.cpu:7.2f} CPU-s {fig.rss_mb:6.0f} MB {extra}")


def breakdown(synth: Path) -> None:
    """One first ingest of `synth` in this process, with CPU timers (process CPU: DuckDB's threads
    count to the step that runs them) around its steps, and a parse-only pass of every line for
    comparison. Steps nest: `decode` holds the reader, Arrow, range check and state figures."""
    import contextlib
    import functools
    from collections import defaultdict
    from collections.abc import Iterator

    import orjson

    from agentprof import ingest as ing
    from agentprof import sql, store
    from agentprof.sources import agentlog, claude_code, otlp, validate

    spent: dict[str, float] = defaultdict(float)
    started = time.process_time()

    def timed(owner: Any, name: str, label: str, by_query: bool = False) -> None:
        inner = getattr(owner, name, None)
        if inner is None:
            print(f"  (no {name} to time: skipped)")
            return

        @functools.wraps(inner)
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.process_time()
            try:
                return inner(*a, **k)
            finally:
                spent[f"{label} {a[1]}" if by_query else label] += time.process_time() - t

        setattr(owner, name, wrapper)

    def timed_iter(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*a: Any, **k: Any) -> Iterator[Any]:
            items = inner(*a, **k)
            while True:
                t = time.process_time()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    spent[label] += time.process_time() - t
                yield item

        setattr(owner, name, wrapper)

    @contextlib.contextmanager
    def transaction(con: Any, *, begin: bool = True) -> Iterator[None]:
        if begin:
            con.begin()
        try:
            yield
            t = time.process_time()
            con.commit()
            spent["store: commit"] += time.process_time() - t
        except BaseException:
            ing._rollback_if_open(con)
            raise

    timed(ing, "file_sha256", "hash (sha256 of each file)")
    timed_iter(ing, "read_spans", "decode (read, parse, reader, Arrow, check, state)")
    timed_iter(claude_code._Reader, "rows", "  decode: span rows from the reader")
    timed(otlp, "_span_table", "  decode: Arrow tables")
    timed(validate, "keep_valid", "  decode: range check")
    timed(agentlog, "dump_state", "  decode: reader state (pickle+zstd)")
    timed(ing, "_store_group", "store (group transactions)")
    timed(sql, "_bind", "  sql", by_query=True)
    ing.transaction = transaction
    timed(ing, "derive_pending", "derive (runs, ticks, tool calls, prices)")
    timed(ing, "_resolve_prices", "  derive: price lookups")
    with tempfile.TemporaryDirectory() as tmp:
        con = store.connect(Path(tmp) / "b.duckdb")
        try:
            t = time.process_time()
            summary = ing.ingest(con, ing.expand_paths([str(synth)]))
            total = time.process_time() - t
        finally:
            con.close()
    whole = time.process_time() - started
    print(f"first ingest in-process: {total:.2f} CPU-s ({summary.spans:,} spans, "
          f"{summary.ticks:,} ticks); with connect/close {whole:.2f}; imports and start-up not "
          "counted (a fresh `agentprof ingest` adds ~0.4)")  # fmt: skip
    for label, cpu in sorted(spent.items(), key=lambda kv: -kv[1]):
        if cpu >= 0.01:
            print(f"  {cpu:7.2f}  {label}")
    t = time.process_time()
    lines = 0
    for path in sorted(synth.rglob("*.jsonl")):
        with open(path, "rb") as f:
            for raw in f:
                lines += 1
                orjson.loads(raw)
    print(f"  parse-only pass (read + orjson.loads of {lines:,} lines): "
          f"{time.process_time() - t:.2f} CPU-s")  # fmt: skip


def first_only(synth: Path, work: Path, args: argparse.Namespace, has_ccusage: bool) -> None:
    """First ingests (fresh database each) and ccusage, alternating; the median CPU ratio."""
    contenders = [("agentprof ingest", ROOT)]
    if args.against:
        contenders.append((f"agentprof ingest ({args.against})", args.against.resolve()))
    cpu: dict[str, list[float]] = {}
    for round_ in range(args.repeat):
        for label, checkout in contenders:
            db = work / f"first{round_}.duckdb"
            fig, doc = ingest([synth], db, checkout)
            for leftover in work.glob(f"first{round_}.duckdb*"):
                leftover.unlink()
            row(label, fig, f"{doc['ticks']:,} ticks")
            cpu.setdefault(label, []).append(fig.cpu)
        if has_ccusage:
            cc = ccusage(args.ccusage, synth.parent)
            if cc:
                row("ccusage session --offline", cc)
                cpu.setdefault("ccusage", []).append(cc.cpu)
    for label, values in cpu.items():
        line = f"  median {label}: {statistics.median(values):.2f} CPU-s"
        if "ccusage" in cpu and label != "ccusage":
            ratio = statistics.median(values) / statistics.median(cpu["ccusage"])
            line += f" ({ratio:.1f}x ccusage)"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000, help="synthetic transcript lines")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data" / "agentlogs")
    parser.add_argument("--ccusage", default="/tmp/node_modules/.bin/ccusage")
    parser.add_argument("--no-real", action="store_true", help="skip the real folders")
    parser.add_argument("--check", action="store_true", help="compare with a fresh ingest")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    parser.add_argument("--first-only", action="store_true", help="first ingest against ccusage")
    parser.add_argument("--repeat", type=int, default=3, help="rounds for --first-only")
    parser.add_argument("--against", type=Path, help="another checkout, for --first-only")
    parser.add_argument("--breakdown", action="store_true", help="where a first ingest's CPU goes")
    args = parser.parse_args()
    if args.breakdown:
        synth, _ = synthetic_folder(args.data, args.lines)
        breakdown(synth)
        return
    has_ccusage = shutil.which(args.ccusage) is not None
    args.data.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.data) as tmp:
        work = Path(tmp)
        for name, folder in (
            ()
            if args.no_real or args.first_only
            else (
                ("claude-code/spotter", SPOTTER),
                ("claude-code/codemie", REAL / "claude-code" / "codemie"),
                ("codex/codemie", REAL / "codex" / "codemie"),
            )
        ):
            db = work / f"{name.replace('/', '_')}.duckdb"
            fig, doc = ingest([folder], db)
            SECTION["name"] = name
            print(f"{name}: {doc['ticks']:,} ticks")
            row("agentprof ingest", fig)
            row("agentprof ingest, nothing new", ingest([folder], db)[0])
            if has_ccusage and name.startswith("claude-code"):
                cc = ccusage(args.ccusage, folder)
                if cc:
                    row("ccusage session --offline", cc)
        synth, lines = synthetic_folder(args.data, args.lines)
        if args.first_only:
            SECTION.update(name="synthetic", lines=lines)
            print(f"synthetic: {lines:,} lines ({synth})")
            first_only(synth, work, args, has_ccusage)
            return
        files = sorted(synth.rglob("*.jsonl"))
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"synthetic: {lines:,} lines, {size:,.0f} MB, {len(files):,} files ({synth})")
        SECTION.update(name="synthetic", lines=lines, mb=size)
        grown = max(files, key=lambda f: f.stat().st_size)
        full = grown.read_bytes()
        cut = full.rfind(b"\n", 0, len(full) * 6 // 10) + 1
        new_session = synth / "new-session"
        try:
            grown.write_bytes(full[:cut])
            db = work / "synthetic.duckdb"
            fig, doc = ingest([synth], db)
            row("first ingest", fig, f"{doc['ticks']:,} ticks")
            if has_ccusage:
                cc = ccusage(args.ccusage, synth.parent)
                if cc:
                    row("ccusage session --offline", cc, f"CPU ratio {fig.cpu / cc.cpu:.1f}x")
            for _ in range(2):
                fig, doc = ingest([synth], db)
                row("re-run, nothing new", fig, f"{doc['files_unchanged']:,} unchanged")
            grown.write_bytes(full)
            fig, doc = ingest([synth], db)
            tail = (len(full) - cut) / 1e6
            row(f"one transcript grew by {tail:.1f} MB", fig, f"{doc['ticks']:,} ticks")
            spotter_file = max(SPOTTER.rglob("*.jsonl"), key=lambda f: f.stat().st_size)
            rel = spotter_file.relative_to(SPOTTER)
            text = _fresh_ids(spotter_file.read_text(), "new")
            target = new_session / rel.name
            target.parent.mkdir(parents=True)
            target.write_text(text)
            fig, doc = ingest([synth], db)
            row(f"one new session, {len(text) / 1e6:.1f} MB", fig, f"{doc['ticks']:,} ticks")
            if has_ccusage:
                cc = ccusage(args.ccusage, synth.parent)
                if cc:
                    row("ccusage session --offline", cc)
            if args.check:
                fresh = work / "fresh.duckdb"
                ingest([synth], fresh)
                got, want = totals(db), totals(fresh)
                differ = sorted(k for k in want if got.get(k) != want[k])
                print(f"  incremental == fresh ingest: {not differ} ({len(want)} columns compared)")
                if differ:
                    print(f"    columns that differ: {', '.join(differ)}")
        finally:
            grown.write_bytes(full)
            shutil.rmtree(new_session, ignore_errors=True)
    if args.json:
        print(json.dumps(figures_json()))


if __name__ == "__main__":
    main()
