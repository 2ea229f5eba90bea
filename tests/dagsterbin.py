"""The Dagster a contract test runs, and its processes.

``executable(name)``: ``dagster``, ``dagster-webserver``, ``dagster-daemon`` or ``python`` of the Dagster
installed beside this Python (the latest, which ``make test`` installs), or of another virtual environment
when ``$KUBECTL_DAGSTER_TEST_DAGSTER_BIN`` names its ``bin`` folder: an older Dagster cannot share the
tool's venv (Dagster 1.8.13 pins pydantic 2.9.2; the kubernetes client 37 needs 2.14.2 or later), so a
version matrix points the tests there. Missing is a failure, never a skip.

``Processes``: every process in a session of its own, ended with its whole process group (``dagster api
grpc`` 1.13 leaves a child serving the port when only the process it started is stopped), each wait bounded.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
from typing import Dict, List, Optional

ENV = "KUBECTL_DAGSTER_TEST_DAGSTER_BIN"
STOP_BOUND = 20  # seconds a process group gets after SIGTERM before SIGKILL


def bin_dir() -> str:
    return os.environ.get(ENV) or os.path.dirname(sys.executable)


def executable(name: str) -> str:
    path = os.path.join(bin_dir(), name)
    assert os.path.exists(path), f"{path} is missing: install Dagster there (or unset ${ENV})"
    return path


@functools.lru_cache(maxsize=None)
def version() -> str:
    """The version of the Dagster these executables run."""
    argv = [executable("python"), "-c", "import dagster; print(dagster.__version__)"]
    return subprocess.run(argv, capture_output=True, check=True, timeout=120).stdout.decode().strip()


class Processes:
    """Processes started in their own sessions; :meth:`stop` ends every process group, then waits (bounded)."""

    def __init__(self, logs):
        self.logs = logs  # a folder for each process's output (stdout and stderr)
        self.started: List[subprocess.Popen] = []

    def start(self, name: str, argv: List[str], env: Dict[str, str], cwd: Optional[str] = None) -> subprocess.Popen:
        log = open(os.path.join(self.logs, f"{name}.log"), "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc.log, proc.name = log, name
        self.started.append(proc)
        return proc

    def stop_one(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_BOUND)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_BOUND)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # children that outlived their parent (the 1.13 grpc child)
        proc.log.close()

    def stop(self) -> None:
        for proc in reversed(self.started):
            self.stop_one(proc)
        self.started.clear()

    def tail(self, proc: subprocess.Popen, limit: int = 3000) -> str:
        with open(proc.log.name, "rb") as handle:
            return handle.read().decode(errors="replace")[-limit:]
