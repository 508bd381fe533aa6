"""Write finished spans as OTLP/JSON exactly as the OTLP exporter encodes them (hex ids, int
enums, int64 as strings), so the corpus files look like what a collector receives."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


def write_otlp_json(spans: list[ReadableSpan] | tuple[ReadableSpan, ...], path: Path) -> None:
    doc = MessageToDict(
        encode_spans(list(spans)),
        use_integers_for_enums=True,
        preserving_proto_field_name=False,
    )
    _hex_ids(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def write_truth(record: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
