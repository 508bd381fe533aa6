"""Find the top-level `queries/` and `reports/` folders, from a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    # In a wheel hatch force-includes them under agentprof/_data; in a checkout they sit beside
    # the package. The installed location wins so an editable checkout and a wheel agree.
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"agentprof data folder {name!r} not found beside {_PACKAGE}")
