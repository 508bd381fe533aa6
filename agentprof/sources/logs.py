"""Which local-log family a JSON file belongs to (Claude Code transcript, Codex rollout, API
response log, organisation usage report), decided from its first document, and the reader of
each family."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

from agentprof.sources import (
    api_logs,
    claude_code,
    codex,
    gemini_cli,
    langfuse,
    otel_logs,
    trajectories,
    usage_reports,
)
from agentprof.sources.io import open_decompressed
from agentprof.sources.otlp import BadRecord, Batches

Reader = Callable[[IO[bytes], Path, BadRecord], Batches]
READERS: dict[str, Reader] = {
    "claude-code": claude_code.read,
    "codex": codex.read,
    "api-log": api_logs.read,
    "claude-code-meta": claude_code.read_meta,
    otel_logs.FAMILY: otel_logs.read,
    otel_logs.FLAT_FAMILY: otel_logs.read_flat,
    trajectories.SWE_AGENT: trajectories.read_swe_agent,
    trajectories.OPENHANDS: trajectories.read_openhands,
    langfuse.SOURCE: langfuse.read,
    gemini_cli.SOURCE: gemini_cli.read,
}
# Families whose spans go through agentlog.store_spans (a more complete copy replaces a stored one).
SPAN_FAMILIES = frozenset(READERS)
REPORT_FAMILY = "usage-report"
# A report (one JSON document, pretty-printed) is read whole up to this size for detection.
_WHOLE_DOC_LIMIT = 64 << 20


def family(fmt_name: str) -> str:
    return fmt_name.split("+", 1)[0]


def first_document(path: Path) -> Any:
    """The first line of a (decompressed) file as JSON or, when that is not a whole document,
    the whole file if it parses; None otherwise."""
    stream, _ = open_decompressed(path)
    with contextlib.closing(stream):
        first = stream.readline(_WHOLE_DOC_LIMIT)
        try:
            return orjson.loads(first)
        except orjson.JSONDecodeError:
            pass
        rest = stream.read(_WHOLE_DOC_LIMIT)
    try:
        return orjson.loads(first + rest)
    except orjson.JSONDecodeError:
        return None


def detect_family(path: Path) -> str | None:
    """'claude-code', 'codex', 'langfuse', 'gemini-cli', 'api-log', 'usage-report',
    'otlp-logs', …, or None (leave it to OTLP traces)."""
    try:
        doc = first_document(path)
    except Exception:  # unreadable or corrupt: the OTLP path reports it
        return None
    if isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc):
        return None
    if otel_logs.is_logs_json(doc):
        return otel_logs.FAMILY
    if otel_logs.is_flat_events(doc):
        return otel_logs.FLAT_FAMILY
    if claude_code.is_meta(path, doc):
        return "claude-code-meta"
    if claude_code.looks_like(doc):
        return "claude-code"
    if codex.looks_like(doc):
        return "codex"
    if langfuse.looks_like(doc):
        return langfuse.SOURCE
    if gemini_cli.looks_like(doc):
        return gemini_cli.SOURCE
    if trajectories.is_swe_agent(doc):
        return trajectories.SWE_AGENT
    if trajectories.is_openhands(doc):
        return trajectories.OPENHANDS
    if usage_reports.looks_like(doc):
        return REPORT_FAMILY
    if api_logs.looks_like(doc):
        return "api-log"
    return None
