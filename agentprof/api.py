"""Read access to an agentprof database from Python (a notebook, a script): runs, ticks, tool
calls, sessions, calendar views and diagnoses as polars DataFrames or Arrow tables. Every method
runs the same named query or core function as the matching CLI command, so the numbers agree.

    import agentprof
    with agentprof.open("agentprof.duckdb") as db:
        runs = db.runs(source="claude-code")
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from agentprof import ids, periods, sql, store
from agentprof.diagnose import Thresholds, diagnose, load_tool_rules

if TYPE_CHECKING:
    import duckdb

Time = datetime | str | None


def _time(value: Time) -> datetime | None:
    """An ISO date/time or datetime; an offset is converted to UTC, a bare time is taken as UTC
    (the database stores naive UTC), as the CLI's --since/--until."""
    if value is None:
        return None
    parsed = (
        datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    )
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _integers(table: pa.Table) -> pa.Table:
    """DuckDB sums of integers are 128-bit (Arrow decimal128(38, 0)); token counts fit int64."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale == 0:
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table


class Database:
    """A read-only agentprof database. Methods return polars DataFrames, or Arrow tables with
    `as_arrow=True`. Close it (or use `with`) to release the file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str) -> None:
        self._con = con
        self.path = path

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"agentprof.Database({self.path!r})"

    # --- plumbing -------------------------------------------------------------------------

    def _query(self, name: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        return _integers(sql.run_arrow(self._con, name, dict(params or {})))

    @staticmethod
    def _out(table: pa.Table, as_arrow: bool) -> Any:
        if as_arrow:
            return table
        import polars as pl  # imported on first use: the CLI never needs it

        return pl.from_arrow(table)

    def _run_id(self, run_id: str) -> str:
        """A full run id from an id or a unique prefix of one."""
        return ids.resolve(self._con, "run", run_id, "Database.runs() lists run ids")

    def _run_ids(self, run_id: str | None) -> list[str]:
        if run_id is not None:
            return [self._run_id(run_id)]
        runs = sql.run(
            self._con, "report/runs", {**_no_filters(), "sort": "started", "run_id": None}
        )
        return [str(r["run_id"]) for r in runs.records()]

    # --- the ledger -----------------------------------------------------------------------

    def runs(
        self,
        *,
        since: Time = None,
        until: Time = None,
        source: str | None = None,
        agent: str | None = None,
        sort: str = "started",
        as_arrow: bool = False,
    ) -> Any:
        """One row per run (`agentprof runs --json`): ticks, tool calls, tokens by class, cost,
        time split, cache ratios. `sort`: started, cost, ticks or wall."""
        if sort not in ("started", "cost", "ticks", "wall"):
            raise ValueError("sort must be one of started, cost, ticks, wall")
        params = {**_filters(since, until, source, agent), "sort": sort, "run_id": None}
        return self._out(self._query("report/runs", params), as_arrow)

    def ticks(self, run_id: str | None = None, *, as_arrow: bool = False) -> Any:
        """The per-tick ledger (`agentprof ticks RUN_ID --json`) of one run (an id or a unique
        prefix), or of every run (in start order) when `run_id` is None; the first column is
        run_id."""
        tables = []
        for rid in self._run_ids(run_id):
            t = self._query("report/ticks", {"run_id": rid})
            tables.append(t.add_column(0, "run_id", pa.array([rid] * t.num_rows, pa.string())))
        if not tables:  # an empty database: the columns still come from the query
            t = self._query("report/ticks", {"run_id": ""})
            tables.append(t.add_column(0, "run_id", pa.array([], pa.string())))
        return self._out(pa.concat_tables(tables), as_arrow)

    def tool_calls(self, run_id: str | None = None, *, as_arrow: bool = False) -> Any:
        """Tool calls of one run or of all runs (the report's tool timeline): tool, tick, start
        offset, duration, status, whether it overlapped another call, repeats, critical path."""
        table = self._query("report/tool_timeline", {"run_ids": self._run_ids(run_id)})
        return self._out(table, as_arrow)

    def sessions(
        self,
        *,
        since: Time = None,
        until: Time = None,
        source: str | None = None,
        agent: str | None = None,
        project: str | None = None,
        as_arrow: bool = False,
    ) -> Any:
        """One row per session (`agentprof sessions --json`)."""
        q = periods.sessions(
            since=_time(since), until=_time(until), source=source, agent=agent, project=project
        )
        return self._out(self._query(q.name, q.params), as_arrow)

    # --- calendar views (ccusage's daily, monthly, blocks) ---------------------------------

    def _calendar(self, period: str, as_arrow: bool, **kw: Any) -> Any:
        since, until = _time(kw.pop("since")), _time(kw.pop("until"))
        q = periods.calendar(period, since=since, until=until, **kw)
        return self._out(self._query(q.name, q.params), as_arrow)

    def daily(
        self,
        *,
        since: Time = None,
        until: Time = None,
        source: str | None = None,
        agent: str | None = None,
        project: str | None = None,
        timezone: str = "UTC",
        by: str = "total",
        as_arrow: bool = False,
    ) -> Any:
        """Tokens by class, cost and models per day (`agentprof daily --json`)."""
        return self._calendar(
            "daily", as_arrow, since=since, until=until, source=source, agent=agent,
            project=project, timezone=timezone, by=by,
        )  # fmt: skip

    def monthly(
        self,
        *,
        since: Time = None,
        until: Time = None,
        source: str | None = None,
        agent: str | None = None,
        project: str | None = None,
        timezone: str = "UTC",
        by: str = "total",
        as_arrow: bool = False,
    ) -> Any:
        """Tokens by class, cost and models per month (`agentprof monthly --json`)."""
        return self._calendar(
            "monthly", as_arrow, since=since, until=until, source=source, agent=agent,
            project=project, timezone=timezone, by=by,
        )  # fmt: skip

    def blocks(
        self,
        *,
        since: Time = None,
        until: Time = None,
        source: str | None = None,
        agent: str | None = None,
        project: str | None = None,
        as_arrow: bool = False,
    ) -> Any:
        """Tokens by class, cost and models per 5-hour billing block (`agentprof blocks --json`)."""
        return self._calendar(
            "blocks", as_arrow, since=since, until=until, source=source, agent=agent,
            project=project,
        )  # fmt: skip

    # --- diagnosis ------------------------------------------------------------------------

    def _diagnose(self, run_id: str | None, kw: dict[str, Any]) -> list[dict[str, Any]]:
        thresholds = Thresholds().with_overrides(dict(kw.pop("thresholds") or {}), "thresholds")
        result = diagnose(
            self._con,
            run_id=self._run_id(run_id) if run_id else None,
            since=_time(kw.pop("since")),
            until=_time(kw.pop("until")),
            thresholds=thresholds,
            tools=load_tool_rules(None),
            **kw,
        )
        return result.runs

    def diagnose(
        self,
        run_id: str | None = None,
        *,
        since: Time = None,
        until: Time = None,
        source: str | None = None,
        agent: str | None = None,
        thresholds: Mapping[str, float] | None = None,
        sort: str = "cost",
        as_arrow: bool = False,
    ) -> Any:
        """One row per run with its bottleneck, saving_usd, saving_ms and top finding, beside the
        run's columns (`agentprof diagnose --json` without the findings: see `findings()`).
        `thresholds` overrides defaults by name, as `--threshold NAME=VALUE`."""
        runs = self._diagnose(run_id, dict(since=since, until=until, source=source, agent=agent,
                                           thresholds=thresholds, sort=sort))  # fmt: skip
        for r in runs:
            r["findings"] = len(r["findings"])
        return self._out(_integers(pa.Table.from_pylist(runs)), as_arrow)

    def findings(
        self,
        run_id: str | None = None,
        *,
        since: Time = None,
        until: Time = None,
        source: str | None = None,
        agent: str | None = None,
        thresholds: Mapping[str, float] | None = None,
        as_arrow: bool = False,
    ) -> Any:
        """One row per finding of the diagnosed runs: run_id, kind, primary, evidence, lever,
        saving_usd, saving_ms (the ticks and spans behind each finding are in `diagnose --json`)."""
        runs = self._diagnose(run_id, dict(since=since, until=until, source=source, agent=agent,
                                           thresholds=thresholds, sort="cost"))  # fmt: skip
        keys = ("kind", "primary", "evidence", "lever", "saving_usd", "saving_ms")
        rows = [
            {"run_id": r["run_id"], **{k: f.get(k) for k in keys}}
            for r in runs
            for f in r["findings"]
        ]
        schema = pa.schema(
            [("run_id", pa.string()), ("kind", pa.string()), ("primary", pa.bool_()),
             ("evidence", pa.string()), ("lever", pa.string()), ("saving_usd", pa.float64()),
             ("saving_ms", pa.float64())]
        )  # fmt: skip
        return self._out(pa.Table.from_pylist(rows, schema=schema), as_arrow)


def _filters(since: Time, until: Time, source: str | None, agent: str | None) -> dict[str, Any]:
    return {"since": _time(since), "until": _time(until), "source": source, "agent": agent}


def _no_filters() -> dict[str, Any]:
    return _filters(None, None, None, None)


def open(path: str | os.PathLike[str] | None = None, *, wait: float = 30.0) -> Database:  # noqa: A001
    """Open an agentprof database read-only (default: $AGENTPROF_DB, else ./agentprof.duckdb),
    waiting up to `wait` seconds for a process that holds it for writing. Raises
    agentprof.errors.DatabaseError when the file is missing, locked or not an agentprof
    database; warns when an interrupted ingest left runs underived."""
    where = str(path) if path is not None else store.default_db_path()
    con = store.connect(where, read_only=True, wait_s=wait)
    pending = store.pending_traces(con)
    if pending:
        warnings.warn(
            f"{pending:,} runs have spans that an unfinished ingest stored but did not derive; "
            "their figures are from before it (any `agentprof ingest` finishes them)",
            stacklevel=2,
        )
    return Database(con, where)
