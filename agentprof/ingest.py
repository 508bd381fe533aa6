"""Ingest input files into the database: one transaction per file, spans stored once, derived
runs/ticks/tool calls rebuilt for the traces a file touched, then priced."""

from __future__ import annotations

import contextlib
import functools
import gc
import glob
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from agentprof import sources, sql
from agentprof.errors import AgentprofError, InputError
from agentprof.pricing import PriceBook, rate_rows
from agentprof.sources import agentlog, logs, usage_reports
from agentprof.sources.otlp import SPAN_SCHEMA

# Files a folder walk picks up; an explicitly named file is always read.
TRACE_SUFFIXES = (
    ".json",
    ".jsonl",
    ".ndjson",
    ".pb",
    ".binpb",
    ".proto",
    ".otlp",
    ".gz",
    ".zst",
    ".zst-legacy",
)
QUARANTINE_EXAMPLES = 5


@dataclass
class FileResult:
    path: str
    format: str
    status: str  # "ingested", "unchanged", "failed"
    reader: str = ""  # "duckdb" (native JSON lines) or "python"
    records: int = 0
    records_skipped: int = 0
    spans_new: int = 0
    error: str | None = None


@dataclass
class IngestSummary:
    files: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    records: int = 0
    records_skipped: int = 0
    spans: int = 0
    runs: int = 0
    ticks: int = 0
    tool_calls: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    skipped_examples: list[str] = field(default_factory=list)
    errors: list[AgentprofError] = field(default_factory=list)
    file_results: list[FileResult] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "files_unchanged": self.files_unchanged,
            "files_failed": self.files_failed,
            "records": self.records,
            "records_skipped": self.records_skipped,
            "spans": self.spans,
            "runs": self.runs,
            "ticks": self.ticks,
            "tool_calls": self.tool_calls,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
            "skipped_examples": self.skipped_examples,
            "errors": [e.message() for e in self.errors],
        }


# Progress callback: (files done, files total, bytes done, spans so far).
Progress = Callable[[int, int, int, int], None]


def expand_paths(paths: Iterable[str]) -> list[Path]:
    """Files, globs and folders (walked recursively, hidden entries skipped), in a stable order."""
    out: list[Path] = []
    for raw in paths:
        matches = sorted(glob.glob(raw, recursive=True)) if glob.has_magic(raw) else [raw]
        if not matches:
            raise InputError(raw, "no file matches this pattern")
        for m in matches:
            p = Path(m)
            if p.is_dir():
                for root, dirs, files in os.walk(p):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    out.extend(
                        Path(root, f)
                        for f in sorted(files)
                        if not f.startswith(".") and f.lower().endswith(TRACE_SUFFIXES)
                    )
            elif p.exists():
                out.append(p)
            else:
                raise InputError(str(p), "no such file or folder")
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


_QUARANTINE_SCHEMA = pa.schema(
    [("path", pa.string()), ("line", pa.int64()), ("reason", pa.string()), ("excerpt", pa.string())]
)


def _args_fingerprint(args: str | None) -> str | None:
    """Canonical argument hash: sorted-key JSON where the arguments parse as JSON, else the text."""
    if args is None:
        return None
    try:
        canonical = json.dumps(
            json.loads(args), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except (ValueError, TypeError):
        canonical = args
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _args_fingerprints(args: pa.Array) -> pa.Array:
    return pa.array([_args_fingerprint(a) for a in args.to_pylist()], type=pa.string())


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """SQL functions the derivation queries call that SQL cannot express (canonical JSON)."""
    try:
        # The stubs want enum members that the runtime module does not export; strings work.
        con.create_function(  # type: ignore[call-overload]
            "args_fingerprint",
            _args_fingerprints,
            ["VARCHAR"],
            "VARCHAR",
            type="arrow",
            null_handling="special",
        )
    except duckdb.CatalogException:
        pass  # already registered on this connection


def _report_spans(
    progress: Progress | None, index: int, total: int, nbytes: int, spans_before: int, spans: int
) -> None:
    if progress:
        progress(index, total, nbytes, spans_before + spans)


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    prices: PriceBook | None = None,
    progress: Progress | None = None,
    native_json: bool = True,
) -> IngestSummary:
    """Ingest files one transaction each. `native_json=False` forces the Python decoder for
    JSON lines (tests compare the two paths)."""
    started = time.perf_counter()
    summary = IngestSummary()
    book = prices or PriceBook()
    register_functions(con)
    sql.execute(con, "ingest/clear_touched")
    warned: set[str] = set()
    total = len(paths)
    bytes_done = 0
    for index, path in enumerate(paths):
        try:
            result = _ingest_file(
                con,
                path,
                book,
                summary,
                warned,
                functools.partial(_report_spans, progress, index, total, bytes_done, summary.spans),
                native_json,
            )
        except InputError as exc:
            summary.files_failed += 1
            summary.errors.append(exc)
            summary.file_results.append(FileResult(str(path), "", "failed", error=exc.message()))
        else:
            summary.file_results.append(result)
            if result.status == "unchanged":
                summary.files_unchanged += 1
            else:
                summary.files += 1
        bytes_done += path.stat().st_size if path.exists() else 0
        if progress:
            progress(index + 1, total, bytes_done, summary.spans)
    runs, ticks, tools = sql.run(con, "ingest/touched_counts").rows[0]
    summary.runs, summary.ticks, summary.tool_calls = int(runs), int(ticks), int(tools)
    summary.seconds = time.perf_counter() - started
    return summary


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    book: PriceBook,
    summary: IngestSummary,
    warned: set[str],
    on_spans: Callable[[int], Any],
    native_json: bool,
) -> FileResult:
    try:
        sha, size = _sha256(path)
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    if sql.run(con, "ingest/file_seen", {"sha256": sha}).rows:
        return FileResult(str(path), "", "unchanged")
    fmt = sources.detect(path)
    loaded: _Loaded | None = None
    reader = "duckdb"
    if native_json and fmt.name in sources.NATIVE_JSON_FORMATS and sources.is_json_lines(path):
        fmt.stream.close()
        loaded = _in_transaction(con, lambda: _load_native_jsonl(con, path, fmt.name, sha))
        if loaded is None:
            fmt = sources.detect(path)
    if loaded is None:
        reader = "python"
        loaded = _in_transaction(con, lambda: _load_python(con, path, fmt, sha, on_spans))
    assert loaded is not None
    _finish_file(con, path, fmt.name, sha, size, loaded, book, summary, warned)
    summary.records += loaded.records
    summary.records_skipped += loaded.skipped
    summary.spans += loaded.spans_new
    for q in loaded.quarantined[: max(0, QUARANTINE_EXAMPLES - len(summary.skipped_examples))]:
        summary.skipped_examples.append(f"{q[0]}:{q[1]}: {q[2]}")
    return FileResult(
        str(path), fmt.name, "ingested", reader, loaded.records, loaded.skipped, loaded.spans_new
    )


@dataclass
class _Loaded:
    records: int
    skipped: int
    spans_new: int
    quarantined: list[tuple[str, int, str, str]]


def _in_transaction(
    con: duckdb.DuckDBPyConnection, load: Callable[[], _Loaded | None]
) -> _Loaded | None:
    """Open the file's transaction and load its spans; on any failure nothing of it remains.
    The transaction stays open on success: _finish_file commits it."""
    con.begin()
    try:
        loaded = load()
    except BaseException:
        con.rollback()
        raise
    if loaded is None:
        con.rollback()
    return loaded


def _load_native_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, fmt_name: str, sha: str
) -> _Loaded | None:
    """DuckDB parses the file itself (several times faster than a Python loop). Returns None, with
    nothing written, when the file needs the Python decoder's record-by-record care."""
    params = {
        "path": str(path),
        "compression": "gzip" if fmt_name.endswith("+gzip") else "none",
        "file_sha256": sha,
    }
    try:
        docs, not_traces, legacy, spans = sql.run(con, "ingest/jsonl_shape", params).rows[0]
        if not docs or not_traces or legacy:
            return None
        before = _count_spans(con)
        sql.execute(con, "ingest/insert_spans_jsonl", params)
        if sql.run(con, "ingest/invalid_new_spans", params).rows[0][0]:
            return None
    except duckdb.Error:
        # Malformed JSON, an over-long line, an unexpected shape: the Python decoder reports it.
        return None
    return _Loaded(
        records=int(spans), skipped=0, spans_new=_count_spans(con) - before, quarantined=[]
    )


def _load_python(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: sources.Format,
    sha: str,
    on_spans: Callable[[int], Any],
) -> _Loaded:
    quarantined: list[tuple[str, int, str, str]] = []

    def bad(line: int, reason: str, excerpt: str) -> None:
        quarantined.append((str(path), line, reason, excerpt))

    counts = {"records": 0, "skipped": 0}

    def batches() -> Iterator[pa.RecordBatch]:
        for batch, nrec, nbad in sources.read(path, fmt, bad):
            counts["records"] += nrec
            counts["skipped"] += nbad
            if batch is not None:
                yield from batch.to_batches()
            on_spans(counts["records"] - counts["skipped"])

    if logs.family(fmt.name) == logs.REPORT_FAMILY:
        # Usage reports are aggregates: they go to usage_buckets, not spans.
        with contextlib.closing(fmt.stream):
            records, skipped = usage_reports.load(con, fmt.stream, sha, bad)
        if records == skipped:
            raise InputError(str(path), "no usage buckets in this report")
        return _Loaded(records, skipped, 0, quarantined)
    before = _count_spans(con)
    # One INSERT pulls every batch through a stream, so DuckDB writes the file's rows out as it
    # goes instead of holding a growing transaction in memory (one statement per batch did).
    # Decoding makes millions of short-lived containers and no cycles; the cyclic collector's
    # passes over them cost about a third of the time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        stream = pa.RecordBatchReader.from_batches(SPAN_SCHEMA, batches())
        if logs.family(fmt.name) in logs.SPAN_FAMILIES:
            agentlog.store_spans(con, stream, sha)  # a more complete copy replaces a stored one
        else:
            sql.execute(
                con, "ingest/insert_spans", {"file_sha256": sha}, tables={"span_batch": stream}
            )
    finally:
        if gc_was_enabled:
            gc.enable()
    records, skipped = counts["records"], counts["skipped"]
    if records == skipped:
        first = quarantined[0] if quarantined else None
        why = f"line {first[1]}: {first[2]}" if first else "no spans in it"
        raise InputError(str(path), f"not an OTLP trace export ({why})")
    return _Loaded(records, skipped, _count_spans(con) - before, quarantined)


def _finish_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt_name: str,
    sha: str,
    size: int,
    loaded: _Loaded,
    book: PriceBook,
    summary: IngestSummary,
    warned: set[str],
) -> None:
    """Inside the file's open transaction: rebuild what its spans touched, keep its bad records,
    mark it ingested, commit."""
    try:
        sql.execute(con, "ingest/clear_affected")
        sql.execute(con, "ingest/note_affected_from_file", {"file_sha256": sha})
        sql.execute(con, "ingest/affected_spans")
        _derive(con, book, summary, warned)
        if loaded.quarantined:
            batch_q = pa.Table.from_pylist(
                [dict(zip(_QUARANTINE_SCHEMA.names, q, strict=True)) for q in loaded.quarantined],
                schema=_QUARANTINE_SCHEMA,
            )
            sql.execute(
                con,
                "ingest/insert_quarantine",
                {"file_sha256": sha},
                tables={"quarantine_batch": batch_q},
            )
        sql.execute(
            con,
            "ingest/insert_file",
            {
                "sha256": sha,
                "path": str(path),
                "format": fmt_name,
                "size_bytes": size,
                "records": loaded.records,
                "records_skipped": loaded.skipped,
                "spans_new": loaded.spans_new,
            },
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _count_spans(con: duckdb.DuckDBPyConnection) -> int:
    return int(sql.run(con, "ingest/span_count").rows[0][0])


def _derive(
    con: duckdb.DuckDBPyConnection, book: PriceBook, summary: IngestSummary, warned: set[str]
) -> None:
    for name in (
        "delete_ticks",
        "delete_tool_calls",
        "delete_runs",
        "derive_ticks",
        "derive_tool_calls",
        "derive_runs",
    ):
        sql.execute(con, f"ingest/{name}")
    _resolve_prices(con, book, summary, warned)
    sql.execute(con, "ingest/price_ticks")
    sql.execute(con, "ingest/note_touched")


def _resolve_prices(
    con: duckdb.DuckDBPyConnection, book: PriceBook, summary: IngestSummary, warned: set[str]
) -> None:
    missing = sql.run(con, "ingest/unpriced_models").rows
    if not missing:
        return
    rates: list[dict[str, Any]] = []
    priced: list[dict[str, Any]] = []
    for provider, model, hour in missing:
        found, source, res_provider, res_model = book.lookup(provider, model, hour)
        priced.append(
            {
                "provider": provider,
                "model": model,
                "hour": hour,
                "price_source": source,
                "resolved_provider": res_provider,
                "resolved_model": res_model,
            }
        )
        if found is None:
            label = f"{provider}/{model}" if provider else model
            if label not in warned:
                warned.add(label)
                summary.warnings.append(
                    f"no price for model {label}: its cost is NULL; add it to a price file"
                )
        else:
            rates.extend(rate_rows(provider, model, hour, found, source))
    for name, rows, table in (
        ("insert_price_rates", rates, "rates_batch"),
        ("insert_priced_models", priced, "priced_batch"),
    ):
        if rows:
            sql.execute(con, f"ingest/{name}", tables={table: pa.Table.from_pylist(rows)})
