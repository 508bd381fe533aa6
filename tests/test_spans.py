"""The span tree: `agentprof spans RUN_ID` (terminal and --json) and the collapsible tree in the
report's drill-down, checked against the trace files themselves; hostile names stay text, long
values are cut with their size stated, and the page shows at most spans.HTML_MAX_SPANS per run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentprof import spans
from tests.conftest import REAL_OTLP, ingest_json, run_cli
from tests.otlp_builder import span, write_trace

TOOL_RETRY = REAL_OTLP / "pydantic_ai" / "tool_retry.otlp.json"
HOSTILE = "<script>alert(1)</script> [bold]x[/bold] \x1b[31mred\x1b]0;title\x07"
TRACE = "cd" * 16
ROOT = "1" * 16


def _file_spans(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text())
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def _spans_json(db: Path, run_id: str) -> dict[str, Any]:
    ran = run_cli("spans", run_id, "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    return ran.json()  # type: ignore[no-any-return]


@pytest.fixture
def real_run(db):
    if not TOOL_RETRY.exists():
        pytest.skip("../shared/realdata is not beside the checkout")
    ingest_json(db, TOOL_RETRY)
    return db, _file_spans(TOOL_RETRY)


def test_spans_json_is_the_whole_trace_in_tree_order_with_every_attribute_uncut(real_run):
    db, raw = real_run
    run_id = raw[0]["traceId"].lower()
    doc = _spans_json(db, run_id[:8])
    assert doc["run_id"] == run_id
    assert doc["spans_in_run"] == len(raw) == len(doc["spans"])
    assert [s["position"] for s in doc["spans"]] == list(range(1, len(raw) + 1))
    by_id = {s["span_id"]: s for s in doc["spans"]}
    seen: set[str] = set()
    for s in doc["spans"]:  # a parent comes before its children, one level up
        if s["parent_span_id"] is None:
            assert s["depth"] == 0
        else:
            assert s["parent_span_id"] in seen
            assert s["depth"] == by_id[s["parent_span_id"]]["depth"] + 1
        seen.add(s["span_id"])
    root = doc["spans"][0]
    assert root["name"] == "invoke_agent sql_agent" and root["depth"] == 0
    # the root's children in start order
    starts = {s["spanId"]: int(s["startTimeUnixNano"]) for s in raw}
    children = [starts[s["span_id"]] for s in doc["spans"][1:]]
    assert children == sorted(children)
    # Every attribute of the file is there, whole, with its kind and size.
    for s in raw:
        mine = {a["key"]: a for a in by_id[s["spanId"]]["attributes"]}
        for attr in s["attributes"]:
            value = attr["value"].get("stringValue")
            if value is not None:
                assert mine[attr["key"]]["value"] == value
                assert mine[attr["key"]]["chars"] == len(value)
    kinds = {a["key"]: a["kind"] for s in doc["spans"] for a in s["attributes"]}
    assert kinds["gen_ai.input.messages"] == "input"
    assert kinds["gen_ai.output.messages"] == "output"
    assert kinds["gen_ai.tool.call.arguments"] == "input"
    assert kinds["gen_ai.request.model"] == "attribute"
    ticks = [s for s in doc["spans"] if s["tick"] is not None]
    assert [s["tick"] for s in ticks] == [1, 2, 3, 4, 5]
    assert all(s["name"].startswith("chat") for s in ticks)
    assert sum(s["tool_name"] == "run_sql" for s in doc["spans"]) == 4
    # the exception events of the retried calls are kept as event rows
    assert kinds["event exception: exception.message"] == "event"


def test_spans_prints_an_indented_tree_with_the_ledger_role_of_each_span(real_run):
    db, raw = real_run
    run_id = raw[0]["traceId"].lower()
    ran = run_cli("spans", run_id, "--db", db, columns=200)
    assert ran.exit_code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == f"run {run_id}: {len(raw)} spans"
    assert lines[1].startswith("invoke_agent sql_agent · ")
    assert re.match(
        r"  chat gpt-4\.1 · .* · tick 1 · gpt-4\.1 · [\d,]+ in / [\d,]+ out tokens$", lines[2]
    )
    assert re.match(r"  execute_tool run_sql · .* · tool run_sql \(tick 1\)", lines[3])
    assert len(lines) == 1 + len(raw)


def _hostile_trace(tmp_path: Path, extra_spans: int = 0) -> Path:
    long_prompt = "h" * 6_000 + "m" * 345 + "t" * 6_000  # 12,345 characters
    spans_ = [
        span(TRACE, ROOT, HOSTILE, 0, 5000, gen_ai__operation__name="invoke_agent"),
        span(
            TRACE,
            "2" * 16,
            "chat " + HOSTILE,
            0,
            500,
            ROOT,
            gen_ai__operation__name="chat",
            gen_ai__provider__name="anthropic",
            gen_ai__request__model="claude-sonnet-4-5",
            gen_ai__usage__input_tokens=100,
            gen_ai__usage__output_tokens=10,
            gen_ai__input__messages=long_prompt,
            gen_ai__output__messages=HOSTILE,
            app__note=HOSTILE,
            app__long="v" * 500,
        ),
    ]
    for i in range(extra_spans):
        spans_.append(span(TRACE, f"{i + 16:016x}", f"step {i}", 600 + i, 601 + i, ROOT))
    return write_trace(tmp_path / "hostile.json", spans_)


def test_hostile_span_text_prints_literally_in_the_terminal(db, tmp_path):
    ingest_json(db, _hostile_trace(tmp_path))
    ran = run_cli("spans", TRACE, "--db", db)
    assert ran.exit_code == 0, ran.stderr
    assert "<script>alert(1)</script> [bold]x[/bold] \\x1b[31mred\\x1b]0;title\\x07" in ran.stdout
    assert "\x1b" not in ran.stdout and "\x07" not in ran.stdout
    doc = _spans_json(db, TRACE)
    assert doc["spans"][0]["name"] == HOSTILE  # JSON keeps the text as it was
    prompt = next(a for a in doc["spans"][1]["attributes"] if a["key"] == "gen_ai.input.messages")
    assert prompt["value"] == "h" * 6_000 + "m" * 345 + "t" * 6_000
    assert prompt["chars"] == 12_345 and prompt["tail"] is None


def _report(db: Path, tmp_path: Path) -> str:
    out = tmp_path / "report.html"
    ran = run_cli("report", "--db", db, "-o", out)
    assert ran.exit_code == 0, ran.stderr
    return out.read_text()


def _span_tree_html(page: str) -> str:
    start = page.index('<details class="spantree">')
    return page[start : page.index("</article>", start)]


def _span_count(tree: str) -> int:
    return len(re.findall(r'<details class="span(?: err)?"', tree))


def test_the_report_draws_the_span_tree_escaped_with_long_values_cut_and_sized(db, tmp_path):
    ingest_json(db, _hostile_trace(tmp_path))
    tree = _span_tree_html(_report(db, tmp_path))
    assert "span tree: 2 spans" in tree
    assert _span_count(tree) == 2
    assert "<script>" not in tree
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; [bold]x[/bold] \\x1b[31mred\\x1b]0;title\\x07"
        in tree
    )
    assert "\x1b" not in tree and "\x07" not in tree
    # the prompt: its first and last HTML_MESSAGE_CHARS / 2 characters and its full size
    half = spans.HTML_MESSAGE_CHARS // 2
    note = '<span class="cut"> … (12,345 characters; the middle is not shown) … </span>'
    assert f"<pre>{'h' * half}{note}{'t' * half}</pre>" in tree
    assert "h" * (half + 1) not in tree and "t" * (half + 1) not in tree and "mmm" not in tree
    # any other long value: its first HTML_VALUE_CHARS characters and its full size
    shown = "v" * spans.HTML_VALUE_CHARS
    assert f'<td>{shown}<span class="cut"> … (500 characters)</span></td>' in tree
    assert "v" * (spans.HTML_VALUE_CHARS + 1) not in tree
    # the answer is short, so shown whole and with no size note
    assert "output · <code>gen_ai.output.messages</code>" in tree
    # the chat span is tick 1 of the ledger, nested inside the root span
    assert re.search(
        r'<details class="span" open>\s*<summary>.*?</summary>.*?'
        r'<details class="span">\s*<summary><span class="sname">chat ',
        tree,
        re.S,
    )
    assert "tick 1 · claude-sonnet-4-5" in tree


def test_the_report_caps_the_spans_of_a_run_and_says_how_many_are_not_shown(db, tmp_path):
    extra = spans.HTML_MAX_SPANS + 3  # 2 + extra spans in the run
    ingest_json(db, _hostile_trace(tmp_path, extra_spans=extra))
    total = 2 + extra
    tree = _span_tree_html(_report(db, tmp_path))
    assert _span_count(tree) == spans.HTML_MAX_SPANS
    hidden = total - spans.HTML_MAX_SPANS
    assert f"{hidden} more spans not shown" in tree
    assert f"span tree: {total} spans, the first {spans.HTML_MAX_SPANS} shown" in tree
    assert _spans_json(db, TRACE)["spans_in_run"] == total
    assert len(_spans_json(db, TRACE)["spans"]) == total  # the CLI has no cap


def test_spans_caught_in_a_parent_cycle_are_listed_once_as_detached(db, tmp_path):
    trace = "ef" * 16
    a, b = "a" * 16, "b" * 16
    path = write_trace(
        tmp_path / "cycle.json",
        [
            span(trace, ROOT, "root", 0, 100),
            span(trace, a, "loop a", 10, 20, b),
            span(trace, b, "loop b", 20, 30, a),
        ],
    )
    ingest_json(db, path)
    doc = _spans_json(db, trace)
    assert [(s["name"], s["depth"], s["detached"]) for s in doc["spans"]] == [
        ("root", 0, False),
        ("loop a", 0, True),
        ("loop b", 0, True),
    ]


def test_spans_of_an_unknown_run_is_a_user_error(db, tmp_path):
    ingest_json(db, _hostile_trace(tmp_path))
    ran = run_cli("spans", "nosuchrun", "--db", db)
    assert ran.exit_code == 1
    assert ran.stderr.startswith("error: nosuchrun: no such run")


CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_parses_the_span_tree_as_nested_details_and_runs_no_trace_script(db, tmp_path):
    ingest_json(db, _hostile_trace(tmp_path))
    out = tmp_path / "report.html"
    assert run_cli("report", "--db", db, "-o", out).exit_code == 0
    assert CHROMIUM is not None
    ran = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            out.as_uri(),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert not re.search(r"CONSOLE|Uncaught|SyntaxError|Refused to", ran.stderr), ran.stderr
    tree = _span_tree_html(ran.stdout)
    # the browser's own DOM: the chat span is a <details> inside the root span's <details>
    chat = re.search(r'<details class="span">\s*<summary><span class="sname">chat ', tree)
    assert chat is not None
    before = tree[: chat.start()]
    # open <details> around it: the span tree itself and the root span
    assert before.count("<details") - before.count("</details>") == 2
    assert '<details class="span" open="">' in before
    assert "<script" not in tree
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [bold]x[/bold]" in tree
