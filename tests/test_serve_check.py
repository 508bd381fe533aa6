"""What serve's receiver does before the 200. Its shortcut for plainly valid spans
(serve._plainly_valid) never accepts a span that the reference check (otlp.pb_span_problem, the
decoder's own list of checks) refuses, so what is acknowledged is what ingest stores. A request
that finds the spool full waits for room (up to serve.ROOM_WAIT_S) before it is refused."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentprof import serve, spool
from agentprof.sources import otlp, validate

TOKEN_KEY = "gen_ai.usage.input_tokens"
COST_KEY = sorted(validate.COST_KEYS)[0]
TIMES = [
    0,
    1,
    1_763_720_000_000_000_000,
    1_763_720_000_000_000_001,
    validate.MAX_NS,
    validate.MAX_NS + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
]
VALUES: list[tuple[str, Any]] = [
    ("int_value", -1),
    ("int_value", 0),
    ("int_value", 1234),
    ("int_value", validate.MAX_TOKENS),
    ("int_value", validate.MAX_TOKENS + 1),
    ("int_value", -(2**63)),
    ("double_value", 0.0),
    ("double_value", -0.0),
    ("double_value", 2.0),
    ("double_value", 0.0125),
    ("double_value", -0.5),
    ("double_value", float(validate.MAX_TOKENS)),
    ("double_value", 1e13),
    ("double_value", float("nan")),
    ("double_value", float("inf")),
    ("string_value", "12"),
    ("string_value", "1.5"),
    ("string_value", "-3"),
    ("string_value", "lots"),
    ("string_value", ""),
    ("bool_value", True),
]


def random_span(rng: random.Random) -> Span:
    span = Span()
    span.trace_id = bytes(rng.choice([16, 16, 16, 15, 0]))
    span.span_id = bytes(rng.choice([8, 8, 8, 7]))
    span.parent_span_id = bytes(rng.choice([0, 8, 8, 4]))
    span.name = "chat"
    if rng.random() < 0.5:
        span.start_time_unix_nano = TIMES[2]
        span.end_time_unix_nano = TIMES[3]
    else:
        span.start_time_unix_nano = rng.choice(TIMES)
        span.end_time_unix_nano = rng.choice(TIMES)
    for _ in range(rng.choice([0, 0, 1, 2])):
        span.events.add(name="e", time_unix_nano=rng.choice(TIMES[1:4] + TIMES))
    if rng.random() < 0.1:
        span.links.add(trace_id=bytes(rng.choice([16, 3])), span_id=bytes(8))
    for _ in range(rng.choice([0, 1, 3, 5])):
        kv = span.attributes.add()
        kv.key = rng.choice([TOKEN_KEY, COST_KEY, "gen_ai.request.model", "input_tokens"])
        which, value = rng.choice(VALUES)
        setattr(kv.value, which, value)
    return span


def test_a_span_the_shortcut_accepts_passes_the_reference_check():
    rng = random.Random(18)
    plain = refused = 0
    for _ in range(20_000):
        span = random_span(rng)
        problem = otlp.pb_span_problem(span)
        if serve._plainly_valid(span):
            plain += 1
            assert problem is None, (problem, span)
        refused += problem is not None
    # The sample reaches both sides, so the assertion above was put to the test.
    assert plain > 1000 and refused > 1000


def test_typical_spans_take_the_shortcut():
    span = Span(
        trace_id=bytes(16),
        span_id=bytes(8),
        parent_span_id=bytes(8),
        start_time_unix_nano=TIMES[2],
        end_time_unix_nano=TIMES[3],
    )
    span.events.add(name="gen_ai.content.prompt", time_unix_nano=TIMES[2])
    for key, which, value in (
        (TOKEN_KEY, "int_value", 1200),
        ("gen_ai.usage.output_tokens", "double_value", 30.0),
        (COST_KEY, "double_value", 0.0125),
        ("gen_ai.request.model", "string_value", "gpt-4o"),
    ):
        kv = span.attributes.add(key=key)
        setattr(kv.value, which, value)
    assert serve._plainly_valid(span)
    # A token count as text, a fraction of a token, a link: the reference check decides.
    for change in ("text", "fraction", "link"):
        other = Span()
        other.CopyFrom(span)
        if change == "text":
            other.attributes[0].value.string_value = "1200"
        elif change == "fraction":
            other.attributes[1].value.double_value = 30.5
        else:
            other.links.add(trace_id=bytes(16), span_id=bytes(8))
        assert not serve._plainly_valid(other)
    assert otlp.pb_span_problem(other) is None


def test_a_request_is_counted_as_the_reference_check_counts_it():
    rng = random.Random(7)
    req = ExportTraceServiceRequest()
    spans = req.resource_spans.add().scope_spans.add().spans
    for _ in range(400):
        spans.append(random_span(rng))
    expected = [otlp.pb_span_problem(span) for span in spans]
    checked = serve.check_traces(req.SerializeToString(), serve.PROTOBUF)
    bad = [why for why in expected if why is not None]
    assert (checked.accepted, checked.rejected) == (len(expected) - len(bad), len(bad))
    assert checked.message == f"{len(bad):,} spans rejected; first: {bad[0]}"


def test_a_request_that_finds_the_spool_full_waits_for_room_and_is_refused_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "spool"
    folder.mkdir()
    backlog = folder / "traces-0000000001.seg"  # 2,008 bytes not yet stored: over the bound

    def fill() -> None:
        backlog.write_bytes(spool.HEADER + spool.frame(b"x" * 2000))

    fill()
    the_spool = spool.Spool(folder, seal_s=60)
    config = serve.Config(
        db=tmp_path / "s.duckdb", spool_dir=folder, max_spool_bytes=1000, max_pending_bytes=500
    )
    receiver = serve.Receiver(config, the_spool, lambda _: None)

    async def scenario() -> None:
        monkeypatch.setattr(serve, "ROOM_WAIT_S", 600.0)
        held = asyncio.create_task(receiver._wait_for_room(100))
        await asyncio.sleep(0.3)
        assert not held.done() and receiver._held_bytes == 100  # held, not refused
        # More than max_pending_bytes of bodies would be held: refused at once.
        with pytest.raises(serve.Refused) as refused:
            await asyncio.wait_for(receiver._wait_for_room(401), 60)  # not held
        assert refused.value.status == 429 and receiver._held_bytes == 100
        backlog.unlink()  # the worker stored the backlog
        await asyncio.wait_for(held, 60)  # room: the request goes on, no 429
        assert receiver._held_bytes == 0
        fill()
        monkeypatch.setattr(serve, "ROOM_WAIT_S", 0.2)
        receiver._scanned_at = -1e9  # the next look at the spool scans the folder
        with pytest.raises(serve.Refused) as refused:
            await receiver._wait_for_room(100)  # the worker never makes room
        assert (refused.value.status, refused.value.retry_after) == (429, 1)
        assert receiver._held_bytes == 0

    try:
        asyncio.run(scenario())
    finally:
        the_spool.close()
