"""The report as a person sees it: headless Chromium renders the fixtures' report; the charts
drew (SVG bars in the DOM after load, coloured pixels in the screenshot) and nothing errored."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import FIXTURES, ingest_json, run_cli

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it with apt-get)"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio"]


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=120, check=True
    )


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chromium")
    db = tmp / "fixtures.duckdb"
    ingest_json(
        db, FIXTURES / "otlp", FIXTURES / "realdata", FIXTURES / "bad" / "markup_names.json"
    )
    out = tmp / "report.html"
    ran = run_cli("report", "--db", db, "-o", out, "--all-runs")
    assert ran.exit_code == 0, ran.stderr
    return out


def test_chromium_builds_the_charts_with_the_expected_bars_and_logs_no_errors(report_file):
    ran = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", report_file.as_uri())
    dom = ran.stdout
    # console messages are logged as "CONSOLE(...)" / "Uncaught ..." at --v=0
    assert not re.search(r"CONSOLE|Uncaught|SyntaxError|Refused to", ran.stderr), ran.stderr
    start = dom.index('id="run-01c0ffee000000000000000000000000"')
    run = dom[start : dom.index("</article>", start)]
    assert run.count('<g class="tick">') == 3  # genai_current: 3 ticks
    assert run.count('<g class="gtool">') == 2
    assert dom.count("<svg ") >= 3 * 28  # three charts per run, 27 runs, plus fleet charts
    assert "<script>alert(1)</script>" not in dom.split("<script>\n// Sort")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_chromium_screenshot_shows_the_charts_in_colour(report_file, tmp_path):
    from PIL import Image

    png = tmp_path / "shot.png"
    _chromium(f"--screenshot={png}", "--window-size=1280,2400", report_file.as_uri())
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 2400)
    colours = image.getcolors(maxcolors=1_000_000) or []
    counts = {rgb: n for n, rgb in colours}
    # Not blank: the page is not one colour, and the chart fills of report.css were painted.
    assert len(colours) > 50
    assert counts.get((0x30, 0x63, 0x8E), 0) > 2000  # cost-by-agent bars
    assert counts.get((0x00, 0x79, 0x8C), 0) > 2000  # cache-hit-by-model bars
