"""Open an input file as a stream of its decompressed bytes (gzip, zstd, or plain)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def open_decompressed(path: Path) -> tuple[IO[bytes], str]:
    """The file's content as a buffered binary stream, and the compression name ('' if none)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the returned wrapper
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if head.startswith(GZIP_MAGIC):
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), 1 << 20), "gzip"
    if head.startswith(ZSTD_MAGIC):
        # A whole-file zstd stream (the Collector's native compression, or `zstd file`);
        # rotated files hold several frames back to back.
        reader = zstandard.ZstdDecompressor().stream_reader(
            raw, read_across_frames=True, closefd=True
        )
        return io.BufferedReader(reader, 1 << 20), "zstd"
    return raw, ""
