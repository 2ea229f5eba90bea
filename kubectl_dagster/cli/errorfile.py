"""Where a render run as a Helm 4 plugin leaves its error, since Helm 4 discards the plugin's stderr:
the terminal when there is one, and a file that ``kubectl-dagster last-error`` prints (for CI logs)."""

from __future__ import annotations

import os
from typing import Optional

from ..base import constants

MAX_BYTES = 64 * 1024


def path() -> str:
    explicit = os.environ.get(constants.ERROR_FILE_ENV)
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "kubectl-dagster", "last-error.log")


def report(message: str) -> None:
    """Leave ``message`` where a Helm 4 user finds it; never fails."""
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(f"kubectl-dagster: {message}\n")
    except OSError:
        pass
    target = path()
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(message + "\n")
    except OSError:
        pass


def read() -> Optional[str]:
    """The recorded error, or None. Whatever the file holds, it is shown as text (bad bytes replaced)."""
    try:
        with open(path(), "rb") as handle:
            data = handle.read(MAX_BYTES)
    except OSError:
        return None
    return data.decode("utf-8", "replace").rstrip("\n") or None
