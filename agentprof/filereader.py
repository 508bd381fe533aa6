"""Reading one input file: its hash, its span batches, and what went wrong on the way."""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from agentprof import sources
from agentprof.errors import InputError
from agentprof.sources import agentlog, claude_code, codex, logs, validate

# Files up to this size are decoded whole in memory and stored in groups (see ingest.py).
SMALL_FILE_BYTES = 8 << 20

# Append-only logs (uncompressed): when one grew, only its new end is read, by its reader resumed
# from the state stored with the file (see ingest.py). Their readers, by format name.
APPEND_READERS: dict[str, Callable[[Path, Any], Any]] = {
    "claude-code": claude_code.reader,
    "codex": codex.reader,
}


@dataclass
class Resume:
    """Where the stored reading of a grown append-only log stopped, and its reader there."""

    reader: Any
    cursor: agentlog.Cursor


@dataclass
class InputFile:
    """A file being ingested and what reading it found."""

    path: Path
    sha: str
    size: int
    fmt_name: str = ""
    records: int = 0
    skipped: int = 0
    quarantined: list[tuple[str, int, str, str]] = field(default_factory=list)
    trace_ids: list[pa.Array] = field(default_factory=list)
    # Set by the caller: the absolute path, size and mtime (ns) found before hashing; the stored
    # reading to resume (only the bytes past it are read); the contents that earlier versions of
    # this path stored, whose spans a whole re-read replaces (its start was rewritten).
    stat: tuple[str, int, int] | None = None
    resume: Resume | None = None
    replaces: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # file_state.history once stored
    # Set by reading an append-only log: how far it got (None: it cannot resume there) and the
    # reader's state at that point (agentlog.dump_state).
    cursor: agentlog.Cursor | None = None
    reader_state: bytes | None = None
    bytes_read: int = 0  # bytes decoded (for a resumed log: its new end only)

    def bad(self, line: int, reason: str, excerpt: str) -> None:
        self.quarantined.append((str(self.path), line, reason, excerpt))

    def check(self) -> None:
        """A file without one good record is not what it seemed: nothing of it is stored. (A
        resumed log had good records before its new end.)"""
        if self.records == self.skipped and self.resume is None:
            first = self.quarantined[0] if self.quarantined else None
            why = f"line {first[1]}: {first[2]}" if first else "no spans in it"
            family = logs.family(self.fmt_name)
            if family in logs.SPAN_FAMILIES:
                raise InputError(str(self.path), f"no usable {family} record ({why})")
            raise InputError(str(self.path), f"not an OTLP trace export ({why})")


def file_sha256(path: Path) -> tuple[str, int]:
    try:
        h = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    return h.hexdigest(), size


def read_spans(
    file: InputFile, fmt: sources.Format, on_spans: Callable[[int], Any] | None = None
) -> Iterator[pa.RecordBatch]:
    """The file's span batches (SPAN_SCHEMA), counting its records and keeping the bad ones (for
    the quarantine) and the trace ids (for derivation)."""
    reader = APPEND_READERS.get(fmt.name)
    if reader is None:
        file.bytes_read = file.size
        source = sources.read(file.path, fmt, file.bad)
    else:
        source = _append_log(file, fmt, reader)
    for table, nrec, nbad in source:
        file.records += nrec
        file.skipped += nbad
        if table is not None:
            table, refused = validate.keep_valid(table, file.bad, _span_excerpt(table))
            file.skipped += refused
            file.trace_ids.append(pc.unique(table.column("trace_id")))
            yield from table.to_batches()
        if on_spans:
            on_spans(file.records - file.skipped)


def _append_log(
    file: InputFile, fmt: sources.Format, new_reader: Callable[[Path, Any], Any]
) -> Iterator[tuple[pa.Table | None, int, int]]:
    """An append-only log, whole or (file.resume) from where its stored reading stopped; sets
    file.cursor and file.reader_state for the next resume."""
    with contextlib.closing(fmt.stream):
        if file.resume is not None:
            reader, cursor = file.resume.reader, file.resume.cursor
            reader.resume(file.path, file.bad)
            fmt.stream.seek(cursor.offset)
        else:
            reader, cursor = new_reader(file.path, file.bad), agentlog.Cursor()
        start = cursor.offset
        yield from agentlog.read_jsonl(fmt.stream, file.bad, reader, cursor)
        file.bytes_read = cursor.offset - start
        if cursor.whole:
            file.cursor = cursor
            file.reader_state = agentlog.dump_state(reader, cursor)


def _span_excerpt(table: pa.Table) -> Callable[[int], str]:
    def excerpt(row: int) -> str:
        ids = f"{table.column('trace_id')[row].as_py()}/{table.column('span_id')[row].as_py()}"
        return f"{ids} {table.column('name')[row].as_py()}"[:200]

    return excerpt


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    # Decoding makes millions of short-lived containers and no cycles; the cyclic collector's
    # passes over them cost about a third of the time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
