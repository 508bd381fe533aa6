"""A seeded mutation fuzzer over every reader (issue 17). Each case is a fixture with one
mutation: a JSON value swapped for a hostile one (-2^63, 1e400, NaN, a lone surrogate, year 0001 or
9999, a number where text belongs, deep nesting, …) or a byte-level cut, flip or splice. A batch
of cases is ingested in one call; the properties:

- no traceback: ingest returns (an unexpected exception would be an InternalError in the summary,
  or escape from `ingest` on a version without that net);
- no hang: each batch finishes within its time limit;
- no wrong number stored: every stored span passes the range checks and every derived tick, run
  and cost is in range, checked in SQL against the database itself;
- no derivation failure ("cannot derive trace" warnings).

`python -m tests.fuzz_ingest --cases 3000 --seed 1` runs a campaign and prints its figures
(`make fuzz`); tests/test_fuzz.py runs a bounded one in `make test`."""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

SEEDS = [
    "otlp/genai_current.json",
    "otlp/openinference.json",
    "otlp/vercel_ai.json",
    "otlp/claude_code_spans.json",
    "otlp/encodings/collector.jsonl",
    "otlp/encodings/base.otlp.pb",
    "otlp/encodings/collector.binpb",
    "otlp_logs/claude_code_otel_logs.json",
    "claude_code/projects/-home-u-demo/11111111-2222-3333-4444-555555555555.jsonl",
    "codex/sessions/2026/03/01/rollout-2026-03-01T09-00-00-thread-0001.jsonl",
    "api_logs/responses.jsonl",
    "usage_reports/litellm_spend_logs.jsonl",
    "usage_reports/openai_costs.json",
    "usage_reports/anthropic_usage_report.json",
]

# Values written as JSON text in place of a scalar (some are not JSON at all, on purpose).
HOSTILE = [
    "-9223372036854775808",
    "9223372036854775807",
    "18446744073709551616",
    "-1",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    '"NaN"',
    '"Infinity"',
    '"-9223372036854775808"',
    '"-5"',
    '"1e400"',
    '"\\udcff"',
    '"\\ud800x"',
    '"0001-01-01T00:00:00Z"',
    '"1900-01-01T00:00:00Z"',
    '"9999-12-31T23:59:59Z"',
    '"2026-13-45T99:99:99Z"',
    "0",
    "5",
    "1.5",
    "true",
    "null",
    "[]",
    "{}",
    '""',
    '"x"',
    "[" * 2000 + "]" * 2000,
    "[" * 200 + "]" * 200,
]


def _scalars(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _scalars(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _scalars(v, (*path, i))
    else:
        yield path


MARK = "\x00FUZZ\x00"


def _swap(doc: Any, rng: random.Random, pretty: bool) -> str | None:
    paths = list(_scalars(doc))
    if not paths:
        return None
    target = rng.choice(paths)
    node = doc
    for key in target[:-1]:
        node = node[key]
    if not target:
        return None
    node[target[-1]] = MARK
    text = json.dumps(doc, indent=1 if pretty else None)
    return text.replace(json.dumps(MARK), rng.choice(HOSTILE), 1)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One hostile change to one record (JSON) or to the bytes."""
    text = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if text is not None and rng.random() < 0.8:
        lines = text.splitlines()
        try:
            if len(lines) > 1 and all(line.strip().startswith("{") for line in lines if line):
                i = rng.randrange(len(lines))
                swapped = _swap(json.loads(lines[i]), rng, pretty=False)
                if swapped is not None:
                    lines[i] = swapped
                    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
            else:
                swapped = _swap(json.loads(text), rng, pretty=True)
                if swapped is not None:
                    return swapped.encode("utf-8", "surrogatepass")
        except ValueError:
            pass
    b = bytearray(data)
    op = rng.randrange(4)
    if not b:
        return bytes(b)
    i = rng.randrange(len(b))
    if op == 0:
        return bytes(b[:i])  # cut
    if op == 1:
        b[i] ^= 1 << rng.randrange(8)  # flip
        return bytes(b)
    if op == 2:
        j = rng.randrange(len(b))
        return bytes(b[:i] + b[j : j + rng.randrange(1, 64)] + b[i:])  # splice
    return bytes(b[:i] + bytes([rng.randrange(256)]) + b[i + 1 :])


# Wrong numbers, counted per stored row; each query returns one count.
INVARIANTS = {
    "span times outside 1970..2200 or end before start": (
        "select count(*) from spans where start_ns not between 0 and 7258118400000000000 "
        "or end_ns not between 0 and 7258118400000000000 or end_ns < start_ns"
    ),
    "negative or huge token counts in ticks": (
        "select count(*) from ticks where least(coalesce(input_uncached_tokens, 0), "
        "coalesce(cache_read_tokens, 0), coalesce(cache_write_5m_tokens, 0), "
        "coalesce(cache_write_1h_tokens, 0), coalesce(output_tokens, 0)) < 0 or greatest("
        "input_uncached_tokens, cache_read_tokens, cache_write_5m_tokens, output_tokens) > 1e12"
    ),
    "NaN, infinite or negative costs": (
        "select count(*) from ticks where not isfinite(coalesce(cost_usd, 0)) or cost_usd < 0 "
        "or not isfinite(coalesce(reported_cost_usd, 0)) or reported_cost_usd < 0"
    ),
    "negative latency": "select count(*) from ticks where latency_ms < 0",
    "usage buckets out of range": (
        "select count(*) from usage_buckets where least(coalesce(input_uncached_tokens, 0), "
        "coalesce(output_tokens, 0), coalesce(requests, 0)) < 0 or not isfinite(coalesce("
        "cost_usd, 0)) or cost_usd < 0 or ending_at < starting_at"
    ),
}


@dataclass
class Campaign:
    cases: int = 0
    tracebacks: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    wrong_numbers: list[str] = field(default_factory=list)
    derive_failures: list[str] = field(default_factory=list)
    path_disagreements: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self) -> str:
        return (
            f"{self.cases} cases in {self.seconds:.0f} s: {len(self.tracebacks)} tracebacks, "
            f"{len(self.hangs)} hangs, {len(self.wrong_numbers)} wrong numbers stored, "
            f"{len(self.derive_failures)} derivation failures, "
            f"{len(self.path_disagreements)} native/Python disagreements"
        )

    def failures(self) -> list[str]:
        return (
            self.tracebacks
            + self.hangs
            + self.wrong_numbers
            + self.derive_failures
            + self.path_disagreements
        )


def _ingest(db: Path, files: list[Path], native: bool = True) -> tuple[Any, str | None]:
    from agentprof import ingest, store

    # Small files take the Python decoder by default; the comparison needs DuckDB's reader.
    ingest.NATIVE_MIN_BYTES = 0 if native else 1 << 20  # type: ignore[attr-defined,unused-ignore]
    con = store.connect(db)
    try:
        return ingest.ingest(con, files, native_json=native), None
    except Exception as exc:
        if type(exc).__name__ in ("InputError", "Interrupted"):
            return None, None
        return None, "".join(traceback.format_exception_only(exc)).strip()
    finally:
        con.close()


def _stored(db: Path) -> tuple[list[Any], list[Any]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        spans = con.execute(
            "select trace_id, span_id, name, start_ns, end_ns, attributes from spans order by all"
        ).fetchall()
        bad = con.execute("select line, reason from quarantine order by all").fetchall()
    finally:
        con.close()
    return spans, bad


def run(
    cases: int,
    seed: int,
    budget_s: float,
    batch: int = 12,
    hang_s: float = 30.0,
    keep: Path | None = None,
) -> Campaign:
    """`keep`: a folder where the inputs of failing batches are copied."""
    import duckdb

    rng = random.Random(seed)
    campaign = Campaign()
    seeds = [(name, (FIXTURES / name).read_bytes()) for name in SEEDS]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n = 0
        while campaign.cases < cases and time.monotonic() - started < budget_s:
            n += 1
            files: list[Path] = []
            for k in range(batch):
                name, data = rng.choice(seeds)
                mutant = mutate(data, rng)
                if rng.random() < 0.1:
                    mutant = gzip.compress(mutant, mtime=0)
                suffix = "".join(Path(name).suffixes[-1:]) or ".json"
                path = folder / f"b{n}_{k}_{Path(name).stem}{suffix}"
                path.write_bytes(mutant)
                files.append(path)
            campaign.cases += len(files)
            failed_before = len(campaign.failures())
            db = folder / f"b{n}.duckdb"
            t0 = time.monotonic()
            summary, crash = _ingest(db, files)
            label = f"batch {n} (seed {seed}): {', '.join(f.name for f in files)}"
            if time.monotonic() - t0 > hang_s:
                campaign.hangs.append(label)
            if crash:
                campaign.tracebacks.append(f"{label}: {crash}")
            if summary is not None:
                for error in summary.errors:
                    if type(error).__name__ == "InternalError":
                        campaign.tracebacks.append(f"{error.message()}")
                for warning in summary.warnings:
                    if warning.startswith("cannot derive"):
                        campaign.derive_failures.append(f"{label}: {warning}")
            con = duckdb.connect(str(db), read_only=True) if db.exists() else None
            try:
                for what, query in INVARIANTS.items() if con else ():
                    (count,) = con.execute(query).fetchone()  # type: ignore[misc]
                    if count:
                        campaign.wrong_numbers.append(f"{label}: {count} × {what}")
            finally:
                if con:
                    con.close()
            # Both JSON-lines paths store and quarantine the same (one file per batch).
            lines = [f for f in files if f.suffix == ".jsonl" and "collector" in f.name]
            for f in lines[:1]:
                a, b = folder / f"n{n}.duckdb", folder / f"p{n}.duckdb"
                _, ca = _ingest(a, [f], native=True)
                _, cb = _ingest(b, [f], native=False)
                if not ca and not cb and _stored(a) != _stored(b):
                    campaign.path_disagreements.append(f"{f.name} (seed {seed})")
                    if keep:
                        shutil.copy(f, keep)
            if keep and len(campaign.failures()) > failed_before:
                for f in files:
                    shutil.copy(f, keep)
            for f in files:
                f.unlink()
    campaign.seconds = time.monotonic() - started
    return campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds at most")
    parser.add_argument("--keep", type=Path, help="copy failing inputs into this folder")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    campaign = run(args.cases, args.seed, args.budget, keep=args.keep)
    for line in campaign.failures()[:40]:
        print(line)
    print(campaign.figures())
    sys.exit(1 if campaign.failures() else 0)


if __name__ == "__main__":
    main()
