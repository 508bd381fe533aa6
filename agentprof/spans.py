"""A run's raw spans as a tree, with their attributes and the prompts and answers the trace holds
(`agentprof spans RUN_ID` and the report's span tree). The tree order, the input/output keys of
each dialect and the cutting of long values are report/span_tree.sql; this module nests the rows."""

from __future__ import annotations

from typing import Any

import duckdb

from agentprof import sql

# The report's bounds, so a page stays small whatever the traces hold (README: HTML report).
HTML_MAX_SPANS = 30  # spans per run drawn; the rest are counted ("N more spans not shown")
HTML_MESSAGE_CHARS = 400  # characters of a prompt, answer, tool argument or result shown
HTML_VALUE_CHARS = 120  # characters of any other attribute value shown
MAX_NESTING = 32  # deeper spans are drawn at this depth (the page stays readable, jinja shallow)


def span_rows(
    con: duckdb.DuckDBPyConnection,
    run_ids: list[str],
    *,
    max_spans: int | None = None,
    message_chars: int | None = None,
    value_chars: int | None = None,
) -> list[dict[str, Any]]:
    """report/span_tree rows in tree order (run, then depth-first); None bounds mean everything."""
    params = {
        "run_ids": run_ids,
        "max_spans": max_spans,
        "message_chars": message_chars,
        "value_chars": value_chars,
    }
    return sql.run(con, "report/span_tree", params).records()


def nest(rows: list[dict[str, Any]], max_depth: int = MAX_NESTING) -> list[dict[str, Any]]:
    """Rows of one run in tree order → root nodes, each row given a `children` list. Spans deeper
    than `max_depth` are placed at `max_depth`, under the last span above that depth."""
    roots: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []  # stack[d] is the latest node placed at depth d
    for row in rows:
        node = {**row, "children": []}
        depth = min(int(row["depth"]), max_depth, len(stack))
        del stack[depth:]
        (stack[-1]["children"] if stack else roots).append(node)
        stack.append(node)
    return roots
