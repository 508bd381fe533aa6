"""Open an input file as a stream of its decompressed bytes (gzip, zstd, or plain), and split a
file of JSON documents."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
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


class BrokenDocument(ValueError):
    """A JSON document that does not parse. There is no way to resynchronise inside it, so the
    rest of the file is one bad record."""

    def __init__(self, line: int, reason: str, excerpt: str) -> None:
        super().__init__(reason)
        self.line, self.reason, self.excerpt = line, reason, excerpt


def json_documents(data: bytes) -> Iterator[tuple[int, Any, str]]:
    """The JSON documents of a file holding one pretty-printed document or several back to back
    (not line-delimited): (line where it starts, document, its text). Raises BrokenDocument."""
    try:  # the common case, one document: and orjson is the judge of what is JSON (see below)
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    else:
        leading = data[: len(data) - len(data.lstrip())]
        yield 1 + leading.count(b"\n"), doc, data.decode("utf-8", "replace")
        return
    text = data.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return
        line = text.count("\n", 0, pos) + 1
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise BrokenDocument(
                exc.lineno,
                f"malformed JSON ({exc.msg}); rest of file skipped",
                text[pos : pos + 200],
            ) from None
        except RecursionError:
            raise BrokenDocument(
                line,
                "malformed JSON (nested too deeply); rest of file skipped",
                text[pos : pos + 200],
            ) from None
        # Python's decoder also takes NaN, Infinity, 1e400 and lone surrogates; the JSON-lines
        # readers (orjson, DuckDB) do not, and every path must accept the same documents.
        try:
            doc = orjson.loads(text[pos:end].encode("utf-8", "surrogatepass"))
        except orjson.JSONDecodeError as exc:
            raise BrokenDocument(
                line,
                f"malformed JSON ({exc.args[0] if exc.args else exc}); rest of file skipped",
                text[pos : pos + 200],
            ) from None
        yield line, doc, text[pos:end]
        pos = end
