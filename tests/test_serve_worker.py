"""The `serve` worker's loop (serve.Worker) on real spool folders and real DuckDB files: batches
stored back to back on one connection, a process that waits for the database gets in while a
backlog is being stored, and stopping stores everything (or, abandoned, leaves the rest in the
spool for the next run). Also the spool's segment size limit and the waiting flag of
store.connect. End-to-end `serve` is in test_serve.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentprof import serve, spool, store
from agentprof.errors import DatabaseError
from agentprof.ingest import ingest
from agentprof.pricing import PriceBook
from tests.conftest import ROOT

SPANS = 20  # per segment


def request(batch: int, trace: int | None = None) -> bytes:
    """One protobuf request: trace `batch` (or `trace`), SPANS chat spans with ids derived from
    `batch`."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attr = rs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "worker-test"
    ss = rs.scope_spans.add()
    for i in range(SPANS):
        span = ss.spans.add()
        span.trace_id = bytes.fromhex(f"{batch if trace is None else trace:032x}")
        span.span_id = bytes.fromhex(f"{batch:08x}{i:08x}")
        span.name = "chat gpt-4o"
        span.start_time_unix_nano = 1_763_720_000_000_000_000 + batch * 10**9 + i * 1000
        span.end_time_unix_nano = span.start_time_unix_nano + 500
        for key, value in (("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o")):
            a = span.attributes.add()
            a.key, a.value.string_value = key, value
    return bytes(req.SerializeToString())


def write_segment(folder: Path, seq: int, trace: int | None = None) -> Path:
    """A sealed traces segment holding request(seq, trace), as the spool leaves it (written under
    the open name, then renamed, so the worker never sees half a segment)."""
    path = folder / f"traces-{seq:010d}.open"
    path.write_bytes(spool.HEADER + spool.frame(request(seq, trace)))
    return path.rename(path.with_suffix(spool.SEALED))


def stored(db: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select trace_id, span_id from spans").fetchall()
    finally:
        con.close()
    assert len(rows) == len(set(rows)), "a span stored twice"
    return {(t, s) for t, s in rows}


def expected(batches: range | list[int]) -> set[tuple[str, str]]:
    return {(f"{b:032x}", f"{b:08x}{i:08x}") for b in batches for i in range(SPANS)}


def derived(db: Path) -> tuple[list[Any], list[Any], int]:
    """Every run and tick, and how many traces are still pending derivation."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.execute("select * from runs order by run_id").fetchall()
        ticks = con.execute("select * from ticks order by run_id, tick").fetchall()
        (pending,) = con.execute("select count(*) from pending_traces").fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return runs, ticks, int(pending)


def ingested(tmp_path: Path, segments: list[Path]) -> tuple[list[Any], list[Any], int]:
    """The oracle: `agentprof ingest` of copies of the same segments into a database of its own
    (one ingest, one derivation)."""
    folder = tmp_path / "copies"
    folder.mkdir()
    copies = []
    for seg in segments:
        copy = folder / seg.name.replace(".seg", ".binpb")
        copy.write_bytes(seg.read_bytes())
        copies.append(copy)
    db = tmp_path / "oracle.duckdb"
    con = store.connect(db)
    try:
        summary = ingest(con, copies)
    finally:
        con.close()
    assert summary.files == len(copies) and not summary.errors
    return derived(db)


def derivations(run: Running) -> list[int]:
    """The batches each derivation covered, in order."""
    return [item.batches for kind, item in run.events if kind == "derived"]


class Running:
    """A Worker on its own thread, as the worker process runs it (threading events stand in for
    the multiprocessing ones: the loop only calls is_set and wait)."""

    def __init__(
        self,
        db: Path,
        folder: Path,
        batch_bytes: int = 1,
        derive_max_bytes: int = serve.DERIVE_MAX_BYTES,
        derive_max_s: float = serve.DERIVE_MAX_S,
    ) -> None:
        self.events: list[tuple[str, Any]] = []
        self.worker = serve.Worker(
            db,
            folder,
            PriceBook(),
            lambda kind, item: self.events.append((kind, item)),
            batch_bytes,
            derive_max_bytes,
            derive_max_s,
        )
        self.stop = threading.Event()
        self.abandon = threading.Event()
        self.thread = threading.Thread(
            target=self.worker.run, args=(self.stop, self.abandon, lambda: True), daemon=True
        )
        self.thread.start()

    def finish(self, timeout: float = 120) -> None:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not stop"
        errors = [item for kind, item in self.events if kind == "error"]
        assert not errors, errors


def wait_for(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    store.connect(path).close()
    return path


def test_a_backlog_is_stored_batch_after_batch_on_one_connection_and_stop_stores_it_all(
    tmp_path, db
):
    folder = tmp_path / "spool"
    folder.mkdir()
    for seq in range(1, 9):
        write_segment(folder, seq)
    run = Running(db, folder)  # batch_bytes=1: one segment per batch
    run.finish()  # stop right away: the worker still stores everything first
    assert run.worker.batches == 8
    assert run.worker.opens == 1  # the old worker opened the database for every batch
    assert run.worker.yields == 0
    assert run.worker.con is None  # closed on the way out
    assert [item.spans for kind, item in run.events if kind == "batch"] == [SPANS] * 8
    assert stored(db) == expected(range(1, 9))
    assert not spool.sealed_segments(folder)


def test_a_backlog_is_derived_once_and_gives_the_runs_and_ticks_of_one_ingest(tmp_path, db):
    folder = tmp_path / "spool"
    folder.mkdir()
    # Eight segments, one batch each; a trace spans two or three batches.
    segments = [write_segment(folder, seq, trace=100 + seq // 3) for seq in range(1, 9)]
    oracle = ingested(tmp_path, segments)
    assert len(oracle[0]) == 3 and len(oracle[1]) == 8 * SPANS and oracle[2] == 0
    run = Running(db, folder, derive_max_s=1e9)
    run.finish()
    assert run.worker.batches == 8
    # A first derivation for whatever an earlier worker left pending (nothing here), then one
    # for the whole backlog, once the spool was empty.
    assert derivations(run) == [0, 8]
    assert [kind for kind, _ in run.events] == ["derived", *["batch"] * 8, "derived"]
    assert derived(db) == oracle


def test_a_long_backlog_is_derived_every_derive_max_bytes(tmp_path, db):
    folder = tmp_path / "spool"
    folder.mkdir()
    segments = [write_segment(folder, seq, trace=100 + seq // 3) for seq in range(1, 9)]
    oracle = ingested(tmp_path, segments)
    size = segments[0].stat().st_size
    assert all(s.stat().st_size == size for s in segments)
    run = Running(db, folder, derive_max_bytes=2 * size, derive_max_s=1e9)
    run.finish()
    assert derivations(run) == [0, 2, 2, 2, 2]
    assert derived(db) == oracle  # traces derived across several derivations: the same


def test_traces_stored_but_not_derived_are_derived_by_the_next_worker_even_with_no_new_data(
    tmp_path, db
):
    folder = tmp_path / "spool"
    folder.mkdir()
    segments = [write_segment(folder, 1), write_segment(folder, 2, trace=1)]
    oracle = ingested(tmp_path, segments)
    con = store.connect(db)
    try:
        result = serve.drain_batch(con, folder, PriceBook(), derive=False)
    finally:
        con.close()  # a worker that died here: spans stored, the spool empty, nothing derived
    assert (result.segments, result.spans) == (2, 2 * SPANS)
    assert not spool.sealed_segments(folder)
    assert derived(db)[0::2] == ([], 1)
    run = Running(db, folder)
    run.finish()
    assert (run.worker.batches, run.worker.opens) == (0, 1)
    assert [(item.batches, item.runs) for kind, item in run.events if kind == "derived"] == [(0, 1)]
    assert derived(db) == oracle


def test_the_trace_segments_of_a_batch_go_in_as_one_file_and_a_corrupt_frame_is_quarantined(
    tmp_path, db
):
    folder = tmp_path / "spool"
    folder.mkdir()
    for seq in (1, 2, 4, 5):
        write_segment(folder, seq)
    # Segment 3 holds one frame that is not protobuf (the receiver never spools such a body:
    # a disk that corrupted it, say). The batch still goes in whole; that frame is quarantined.
    bad = folder / f"traces-{3:010d}.seg"
    bad.write_bytes(spool.HEADER + spool.frame(b"\xff\xff\xff not a request"))
    run = Running(db, folder, batch_bytes=serve.BATCH_BYTES)
    run.finish()
    assert (run.worker.batches, run.worker.opens) == (1, 1)
    assert stored(db) == expected([1, 2, 4, 5])
    con = duckdb.connect(str(db), read_only=True)
    files = con.execute("select path, records, records_skipped, spans_new from files").fetchall()
    quarantined = con.execute("select path, line from quarantine").fetchall()
    con.close()
    joined = str(folder / f"batch-{1:010d}-{5:010d}.binpb")
    # One file for the batch: its records are the 80 spans and the frame that is refused.
    assert files == [(joined, 4 * SPANS + 1, 1, 4 * SPANS)]
    # Frames are numbered from the empty header frame: header, 1, 2, then the bad one.
    assert quarantined == [(joined, 4)]
    assert sorted(p.name for p in folder.iterdir()) == []  # segments and the joined file gone


def test_abandon_stops_after_the_current_batch_and_the_next_worker_stores_the_rest(tmp_path, db):
    folder = tmp_path / "spool"
    folder.mkdir()
    for seq in range(1, 31):
        write_segment(folder, seq)
    run = Running(db, folder, derive_max_s=1e9)  # no derivation while the backlog lasts
    wait_for(lambda: run.worker.batches >= 1)
    run.abandon.set()  # a second Ctrl-C
    run.finish()
    done = run.worker.batches
    assert 1 <= done < 30
    left = spool.sealed_segments(folder)
    assert [s.seq for s in left] == list(range(done + 1, 31))  # oldest stored first, none lost
    assert stored(db) == expected(range(1, done + 1))
    # The abandoned worker did not derive what it stored; the next one derives it first.
    runs, _, pending = derived(db)
    assert pending == done - len(runs) and pending >= 1
    again = Running(db, folder, batch_bytes=serve.BATCH_BYTES)
    again.finish()
    assert again.worker.batches == 1  # the rest fits one ordinary batch
    assert stored(db) == expected(range(1, 31))
    runs, _, pending = derived(db)
    assert (len(runs), pending) == (30, 0)


def test_the_database_is_closed_once_the_spool_stays_empty(tmp_path, db):
    folder = tmp_path / "spool"
    folder.mkdir()
    write_segment(folder, 1)
    run = Running(db, folder)
    wait_for(lambda: run.worker.batches == 1)
    # A process that does not announce itself (plain duckdb) gets in once the worker is idle.
    wait_for(lambda: run.worker.con is None, timeout=serve.IDLE_CLOSE_S + 30)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from spans").fetchone() == (SPANS,)
    con.close()
    write_segment(folder, 2)
    run.finish()
    assert (run.worker.opens, run.worker.batches, run.worker.yields) == (2, 2, 0)
    assert stored(db) == expected([1, 2])


READER = """
import sys
from agentprof import store
con = store.connect(sys.argv[1], read_only=True, wait_s=60)
for table in ("spans", "runs", "pending_traces"):
    print(con.execute(f"select count(*) from {table}").fetchone()[0])
con.close()
"""


def test_a_waiting_reader_gets_in_while_the_worker_always_has_a_backlog(tmp_path, db):
    folder = tmp_path / "spool"
    folder.mkdir()
    fed = [0]
    reader_done = threading.Event()

    def feed() -> None:
        # Keep at least four segments waiting until the reader is through: the worker never
        # runs out of work, so only the reader's flag can make it let go of the database.
        while not reader_done.is_set():
            if len(spool.sealed_segments(folder)) < 4:
                fed[0] += 1
                write_segment(folder, fed[0])
            else:
                time.sleep(0.005)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    run = Running(db, folder)
    wait_for(lambda: run.worker.batches >= 2)
    assert run.worker.con is not None
    reader = subprocess.run(
        [sys.executable, "-c", READER, str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    reader_done.set()
    feeder.join()
    assert reader.returncode == 0, reader.stderr
    seen, runs, pending = (int(n) for n in reader.stdout.split())
    assert seen % SPANS == 0 and 2 * SPANS <= seen
    # The worker derived what it had stored before it let the reader in.
    assert (runs, pending) == (seen // SPANS, 0)
    assert run.worker.yields >= 1
    assert not store.waiting_flag(db).exists()  # the reader removed its flag once in
    run.finish()
    # Every reopen was for a reader, none because the spool ran dry, and nothing was lost.
    assert run.worker.opens == run.worker.yields + 1
    assert stored(db) == expected(range(1, fed[0] + 1))
    assert seen < len(expected(range(1, fed[0] + 1)))


HOLDER = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.readline()
con.close()
"""


def test_a_process_waiting_for_the_lock_raises_the_flag_and_clears_it(db):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        seen: list[bool] = []
        watching = threading.Event()

        def watch() -> None:
            while not watching.is_set():
                seen.append(store.waiting_flag(db).exists())
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        with pytest.raises(DatabaseError, match="locked"):
            store.connect(db, read_only=True, wait_s=0.5)
        assert any(seen)  # raised while it waited
        assert not store.waiting_flag(db).exists()  # and cleared when it gave up
        seen.clear()
        with pytest.raises(DatabaseError, match="locked"):
            store.connect(db, read_only=True, wait_s=0.5, announce=False)
        watching.set()
        watcher.join()
        assert not any(seen)  # the worker itself waits without a flag
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(30)
    store.connect(db, read_only=True).close()
    assert not store.waiting_flag(db).exists()


def test_spool_segments_stay_within_the_seal_size_except_a_single_larger_payload(tmp_path):
    folder = tmp_path / "spool"
    folder.mkdir()
    the_spool = spool.Spool(folder, seal_bytes=1000, seal_s=60)
    sizes = [300, 300, 300, 300, 990, 5, 2500, 10, 400, 400, 400, 1]
    payloads = [bytes([n % 251]) * size for n, size in enumerate(sizes)]
    futures = [the_spool.submit("traces", p) for p in payloads]
    for f in futures:
        f.result(30)
    the_spool.close()
    segments = spool.sealed_segments(folder)
    frames = [spool.read_frames(s.path) for s in segments]
    assert [p for fs in frames for p in fs] == payloads  # every payload, once, in order
    for seg, fs in zip(segments, frames, strict=True):
        size = os.path.getsize(seg.path)
        assert size <= 1000 or len(fs) == 1, (size, [len(f) for f in fs])
    # Header 4 + framed 304s: three fit in 1,000 bytes, the fourth starts the next segment.
    assert [[len(f) for f in fs] for fs in frames] == [
        [300, 300, 300],
        [300],
        [990],
        [5],
        [2500],
        [10, 400, 400],
        [400, 1],
    ]
