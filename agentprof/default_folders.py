"""Where coding agents keep their logs by default, for `agentprof ingest` with no path: each
agent's own environment variable first, then the home-folder default; only folders that exist."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LogFolder:
    agent: str  # "Claude Code", "Codex", "Gemini CLI"
    path: Path
    origin: str  # how it was found: "$CLAUDE_CONFIG_DIR/projects", "~/.codex/sessions", …


def candidates(env: Mapping[str, str], home: Path) -> list[LogFolder]:
    """Every default log folder, existing or not, in reading order."""
    out: list[LogFolder] = []
    # Claude Code: CLAUDE_CONFIG_DIR (ccusage also accepts a comma-separated list), then
    # ~/.config/claude (newer installs) and ~/.claude.
    for raw in (env.get("CLAUDE_CONFIG_DIR") or "").split(","):
        if raw.strip():
            path = Path(raw.strip()).expanduser() / "projects"
            out.append(LogFolder("Claude Code", path, "$CLAUDE_CONFIG_DIR/projects"))
    out.append(LogFolder("Claude Code", home / ".config" / "claude" / "projects", ""))
    out.append(LogFolder("Claude Code", home / ".claude" / "projects", ""))
    # Codex CLI: CODEX_HOME (default ~/.codex), rollouts under sessions/YYYY/MM/DD.
    if env.get("CODEX_HOME"):
        codex = Path(env["CODEX_HOME"]).expanduser() / "sessions"
        out.append(LogFolder("Codex", codex, "$CODEX_HOME/sessions"))
    out.append(LogFolder("Codex", home / ".codex" / "sessions", ""))
    # Gemini CLI: GEMINI_CLI_HOME holds the .gemini folder (default: the home folder); chat
    # sessions are under tmp/<project hash>/chats.
    if env.get("GEMINI_CLI_HOME"):
        gemini = Path(env["GEMINI_CLI_HOME"]).expanduser() / ".gemini" / "tmp"
        out.append(LogFolder("Gemini CLI", gemini, "$GEMINI_CLI_HOME/.gemini/tmp"))
    out.append(LogFolder("Gemini CLI", home / ".gemini" / "tmp", ""))
    return [
        f if f.origin else LogFolder(f.agent, f.path, "~/" + str(f.path.relative_to(home)))
        for f in out
    ]


def existing(env: Mapping[str, str] | None = None, home: Path | None = None) -> list[LogFolder]:
    """The default log folders that exist, each once (the same folder reached two ways is read
    once, under the first name)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    seen: set[Path] = set()
    out: list[LogFolder] = []
    for folder in candidates(env, home):
        if not folder.path.is_dir():
            continue
        key = folder.path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(folder)
    return out


def searched(env: Mapping[str, str] | None = None, home: Path | None = None) -> list[str]:
    """How each default folder is named, for the message when none exists."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    return list(dict.fromkeys(f.origin for f in candidates(env, home)))
