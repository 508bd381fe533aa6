"""Spend by calendar day, month and 5-hour billing block (the views ccusage made familiar) and
by session, from the tick ledger: the named queries and their parameters, shared by the CLI and
the Python API so both ask the same question the same way."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentprof.errors import AgentprofError

PERIODS = ("daily", "monthly", "blocks")
# --by: one row per period, or per (period, project).
GROUPINGS = ("total", "project")


@dataclass(frozen=True)
class Query:
    """A named query (queries/<name>.sql) and the parameters to run it with."""

    name: str
    params: dict[str, Any]


def _filters(
    since: datetime | None,
    until: datetime | None,
    source: str | None,
    agent: str | None,
    project: str | None,
) -> dict[str, Any]:
    return {"since": since, "until": until, "source": source, "agent": agent, "project": project}


def check_timezone(name: str) -> str:
    """An IANA time zone name (UTC, Europe/Paris, Asia/Tokyo), as the calendar views take it."""
    if name.upper() == "UTC":
        return "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise AgentprofError(
            f"--timezone {name}", "unknown time zone", "use an IANA name such as Europe/Paris"
        ) from None
    return name


def calendar(
    period: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    agent: str | None = None,
    project: str | None = None,
    timezone: str = "UTC",
    by: str = "total",
) -> Query:
    """Tokens by class, cost and models per day (`daily`), month (`monthly`) or 5-hour billing
    block (`blocks`, always in UTC hours, as ccusage floors them). `by="project"` splits days
    and months by the runs' project."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    params = _filters(since, until, source, agent, project)
    params.update(timezone=check_timezone(timezone), by=by)
    return Query(f"report/{period}", params)


def sessions(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    agent: str | None = None,
    project: str | None = None,
) -> Query:
    """One row per session: turns, subagent runs, ticks, cost, active and elapsed time, project."""
    return Query("report/sessions", _filters(since, until, source, agent, project))
