"""Only regular files are read (issue 17): a FIFO, /dev/zero or /dev/urandom would block or never
end. In a folder they are skipped with a reason; named on the command line they fail (exit 1)
while the other paths still go in. Symlink loops, dangling symlinks and unreadable folders are
reported, never fatal."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentprof import ingest as ingest_mod
from tests.conftest import FIXTURES, ROOT

GOOD = FIXTURES / "otlp" / "genai_current.json"
OTHER = FIXTURES / "otlp" / "vercel_ai.json"


def agentprof(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # A subprocess with a timeout: the old behaviour was to hang forever on a FIFO.
    return subprocess.run(
        [sys.executable, "-m", "agentprof", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "1000", "NO_COLOR": "1"},
    )


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(GOOD, folder / "a.json")
    os.mkfifo(folder / "fifo.json")
    (folder / "zero.json").symlink_to("/dev/zero")
    (folder / "random.json").symlink_to("/dev/urandom")
    (folder / "dangling.json").symlink_to(folder / "nowhere.json")
    (folder / "loop1.json").symlink_to(folder / "loop2.json")
    (folder / "loop2.json").symlink_to(folder / "loop1.json")
    return folder


def test_special_files_in_a_folder_are_skipped_with_a_reason_and_never_read(
    odd_folder: Path, tmp_path: Path
) -> None:
    ran = agentprof("ingest", "--db", tmp_path / "a.duckdb", odd_folder)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stderr.splitlines()
    assert lines[:6] == [
        f"warning: {odd_folder}/dangling.json: skipped: a dangling symlink (its target does not "
        "exist)",
        f"warning: {odd_folder}/fifo.json: skipped: a named pipe (FIFO), not a regular file",
        f"warning: {odd_folder}/loop1.json: skipped: a symlink loop",
        f"warning: {odd_folder}/loop2.json: skipped: a symlink loop",
        f"warning: {odd_folder}/random.json: skipped: a character device, not a regular file",
        f"warning: {odd_folder}/zero.json: skipped: a character device, not a regular file",
    ]
    assert lines[-1].startswith("ingested 1 files: 6 new spans, 1 runs, 3 ticks")


def test_special_files_named_on_the_command_line_fail_and_the_others_go_in(
    odd_folder: Path, tmp_path: Path
) -> None:
    named = [odd_folder / "fifo.json", "/dev/zero", "/dev/urandom", odd_folder / "loop1.json"]
    ran = agentprof("ingest", "--db", tmp_path / "a.duckdb", GOOD, *named, OTHER, "--json")
    assert ran.returncode == 1
    assert ran.stderr.splitlines()[:4] == [
        f"error: {odd_folder}/fifo.json: a named pipe (FIFO), not a regular file",
        "error: /dev/zero: a character device, not a regular file",
        "error: /dev/urandom: a character device, not a regular file",
        f"error: {odd_folder}/loop1.json: a symlink loop",
    ]
    assert "Traceback" not in ran.stderr
    summary = json.loads(ran.stdout)
    assert (summary["files"], summary["files_failed"]) == (2, 4)


def test_a_glob_matching_a_dangling_symlink_reports_it_and_reads_the_rest(
    odd_folder: Path,
) -> None:
    scan = ingest_mod.scan_paths([str(odd_folder / "*.json")])
    assert [p.name for p in scan.files] == ["a.json"]
    assert {e.message() for e in scan.errors} >= {
        f"error: {odd_folder}/dangling.json: a dangling symlink (its target does not exist)"
    }


def test_an_unreadable_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Permissions do not stop root, so the walk's error is what the test makes happen.
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.walk

    def walk(top, onerror=None, **kw):  # type: ignore[no-untyped-def]
        onerror(PermissionError(errno.EACCES, "Permission denied", str(locked)))
        return real(top, onerror=onerror, **kw)

    monkeypatch.setattr(ingest_mod.os, "walk", walk)
    scan = ingest_mod.scan_paths([str(tmp_path)])
    assert scan.warnings == [f"{locked}: folder skipped: cannot read (Permission denied)"]


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    """Twice on the command line, through a symlink, through a hard link, or inside a folder also
    named: one file, its first path kept; another file with the same bytes is another file."""
    folder = tmp_path / "in"
    folder.mkdir()
    first = folder / "a.json"
    shutil.copy(GOOD, first)
    (folder / "b.json").symlink_to(first)
    os.link(first, folder / "c.json")
    shutil.copy(GOOD, folder / "d.json")  # same content, another file
    scan = ingest_mod.scan_paths([str(first), str(folder), str(first), str(folder / "b.json")])
    assert [p.name for p in scan.files] == ["a.json", "d.json"]
    assert not scan.errors
