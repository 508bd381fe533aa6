"""`agentprof report`: one self-contained HTML file whose charts are drawn from the ledger (bar
and row counts checked against the fixture README), trace text escaped everywhere, deterministic."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from agentprof import html, report, store
from agentprof.gate import Filters
from tests.conftest import FIXTURES, ingest_json, run_cli, runs_json

OTLP = FIXTURES / "otlp"
MARKUP = FIXTURES / "bad" / "markup_names.json"
SCRIPT = "<script>alert(1)</script>"


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> and <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)


def _parse(text: str) -> Elements:
    p = Elements()
    p.feed(text)
    return p


def _article(text: str, run_id: str) -> str:
    start = text.index(f'<article class="run" id="run-{run_id}">')
    return text[start : text.index("</article>", start)]


@pytest.fixture
def fixture_db(db):
    ingest_json(db, OTLP, MARKUP)
    return db


def _render(db, **kw) -> str:
    con = store.connect(db, read_only=True)
    try:
        rep = report.build(con, Filters(), generated_at="2026-11-22T00:00:00Z", **kw)
    finally:
        con.close()
    return html.render_report(rep)


def test_report_writes_one_self_contained_file_with_every_run(fixture_db, tmp_path):
    out = tmp_path / "report.html"
    ran = run_cli("report", "--db", fixture_db, "-o", out)
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout == ""
    assert ran.stderr.startswith(f"wrote {out}: 17 runs, 17 drill-downs")
    text = out.read_text()
    for r in runs_json(fixture_db):
        assert f'id="run-{r["run_id"]}"' in text
    parsed = _parse(text)
    # No external resource of any kind: no src/href leaving the page, no <link>, CSP locks it.
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "img", "iframe", "object")
        assert "src" not in attrs
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#")
    assert "default-src 'none'" in text


def test_tick_bars_gantt_rows_and_cache_bars_match_the_fixture_ledger(fixture_db):
    text = _render(fixture_db)
    # genai_current: 3 ticks (README); tick 1 has unc 400 + cw 600 + out 200, no cache read.
    run = _article(text, "01c0ffee000000000000000000000000")
    assert run.count('<g class="tick">') == 3
    tick1 = run[run.index('<g class="tick">') : run.index("</g>", run.index('<g class="tick">'))]
    assert re.findall(r'<rect class="(\w+)"', tick1) == ["unc", "w5", "out"]
    assert "cache write 5m: 600" in tick1 and "cost: $0.0065" in tick1
    assert run.count('<g class="gmodel">') == 3
    assert run.count('<g class="gtool">') == 2
    assert run.count('<g class="hit">') == 3  # every tick reported cache counts
    assert run.count('<polyline class="cum"') == 1  # the cumulative cost line
    # parallel_tools: three tools one after another; overlapping_tools: two that overlap.
    serial = _article(text, "09c0ffee000000000000000000000000")
    assert serial.count('<rect class="ser"') == 3 and '<rect class="par"' not in serial
    overlap = _article(text, "0ac0ffee000000000000000000000000")
    assert overlap.count('<rect class="par"') == 2 and '<rect class="ser"' not in overlap
    # genai_deprecated reports no cache counts: no cache bars, and it says so (not 0%).
    nocache = _article(text, "02c0ffee000000000000000000000000")
    assert '<g class="hit">' not in nocache
    assert "no tick reported cache token counts" in nocache
    # error_and_status: the failed tool call is marked.
    assert '<rect class="ser err"' in _article(text, "0bc0ffee000000000000000000000000")


def test_trace_strings_render_as_text_in_html_svg_and_titles(fixture_db):
    text = _render(fixture_db)
    assert SCRIPT not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    parsed = _parse(text)
    # Exactly one script element: the report's own table sorter.
    assert [t for t, _ in parsed.tags].count("script") == 1
    assert "alert" not in parsed.scripts[0]
    run = _article(text, "11c0ffee000000000000000000000000")
    # the tool Gantt labels and hover titles inside the SVG are escaped too
    assert re.search(r"<text [^>]*>&lt;script&gt;alert\(1\)&lt;/script&gt;</text>", run)
    assert re.search(r"<title>[^<]*model: &lt;script&gt;alert\(1\)&lt;/script&gt;", run)
    assert "&#39;; DROP TABLE ticks; --" in text
    assert "[b]bold[/b]" in text  # rich markup is not HTML: printed literally


def test_render_is_deterministic_and_has_no_clock_unless_given(fixture_db):
    assert _render(fixture_db) == _render(fixture_db)
    con = store.connect(fixture_db, read_only=True)
    try:
        text = html.render_report(report.build(con, Filters()))
    finally:
        con.close()
    assert "generated" not in text.split("</header>")[0]


def test_top_limits_the_drill_downs_and_picks_the_dearest_runs(fixture_db):
    runs = runs_json(fixture_db, "--sort", "cost")
    text = _render(fixture_db, top=2)
    ids = re.findall(r'<article class="run" id="run-(\w+)">', text)
    assert ids == [runs[0]["run_id"], runs[1]["run_id"]]
    by_ticks = re.findall(
        r'<article class="run" id="run-(\w+)">', _render(fixture_db, top=1, sort="ticks")
    )
    assert len(by_ticks) == 1
    assert next(r for r in runs if r["run_id"] == by_ticks[0])["ticks"] == max(
        r["ticks"] for r in runs
    )


def test_report_json_has_the_same_numbers(fixture_db):
    ran = run_cli("report", "--db", fixture_db, "--json", "--top", "1")
    assert ran.exit_code == 0, ran.stderr
    doc = ran.json()
    assert doc["fleet_totals"]["runs"] == 17
    assert doc["fleet_totals"]["ticks"] == sum(r["ticks"] for r in runs_json(fixture_db))
    assert len(doc["run_details"]) == 1 and len(doc["runs"]) == 17
    assert {"cost_by_agent", "cost_by_model", "time_by_tool", "distribution"} <= set(doc)
    models = {m["model"]: m for m in doc["cost_by_model"]}
    # claude-sonnet-4-6 is only in claude_code_spans (README): unc 60, cr 8500, cw 4800.
    assert models["claude-sonnet-4-6"]["cache_hit_ratio"] == pytest.approx(8500 / 13360)
    assert models["claude-sonnet-4-6"]["ticks"] == 3
    assert models["gpt-4o"]["cache_hit_ratio"] is None


def test_report_with_a_baseline_shows_what_changed(fixture_db, tmp_path):
    base = tmp_path / "base.json"
    old = tmp_path / "old.duckdb"
    ingest_json(old, OTLP / "genai_current.json")
    assert run_cli("baseline", "save", "--db", old, "-o", base).exit_code == 0
    out = tmp_path / "r.html"
    ran = run_cli("report", "--db", fixture_db, "-o", out, "--baseline", base)
    assert ran.exit_code == 0, ran.stderr
    text = out.read_text()
    section = text[text.index('<section id="comparison">') :]
    assert "What changed since the baseline" in section
    assert re.search(r"<td>runs</td><td class=\"num\">1</td><td class=\"num\">17</td>", section)


def test_an_empty_database_gives_an_empty_report_not_a_crash(db, tmp_path):
    store.connect(db).close()
    out = tmp_path / "r.html"
    ran = run_cli("report", "--db", db, "-o", out)
    assert ran.exit_code == 0
    assert "no runs in the selection" in ran.stderr
    assert "<h1>agentprof report</h1>" in out.read_text()


def test_report_core_modules_do_not_import_jinja2_typer_or_rich():
    code = (
        "import sys, agentprof.report, agentprof.gate; "
        "print(sorted(m for m in ('typer', 'rich', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
