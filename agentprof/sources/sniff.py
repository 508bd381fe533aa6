"""What a file that no reader takes looks like, in a few words ("JSON lines whose records have
keys a, b, c", "CSV text with columns …", "binary data"), so refusing it says more than "not an
OTLP trace export". Only shape is named (keys, column names), never values: files hold prompts."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any

import orjson

from agentprof.sources import trajectories
from agentprof.sources.io import open_decompressed

# Keys that say a JSON document is (or tries to be) an OTLP export: left to the OTLP readers,
# whose messages name what is wrong inside it.
_OTLP_KEYS = frozenset(
    {"resourceSpans", "resource_spans", "resourceLogs", "resource_logs", "scopeSpans", "spans"}
)
_MAX_KEYS = 8
_HEAD = 1 << 20


def _keys(doc: dict[str, Any]) -> str:
    names = sorted(str(k) for k in doc)
    shown = ", ".join(names[:_MAX_KEYS])
    return shown + (f" and {len(names) - _MAX_KEYS} more" if len(names) > _MAX_KEYS else "")


def _otlp_like(doc: Any) -> bool:
    return isinstance(doc, dict) and (not doc or bool(_OTLP_KEYS & doc.keys()))


def json_shape(path: Path) -> str | None:
    """How a JSON file that no reader claimed looks, or None when it may be OTLP (an OTLP key,
    an empty object) or does not parse (the OTLP reader then names the broken line)."""
    stream, _ = open_decompressed(path)
    with contextlib.closing(stream):
        first = stream.readline(_HEAD)
        second = stream.readline(_HEAD)
        rest = b"" if second.strip() else stream.read(_HEAD)
    try:
        doc = orjson.loads(first)
    except orjson.JSONDecodeError:
        try:
            doc = orjson.loads(first + second + rest)
        except orjson.JSONDecodeError:
            return None
        lines = False
    else:
        lines = bool(second.strip())
    if _otlp_like(doc):
        return None
    if trajectories.is_swe_bench_predictions(doc):
        return (
            "SWE-bench predictions: a patch per instance, with no model calls, tokens or times; "
            "the run's .traj files hold its model statistics"
        )
    if isinstance(doc, dict):
        return (
            f"JSON lines whose records have keys {_keys(doc)}"
            if lines
            else f"a JSON document with keys {_keys(doc)}"
        )
    if isinstance(doc, list):
        items = [d for d in doc if isinstance(d, dict)]
        if items and len(items) == len(doc):
            return f"a JSON array of objects with keys {_keys(items[0])}"
        return f"a JSON array of {len(doc)} values" if doc else "an empty JSON array"
    return f"JSON {type(doc).__name__} values" if lines else "a JSON value that is not an object"


def text_shape(path: Path) -> str:
    """'CSV text with columns …', 'text' or 'binary data' for a file no reader claimed."""
    stream, _ = open_decompressed(path)
    with contextlib.closing(stream):
        head = stream.read(64 << 10)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return "binary data"
        text = head[: exc.start].decode("utf-8")
    if "\x00" in text:
        return "binary data"
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) >= 2:
        with contextlib.suppress(csv.Error):
            dialect = csv.Sniffer().sniff("\n".join(lines[:10]), delimiters=",;\t|")
            rows = list(csv.reader(lines[:10], dialect))
            widths = {len(r) for r in rows}
            if len(widths) == 1 and widths.pop() >= 2:
                kind = "TSV" if dialect.delimiter == "\t" else "CSV"
                header = [c.strip() for c in rows[0]]
                if csv.Sniffer().has_header("\n".join(lines[:10])):
                    shown = ", ".join(header[:_MAX_KEYS])
                    more = len(header) - _MAX_KEYS
                    return f"{kind} text with columns {shown}" + (
                        f" and {more} more" if more > 0 else ""
                    )
                return f"{kind} text"
    return "text"
