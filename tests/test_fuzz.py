"""The fuzz suite in `make test`: a bounded, seeded mutation campaign over every reader
(tests/fuzz_ingest.py; `make fuzz` runs a longer one). It runs in a subprocess with a timeout, so
a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

CASES = int(os.environ.get("AGENTPROF_FUZZ_CASES", "1500"))
SEED = int(os.environ.get("AGENTPROF_FUZZ_SEED", "17"))


def test_no_mutated_input_gives_a_traceback_a_hang_or_a_wrong_number() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "tests.fuzz_ingest", "--cases", str(CASES), "--seed", str(SEED)]
        + ["--budget", "50"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    figures = ran.stdout.strip().splitlines()[-1]
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert figures.endswith(
        "0 tracebacks, 0 hangs, 0 wrong numbers stored, 0 derivation failures, "
        "0 native/Python disagreements"
    ), figures
    cases = int(figures.split()[0])
    assert cases >= min(CASES, 300), figures  # the budget must not starve the campaign
