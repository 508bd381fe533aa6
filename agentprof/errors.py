"""The exceptions core code raises; only cli.py turns them into messages and exit codes."""

from __future__ import annotations

import enum
import tomllib
from pathlib import Path
from typing import Any


class ExitCode(enum.IntEnum):
    OK = 0
    USER_ERROR = 1
    USAGE = 2
    GATE_FAILED = 3
    INTERNAL = 4
    INTERRUPTED = 130


class AgentprofError(Exception):
    """A problem the user can fix; `where` is a path, path:line or query name."""

    exit_code = ExitCode.USER_ERROR

    def __init__(self, where: str, what: str, hint: str | None = None) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what
        self.hint = hint

    def message(self) -> str:
        text = f"error: {self.where}: {self.what}"
        return f"{text}; {self.hint}" if self.hint else text


class InputError(AgentprofError):
    """An input file that cannot be ingested at all (nothing from it is written)."""


class UnsupportedInput(InputError):
    """A file in no format agentprof reads (CSV, unknown JSON, …). Named on the command line it is
    an error; found by a folder walk it is skipped and counted in the walk's summary."""


class InternalError(AgentprofError):
    """An unexpected exception (a bug) while reading one input: that input fails, the others go
    in. `detail` keeps the traceback, printed only with --debug (traces hold prompts)."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, where: str, exc: BaseException, detail: str) -> None:
        super().__init__(
            where,
            f"internal error ({type(exc).__name__}: {str(exc)[:200]})",
            "this is a bug: run with --debug for the traceback and report it",
        )
        self.detail = detail


class Interrupted(AgentprofError):
    """Ctrl-C: the file being stored was rolled back; files stored before it stay."""

    exit_code = ExitCode.INTERRUPTED

    def message(self) -> str:
        if not self.where:  # between files, or while deriving: the next run finishes it
            return "interrupted; run the same command again to finish"
        return (
            f"interrupted: nothing of {self.where} was stored; run the same command again to finish"
        )


class DatabaseError(AgentprofError):
    """The database file is locked, too new, or otherwise unusable."""


class NotFoundError(AgentprofError):
    """A run id or other named thing that is not in the database."""


class PriceFileError(AgentprofError):
    """A user price file that cannot be read."""


def read_toml(path: Path, error: type[AgentprofError]) -> dict[str, Any]:
    """A user's TOML file (thresholds, prices); a missing or malformed one raises `error`."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(str(path), f"cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(str(path), f"not valid TOML ({exc})") from exc
