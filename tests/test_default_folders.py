"""`agentprof ingest` with no path reads the coding agents' default log folders that exist
(HOME, CLAUDE_CONFIG_DIR, CODEX_HOME and GEMINI_CLI_HOME point at temporary copies of fixtures)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REALDATA, ingest_json, run_cli, runs_json


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"):
        monkeypatch.delenv(var, raising=False)
    return home


def sources(db: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in runs_json(db):
        out[r["source"]] = out.get(r["source"], 0) + 1
    return out


def test_with_no_path_and_no_default_folder_it_names_where_it_looked_and_the_otlp_route(
    home: Path, db: Path
) -> None:
    ran = run_cli("ingest", "--db", db)
    assert ran.exit_code == 1
    assert ran.stderr.splitlines() == [
        "error: ingest: no path given and no default log folder exists (looked in "
        "~/.config/claude/projects, ~/.claude/projects, ~/.codex/sessions, ~/.gemini/tmp); "
        "name files or folders, e.g. `agentprof ingest traces/`, or send OTLP to `agentprof serve`"
    ]
    assert not db.exists()


def test_with_no_path_it_reads_the_home_folders_of_claude_code_and_codex(
    home: Path, db: Path, tmp_path: Path
) -> None:
    shutil.copytree(FIXTURES / "claude_code" / "projects", home / ".claude" / "projects")
    shutil.copytree(FIXTURES / "codex" / "sessions", home / ".codex" / "sessions")
    ran = run_cli("ingest", "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    said = [line for line in ran.stderr.splitlines() if line.startswith("reading ")]
    assert said == [
        f"reading Claude Code logs in {home / '.claude' / 'projects'} (~/.claude/projects)",
        f"reading Codex logs in {home / '.codex' / 'sessions'} (~/.codex/sessions)",
    ]
    # The same as naming the fixture folders.
    named = tmp_path / "named.duckdb"
    want = ingest_json(
        named, FIXTURES / "claude_code" / "projects", FIXTURES / "codex" / "sessions"
    )
    got = ran.json()
    for key in ("files", "spans", "runs", "ticks", "tool_calls", "records"):
        assert got[key] == want[key], key
    assert sources(db) == sources(named)
    assert set(sources(db)) == {"claude-code", "codex"}


def test_the_agents_own_environment_variables_name_their_folders(
    home: Path, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude, codex = tmp_path / "claude-config", tmp_path / "codex-home"
    shutil.copytree(FIXTURES / "claude_code", claude)
    shutil.copytree(FIXTURES / "codex", codex)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    monkeypatch.setenv("CODEX_HOME", str(codex))
    ran = run_cli("ingest", "--db", db)
    assert ran.exit_code == 0, ran.stderr
    lines = ran.stderr.splitlines()
    assert lines[:2] == [
        f"reading Claude Code logs in {claude / 'projects'} ($CLAUDE_CONFIG_DIR/projects)",
        f"reading Codex logs in {codex / 'sessions'} ($CODEX_HOME/sessions)",
    ]
    assert set(sources(db)) == {"claude-code", "codex"}


def test_one_folder_reached_two_ways_is_read_once(
    home: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FIXTURES / "codex" / "sessions", home / ".codex" / "sessions")
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    ran = run_cli("ingest", "--db", db)
    assert ran.exit_code == 0, ran.stderr
    said = [line for line in ran.stderr.splitlines() if line.startswith("reading ")]
    assert said == [f"reading Codex logs in {home / '.codex' / 'sessions'} ($CODEX_HOME/sessions)"]


def test_gemini_cli_sessions_live_under_gemini_tmp_and_other_files_there_are_counted_as_skipped(
    home: Path, db: Path
) -> None:
    chats = home / ".gemini" / "tmp" / "0123abcd" / "chats"
    chats.mkdir(parents=True)
    (chats.parent / "logs.json").write_text('[{"sessionId": "s", "type": "user"}]')
    (chats.parent / "shell_history").write_text("ls\n")
    ran = run_cli("ingest", "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert f"reading Gemini CLI logs in {home / '.gemini' / 'tmp'} (~/.gemini/tmp)" in (
        ran.stderr.splitlines()
    )
    assert ran.json()["warnings"] == [
        "skipped 2 files in folders (1 not a format agentprof reads, 1 not a trace or log file "
        f"name): {chats.parent / 'logs.json'}, {chats.parent / 'shell_history'}"
    ]
    assert ran.json()["files"] == 0


def test_gemini_cli_chat_sessions_in_the_default_folder_are_read(home: Path, db: Path) -> None:
    sessions = sorted((REALDATA / "public" / "gemini-cli" / "codemie").glob("session-*.json"))
    if not sessions:
        pytest.skip("../shared/realdata is not beside the checkout")
    chats = home / ".gemini" / "tmp" / "0123abcd" / "chats"
    chats.mkdir(parents=True)
    for s in sessions:
        shutil.copy(s, chats / s.name)
    ran = run_cli("ingest", "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert ran.json()["files"] == len(sessions)
    assert set(sources(db)) == {"gemini-cli"}
