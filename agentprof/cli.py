"""The command line: parses flags, calls one core function, picks a renderer. The only place
where errors become messages and exit codes."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from agentprof import __version__, default_folders, ids, periods, render, sql, store
from agentprof.diagnose import (
    KINDS,
    SORTS,
    diagnose,
    failing_runs,
    load_thresholds,
    load_tool_rules,
)
from agentprof.errors import AgentprofError, ExitCode, InputError, InternalError
from agentprof.pricing import PriceBook, load_price_file

if TYPE_CHECKING:
    # Imported by the commands that store: reading commands start without the readers, pyarrow
    # and protobuf.
    from agentprof.ingest import IngestSummary

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    # A traceback means a bug; show it plainly and never with local variables (traces hold prompts).
    pretty_exceptions_enable=False,
    help="agentprof: profile AI agent runs from exported telemetry into a per-tick ledger.",
)

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        envvar="AGENTPROF_DB",
        help="DuckDB file (default ./agentprof.duckdb).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
WaitOption = Annotated[
    float, typer.Option("--wait", help="Seconds to wait for another process holding the database.")
]
DEFAULT_DB = Path(store.DEFAULT_DB)
# The run filters every reading command shares.
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only runs started at or after this UTC time.")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Only runs started before this UTC time.")
]
SourceOption = Annotated[
    str | None, typer.Option("--source", help="Only runs from this source (e.g. otlp).")
]
AgentOption = Annotated[str | None, typer.Option("--agent", help="Only runs of this agent.")]
ProjectOption = Annotated[
    str | None,
    typer.Option("--project", help="Only runs in this project (its whole path, as in --json)."),
]


def _err(message: str) -> None:
    # Plain writes: one message per line whatever the terminal width, and never markup; control
    # characters from trace text or file names print as visible escapes.
    sys.stderr.write("\n".join(render.safe(line) for line in message.split("\n")) + "\n")


def _fail(exc: AgentprofError) -> NoReturn:
    _err(exc.message())
    raise typer.Exit(int(exc.exit_code))


def _print_json(document: Any) -> None:
    # Bytes straight to stdout: a str copy of a fleet diagnosis (hundreds of MB at millions of
    # spans) and its re-encoding would triple the peak memory.
    data = render.to_json_bytes(document)
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    del data
    sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()


def _parse_time(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or time (e.g. 2026-11-20)", param_hint=flag
        ) from None
    # The database stores naive UTC; an explicit offset is converted, a bare time is taken as UTC.
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        sys.stdout.write(f"agentprof {__version__}\n")
        raise typer.Exit(0)


@app.command("ingest")
def ingest_cmd(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files, globs or folders (walked recursively). None: the default log folders "
            "of Claude Code, Codex and Gemini CLI that exist."
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            envvar="AGENTPROF_PRICES",
            help="TOML price file that overrides or adds models.",
        ),
    ] = None,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
    debug: Annotated[
        bool, typer.Option("--debug", help="Print the traceback of an internal error.")
    ] = False,
    table: Annotated[
        str,
        typer.Option("--table", help="ClickHouse source: otel_traces (default) or otel_logs."),
    ] = "otel_traces",
    since: Annotated[
        str | None,
        typer.Option("--since", help="ClickHouse source: runs that started at or after this."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="ClickHouse source: runs that started before this."),
    ] = None,
) -> None:
    """Read OTLP trace and log exports (JSON, JSON lines, protobuf, Collector exports; .gz/.zst),
    coding-agent logs and agent trajectories; with no path, the default log folders. A
    clickhouse://USER:PASSWORD@HOST:PORT/DATABASE or chdb:PATH argument reads the OpenTelemetry
    Collector's ClickHouse tables instead (incremental unless --since or --until is given)."""
    from agentprof.ingest import ingest, scan_paths
    from agentprof.sources import clickhouse

    if paths and any(clickhouse.is_source(p) for p in paths):
        _ingest_clickhouse(paths, db, prices, json_out, wait, table, since, until)
        return
    if since is not None or until is not None or table != "otel_traces":
        raise typer.BadParameter(
            "only with a clickhouse:// or chdb: source", param_hint="--table/--since/--until"
        )
    if not paths:
        paths = _default_paths()
    try:
        scan = scan_paths(paths)
        book = load_price_file(prices) if prices else PriceBook()
        con = store.connect(db, wait_s=wait)
    except AgentprofError as exc:
        _fail(exc)
    try:
        summary = _with_progress(
            lambda cb: ingest(con, scan.files, prices=book, progress=cb, scan=scan)
        )
    except AgentprofError as exc:
        _fail(exc)
    finally:
        con.close()
    _report_ingest(summary, json_out)
    internal = [e for e in summary.errors if isinstance(e, InternalError)]
    if debug:
        for e in internal:
            _err(e.detail.rstrip())
    if summary.errors:
        raise typer.Exit(int(ExitCode.INTERNAL if internal else ExitCode.USER_ERROR))


def _ingest_clickhouse(
    paths: list[str],
    db: Path,
    prices: Path | None,
    json_out: bool,
    wait: float,
    table: str,
    since: str | None,
    until: str | None,
) -> None:
    """`agentprof ingest clickhouse://…` or `chdb:PATH`: one source, read by sources/clickhouse."""
    from agentprof.sources import clickhouse

    if len(paths) != 1:
        raise typer.BadParameter(
            "a ClickHouse source is read alone, without files", param_hint="PATHS"
        )
    window = (_parse_time(since, "--since"), _parse_time(until, "--until"))
    try:
        book = load_price_file(prices) if prices else PriceBook()
        con = store.connect(db, wait_s=wait)
    except AgentprofError as exc:
        _fail(exc)
    try:
        summary = clickhouse.ingest_source(
            con, paths[0], table=table, since=window[0], until=window[1], prices=book
        )
    except AgentprofError as exc:
        _fail(exc)
    finally:
        con.close()
    _report_ingest(summary, json_out)


def _default_paths() -> list[str]:
    """The default log folders that exist, named on stderr; an error naming where it looked and
    the OTLP route when there are none."""
    found = default_folders.existing()
    if not found:
        looked = ", ".join(default_folders.searched())
        _fail(
            InputError(
                "ingest",
                f"no path given and no default log folder exists (looked in {looked})",
                "name files or folders, e.g. `agentprof ingest traces/`, or send OTLP to "
                "`agentprof serve`",
            )
        )
    for folder in found:
        _err(f"reading {folder.agent} logs in {folder.path} ({folder.origin})")
    return [str(f.path) for f in found]


def _with_progress(work: Any) -> IngestSummary:
    if not sys.stderr.isatty():
        return work(None)  # type: ignore[no-any-return]
    bar = Progress(
        TextColumn("ingest"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TextColumn("{task.fields[mb]:.1f} MB"),
        TextColumn("{task.fields[spans]:,} spans"),
        TextColumn("{task.fields[rate]:,.0f} spans/s"),
        TimeElapsedColumn(),
        console=render.console(stderr=True),
        transient=True,
    )
    start = time.perf_counter()
    with bar:
        task = bar.add_task("ingest", total=None, mb=0.0, spans=0, rate=0.0)

        def update(done: int, total: int, nbytes: int, spans: int) -> None:
            elapsed = max(time.perf_counter() - start, 1e-6)
            bar.update(
                task,
                completed=done,
                total=total,
                mb=nbytes / 1e6,
                spans=spans,
                rate=spans / elapsed,
            )

        return work(update)  # type: ignore[no-any-return]


def _report_ingest(summary: IngestSummary, json_out: bool) -> None:
    for exc in summary.errors:
        _err(exc.message())
    for w in summary.warnings:
        _err(f"warning: {w}")
    if summary.records_skipped:
        _err(
            f"{summary.records_skipped:,} of {summary.records:,} records skipped "
            f"(kept in the quarantine table; `agentprof quarantine` lists them):"
        )
        for example in summary.skipped_examples:
            _err(f"  {example}")
    if json_out:
        _print_json(summary.as_json())
        return
    unchanged = f" ({summary.files_unchanged} unchanged)" if summary.files_unchanged else ""
    failed = f", {summary.files_failed} failed" if summary.files_failed else ""
    _err(
        f"ingested {summary.files} files{unchanged}{failed}: {summary.spans:,} new spans, "
        f"{summary.runs:,} runs, {summary.ticks:,} ticks, {summary.tool_calls:,} tool calls, "
        f"{summary.records_skipped:,} records skipped, {summary.seconds:.2f} s"
    )


def _open_read(db: Path, wait: float) -> Any:
    try:
        con = store.connect(db, read_only=True, wait_s=wait)
    except AgentprofError as exc:
        _fail(exc)
    pending = store.pending_traces(con)
    if pending:
        _err(
            f"warning: {pending:,} runs have spans that an unfinished ingest stored but did not "
            "derive; their figures are from before it (any `agentprof ingest` finishes them)"
        )
    return con


# Narrow terminals lose these first, in this order; JSON always has every column.
RUNS_OPTIONAL = (
    "cache_read_write_ratio",
    "harness_ms",
    "tool_ms",
    "model_ms",
    "output_tokens",
    "input_uncached_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "tool_calls",
    "source",
    "cache_hit_ratio",
)
RUNS_COLUMNS = (
    "run_id",
    "source",
    "agent",
    "started_at",
    "ticks",
    "tool_calls",
    "input_uncached_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "cost_usd",
    "wall_ms",
    "model_ms",
    "tool_ms",
    "harness_ms",
    "cache_hit_ratio",
    "cache_read_write_ratio",
)


@app.command("runs")
def runs_cmd(
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    sort: Annotated[str, typer.Option(help="Order: started, cost, ticks or wall.")] = "started",
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """One line per run: ticks, tool calls, tokens by class, cost, time split, cache hit ratio
    and cache reads per write."""
    if sort not in ("started", "cost", "ticks", "wall"):
        raise typer.BadParameter("must be one of started, cost, ticks, wall", param_hint="--sort")
    params = {
        "since": _parse_time(since, "--since"),
        "until": _parse_time(until, "--until"),
        "source": source,
        "agent": agent,
        "sort": sort,
        "run_id": None,
    }
    con = _open_read(db, wait)
    try:
        result = sql.run(con, "report/runs", params)
        shown = {} if json_out else ids.short_ids(con, result.column("run_id"))
    finally:
        con.close()
    if json_out:
        _print_json({"runs": result.records()})
        return
    if not result.rows:
        _err("no runs in the database (run `agentprof ingest PATH` first)")
        return
    out = render.console()
    out.print(
        render.table(
            result, RUNS_COLUMNS, width=out.width, drop_first=RUNS_OPTIONAL, short_ids=shown
        )
    )


@app.command("ticks")
def ticks_cmd(
    run_id: Annotated[str, typer.Argument(help="A run id (or a unique prefix of one).")],
    db: DbOption = DEFAULT_DB,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """The per-tick ledger of one run: tokens by class, cost and cumulative cost per model call."""
    con = _open_read(db, wait)
    try:
        full_id = _resolve_run(con, run_id)
        result = sql.run(con, "report/ticks", {"run_id": full_id})
    finally:
        con.close()
    if json_out:
        _print_json({"run_id": full_id, "ticks": result.records()})
        return
    cols = (
        "tick",
        "started_at",
        "model",
        "latency_ms",
        "ttft_ms",
        "input_uncached_tokens",
        "cache_read_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "cache_write_tokens",
        "output_tokens",
        "cost_usd",
        "cumulative_cost_usd",
        "tool_calls",
        "cache_read_write_ratio",
    )
    # Narrow terminals keep every token class that the cost is made of: the two cache-write
    # columns fold into one (cache_write_tokens, shown only in the terminal) before any goes.
    optional = (
        "cache_read_write_ratio",
        "started_at",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "tool_calls",
        "ttft_ms",
        "model",
        "cumulative_cost_usd",
    )
    out = render.console()
    out.print(
        render.table(
            _with_cache_writes(result),
            cols,
            title=f"run {full_id}",
            width=out.width,
            drop_first=optional,
        )
    )


def _with_cache_writes(result: sql.Result) -> sql.Result:
    """The ledger with one more column: 5-minute + 1-hour cache writes (NULL when neither is
    reported)."""
    w5, w1h = (
        result.columns.index("cache_write_5m_tokens"),
        result.columns.index("cache_write_1h_tokens"),
    )
    rows = [
        (*row, None if row[w5] is None and row[w1h] is None else (row[w5] or 0) + (row[w1h] or 0))
        for row in result.rows
    ]
    return sql.Result(result.name, [*result.columns, "cache_write_tokens"], rows)


@app.command("sessions")
def sessions_cmd(
    session_id: Annotated[
        str | None, typer.Argument(help="A session id (or a unique prefix): list its runs.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """One line per session (a conversation) with its project, turns, subagent runs, cost, time
    the agent worked and time elapsed; with SESSION_ID, that session's turns and subagent runs."""
    query = periods.sessions(
        since=_parse_time(since, "--since"),
        until=_parse_time(until, "--until"),
        source=source,
        agent=agent,
        project=project,
    )
    con = _open_read(db, wait)
    try:
        if session_id is None:
            result = sql.run(con, query.name, query.params)
            key = "session_id"
        else:
            session_id = _resolve_session(con, session_id)
            result = sql.run(con, "report/session_runs", {"session_id": session_id})
            key = "run_id"
        shown = {} if json_out else ids.short_ids(con, result.column(key))
        if session_id is not None and not json_out:
            shown.update(ids.short_ids(con, result.column("parent_run_id")))
    finally:
        con.close()
    if json_out:
        key = "sessions" if session_id is None else "runs"
        _print_json({"session_id": session_id, key: result.records()})
        return
    out = render.console()
    if session_id is None:
        if not result.rows:
            _err("no sessions in the database (run `agentprof ingest PATH` first)")
            return
        cols: tuple[str, ...] = (
            "session_id", "source", "project", "turns", "subagent_runs", "ticks", "cost_usd",
            "active_ms", "elapsed_ms", "started_at",
        )  # fmt: skip
        optional: tuple[str, ...] = (
            "project", "started_at", "subagent_runs", "source", "elapsed_ms",
        )  # fmt: skip
        out.print(render.table(result, cols, width=out.width, drop_first=optional, short_ids=shown))
        return
    cols = ("run_id", "parent_run_id", "agent", "started_at", "ticks", "cost_usd", "wall_ms")
    optional = ("agent", "started_at", "parent_run_id")
    title = f"session {session_id}"
    out.print(
        render.table(
            result, cols, title=title, width=out.width, drop_first=optional, short_ids=shown
        )
    )


def _resolve_session(con: Any, session_id: str) -> str:
    """A full session id from an id or a unique prefix of one."""
    try:
        return ids.resolve(con, "session", session_id, "`agentprof sessions` lists them")
    except AgentprofError as exc:
        _fail(exc)


def _resolve_run(con: Any, run_id: str) -> str:
    """A full run id from an id or a unique prefix of one."""
    try:
        return ids.resolve(con, "run", run_id, "`agentprof runs` lists run ids")
    except AgentprofError as exc:
        _fail(exc)


@app.command("quarantine")
def quarantine_cmd(
    db: DbOption = DEFAULT_DB, json_out: JsonOption = False, wait: WaitOption = 30.0
) -> None:
    """Records that could not be ingested, with path:line and the reason."""
    con = _open_read(db, wait)
    try:
        result = sql.run(con, "report/quarantine")
    finally:
        con.close()
    if json_out:
        _print_json({"quarantine": result.records()})
        return
    out = render.console()
    for path, line, reason, _excerpt, _at in result.rows:
        where = _shown_path(path) if line is None else f"{_shown_path(path)}:{line}"
        out.print(Text(render.safe(f"{where}: {reason}")))


def _shown_path(path: str) -> str:
    """A stored (absolute) path relative to the working directory when it lies below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


@app.command("diagnose")
def diagnose_cmd(
    run_id: Annotated[
        str | None,
        typer.Argument(help="One run (id or unique prefix) in depth; all runs if omitted."),
    ] = None,
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    sort: Annotated[
        str, typer.Option(help="Order within each class: cost, saving or started.")
    ] = "cost",
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Bottlenecks or findings, comma-separated (e.g. slow_tool,too_many_ticks):"
            " exit 3 if any run has one.",
        ),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", help="Override a threshold: NAME=VALUE (repeatable)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file whose [thresholds] table overrides the defaults and whose [tools]"
            " table lists cacheable and stateful tools (glob patterns).",
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", min=0, help="Runs shown per class in the table (0: all; --json has all)."
        ),
    ] = 20,
    all_ticks: Annotated[
        bool,
        typer.Option(
            "--all-ticks",
            help="With RUN_ID: every tick and tool call, even on a long run (by default a run of"
            " more than 30 ticks or tool calls shows ticks by segments and tool calls by tool).",
        ),
    ] = False,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """Classify each run's bottleneck (long_inputs, too_many_ticks, slow_tool or healthy) with the
    evidence, the lever and what it would save."""
    if sort not in SORTS:
        raise typer.BadParameter("must be one of " + ", ".join(SORTS), param_hint="--sort")
    kinds = {k.strip() for k in (fail_on or "").split(",") if k.strip()}
    unknown = kinds - set(KINDS)
    if unknown:
        raise typer.BadParameter(
            f"unknown kind(s) {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}",
            param_hint="--fail-on",
        )
    try:
        thresholds = load_thresholds(config, threshold or [])
        tools = load_tool_rules(config)
    except AgentprofError as exc:
        _fail(exc)
    since_t, until_t = _parse_time(since, "--since"), _parse_time(until, "--until")
    con = _open_read(db, wait)
    try:
        full_id = _resolve_run(con, run_id) if run_id else None
        result = diagnose(
            con,
            run_id=full_id,
            since=since_t,
            until=until_t,
            source=source,
            agent=agent,
            thresholds=thresholds,
            tools=tools,
            sort=sort,
            detail=full_id is not None,
        )
        shown = ids.short_ids(con, (r["run_id"] for r in result.runs)) if not json_out else {}
    finally:
        con.close()
    document = result.as_json()
    failures = failing_runs(result, kinds)
    if json_out:
        if kinds:
            document["fail_on"] = {
                "kinds": sorted(kinds),
                "failed": [{"run_id": r, "kind": k} for r, k in failures],
            }
        _print_json(document)
    elif not result.runs:
        _err("no runs to diagnose (run `agentprof ingest PATH` first, or widen the filters)")
    else:
        out = render.console()
        parts = (
            render.run_view(result.runs[0], out.width, all_ticks=all_ticks)
            if full_id
            else render.fleet(document, out.width, limit, shown)
        )
        for part in parts:
            out.print(render.safe_text(part))
    if failures:
        for r, k in failures:
            _err(f"fail-on: run {r} has {k}")
        raise typer.Exit(int(ExitCode.GATE_FAILED))


@app.command("serve")
def serve_cmd(
    db: DbOption = DEFAULT_DB,
    host: Annotated[
        str, typer.Option(help="Address to listen on (anything but loopback is warned about).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="TCP port (0 picks a free one).", min=0, max=65535)
    ] = 4318,
    spool_dir: Annotated[
        Path | None,
        typer.Option("--spool", help="Spool folder (default: the database path + .spool)."),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            envvar="AGENTPROF_PRICES",
            help="TOML price file that overrides or adds models.",
        ),
    ] = None,
    max_body_mb: Annotated[
        float, typer.Option(help="Largest request body accepted, in MB (as sent).", min=0.001)
    ] = 16.0,
    max_decoded_mb: Annotated[
        float, typer.Option(help="Largest body after gzip decompression, in MB.", min=0.001)
    ] = 64.0,
    max_spool_mb: Annotated[
        float,
        typer.Option(
            help="Answer 429 while the spool holds more than this many MB not yet in the database.",
            min=0.001,
        ),
    ] = 2048.0,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="One stderr line per database batch.")
    ] = False,
) -> None:
    """Receive OTLP/HTTP (POST /v1/traces, /v1/logs) and store it while the agent runs."""
    from agentprof import serve

    if not serve.is_loopback(host):
        _err(
            f"warning: listening on {host}: anyone who can reach it can write into {db}; "
            "the endpoint has no authentication"
        )
    if prices:
        try:
            load_price_file(prices)
        except AgentprofError as exc:
            _fail(exc)
    config = serve.Config(
        db=db,
        spool_dir=spool_dir or serve.default_spool(db),
        host=host,
        port=port,
        prices=prices,
        max_body_bytes=int(max_body_mb * 1e6),
        max_decoded_bytes=int(max_decoded_mb * 1e6),
        max_spool_bytes=int(max_spool_mb * 1e6),
        verbose=verbose,
    )

    def listening(bound_host: str, bound_port: int) -> None:
        _err(
            f"agentprof serve: listening on http://{bound_host}:{bound_port} "
            f"(POST /v1/traces, /v1/logs); database {db}; Ctrl-C stops"
        )

    try:
        summary = serve.run(config, _err, listening)
    except AgentprofError as exc:
        _fail(exc)
    c = summary.counters
    refused = ", ".join(f"{n:,} × {code}" for code, n in sorted(c.refused.items())) or "none"
    _err(
        f"served {c.requests:,} requests in {summary.seconds:.1f} s: {c.spans:,} spans and "
        f"{c.log_records:,} log records accepted ({c.spans_rejected:,} spans rejected), "
        f"refused: {refused}; stored {summary.spans_stored:,} new spans"
    )


# --- report, compare, check, baseline (the HTML report and the CI gate) ----------------------

BaselineOption = Annotated[
    Path | None,
    typer.Option("--baseline", help="A database or a JSON file from `agentprof baseline save`."),
]


def _filters(since: str | None, until: str | None, source: str | None, agent: str | None) -> Any:
    from agentprof.gate import Filters

    return Filters(_parse_time(since, "--since"), _parse_time(until, "--until"), source, agent)


def _generated_at() -> str:
    # SOURCE_DATE_EPOCH (the reproducible-builds convention) pins the timestamp for golden files.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@app.command("report")
def report_cmd(
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="HTML file to write (default report.html)."),
    ] = None,
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Runs with a drill-down section (default 50).")
    ] = 50,
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="A drill-down section for every run.")
    ] = False,
    sort: Annotated[
        str, typer.Option("--sort", help="Which runs get drill-downs: cost, saving, ticks, wall.")
    ] = "cost",
    baseline: BaselineOption = None,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """Write one self-contained HTML report (opens offline): fleet totals, bottlenecks, savings,
    cost and latency by agent/model/tool, and per-run tick ledgers, tool Gantt and findings."""
    from agentprof import gate, html, report

    if sort not in report.SORTS:
        raise typer.BadParameter("must be one of cost, saving, ticks, wall", param_hint="--sort")
    filters = _filters(since, until, source, agent)
    con = _open_read(db, wait)
    try:
        base = gate.load_baseline(baseline, filters, wait) if baseline else None
        rep = report.build(
            con,
            filters,
            top=None if all_runs else top,
            sort=sort,
            generated_at=_generated_at(),
            baseline=base,
        )
    except AgentprofError as exc:
        _fail(exc)
    finally:
        con.close()
    if not rep.runs.rows:
        _err("no runs in the selection (run `agentprof ingest PATH` first); the report is empty")
    target = output if output is not None or not json_out else None
    if target is None and not json_out:
        target = Path("report.html")
    if target is not None:
        text = html.render_report(rep)
        target.write_text(text, encoding="utf-8")
        _err(
            f"wrote {target}: {len(rep.runs.rows):,} runs, {len(rep.details):,} drill-downs, "
            f"{len(text.encode()) / 1e6:.2f} MB"
        )
    if json_out:
        _print_json(rep.as_json())


def _money(value: str, flag: str) -> float:
    try:
        return float(value.strip().lstrip("$"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an amount in USD", param_hint=flag) from None


def _fraction(value: str, flag: str) -> float:
    """0.6, or 60%: a ratio between 0 and 1."""
    text = value.strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1 and not (flag == "--max-regression" and number >= 0):
        raise typer.BadParameter(
            f"{value!r} is not a fraction (0.6 or 60%)", param_hint=flag
        ) from None
    return number


def _duration_ms(value: str, flag: str) -> float:
    """30s, 1500ms, 2m; a bare number is seconds."""
    text = value.strip().lower()
    for suffix, factor in (("ms", 1.0), ("s", 1000.0), ("m", 60_000.0), ("h", 3_600_000.0)):
        if text.endswith(suffix):
            text, scale = text[: -len(suffix)], factor
            break
    else:
        scale = 1000.0
    try:
        return float(text) * scale
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a duration (e.g. 30s, 1500ms, 2m)", param_hint=flag
        ) from None


@app.command("check")
def check_cmd(
    db: DbOption = DEFAULT_DB,
    max_cost_per_run: Annotated[
        str | None, typer.Option(help="No run may cost more (USD).")
    ] = None,
    max_cost_p50: Annotated[str | None, typer.Option(help="Median cost per run (USD).")] = None,
    max_cost_p95: Annotated[str | None, typer.Option(help="p95 cost per run (USD).")] = None,
    max_ticks_per_run: Annotated[
        int | None, typer.Option(help="No run may have more ticks.", min=0)
    ] = None,
    max_ticks_p95: Annotated[float | None, typer.Option(help="p95 ticks per run.", min=0)] = None,
    max_wall_p95: Annotated[
        str | None, typer.Option(help="p95 run wall-clock (30s, 1500ms, 2m; bare = seconds).")
    ] = None,
    min_cache_hit: Annotated[
        str | None, typer.Option(help="Fleet cache hit ratio at least (0.6 or 60%).")
    ] = None,
    max_share: Annotated[
        list[str] | None,
        typer.Option(help="CLASS=FRACTION: at most this share of runs in a bottleneck class."),
    ] = None,
    baseline: BaselineOption = None,
    max_regression: Annotated[
        str | None,
        typer.Option(help="With --baseline: how much worse each metric may get (10% or 0.1)."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """The CI gate: exit 0 when every budget holds, 3 when one breaks (each failure names the
    metric, the budget, the value, by how much and the runs responsible), 1 on errors."""
    from agentprof import gate

    budgets: list[gate.Budget] = []
    for flag, metric, raw in (
        ("--max-cost-per-run", "cost_per_run_max_usd", max_cost_per_run),
        ("--max-cost-p50", "cost_per_run_p50_usd", max_cost_p50),
        ("--max-cost-p95", "cost_per_run_p95_usd", max_cost_p95),
    ):
        if raw is not None:
            budgets.append(gate.Budget(flag, metric, _money(raw, flag)))
    if max_ticks_per_run is not None:
        budgets.append(
            gate.Budget("--max-ticks-per-run", "ticks_per_run_max", float(max_ticks_per_run))
        )
    if max_ticks_p95 is not None:
        budgets.append(gate.Budget("--max-ticks-p95", "ticks_per_run_p95", max_ticks_p95))
    if max_wall_p95 is not None:
        wall = _duration_ms(max_wall_p95, "--max-wall-p95")
        budgets.append(gate.Budget("--max-wall-p95", "wall_p95_ms", wall))
    if min_cache_hit is not None:
        limit = _fraction(min_cache_hit, "--min-cache-hit")
        budgets.append(gate.Budget("--min-cache-hit", "cache_hit_ratio", limit, "min"))
    shares: dict[str, float] = {}
    for item in max_share or []:
        cls, eq, frac = item.partition("=")
        if not eq or not cls.strip():
            raise typer.BadParameter(f"{item!r} is not CLASS=FRACTION", param_hint="--max-share")
        shares[cls.strip()] = _fraction(frac, "--max-share")
    if (baseline is None) != (max_regression is None):
        raise typer.BadParameter(
            "--baseline and --max-regression go together", param_hint="--max-regression"
        )
    regression = _fraction(max_regression, "--max-regression") if max_regression else None
    if not budgets and not shares and baseline is None:
        raise typer.BadParameter(
            "give at least one budget (e.g. --max-cost-p95 0.50) or --baseline",
            param_hint="check",
        )
    filters = _filters(since, until, source, agent)
    con = _open_read(db, wait)
    try:
        base = gate.load_baseline(baseline, filters, wait) if baseline else None
        result = gate.check(
            con, budgets, filters, max_shares=shares, baseline=base, max_regression=regression
        )
    except AgentprofError as exc:
        _fail(exc)
    finally:
        con.close()
    if json_out:
        _print_json(result.as_json())
    else:
        out = render.console()
        for c in result.checks:
            out.print(Text(render.safe(_check_line(c))))
    for note in result.notes:
        _err(f"note: {note}")
    failed = sum(not c.passed for c in result.checks)
    if failed:
        _err(
            f"check failed: {failed} of {len(result.checks)} budgets broken ({result.runs:,} runs)"
        )
        raise typer.Exit(int(ExitCode.GATE_FAILED))
    _err(f"check passed: {len(result.checks)} budgets hold ({result.runs:,} runs)")


def _check_line(c: Any) -> str:
    fmt = render.format_value
    if c.kind == "min":
        cmp = "≥" if c.passed else "<"
    else:
        cmp = "≤" if c.passed else ">"
    verdict = "pass" if c.passed else "FAIL"
    line = f"{verdict} {c.metric} {fmt(c.metric, c.actual)} {cmp} budget {fmt(c.metric, c.budget)}"
    if c.baseline is not None:
        line += f" (baseline {fmt(c.metric, c.baseline)})"
    line += f" [{c.flag}]"
    if not c.passed:
        if c.metric.endswith("_ratio"):  # a ratio's excess is in percentage points
            by = f"{c.excess * 100:.1f} points"
        else:
            ratio = f" ({c.excess_ratio * 100:+.1f}%)" if c.excess_ratio is not None else ""
            by = f"{fmt(c.metric, c.excess)}{ratio}"
        line += f": {'over' if c.kind == 'max' else 'under'} by {by}"
        if c.runs:
            line += "; runs: " + ", ".join(r[:16] for r in c.runs)
    return line


@app.command("compare")
def compare_cmd(
    old: Annotated[
        str,
        typer.Argument(
            help="The earlier database or baseline JSON; or run A (a run id or unique prefix)."
        ),
    ],
    new: Annotated[
        str,
        typer.Argument(help="The later database or baseline JSON; or run B (id or prefix)."),
    ],
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="With two run ids: also write the comparison as HTML."),
    ] = None,
) -> None:
    """What moved between two databases (or baseline files): cost, ticks, wall p50/p95, cache
    hit ratio, and runs per bottleneck class. When neither argument is an existing file, they are
    two runs of --db compared side by side: ticks aligned, tokens and cost per tick, tools called,
    the first tick where they diverge, and the totals (-o FILE writes them as a page too)."""
    from agentprof import gate

    if not Path(old).exists() and not Path(new).exists():
        if any(f is not None for f in (since, until, source, agent)):
            raise typer.BadParameter(
                "--since/--until/--source/--agent select runs of two databases; "
                "two run ids need none",
                param_hint="compare",
            )
        _compare_runs(old, new, db, json_out, wait, output)
        return
    if output is not None:
        raise typer.BadParameter("writes HTML for two run ids only", param_hint="--output")
    filters = _filters(since, until, source, agent)
    try:
        comparison = gate.compare(
            gate.load_baseline(Path(old), filters, wait),
            gate.load_baseline(Path(new), filters, wait),
        )
    except AgentprofError as exc:
        _fail(exc)
    if json_out:
        _print_json({"old": str(old), "new": str(new), **comparison.as_json()})
        return
    out = render.console()
    out.print(
        render.table(
            _compare_result(comparison.metric_rows()),
            title=f"{old} → {new}",
            width=out.width,
            drop_first=("change",),
        )
    )
    rows = comparison.bottleneck_rows()
    if rows:
        table = sql.Result("bottlenecks", list(rows[0]), [tuple(r.values()) for r in rows])
        drop = ("old_cost_usd", "new_cost_usd", "old_share_ratio", "new_share_ratio")
        out.print(render.table(table, width=out.width, drop_first=drop))


def _compare_result(rows: list[dict[str, Any]]) -> sql.Result:
    # Old/new values carry the unit of their metric, so they are formatted here, per row.
    fmt = render.format_value
    cols = ["metric", "old", "new", "change", "relative_change_ratio", "verdict"]
    out = []
    for r in rows:
        m = r["metric"]
        verdict = {True: "worse", False: "better", None: ""}[r["worse"]]
        out.append(
            (m, fmt(m, r["old"]), fmt(m, r["new"]), fmt(m, r["change"]), r["change_ratio"], verdict)
        )
    return sql.Result("compare", cols, out)


def _compare_runs(
    run_a: str, run_b: str, db: Path, json_out: bool, wait: float, output: Path | None
) -> None:
    from agentprof.compare_runs import compare_runs

    con = _open_read(db, wait)
    try:
        full_a, full_b = _resolve_run(con, run_a), _resolve_run(con, run_b)
        comparison = compare_runs(con, full_a, full_b)
    finally:
        con.close()
    if output is not None:
        from agentprof import html

        try:
            output.write_text(html.render_compare(comparison, _generated_at()), encoding="utf-8")
        except OSError as exc:
            _fail(InputError(str(output), f"cannot write ({exc.strerror or exc})"))
        _err(f"wrote {output}")
    if json_out:
        _print_json({"run_a": full_a, "run_b": full_b, **comparison.as_json()})
        return
    if output is not None:
        return
    out = render.console()
    for part in render.run_comparison(comparison, out.width):
        out.print(part)


@app.command("spans")
def spans_cmd(
    run_id: Annotated[str, typer.Argument(help="A run id (or a unique prefix of one).")],
    db: DbOption = DEFAULT_DB,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """The run's raw spans as a tree: name, duration, and the tick or tool call each became;
    `--json` gives every span in tree order with depth, parent and all its attributes, uncut
    (prompts and answers included)."""
    from agentprof import spans

    con = _open_read(db, wait)
    try:
        full_id = _resolve_run(con, run_id)
        rows = spans.span_rows(con, [full_id])
    finally:
        con.close()
    if json_out:
        total = rows[0]["spans_in_run"] if rows else 0
        _print_json({"run_id": full_id, "spans_in_run": total, "spans": rows})
        return
    out = render.console()
    for line in render.span_tree(rows, full_id):
        out.print(line)


baseline_app = typer.Typer(help="Store fleet metrics as a JSON baseline for `check --baseline`.")
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("save")
def baseline_save_cmd(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="JSON file to write (default: stdout).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    wait: WaitOption = 30.0,
) -> None:
    """Write the fleet metrics `check --baseline` and `compare` read (cost, ticks and wall-clock
    per run, cache hit ratio, runs per bottleneck class)."""
    from agentprof import gate

    filters = _filters(since, until, source, agent)
    con = _open_read(db, wait)
    try:
        doc = gate.baseline_document(con, filters)
    except AgentprofError as exc:
        _fail(exc)
    finally:
        con.close()
    if output is None:
        _print_json(doc)
        return
    output.write_text(render.to_json(doc) + "\n", encoding="utf-8")
    _err(f"wrote {output}: baseline of {doc['metrics']['runs']:,} runs")


# --- usage reports (organisation usage/cost reports; FORMATS.md §4.6–§4.9) -------------------


@app.command("usage")
def usage_cmd(
    db: DbOption = DEFAULT_DB,
    by: Annotated[str, typer.Option(help="Group by: model, day or key.")] = "model",
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """Cost and tokens from ingested usage reports by model, day or API key, reconciled against
    the tick ledger for the days the reports cover."""
    if by not in ("model", "day", "key"):
        raise typer.BadParameter("must be one of model, day, key", param_hint="--by")
    con = _open_read(db, wait)
    try:
        usage = sql.run(con, "report/usage_by", {"by": by})
        recon = sql.run(con, "report/usage_reconcile")
    finally:
        con.close()
    if json_out:
        _print_json({"by": by, "usage": usage.records(), "reconciliation": recon.records()})
        return
    if not usage.rows:
        _err("no usage reports in the database (ingest an Admin/Usage API report first)")
        return
    out = render.console()
    usage_drop = ("reports", "cache_write_tokens", "requests", "cache_read_tokens")
    out.print(render.table(usage, title=f"usage by {by}", width=out.width, drop_first=usage_drop))
    if recon.rows:
        recon_drop = (
            "provider",
            "report_output_tokens",
            "ledger_output_tokens",
            "report_input_tokens",
            "ledger_input_tokens",
        )
        out.print(
            render.table(
                recon, title="reports vs tick ledger", width=out.width, drop_first=recon_drop
            )
        )


# --- calendar views of spend (ccusage's daily, monthly and blocks) ---------------------------

TimezoneOption = Annotated[
    str,
    typer.Option(
        "--timezone",
        "-z",
        help="IANA time zone the days and months are counted in (e.g. Europe/Paris).",
    ),
]
ByOption = Annotated[
    str, typer.Option("--by", help="total: one row per period; project: per period and project.")
]


def _calendar(
    period: str,
    db: Path,
    filters: tuple[str | None, str | None, str | None, str | None, str | None],
    timezone: str,
    by: str,
    json_out: bool,
    wait: float,
) -> None:
    if by not in periods.GROUPINGS:
        raise typer.BadParameter("must be one of total, project", param_hint="--by")
    since, until, source, agent, project = filters
    try:
        query = periods.calendar(
            period,
            since=_parse_time(since, "--since"),
            until=_parse_time(until, "--until"),
            source=source,
            agent=agent,
            project=project,
            timezone=timezone,
            by=by,
        )
    except AgentprofError as exc:
        raise typer.BadParameter(
            f"{timezone!r} is not a time zone", param_hint="--timezone"
        ) from exc
    con = _open_read(db, wait)
    try:
        result = sql.run(con, query.name, query.params)
    finally:
        con.close()
    if json_out:
        head = {"timezone": query.params["timezone"], "by": by} if period != "blocks" else {}
        _print_json({**head, period: result.records()})
        return
    if not result.rows:
        _err("no ticks in the selection (run `agentprof ingest PATH` first, or widen the filters)")
        return
    cols = [c for c in result.columns if c not in ("unpriced_ticks", "ends_at")]
    if by != "project" and "project" in cols:
        cols.remove("project")
    optional = ("models", "last_tick_at", "sessions", "runs", "ticks", "total_tokens",
                "input_uncached_tokens")  # fmt: skip
    out = render.console()
    out.print(render.table(_short_projects(result), cols, width=out.width, drop_first=optional))


def _short_projects(result: sql.Result) -> sql.Result:
    """Projects as their last path component where that is unique (the terminal has no room
    for whole paths; --json keeps them)."""
    if "project" not in result.columns:
        return result
    i = result.columns.index("project")
    full = {r[i] for r in result.rows if isinstance(r[i], str)}
    tails: dict[str, set[str]] = {}
    for p in full:
        tails.setdefault(p.rstrip("/").rsplit("/", 1)[-1] or p, set()).add(p)
    short = {p: t for t, ps in tails.items() if len(ps) == 1 for p in ps}
    rows = [(*r[:i], short.get(r[i], r[i]), *r[i + 1 :]) for r in result.rows]
    return sql.Result(result.name, result.columns, rows)


@app.command("daily")
def daily_cmd(
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    project: ProjectOption = None,
    timezone: TimezoneOption = "UTC",
    by: ByOption = "total",
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """Tokens by class, cost and models per day (ticks counted on the day they started, UTC
    unless --timezone), as ccusage's `daily`; --by project splits each day by project."""
    _calendar("daily", db, (since, until, source, agent, project), timezone, by, json_out, wait)


@app.command("monthly")
def monthly_cmd(
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    project: ProjectOption = None,
    timezone: TimezoneOption = "UTC",
    by: ByOption = "total",
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """Tokens by class, cost and models per month, as ccusage's `monthly`; --by project splits
    each month by project."""
    _calendar("monthly", db, (since, until, source, agent, project), timezone, by, json_out, wait)


@app.command("blocks")
def blocks_cmd(
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    agent: AgentOption = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """Tokens by class, cost and models per 5-hour billing block, as ccusage's `blocks`: a block
    starts at its first tick floored to the UTC hour and lasts 5 hours; the first tick after that
    opens the next one."""
    _calendar("blocks", db, (since, until, source, agent, project), "UTC", "total", json_out, wait)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        # Ctrl-C outside an ingest (which names the file it stopped): one line, no traceback.
        sys.stderr.write("interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
