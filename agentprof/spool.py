"""The serve spool: an append-only folder of request bodies, written with group commit and fsync
before a request is acknowledged. Segments use the Collector file exporter's framing (4-byte
big-endian length + payload), so a sealed segment (traces or logs) is an ordinary input for
`ingest`."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from agentprof.errors import DatabaseError

# Streams (one open segment each): spans, log records, and rejected requests kept for quarantine.
STREAMS = ("traces", "logs", "rejected")
SEALED = ".seg"
OPEN = ".open"
# Every segment starts with an empty frame: its first bytes are then zeros whatever the size of
# the first real payload, which is how `sources.detect` recognises the framed format.
HEADER = b"\x00\x00\x00\x00"
_NAME = re.compile(r"^(traces|logs|rejected)-(\d{10})\.(seg|open)$")


@dataclass(frozen=True, order=True)
class Segment:
    seq: int
    stream: str
    path: Path


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def read_frames(path: Path) -> list[bytes]:
    """The payloads of a sealed segment (the empty header frame left out)."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        if pos + 4 + size > len(data):
            break
        if size:
            out.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return out


def sealed_segments(folder: Path, stream: str | None = None) -> list[Segment]:
    """Sealed segments, oldest first."""
    out = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            m = _NAME.match(entry.name)
            if m and m.group(3) == "seg" and (stream is None or m.group(1) == stream):
                out.append(Segment(int(m.group(2)), m.group(1), Path(entry.path)))
    return sorted(out)


def backlog_bytes(folder: Path) -> int:
    total = 0
    for seg in sealed_segments(folder):
        with contextlib.suppress(FileNotFoundError):
            total += seg.path.stat().st_size
    return total


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _complete_length(data: bytes) -> int:
    """Bytes of `data` made of whole frames (a crash can leave a torn last frame)."""
    pos = 0
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        if pos + 4 + size > len(data):
            break
        pos += 4 + size
    return pos


def recover(folder: Path) -> int:
    """Seal the segments a crash left open, cut after their last whole frame (everything
    acknowledged was fsynced whole, so only unacknowledged bytes are cut). Returns how many."""
    n = 0
    for entry in sorted(os.listdir(folder)):
        m = _NAME.match(entry)
        if not m or m.group(3) != "open":
            continue
        path = folder / entry
        data = path.read_bytes()
        keep = _complete_length(data)
        if keep <= len(HEADER):
            path.unlink()
            continue
        if keep < len(data):
            with open(path, "r+b") as f:
                f.truncate(keep)
                os.fsync(f.fileno())
        path.rename(path.with_suffix(SEALED))
        n += 1
    _fsync_dir(folder)
    return n


class SpoolLocked(DatabaseError):
    """Another serve process owns this spool."""


def lock(folder: Path) -> int:
    """Take the spool's lock for the life of this process (released by the OS on any exit)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SpoolLocked(
            str(folder), "another `agentprof serve` is using this spool", "stop it first"
        ) from None
    return fd


class _Open:
    """One open segment of a stream, written with os.write so offsets are exact."""

    def __init__(self, folder: Path, stream: str, seq: int) -> None:
        self.path = folder / f"{stream}-{seq:010d}{OPEN}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        os.write(self.fd, HEADER)
        self.size = len(HEADER)
        self.opened = time.monotonic()
        self.frames = 0


class Spool:
    """Appends payloads to per-stream segments from one committer thread: every payload waiting
    when a commit starts shares one write and one fdatasync (group commit). `submit` returns a
    future that completes once the payload is on disk, or fails with the OSError."""

    def __init__(
        self,
        folder: Path,
        *,
        seal_bytes: int = 8 << 20,  # a segment is sealed before it would grow past this
        seal_s: float = 0.5,
        on_sealed: Callable[[], None] | None = None,
    ) -> None:
        self.folder = folder
        self.seal_bytes = seal_bytes
        self.seal_s = seal_s
        self.on_sealed = on_sealed
        existing = [
            int(m.group(2)) for m in (_NAME.match(n) for n in os.listdir(folder)) if m is not None
        ]
        self._seq = max(existing, default=0)
        self._open: dict[str, _Open] = {}
        self._pending: list[tuple[str, bytes, Future[None]]] = []
        self._pending_bytes = 0
        self.submitted_bytes = 0  # every payload ever submitted, framed
        self._cond = threading.Condition()
        self._closing = False
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="agentprof-spool", daemon=True)
        self._thread.start()

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    @property
    def open_bytes(self) -> int:
        """Bytes in the segments still open (not yet sealed, so not yet the worker's)."""
        return sum(seg.size for seg in list(self._open.values()))

    def submit(self, stream: str, payload: bytes) -> Future[None]:
        fut: Future[None] = Future()
        with self._cond:
            if self._closing:
                fut.set_exception(OSError("the spool is closing"))
                return fut
            self._pending.append((stream, frame(payload), fut))
            self._pending_bytes += len(payload) + 4
            self.submitted_bytes += len(payload) + 4
            self._cond.notify()
        return fut

    def close(self) -> None:
        """Write what is pending, seal every open segment, stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending and not self._closing:
                    self._cond.wait(timeout=self.seal_s / 2)
                batch, self._pending = self._pending, []
                closing = self._closing
            if batch:
                self._commit(batch)
                # Counted as pending until written (and then, for a moment, twice): serve's room
                # check may err high, never low, or a full spool would take more than its limit.
                with self._cond:
                    self._pending_bytes -= sum(len(data) for _, data, _ in batch)
            self._seal(force=closing and not batch)
            if closing and not batch:
                return

    def _commit(self, batch: list[tuple[str, bytes, Future[None]]]) -> None:
        by_stream: dict[str, list[tuple[bytes, Future[None]]]] = {}
        for stream, data, fut in batch:
            by_stream.setdefault(stream, []).append((data, fut))
        for stream, items in by_stream.items():
            start = 0
            while start < len(items):
                try:
                    seg = self._segment(stream)
                    end = self._fit(seg, items, start)
                    if end == start:  # the open segment is full: the rest starts a new one
                        self._seal_one(stream, notify=True)
                        continue
                    self._write(stream, seg, items[start:end])
                except OSError as exc:
                    for _, f in items[start:]:
                        f.set_exception(exc)
                    break
                self.commits += 1
                for _, f in items[start:end]:
                    f.set_result(None)
                start = end

    def _fit(self, seg: _Open, items: list[tuple[bytes, Future[None]]], start: int) -> int:
        """How far from `start` the items fit in `seg` without taking it past seal_bytes, so a
        segment stays an ingest "small file" that the worker stores with its neighbours in one
        transaction. A payload larger than a whole segment goes alone into an empty one."""
        room = self.seal_bytes - seg.size
        end, size = start, 0
        while end < len(items) and size + len(items[end][0]) <= room:
            size += len(items[end][0])
            end += 1
        if end == start and not seg.frames:
            end = start + 1
        return end

    def _write(self, stream: str, seg: _Open, items: list[tuple[bytes, Future[None]]]) -> None:
        data = b"".join(d for d, _ in items)
        try:
            written = os.write(seg.fd, data)
            if written != len(data):
                raise OSError(f"short write ({written} of {len(data)} bytes)")
            os.fdatasync(seg.fd)
        except OSError:
            # Cut back to the last whole frame and start afresh: a half-written batch must
            # not sit in front of the next one.
            with contextlib.suppress(OSError):
                os.ftruncate(seg.fd, seg.size)
            self._seal_one(stream)
            raise
        seg.size += len(data)
        seg.frames += len(items)

    def _segment(self, stream: str) -> _Open:
        seg = self._open.get(stream)
        if seg is None:
            self._seq += 1
            seg = self._open[stream] = _Open(self.folder, stream, self._seq)
        return seg

    def _seal(self, *, force: bool) -> None:
        now = time.monotonic()
        sealed = False
        for stream, seg in list(self._open.items()):
            if force or seg.size >= self.seal_bytes or now - seg.opened >= self.seal_s:
                sealed |= self._seal_one(stream)
        if sealed and self.on_sealed:
            self.on_sealed()

    def _seal_one(self, stream: str, *, notify: bool = False) -> bool:
        seg = self._open[stream]
        os.close(seg.fd)
        if not seg.frames:
            del self._open[stream]
            seg.path.unlink()
            return False
        # Renamed before it leaves _open: a concurrent room check counts it as open or as sealed
        # (or both for a moment), never as neither.
        try:
            seg.path.rename(seg.path.with_suffix(SEALED))
        finally:
            del self._open[stream]
        _fsync_dir(self.folder)
        if notify and self.on_sealed:
            self.on_sealed()
        return True
