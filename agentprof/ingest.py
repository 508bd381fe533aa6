"""Ingest input files into the database. Each file's spans are stored whole or not at all (a
large file in its own transaction, small ones in groups), each span once, and the traces they
belong to are marked pending; one derivation at the end rebuilds the runs, ticks and tool calls of
every pending trace and prices them."""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import stat
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from agentprof import sources, sql
from agentprof.errors import (
    AgentprofError,
    InputError,
    InternalError,
    Interrupted,
    UnsupportedInput,
)
from agentprof.filereader import (
    APPEND_READERS,
    SMALL_FILE_BYTES,
    InputFile,
    Resume,
    file_sha256,
    no_gc,
    read_spans,
)
from agentprof.pricing import PriceBook, context_window, rate_rows
from agentprof.sources import agentlog, clickhouse, logs, usage_reports, validate
from agentprof.sources.otlp import SPAN_SCHEMA, resource_ids
from agentprof.store import pending_traces

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
    ".traj",  # SWE-agent trajectories
)
QUARANTINE_EXAMPLES = 5
# The folder-walk summary names this many of the files it skipped.
SKIPPED_EXAMPLES = 3
SKIP_HIDDEN = "hidden"
SKIP_NAME = "not a trace or log file name"
SKIP_FORMAT = "not a format agentprof reads"


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
    # Input bytes hashed (files whose size or mtime changed) and decoded (of a grown agent log,
    # only its new end): an unchanged re-run reads none.
    bytes_hashed: int = 0
    bytes_read: int = 0
    warnings: list[str] = field(default_factory=list)
    skipped_examples: list[str] = field(default_factory=list)
    errors: list[AgentprofError] = field(default_factory=list)
    file_results: list[FileResult] = field(default_factory=list)
    current: str = ""  # the file being read (named when Ctrl-C stops the ingest)
    current_sha: str = ""  # its content hash, once known

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
            "bytes_hashed": self.bytes_hashed,
            "bytes_read": self.bytes_read,
            "warnings": self.warnings,
            "skipped_examples": self.skipped_examples,
            "errors": [e.message() for e in self.errors],
        }


# Progress callback: (files done, files total, bytes done, spans so far).
Progress = Callable[[int, int, int, int], None]


@dataclass
class PathScan:
    """What the command line named: the regular files to read, the paths that fail (named
    explicitly but missing, or not a regular file) and what a folder walk skipped, with why."""

    files: list[Path] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What a folder walk passed over, by reason (SKIP_*): never silent, see skip_summary.
    skipped: dict[str, list[str]] = field(default_factory=dict)
    walked: set[Path] = field(default_factory=set)  # the files a folder walk found

    def skip(self, reason: str, path: str) -> None:
        self.skipped.setdefault(reason, []).append(path)

    def skip_summary(self) -> str | None:
        """One line: how many files the walk skipped, counted by reason, and the first few."""
        if not self.skipped:
            return None
        total = sum(len(v) for v in self.skipped.values())
        reasons = ", ".join(
            f"{len(paths):,} {reason}"
            for reason, paths in sorted(self.skipped.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        )
        first = sorted(p for paths in self.skipped.values() for p in paths)[:SKIPPED_EXAMPLES]
        more = ", …" if total > len(first) else ""
        noun = "file" if total == 1 else "files"
        return f"skipped {total:,} {noun} in folders ({reasons}): {', '.join(first)}{more}"


def _not_regular(st: os.stat_result) -> str | None:
    """Why a file is never read (a FIFO blocks, /dev/zero never ends), or None."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    for test, what in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return f"{what}, not a regular file"
    return "not a regular file"


def _stat_problem(path: Path) -> tuple[str | None, os.stat_result | None]:
    """Why `path` cannot be read as a regular file (following symlinks), or None; and its stat."""
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop", None
        if path.is_symlink():
            return "a dangling symlink (its target does not exist)", None
        return f"cannot read ({exc.strerror or exc})", None
    return _not_regular(st), st


def scan_paths(paths: Iterable[str]) -> PathScan:
    """Files, globs and folders (walked recursively, hidden entries skipped), in a stable order.
    Only regular files are read: anything else in a folder is skipped with a warning; named on
    the command line (or matched by a glob) it is an error, and the other paths still go in."""
    scan = PathScan()
    out: list[tuple[Path, os.stat_result]] = []
    for raw in paths:
        matches = sorted(glob.glob(raw, recursive=True)) if glob.has_magic(raw) else [raw]
        if not matches:
            scan.errors.append(InputError(raw, "no file matches this pattern"))
            continue
        for m in matches:
            p = Path(m)
            if p.is_dir():
                _walk(p, out, scan)
                continue
            if not p.exists() and not p.is_symlink():
                scan.errors.append(InputError(str(p), "no such file or folder"))
                continue
            why, st = _stat_problem(p)
            if why or st is None:
                scan.errors.append(InputError(str(p), why or "cannot read"))
            else:
                out.append((p, st))
    # A file named twice (two arguments, a symlink, a hard link) is read once: the same device
    # and inode is the same file, with no path resolution (a lstat per path component).
    seen: set[tuple[int, int]] = set()
    for p, st in out:
        key = (st.st_dev, st.st_ino)
        if key not in seen:
            seen.add(key)
            scan.files.append(p)
    return scan


def _walk(folder: Path, out: list[tuple[Path, os.stat_result]], scan: PathScan) -> None:
    def unreadable(exc: OSError) -> None:
        where = exc.filename or str(folder)
        scan.warnings.append(f"{where}: folder skipped: cannot read ({exc.strerror or exc})")

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        for d in sorted(dirs):
            if d.startswith("."):
                scan.skip(SKIP_HIDDEN, str(Path(root, d)) + os.sep)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if f.startswith("."):
                scan.skip(SKIP_HIDDEN, str(Path(root, f)))
                continue
            if not f.lower().endswith(TRACE_SUFFIXES):
                scan.skip(SKIP_NAME, str(Path(root, f)))
                continue
            p = Path(root, f)
            why, st = _stat_problem(p)
            if why or st is None:
                scan.warnings.append(f"{p}: skipped: {why or 'cannot read'}")
            else:
                out.append((p, st))
                scan.walked.add(p)


def expand_paths(paths: Iterable[str]) -> list[Path]:
    """The regular files `paths` name; raises the first problem (see scan_paths)."""
    scan = scan_paths(paths)
    if scan.errors:
        raise scan.errors[0]
    return scan.files


def _args_fingerprint(args: str | None) -> str | None:
    """Canonical argument hash: sorted-key JSON where the arguments parse as JSON, else the text."""
    if args is None:
        return None
    try:
        canonical = orjson.dumps(orjson.loads(args), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:  # not JSON, or beyond it (NaN, integers past 64 bits)
        canonical = args.encode("utf-8", "surrogatepass")
    return hashlib.sha256(canonical).hexdigest()[:16]


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
    except (duckdb.CatalogException, duckdb.NotImplementedException):
        pass  # already registered on this connection


# Small files (filereader.SMALL_FILE_BYTES) are decoded whole in memory and stored together with
# their neighbours, one transaction per group of up to GROUP_BYTES: a folder of many small session
# logs then pays the per-transaction cost (scans of the stored spans, a commit) once per group
# instead of once per file. Every file is still stored whole or not at all. Larger files stream in
# a transaction of their own, so memory stays flat whatever their size.
GROUP_BYTES = 64 << 20
# DuckDB's own JSON reader pays ~30 ms of statements per file: below this size the Python decoder,
# storing files in groups, is the faster path (about 1 ms for a single-line request).
NATIVE_MIN_BYTES = 1 << 20

# What a decoded span batch carries into the store: the file it came from and its position in the
# group (stored copies are chosen in file order, then line order).
STORE_SCHEMA = SPAN_SCHEMA.append(pa.field("file_sha256", pa.string())).append(
    pa.field("file_seq", pa.int32())
)
_QUARANTINE_SCHEMA = pa.schema(
    [
        ("file_sha256", pa.string()),
        ("path", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("excerpt", pa.string()),
    ]
)
_STATE_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("sha256", pa.string()),
        ("history", pa.list_(pa.string())),
        ("resume_offset", pa.int64()),
        ("resume_block_sha256", pa.string()),
        ("resume_state", pa.binary()),
    ]
)
_FILES_SCHEMA = pa.schema(
    [
        ("sha256", pa.string()),
        ("path", pa.string()),
        ("format", pa.string()),
        ("size_bytes", pa.int64()),
        ("records", pa.int64()),
        ("records_skipped", pa.int64()),
        ("spans_new", pa.int64()),
    ]
)


def _tagged(batches: Iterator[pa.RecordBatch], sha: str, seq: int) -> Iterator[pa.RecordBatch]:
    file_sha = pa.scalar(sha, pa.string())
    file_seq = pa.scalar(seq, pa.int32())
    for batch in batches:
        n = batch.num_rows
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, pa.repeat(file_sha, n), pa.repeat(file_seq, n)], schema=STORE_SCHEMA
        )


def _result(file: InputFile, reader: str, spans_new: int) -> FileResult:
    return FileResult(
        str(file.path), file.fmt_name, "ingested", reader, file.records, file.skipped, spans_new
    )


@dataclass
class _Group:
    """Small decoded files waiting for their common transaction."""

    files: list[tuple[InputFile, list[pa.RecordBatch], FileResult]] = field(default_factory=list)
    nbytes: int = 0


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    prices: PriceBook | None = None,
    progress: Progress | None = None,
    native_json: bool = True,
    scan: PathScan | None = None,
    derive: bool = True,
) -> IngestSummary:
    """Ingest files (each whole or not at all), then derive every trace they touched.
    `native_json=False` forces the Python decoder for JSON lines (tests compare the two paths).
    `scan`: the paths scan_paths refused or skipped, reported in the summary. `derive=False`
    leaves the touched traces pending for a later derive_pending (serve's worker derives once
    for several batches)."""
    summary = IngestSummary()
    if scan is not None:
        for error in scan.errors:
            _failed(summary, error.where, error)
        summary.warnings.extend(scan.warnings)
    try:
        return _ingest(con, paths, summary, prices, progress, native_json, scan, derive)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) or _interrupted(exc):
            _rollback_if_open(con)
            raise Interrupted(_unstored(con, summary), "interrupted") from None
        raise


def _unstored(con: duckdb.DuckDBPyConnection, summary: IngestSummary) -> str:
    """The file Ctrl-C stopped, or "" when it was stored after all (the signal arrived as its
    commit returned) or none was being stored."""
    if not summary.current or not summary.current_sha:
        return summary.current
    try:
        stored = bool(sql.run(con, "ingest/file_seen", {"sha256": summary.current_sha}).rows)
    except (duckdb.Error, RuntimeError, KeyboardInterrupt):
        return summary.current
    return "" if stored else summary.current


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C as DuckDB reports it: InterruptException from a query, or a RuntimeError when it
    stops a statement that was pulling an Arrow stream."""
    if isinstance(exc, duckdb.InterruptException):
        return True
    return isinstance(exc, RuntimeError) and "Query interrupted" in str(exc)


def _ingest(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    summary: IngestSummary,
    prices: PriceBook | None,
    progress: Progress | None,
    native_json: bool,
    scan: PathScan | None = None,
    derive: bool = True,
) -> IngestSummary:
    started = time.perf_counter()
    book = prices or PriceBook()
    register_functions(con)
    group = _Group()
    seen = {sha for (sha,) in sql.run(con, "ingest/files_seen").rows}
    known = _Known.load(con, paths)
    total = len(paths)
    bytes_done = 0
    for index, path in enumerate(paths):

        def on_spans(spans: int, index: int = index, nbytes: int = bytes_done) -> None:
            if progress:
                progress(index, total, nbytes, summary.spans + spans)

        summary.current = str(path)
        try:
            result = _ingest_file(con, path, seen, known, group, summary, on_spans, native_json)
        except UnsupportedInput as exc:
            if scan is not None and path in scan.walked:
                scan.skip(SKIP_FORMAT, str(path))  # found by a folder walk: not an error
            else:
                _failed(summary, str(path), exc)
        except InputError as exc:
            _failed(summary, str(path), exc)
        except Exception as exc:  # a bug: it fails this file, not the command
            if _interrupted(exc):
                raise
            _rollback_if_open(con)
            _failed(summary, str(path), InternalError(str(path), exc, traceback.format_exc()))
        else:
            summary.current = ""  # stored, or waiting in the group (named if that is stopped)
            summary.file_results.append(result)
            if result.status == "unchanged":
                summary.files_unchanged += 1
            else:
                summary.files += 1
        if group.nbytes >= GROUP_BYTES:
            _store_group_safely(con, group, summary)
        bytes_done += path.stat().st_size if path.exists() else 0
        if progress:
            progress(index + 1, total, bytes_done, summary.spans)
    _store_group_safely(con, group, summary)
    summary.current = ""
    known.save_refreshed(con)
    skipped = scan.skip_summary() if scan is not None else None
    if skipped:
        summary.warnings.append(skipped)
    if derive:
        derive_pending(con, book, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _failed(summary: IngestSummary, path: str, exc: AgentprofError) -> None:
    summary.files_failed += 1
    summary.errors.append(exc)
    summary.file_results.append(FileResult(path, "", "failed", error=exc.message()))


def _rollback_if_open(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        con.rollback()


def _store_group_safely(
    con: duckdb.DuckDBPyConnection, group: _Group, summary: IngestSummary
) -> None:
    """Store the group; when that fails unexpectedly, store its files one by one so only the
    file that fails is lost (and named)."""
    try:
        _store_group(con, group, summary)
        return
    except Exception as exc:
        if _interrupted(exc):
            raise
        _rollback_if_open(con)
    members, group.files, group.nbytes = group.files, [], 0
    for member in members:
        group.files = [member]
        try:
            _store_group(con, group, summary)
        except Exception as exc:
            if _interrupted(exc):
                raise
            _rollback_if_open(con)
            file, _, result = member
            result.status = "failed"
            error = InternalError(str(file.path), exc, traceback.format_exc())
            result.error = error.message()
            summary.files -= 1
            summary.files_failed += 1
            summary.errors.append(error)
    group.files, group.nbytes = [], 0


@dataclass
class _StoredPath:
    """What file_state knows of one path (schema/031_file_state.sql)."""

    size: int
    mtime_ns: int
    sha: str
    history: list[str]
    resume_offset: int | None
    resume_block: str | None


@dataclass
class _Known:
    """The paths read before, as they were then, and those this ingest found unchanged in
    content but not in size or mtime (saved at the end, so the next run skips them unhashed)."""

    paths: dict[str, _StoredPath] = field(default_factory=dict)
    refreshed: list[tuple[str, int, int, str]] = field(default_factory=list)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, paths: list[Path]) -> _Known:
        # A list parameter, not an Arrow table: registering the first table in a process costs
        # ~0.2 s of imports, and an unchanged re-run registers no other.
        keys = [os.path.abspath(p) for p in paths]
        rows = sql.run(con, "ingest/file_states", {"paths": keys}).rows
        return cls({row[0]: _StoredPath(*row[1:]) for row in rows})

    def save_refreshed(self, con: duckdb.DuckDBPyConnection) -> None:
        rows = []
        for key, size, mtime_ns, sha in self.refreshed:
            old = self.paths.get(key)
            if old is not None and old.sha == sha:  # same content: its reading stays resumable
                rows.append((key, size, mtime_ns, sha, old.history, old.resume_offset,
                             old.resume_block, None))  # fmt: skip
            else:
                rows.append((key, size, mtime_ns, sha, [sha], None, None, None))
        self.refreshed.clear()
        if rows:
            with transaction(con):
                _save_states(con, rows)


def _save_states(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    columns = list(zip(*rows, strict=True))
    table = pa.table(columns, schema=_STATE_SCHEMA)
    sql.execute(con, "ingest/save_file_state", tables={"state_batch": table})


def _resume(
    con: duckdb.DuckDBPyConnection, file: InputFile, stored: _StoredPath, fmt_name: str
) -> None:
    """For a grown append-only log whose stored prefix is intact (same bytes in the block
    before where the last reading stopped): set file.resume, so only the new end is read. For
    one whose start was rewritten: file.replaces, so the whole re-read replaces its spans."""
    if fmt_name not in APPEND_READERS or stored.resume_offset is None:
        return
    offset = stored.resume_offset
    intact = False
    if offset < file.size:
        with open(file.path, "rb") as f:
            intact = agentlog.block_sha256(f, offset) == stored.resume_block
    if not intact:
        file.replaces = stored.history
        return
    rows = sql.run(con, "ingest/file_resume_state", {"path": file.stat[0] if file.stat else ""})
    try:
        reader, cursor = agentlog.load_state(rows.rows[0][0])
    except (ValueError, IndexError):  # a state this version cannot restore: read it whole
        file.replaces = stored.history
        return
    if cursor.offset != offset:
        file.replaces = stored.history
        return
    file.resume = Resume(reader, cursor)
    file.history = [*stored.history, file.sha]


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    seen: set[str],
    known: _Known,
    group: _Group,
    summary: IngestSummary,
    on_spans: Callable[[int], Any],
    native_json: bool,
) -> FileResult:
    """`seen`: the contents stored so far, before this ingest and by it; this file's is added once
    it is stored or waiting in the group. `known`: the paths read before; one whose size and
    mtime did not change is skipped unread."""
    key = os.path.abspath(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    stored = known.paths.get(key)
    if (
        stored is not None
        and (stored.size, stored.mtime_ns) == (st.st_size, st.st_mtime_ns)
        and stored.sha in seen
    ):
        return FileResult(str(path), "", "unchanged")
    sha, size = file_sha256(path)
    summary.bytes_hashed += size
    summary.current_sha = sha
    if sha in seen:
        known.refreshed.append((key, st.st_size, st.st_mtime_ns, sha))
        return FileResult(str(path), "", "unchanged")
    file = InputFile(path, sha, size, stat=(key, st.st_size, st.st_mtime_ns))
    file.history = [sha]
    fmt = sources.detect(path)
    file.fmt_name = fmt.name
    if stored is not None:
        _resume(con, file, stored, fmt.name)
    result: FileResult | None = None
    if (
        native_json
        and size >= NATIVE_MIN_BYTES
        and fmt.name in sources.NATIVE_JSON_FORMATS
        and sources.is_json_lines(path)
    ):
        fmt.stream.close()
        _store_group(con, group, summary)  # earlier files first: the first stored copy wins
        result = _native_jsonl(con, file, summary)
        if result is None:  # DuckDB's reader did not take it: the Python decoder will
            fmt = sources.detect(path)
    if result is None and logs.family(fmt.name) == logs.REPORT_FAMILY:
        result = _usage_report(con, file, fmt, summary)
    elif result is None and size - _resumed_at(file) <= SMALL_FILE_BYTES:
        with no_gc():
            batches = list(read_spans(file, fmt))
        file.check()
        result = _result(file, "python", 0)  # spans_new is known once the group is stored
        group.files.append((file, batches, result))
        group.nbytes += size - _resumed_at(file)
        _count_records(summary, file)
    elif result is None:
        _store_group(con, group, summary)
        result = _streamed(con, file, fmt, summary, on_spans)
    seen.add(sha)
    return result


def _resumed_at(file: InputFile) -> int:
    return file.resume.cursor.offset if file.resume is not None else 0


def _count_records(summary: IngestSummary, file: InputFile) -> None:
    summary.bytes_read += file.bytes_read
    summary.records += file.records
    summary.records_skipped += file.skipped
    room = max(0, QUARANTINE_EXAMPLES - len(summary.skipped_examples))
    for path, line, reason, _ in file.quarantined[:room]:
        summary.skipped_examples.append(f"{path}:{line}: {reason}")


def _is_agent_log(fmt_name: str) -> bool:
    return logs.family(fmt_name) in logs.SPAN_FAMILIES


def _store_spans(
    con: duckdb.DuckDBPyConnection, batches: pa.RecordBatchReader, agent_log: bool, shas: list[str]
) -> None:
    """`shas`: the files `batches` holds, in file_seq order."""
    if agent_log:
        agentlog.store_spans(con, batches)  # a more complete copy replaces a stored one
    else:
        store_span_stream(con, batches, shas)


def store_span_stream(
    con: duckdb.DuckDBPyConnection, batches: pa.RecordBatchReader, shas: list[str]
) -> None:
    """Inside the open transaction: store the OTLP spans of a stream whose rows name their file
    (STORE_SCHEMA: file_sha256, file_seq), each span once. `shas`: the files, in file_seq order.
    The stream is inserted as it comes (memory stays flat); the copies of spans stored before it,
    or repeated within it, are removed after, looked up only in the traces it touched."""
    stored = _count_spans(con) > 0
    reader, resources = _split_resources(batches)
    sql.execute(con, "ingest/insert_spans", tables={"span_batch": reader})
    if resources.tables:
        found = pa.concat_tables(resources.tables)
        sql.execute(con, "ingest/insert_resources", tables={"resource_batch": found})
    _drop_repeated_spans(con, shas, stored=stored)


@dataclass
class _Resources:
    """The resources a span stream names, each once: (resource_id, attributes) tables."""

    ids: set[str] = field(default_factory=set)
    tables: list[pa.Table] = field(default_factory=list)

    def add(self, ids: pa.Array, maps: pa.Array, used: pa.Array) -> None:
        """Of the dictionary entries `used` (indices into ids and maps), those not seen yet."""
        names = ids.to_pylist()
        new: list[int] = []
        for k in used.to_pylist():
            name = names[k]
            if name is not None and name not in self.ids:
                self.ids.add(name)
                new.append(k)
        if new:
            take = pa.array(new, pa.int32())
            self.tables.append(
                pa.table({"resource_id": ids.take(take), "attributes": maps.take(take)})
            )


def _split_resources(
    batches: pa.RecordBatchReader,
) -> tuple[pa.RecordBatchReader, _Resources]:
    """The stream with a resource_id column, and the resources it names (filled as it is read).
    Resource maps that arrive as a dictionary array (every OTLP reader: one entry per resource of
    a batch) are replaced by their ids (otlp.resource_ids) and stored once, in `resources`; plain
    per-span maps (ClickHouse) stay on the spans, with a NULL id."""
    schema = batches.schema
    i = schema.get_field_index("resource_attributes")
    resources = _Resources()
    if not pa.types.is_dictionary(schema.field(i).type):
        plain = schema.append(pa.field("resource_id", pa.string()))

        def with_null_ids() -> Iterator[pa.RecordBatch]:
            for b in batches:
                ids = pa.nulls(b.num_rows, pa.string())
                yield pa.RecordBatch.from_arrays([*b.columns, ids], schema=plain)

        return pa.RecordBatchReader.from_batches(plain, with_null_ids()), resources
    split = schema.append(pa.field("resource_id", pa.dictionary(pa.int32(), pa.string())))
    map_type = schema.field(i).type.value_type

    def with_ids() -> Iterator[pa.RecordBatch]:
        for b in batches:
            col = b.column(i)
            ids = resource_ids(col.dictionary)
            resources.add(ids, col.dictionary, pc.unique(col.indices).drop_null())
            columns = list(b.columns)
            columns[i] = pa.DictionaryArray.from_arrays(
                pa.nulls(b.num_rows, pa.int32()), pa.array([], map_type)
            )
            columns.append(pa.DictionaryArray.from_arrays(col.indices, ids))
            yield pa.RecordBatch.from_arrays(columns, schema=split)

    return pa.RecordBatchReader.from_batches(split, with_ids()), resources


def _drop_repeated_spans(
    con: duckdb.DuckDBPyConnection, shas: list[str], *, stored: bool, within: bool = True
) -> None:
    """Of the spans files `shas` (in file_seq order) just inserted, keep one copy of each: the
    stored one, else the first in file order, then line order. `stored`: whether any span was
    stored before them (into an empty table, none has a stored copy). `within=False`: the files
    hold no span twice (checked already), so only stored copies are looked for."""
    if not stored and not within:
        return
    order = pa.table(
        {"sha256": pa.array(shas, pa.string()), "file_seq": pa.array(range(len(shas)), pa.int32())}
    )
    sql.execute(con, "ingest/new_span_keys", tables={"file_batch": order})
    if stored:
        sql.execute(con, "ingest/drop_stored_copies")
    if within:
        sql.execute(con, "ingest/drop_repeated_within")
    sql.execute(con, "ingest/drop_new_span_keys")


def _drop_replaced(con: duckdb.DuckDBPyConnection, files: list[InputFile]) -> None:
    """Inside the open transaction: the spans of earlier versions of rewritten logs (their
    whole re-read stores what they hold now), their traces marked for derivation."""
    shas = [sha for f in files for sha in f.replaces]
    if shas:
        replaced = pa.table({"sha256": pa.array(shas, pa.string())})
        for name in ("replaced_mark_pending", "replaced_delete_spans"):
            sql.execute(con, f"ingest/{name}", tables={"replaced_batch": replaced})


def _mark_pending(con: duckdb.DuckDBPyConnection, trace_ids: list[pa.Array]) -> None:
    if trace_ids:
        touched = pa.table({"trace_id": pa.chunked_array(trace_ids, pa.string())})
        sql.execute(con, "ingest/mark_pending", tables={"trace_batch": touched})


def _store_group(con: duckdb.DuckDBPyConnection, group: _Group, summary: IngestSummary) -> None:
    """One transaction for every file of the group: spans, pending traces, quarantine, files."""
    if not group.files:
        return
    summary.current = str(group.files[0][0].path)
    summary.current_sha = group.files[0][0].sha
    with transaction(con):
        _drop_replaced(con, [f for f, _, _ in group.files])
        before = _count_spans(con)
        for agent_log in (False, True):
            members = [
                (seq, f, batches)
                for seq, (f, batches, _) in enumerate(group.files)
                if _is_agent_log(f.fmt_name) == agent_log
            ]
            if not members:
                continue
            tagged = (b for seq, f, batches in members for b in _tagged(iter(batches), f.sha, seq))
            reader = pa.RecordBatchReader.from_batches(STORE_SCHEMA, tagged)
            _store_spans(con, reader, agent_log, [f.sha for _, f, _ in members])
        _mark_pending(con, [ids for f, _, _ in group.files for ids in f.trace_ids])
        shas = pa.table({"sha256": [f.sha for f, _, _ in group.files]})
        rows = sql.run(con, "ingest/spans_by_file", tables={"file_batch": shas}).rows
        stored: dict[str, int] = {sha: int(n) for sha, n in rows}
        for f, _, result in group.files:
            result.spans_new = stored.get(f.sha, 0)
        record_files(con, [(f, r.spans_new) for f, _, r in group.files])
        summary.spans += _count_spans(con) - before
    group.files.clear()
    group.nbytes = 0
    summary.current = ""


def _streamed(
    con: duckdb.DuckDBPyConnection,
    file: InputFile,
    fmt: sources.Format,
    summary: IngestSummary,
    on_spans: Callable[[int], Any],
) -> FileResult:
    """A large file in its own transaction. One INSERT pulls every batch through a stream, so
    DuckDB writes the rows out as it goes instead of holding a growing transaction in memory
    (one statement per batch did)."""
    with transaction(con):
        _drop_replaced(con, [file])
        before = _count_spans(con)
        with no_gc():
            batches = _tagged(read_spans(file, fmt, on_spans), file.sha, 0)
            reader = pa.RecordBatchReader.from_batches(STORE_SCHEMA, batches)
            _store_spans(con, reader, _is_agent_log(fmt.name), [file.sha])
        file.check()
        _mark_pending(con, file.trace_ids)
        spans_new = _count_spans(con) - before
        record_files(con, [(file, spans_new)])
    _count_records(summary, file)
    summary.spans += spans_new
    return _result(file, "python", spans_new)


def _usage_report(
    con: duckdb.DuckDBPyConnection, file: InputFile, fmt: sources.Format, summary: IngestSummary
) -> FileResult:
    """Usage reports are aggregates: they go to usage_buckets, not spans."""
    with transaction(con), contextlib.closing(fmt.stream):
        file.records, file.skipped = usage_reports.load(con, fmt.stream, file.sha, file.bad)
        if file.records == file.skipped:
            raise InputError(str(file.path), "no usage buckets in this report")
        record_files(con, [(file, 0)])
    _count_records(summary, file)
    return _result(file, "python", 0)


def _native_jsonl(
    con: duckdb.DuckDBPyConnection, file: InputFile, summary: IngestSummary
) -> FileResult | None:
    """DuckDB parses the file itself (several times faster than a Python loop). Returns None, with
    nothing written, when the file needs the Python decoder's record-by-record care."""
    params = {
        "path": str(file.path),
        "compression": "gzip" if file.fmt_name.endswith("+gzip") else "none",
        "file_sha256": file.sha,
    }
    con.begin()
    try:
        before = _count_spans(con)
        # A file that holds no span says nothing the Python decoder would not say better.
        spans = sql.run(con, "ingest/insert_spans_jsonl", params).rows[0][0]
        if (
            not spans
            or sql.run(con, "ingest/invalid_new_spans", params).rows[0][0]
            or _refused_spans(con, params)
        ):
            _rollback_if_open(con)
            return None
        # Each resource once, in `resources`, before a stored copy of a span takes its map away.
        # The spans that carried a map for it keep it (clearing them costs more than it saves).
        sql.execute(con, "ingest/insert_resources_from_file", params)
        # invalid_new_spans refused a file holding a span twice: only stored copies can remain.
        _drop_repeated_spans(con, [file.sha], stored=before > 0, within=False)
        sql.execute(con, "ingest/mark_pending_from_file", params)
    except duckdb.InterruptException:
        _rollback_if_open(con)
        raise
    except duckdb.Error:
        # Malformed JSON, an over-long line, another signal or envelope: the Python decoder
        # reports it record by record.
        _rollback_if_open(con)
        return None
    except BaseException:
        _rollback_if_open(con)
        raise
    file.records = int(spans)
    with transaction(con, begin=False):
        spans_new = _count_spans(con) - before
        record_files(con, [(file, spans_new)])
    _count_records(summary, file)
    summary.spans += spans_new
    return _result(file, "duckdb", spans_new)


def _refused_spans(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> bool:
    """Whether the shared range check (sources/validate.py) refuses a span the native path
    inserted."""
    checked = {**params, "checked_keys": sorted(validate.CHECKED_KEYS)}
    for batch in sql.run_batches(con, "ingest/file_spans_to_check", checked):
        if validate.span_problems(pa.Table.from_batches([batch])):
            return True
    return False


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, begin: bool = True) -> Iterator[None]:
    """Commit on success; on any failure (an error, Ctrl-C) nothing of it remains."""
    if begin:
        con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        _rollback_if_open(con)
        raise


def store_quarantine(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    """Inside the open transaction: bad records as (file_sha256, path, line, reason, excerpt)."""
    if rows:
        columns = list(zip(*rows, strict=True))
        sql.execute(
            con,
            "ingest/insert_quarantine",
            tables={"quarantine_batch": pa.table(columns, schema=_QUARANTINE_SCHEMA)},
        )


def store_file_rows(con: duckdb.DuckDBPyConnection, rows: dict[str, list[Any]]) -> None:
    """Inside the open transaction: `files` rows, column by column (_FILES_SCHEMA)."""
    table = pa.table(rows, schema=_FILES_SCHEMA)
    sql.execute(con, "ingest/insert_files", tables={"files_batch": table})


def record_files(con: duckdb.DuckDBPyConnection, files: list[tuple[InputFile, int]]) -> None:
    """Inside the open transaction: keep the files' bad records and mark them ingested."""
    store_quarantine(con, [(f.sha, *q) for f, _ in files for q in f.quarantined])
    store_file_rows(
        con,
        {
            "sha256": [f.sha for f, _ in files],
            "path": [str(f.path) for f, _ in files],
            "format": [f.fmt_name for f, _ in files],
            "size_bytes": [f.size for f, _ in files],
            "records": [f.cursor.records if f.cursor else f.records for f, _ in files],
            "records_skipped": [f.cursor.skipped if f.cursor else f.skipped for f, _ in files],
            "spans_new": [spans_new for _, spans_new in files],
        },
    )
    states = [
        (
            *f.stat,
            f.sha,
            f.history,
            f.cursor.offset if f.cursor and f.reader_state else None,
            f.cursor.block_sha256 if f.cursor and f.reader_state else None,
            f.reader_state if f.cursor else None,
        )
        for f, _ in files
        if f.stat is not None
    ]
    if states:
        _save_states(con, states)


def _count_spans(con: duckdb.DuckDBPyConnection) -> int:
    return int(sql.run(con, "ingest/span_count").rows[0][0])


def derive_pending(con: duckdb.DuckDBPyConnection, book: PriceBook, summary: IngestSummary) -> None:
    """One transaction: rebuild the runs, ticks and tool calls of every pending trace, price the
    ticks, empty the pending set. Fills the summary's run/tick/tool-call counts and warnings.
    Deriving once per ingest, not per file, keeps a folder of many small files fast. It reads
    only the pending traces: their spans are found by trace id (one pass over the trace_id
    column), so adding a small file to a large database costs about what it costs into an empty
    one."""
    register_functions(con)
    con.begin()
    try:
        sql.execute(con, "ingest/affected_from_pending")
        runs = ticks = tools = 0
        if pending_traces(con):
            _affected_spans(con)
            runs, ticks, tools = _derive(con, book, summary)
            sql.execute(con, "ingest/clear_pending")
        con.commit()
    except duckdb.InterruptException:
        _rollback_if_open(con)
        raise
    except duckdb.Error:
        # Stored values the derivation cannot take (a database written before validation
        # existed): derive trace by trace so one bad trace cannot brick the database.
        _rollback_if_open(con)
        _derive_one_by_one(con, book, summary)
        return
    except BaseException:
        _rollback_if_open(con)
        raise
    summary.runs, summary.ticks, summary.tool_calls = int(runs), int(ticks), int(tools)


def _derive_one_by_one(
    con: duckdb.DuckDBPyConnection, book: PriceBook, summary: IngestSummary
) -> None:
    """Each pending trace in its own transaction; one whose derivation fails is quarantined with
    the reason (its spans stay stored) and leaves the pending set."""
    runs = ticks = tools = 0
    for (trace_id,) in sql.run(con, "ingest/pending_trace_ids").rows:
        params = {"trace_id": trace_id}
        con.begin()
        try:
            sql.execute(con, "ingest/affected_one_trace", params)
            _affected_spans(con)
            r, t, c = _derive(con, book, summary)
            sql.execute(con, "ingest/clear_pending_trace", params)
            con.commit()
        except duckdb.InterruptException:
            _rollback_if_open(con)
            raise
        except duckdb.Error as exc:
            _rollback_if_open(con)
            reason = f"cannot derive trace {trace_id}: {_first_line(str(exc))}"
            with transaction(con):
                sql.execute(
                    con,
                    "ingest/insert_quarantine",
                    tables={
                        "quarantine_batch": pa.table(
                            [[None], [f"trace {trace_id}"], [None], [reason], [None]],
                            schema=_QUARANTINE_SCHEMA,
                        )
                    },
                )
                sql.execute(con, "ingest/clear_pending_trace", params)
            summary.warnings.append(f"{reason}; its spans stay stored, see `agentprof quarantine`")
            continue
        except BaseException:
            _rollback_if_open(con)
            raise
        runs, ticks, tools = runs + int(r), ticks + int(t), tools + int(c)
    summary.runs, summary.ticks, summary.tool_calls = runs, ticks, tools


# Below this share of the stored spans, the derivation fetches the affected spans by row id
# (only the row groups holding them are read); above it, filtering the scan by trace id is cheaper
# (a first ingest: ~30% less CPU in derive_ticks).
BY_ROWID_SHARE = 0.125


def _affected_spans(con: duckdb.DuckDBPyConnection) -> None:
    """The affected_spans view the derive_* queries read: every stored span of affected_traces."""
    sql.execute(con, "ingest/affected_rowids")
    affected, stored = sql.run(con, "ingest/affected_share").rows[0]
    by_rowid = int(affected) < BY_ROWID_SHARE * int(stored)
    sql.execute(con, "ingest/affected_spans" if by_rowid else "ingest/affected_spans_by_trace")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else text


def _derive(
    con: duckdb.DuckDBPyConnection, book: PriceBook, summary: IngestSummary
) -> tuple[int, int, int]:
    """Rebuild the affected traces (affected_spans); returns the runs, ticks and tool calls
    stored, counted as they are inserted (a count of the stored tables would scan them whole).
    derive_ticks and derive_tool_calls fill temp tables that the next queries read (derive_runs
    reads both, so it never scans every stored tool call); price_ticks and store_tool_calls
    store them."""
    for name in ("delete_ticks", "delete_tool_calls", "delete_runs", "derive_ticks"):
        sql.execute(con, f"ingest/{name}")
    sql.execute(con, "ingest/derive_tool_calls")
    # Traces a ClickHouse source derived there: its stored rows replace these (sources/clickhouse).
    clickhouse.use_stored_rows(con)
    runs = _inserted(sql.run(con, "ingest/derive_runs"))
    tools = _inserted(sql.run(con, "ingest/store_tool_calls"))
    sql.execute(con, "ingest/drop_derived_tool_calls")
    sql.execute(con, "ingest/resolve_parent_turns")
    _resolve_prices(con, book, summary)
    ticks = _inserted(sql.run(con, "ingest/price_ticks"))
    sql.execute(con, "ingest/drop_derived_ticks")
    return runs, ticks, tools


def _inserted(result: sql.Result) -> int:
    """The row count DuckDB returns for an INSERT."""
    return int(result.rows[0][0]) if result.rows else 0


def _resolve_prices(
    con: duckdb.DuckDBPyConnection, book: PriceBook, summary: IngestSummary
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
                "context_window": context_window(provider, model, hour),
            }
        )
        if found is None:
            label = f"{provider}/{model}" if provider else model
            warning = f"no price for model {label}: its cost is NULL; add it to a price file"
            if warning not in summary.warnings:
                summary.warnings.append(warning)
        else:
            rates.extend(rate_rows(provider, model, hour, found, source))
    for name, rows, table in (
        ("insert_price_rates", rates, "rates_batch"),
        ("insert_priced_models", priced, "priced_batch"),
    ):
        if rows:
            sql.execute(con, f"ingest/{name}", tables={table: pa.Table.from_pylist(rows)})
