"""Input families. `detect` names the reader for a file from its first bytes, or says why
none fits."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson
from google.protobuf.message import DecodeError

from agentprof.errors import InputError, UnsupportedInput
from agentprof.sources import logs, otel_logs, otlp, sniff
from agentprof.sources.io import open_decompressed

# Formats DuckDB's own JSON reader can take directly (ingest's native fast path).
NATIVE_JSON_FORMATS = ("otlp-json", "otlp-json+gzip")


def is_json_lines(path: Path) -> bool:
    """True when the (decompressed) first line is a whole JSON document: JSON lines, or a
    single-line request. Pretty-printed and concatenated documents are not."""
    stream, _ = open_decompressed(path)
    with contextlib.closing(stream):
        first = stream.readline(64 << 20)
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return True


@dataclass(frozen=True)
class Format:
    name: str  # e.g. "otlp-json", "otlp-proto-frames", with "+gzip"/"+zstd" when compressed
    stream: IO[bytes]


def detect(path: Path) -> Format:
    """Sniff the (decompressed) head of a file. Raises InputError when nothing matches."""
    try:
        stream, compression = open_decompressed(path)
        head = stream.peek(64)[:64]  # type: ignore[attr-defined]
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    except Exception as exc:  # corrupt gzip/zstd header
        raise InputError(str(path), f"not an OTLP trace export (cannot decompress: {exc})") from exc
    suffix = f"+{compression}" if compression else ""
    stripped = head.lstrip()
    if not head:
        stream.close()
        raise InputError(str(path), "not an OTLP trace export (the file is empty)")
    if stripped[:1] in (b"{", b"["):
        family = logs.detect_family(path)
        if family:
            return Format(family + suffix, stream)
        shape = sniff.json_shape(path)
        if shape:
            stream.close()
            raise unsupported(path, shape)
    if stripped[:1] == b"{":
        if otel_logs.starts_like_logs_json(head):
            return Format(otel_logs.FAMILY + suffix, stream)
        return Format("otlp-json" + suffix, stream)
    if head[:1] in (b"\x00", b"\x0a") and otel_logs.is_protobuf_logs(path):
        return Format(otel_logs.FAMILY + suffix, stream)
    if head[:1] == b"\x00" and len(head) >= 5:
        # A 4-byte big-endian length below 16 MiB starts with a zero byte; a bare
        # ExportTraceServiceRequest starts with field 1's tag (0x0a).
        return Format("otlp-proto-frames" + suffix, stream)
    if head[:1] == b"\x0a":
        return Format("otlp-proto" + suffix, stream)
    stream.close()
    raise unsupported(path, sniff.text_shape(path))


def unsupported(path: Path, shape: str) -> UnsupportedInput:
    """The error for a file in no format agentprof reads, saying what it looks like."""
    return UnsupportedInput(str(path), f"not a format agentprof reads ({shape})")


def read(path: Path, fmt: Format, bad: otlp.BadRecord) -> otlp.Batches:
    """Yield (span batch, records seen, bad records) increments for a detected file."""
    with contextlib.closing(fmt.stream):
        family = fmt.name.split("+", 1)[0]
        if family in logs.READERS:
            yield from logs.READERS[family](fmt.stream, path, bad)
        elif fmt.name.startswith("otlp-json"):
            yield from otlp.read_json(fmt.stream, bad)
        elif fmt.name.startswith("otlp-proto-frames"):
            yield from otlp.read_pb_frames(fmt.stream, bad)
        else:
            data = fmt.stream.read()
            try:
                yield from otlp.read_pb_single(data, bad)
            except DecodeError as exc:
                raise InputError(
                    str(path), f"not an OTLP trace export (protobuf does not parse: {exc})"
                ) from exc
