"""The command line: parses flags, calls one core function, picks a renderer. The only place
where errors become messages and exit codes."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from agentprof import __version__, render, sql, store
from agentprof.errors import AgentprofError, ExitCode, NotFoundError
from agentprof.ingest import IngestSummary, expand_paths, ingest
from agentprof.pricing import PriceBook, load_price_file

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


def _err(message: str) -> None:
    # Plain writes: one message per line whatever the terminal width, and never markup.
    sys.stderr.write(message + "\n")


def _fail(exc: AgentprofError) -> NoReturn:
    _err(exc.message())
    raise typer.Exit(int(exc.exit_code))


def _print_json(document: Any) -> None:
    sys.stdout.write(render.to_json(document) + "\n")


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
        list[str], typer.Argument(help="Files, globs or folders (walked recursively).")
    ],
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
) -> None:
    """Read OTLP trace exports (JSON, JSON lines, protobuf, Collector exports; .gz/.zst)."""
    try:
        files = expand_paths(paths)
        book = load_price_file(prices) if prices else PriceBook()
        con = store.connect(db, wait_s=wait)
    except AgentprofError as exc:
        _fail(exc)
    try:
        summary = _with_progress(lambda cb: ingest(con, files, prices=book, progress=cb))
    except AgentprofError as exc:
        _fail(exc)
    finally:
        con.close()
    _report_ingest(summary, json_out)
    if summary.errors:
        raise typer.Exit(int(ExitCode.USER_ERROR))


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
        return store.connect(db, read_only=True, wait_s=wait)
    except AgentprofError as exc:
        _fail(exc)


# Narrow terminals lose these first, in this order; JSON always has every column.
RUNS_OPTIONAL = (
    "started_at",
    "cache_write_tokens",
    "harness_ms",
    "tool_ms",
    "model_ms",
    "agent",
    "output_tokens",
    "tool_calls",
    "cache_read_tokens",
)
RUNS_COLUMNS = (
    "run_id",
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
)


@app.command("runs")
def runs_cmd(
    db: DbOption = DEFAULT_DB,
    since: Annotated[
        str | None, typer.Option(help="Only runs started at or after this UTC time.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only runs started before this UTC time.")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Only runs from this source (e.g. otlp).")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Only runs of this agent.")] = None,
    sort: Annotated[str, typer.Option(help="Order: started, cost, ticks or wall.")] = "started",
    json_out: JsonOption = False,
    wait: WaitOption = 30.0,
) -> None:
    """One line per run: ticks, tool calls, tokens by class, cost, time split, cache hit ratio."""
    if sort not in ("started", "cost", "ticks", "wall"):
        raise typer.BadParameter("must be one of started, cost, ticks, wall", param_hint="--sort")
    params = {
        "since": _parse_time(since, "--since"),
        "until": _parse_time(until, "--until"),
        "source": source,
        "agent": agent,
        "sort": sort,
    }
    con = _open_read(db, wait)
    try:
        result = sql.run(con, "report/runs", params)
    finally:
        con.close()
    if json_out:
        _print_json({"runs": result.records()})
        return
    if not result.rows:
        _err("no runs in the database (run `agentprof ingest PATH` first)")
        return
    out = render.console()
    out.print(render.table(result, RUNS_COLUMNS, width=out.width, drop_first=RUNS_OPTIONAL))


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
        matches = sql.run(con, "report/run_exists", {"run_id": run_id}).rows
        if len(matches) != 1:
            why = "no such run" if not matches else "ambiguous run id prefix"
            _fail(NotFoundError(run_id, why, "`agentprof runs` lists run ids"))
        full_id = matches[0][0]
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
        "output_tokens",
        "cost_usd",
        "cumulative_cost_usd",
        "tool_calls",
    )
    optional = (
        "started_at",
        "cache_write_1h_tokens",
        "tool_calls",
        "ttft_ms",
        "model",
        "cumulative_cost_usd",
        "cache_write_5m_tokens",
    )
    out = render.console()
    out.print(
        render.table(result, cols, title=f"run {full_id}", width=out.width, drop_first=optional)
    )


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
        out.print(Text(f"{path}:{line}: {reason}"))


def main() -> None:
    app()
