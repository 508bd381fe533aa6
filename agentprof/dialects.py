"""The attribute dialects: which attribute key each framework writes for each field agentprof
reads (queries/dialects.csv, one row per key; for a field, the first key present in priority
order wins). The derivation SQL names a field as `{{field}}` and `query_text` puts the rendered
`coalesce(...)` in its place, so a new framework is a few reviewed rows, not a SQL edit. The same
rows render for ClickHouse, and `attribute_keys` tells a remote engine which keys to ship.

Run `python -m agentprof.dialects` to print the README's dialects table."""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass

from agentprof.resources import data_dir

ENGINES = ("duckdb", "clickhouse")
# How a value is read, by unit. Every rendering yields the field's canonical type: token
# counts as integers (NULL outside 0..1e12), durations in milliseconds, money as a double, text.
UNITS = ("count", "text", "usd", "s", "ms", "s_or_ms", "json_first", "dict_entry")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_0-9]+)\s*\}\}")
_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_NAME = re.compile(r"^[a-z_0-9]+$")
# A key read anywhere in queries/: `a['key']`, `attributes['key']`; and a family of keys read by
# prefix: `e.key like 'gen_ai.completion.%'` (derive_ticks' output_text).
_READ_KEY = re.compile(r"\['([A-Za-z0-9_.\-]+)'\]")
_READ_PREFIX = re.compile(r"\bkey like '([^'%]+)%'")


@dataclass(frozen=True)
class Row:
    field: str
    priority: int
    key: str
    unit: str  # one of UNITS; dict_entry carries its entry name: "dict_entry:cache_read"
    frameworks: str

    @property
    def kind(self) -> str:
        return self.unit.split(":", 1)[0]


@functools.cache
def rows() -> tuple[Row, ...]:
    """The table, checked: known units, keys that are plain identifiers (they are spliced into
    SQL as literals), unique priorities per field. Sorted by field, then priority."""
    path = data_dir("queries") / "dialects.csv"
    out: list[Row] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for lineno, rec in enumerate(csv.DictReader(fh), start=2):
            row = Row(
                rec["field"], int(rec["priority"]), rec["key"], rec["unit"], rec["frameworks"]
            )
            entry = row.unit.split(":", 1)[1] if ":" in row.unit else ""
            if (
                not _NAME.match(row.field)
                or not _KEY.match(row.key)
                or row.kind not in UNITS
                or (row.kind == "dict_entry") != bool(_NAME.match(entry))
            ):
                raise ValueError(f"{path}:{lineno}: not a valid dialect row: {rec}")
            out.append(row)
    seen = {(r.field, r.priority) for r in out}
    if len(seen) != len(out):
        raise ValueError(f"{path}: two rows share a field and priority")
    return tuple(sorted(out, key=lambda r: (r.field, r.priority)))


def fields() -> list[str]:
    return sorted({r.field for r in rows()})


def _value(row: Row, engine: str) -> str:
    if engine == "duckdb":
        attr = f"a['{row.key}']"
        as_count, as_num = "token_count({})", "num({})"
        json_first = "case when json_valid({0}) then json_extract_string({0}, '$[0]') else {0} end"
        # LangChain's usage details are a Python dict repr: {'cache_read': 12, ...}
        entry = "regexp_extract({0}, '''{1}''\\s*:\\s*(\\d+)', 1)"
        s_or_ms = "seconds_or_ms(num({}), (end_ns - start_ns) / 1e6)"
    else:
        # ClickHouse's map returns '' for a missing key where DuckDB returns NULL.
        attr = f"nullIf(a['{row.key}'], '')"
        as_count = "if(toInt64OrNull({0}) between 0 and 1000000000000, toInt64OrNull({0}), NULL)"
        as_num = "toFloat64OrNull({})"
        json_first = "if(isValidJSON({0}), JSONExtractString({0}, 1), {0})"
        entry = "nullIf(extract({0}, '''{1}''\\\\s*:\\\\s*(\\\\d+)'), '')"
        s_or_ms = (
            "multiIf(toFloat64OrNull({0}) is null or toFloat64OrNull({0}) < 0, NULL,"
            " toFloat64OrNull({0}) * 1000 <= (end_ns - start_ns) / 1e6,"
            " toFloat64OrNull({0}) * 1000,"
            " toFloat64OrNull({0}) <= (end_ns - start_ns) / 1e6, toFloat64OrNull({0}), NULL)"
        )
    kind = row.kind
    if kind == "count":
        return as_count.format(attr)
    if kind == "usd" or kind == "ms":
        return as_num.format(attr)
    if kind == "s":
        return f"{as_num.format(attr)} * 1000.0"
    if kind == "s_or_ms":
        return s_or_ms.format(attr)
    if kind == "json_first":
        return json_first.format(attr)
    if kind == "dict_entry":
        return as_count.format(entry.format(attr, row.unit.split(":", 1)[1]))
    return attr


def render(field: str, engine: str = "duckdb", without: frozenset[Row] = frozenset()) -> str:
    """The field's value in one expression over an attribute map named `a` (and the span's
    `start_ns`/`end_ns` for units that depend on the call's latency). `without`: rows left out
    (a test shows each rule matters by rendering without it)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    candidates = [_value(r, engine) for r in rows() if r.field == field and r not in without]
    if not candidates:
        raise KeyError(f"no dialect rows for field {field!r} (queries/dialects.csv)")
    return candidates[0] if len(candidates) == 1 else f"coalesce({', '.join(candidates)})"


def expand(text: str, engine: str = "duckdb", without: frozenset[Row] = frozenset()) -> str:
    """SQL text with each `{{field}}` replaced by its rendering (less the rows `without`)."""
    return _PLACEHOLDER.sub(lambda m: render(m.group(1), engine, without), text)


def _query_texts() -> list[str]:
    return [
        p.read_text(encoding="utf-8")
        for p in sorted(data_dir("queries").rglob("*.sql"))
        if p.parent.name != "clickhouse"
    ]


@functools.cache
def attribute_keys() -> tuple[str, ...]:
    """Every attribute key any query in queries/ reads (the table's and the literal ones): what a
    remote engine must ship for the analysis to see what it would see on a file."""
    keys = {r.key for r in rows()}
    for text in _query_texts():
        keys.update(_READ_KEY.findall(text))
    return tuple(sorted(keys))


@functools.cache
def attribute_prefixes() -> tuple[str, ...]:
    """The families of keys a query reads by prefix (the model's recorded output, where tool-call
    ids show): a remote engine ships every key that starts with one."""
    return tuple(sorted({p for text in _query_texts() for p in _READ_PREFIX.findall(text)}))


# The queries that derive ticks and tool calls: an engine that runs them itself (ClickHouse,
# queries/clickhouse/derive_*.sql) ships a span only the keys the other queries read.
DERIVATION = ("derive_ticks.sql", "derive_tool_calls.sql")


@functools.cache
def later_attribute_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, prefixes) the queries after the tick and tool-call derivation read (runs, pricing,
    diagnosis, reports, check): their literal keys and the dialect rows of their fields."""
    keys: set[str] = set()
    prefixes: set[str] = set()
    for p in sorted(data_dir("queries").rglob("*.sql")):
        if p.parent.name == "clickhouse" or (p.parent.name == "ingest" and p.name in DERIVATION):
            continue
        text = p.read_text(encoding="utf-8")
        keys.update(_READ_KEY.findall(text))
        prefixes.update(_READ_PREFIX.findall(text))
        fields_read = set(_PLACEHOLDER.findall(text))
        keys.update(r.key for r in rows() if r.field in fields_read)
    return tuple(sorted(keys)), tuple(sorted(prefixes))


def markdown() -> str:
    """The README's dialects table: field, keys in priority order, unit, who writes them."""
    lines = ["| field | attribute (first present wins) | unit | written by |", "|---|---|---|---|"]
    for r in rows():
        lines.append(f"| `{r.field}` | `{r.key}` | {r.unit} | {r.frameworks} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
