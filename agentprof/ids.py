"""Short ids: each run or session id shown as its shortest prefix that no other id in the
database shares (at least 8 characters), so two rows never read the same and any shown id can be
pasted back into a command."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

import duckdb

from agentprof import sql
from agentprof.errors import NotFoundError

MIN_PREFIX = 8


def unique_prefixes(
    every_id: Iterable[str], wanted: Iterable[str], minimum: int = MIN_PREFIX
) -> dict[str, str]:
    """{id: its shortest unique prefix} for the `wanted` ids, unique among `every_id`."""
    known = sorted(set(every_id))
    out: dict[str, str] = {}
    for ident in wanted:
        if ident in out:
            continue
        i = bisect_left(known, ident)
        # Only the sorted neighbours can share the longest prefix with it.
        shared = 0
        for j in (i - 1, i + 1) if i < len(known) and known[i] == ident else (i - 1, i):
            if 0 <= j < len(known) and known[j] != ident:
                shared = max(shared, _common(ident, known[j]))
        out[ident] = ident[: max(minimum, shared + 1)]
    return out


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def short_ids(con: duckdb.DuckDBPyConnection, wanted: Iterable[str | None]) -> dict[str, str]:
    """Shortest unique prefixes of `wanted` among every run and session id in the database."""
    every = [str(r[0]) for r in sql.run(con, "report/all_ids").rows]
    return unique_prefixes(every, (w for w in wanted if w))


# kind -> the query listing ids that start with a prefix, and its parameter
_LOOKUPS = {
    "run": ("report/run_exists", "run_id"),
    "session": ("report/session_exists", "session_id"),
}


def resolve(con: duckdb.DuckDBPyConnection, kind: str, prefix: str, hint: str) -> str:
    """The full run or session id (`kind`) that `prefix` names: the id itself, or the one id it
    starts. NotFoundError otherwise, with `hint` when nothing matches and the first candidates
    when several do."""
    query, param = _LOOKUPS[kind]
    matches = [str(r[0]) for r in sql.run(con, query, {param: prefix}).rows]
    if prefix in matches:
        return prefix
    if not matches:
        raise NotFoundError(prefix, f"no such {kind}", hint)
    if len(matches) > 1:
        more = " and more" if len(matches) > 10 else ""
        shown = ", ".join(matches[:10])
        raise NotFoundError(
            prefix, f"ambiguous {kind} id prefix", f"it starts {shown}{more}; give more characters"
        )
    return matches[0]
