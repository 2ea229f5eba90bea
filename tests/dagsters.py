"""The Dagster releases the real-Dagster tests run on, and how those tests start and stop its processes.

Releases: the latest is this venv's own (the test extra installs the newest on PyPI); each older one
listed in tests/dagster-versions.txt has a venv of its own under .tools/dagster/VERSION, made by
bin/fetch-dagster (``make test`` runs it). Old Dagster cannot share the tool's venv: 1.8.13 pins
pydantic 2.9.2, the kubernetes client 37 needs 2.14.2 or later. A test gets one release through the
``dagster_install`` fixture (conftest.py): once per release when marked ``every_dagster``, else on
the latest only; or directly with ``install(version)``.

Processes: each starts in a session of its own, with its output in a log file (a pipe nobody reads
fills up and blocks the writer), and stops as the kubelet stops a container: SIGTERM, up to the pod's
grace period for it to exit, then SIGKILL to its whole process group. So no child keeps serving a
port, and no test depends on how fast a busy machine shuts a server down.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSIONS_FILE = ROOT / "tests" / "dagster-versions.txt"
VENVS = ROOT / ".tools" / "dagster"
GRACE = 30.0  # seconds: Kubernetes' default terminationGracePeriodSeconds; the chart sets none for Dagster's pods
BOUND = 90.0  # seconds: a ceiling for Dagster coming up (loading code, answering); reached only when it is broken


@dataclass(frozen=True)
class Install:
    """One Dagster release: its executables (dagster, dagster-webserver, dagster-daemon, python)."""

    version: str
    bin: pathlib.Path

    def exe(self, name: str) -> str:
        path = self.bin / name
        assert path.exists(), f"{path} is missing: run bin/fetch-dagster (make test does)"
        return str(path)

    @property
    def python(self) -> str:
        return self.exe("python")

    def python_output(self, code: str, *args: str, cwd=None, env: Optional[Dict[str, str]] = None) -> str:
        """What ``code`` prints when this release's Python runs it: for Dagster's own Python API, out of process."""
        proc = subprocess.run(
            [self.python, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=BOUND
        )
        assert proc.returncode == 0, f"Dagster {self.version}'s Python failed:\n{proc.stderr[-3000:]}"
        return proc.stdout


# What each older release's webserver cannot give the asset query (diff, status --assets, --base-snapshot):
# {change kind (what): the field its GraphQL schema lacks}. The latest gives everything.
UNSEEN = {
    "1.10.4": {},
    "1.6.14": {
        "partitions (date format)": "PartitionDefinition.fmt",
        "metadata (table column tags)": "TableColumn.tags",
    },
}


def unseen(version: str) -> Dict[str, str]:
    if version == latest():
        return {}
    assert version in UNSEEN, f"say in tests/dagsters.py UNSEEN what Dagster {version}'s webserver cannot give"
    return UNSEEN[version]


def unseen_warning(version: str) -> str:
    """The stderr line of a command that compared assets on this release's webserver (empty: none)."""
    gaps = unseen(version)
    if not gaps:
        return ""
    return (
        f"warning: not compared by this Dagster {version} webserver: {', '.join(gaps)}; "
        f"its GraphQL schema has no {', '.join(gaps.values())}\n"
    )


def unseen_suffix(version: str) -> str:
    """What a markdown summary line adds after the counts (empty: nothing)."""
    gaps = unseen(version)
    return f"; not compared by this webserver: {', '.join(gaps)}" if gaps else ""


def latest() -> str:
    """The version in this venv (the test extra's)."""
    return importlib.metadata.version("dagster")


def older() -> Tuple[str, ...]:
    lines = (line.split("#")[0].split() for line in VERSIONS_FILE.read_text().splitlines())
    return tuple(sorted((fields[0] for fields in lines if fields), key=_numbers, reverse=True))


def _numbers(version: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def every() -> Tuple[str, ...]:
    return (latest(), *older())


def install(version: str) -> Install:
    if version == latest():
        return Install(version, pathlib.Path(sys.executable).parent)
    assert version in older(), f"Dagster {version} is not in {VERSIONS_FILE.name}: {', '.join(every())}"
    assert (VENVS / version / "requirements.txt").exists(), f"Dagster {version} is not installed: run bin/fetch-dagster"
    return Install(version, VENVS / version / "bin")


# -- processes --------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def log_tail(proc: subprocess.Popen, size: int = 3000) -> str:
    path = getattr(proc, "log_path", None)
    return path.read_text(errors="replace")[-size:] if path and path.exists() else ""


def start(argv: Sequence[str], log: pathlib.Path, cwd=None, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """A Dagster process in a session (and process group) of its own; stdout and stderr go to ``log``."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    proc.log_path = log
    return proc


def wait_port(port: int, proc: subprocess.Popen, bound: float = BOUND) -> None:
    """Until ``proc`` listens on ``port``; its exit fails at once, with its log."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}:\n{log_tail(proc)}")
        if _listening(port):
            return
        time.sleep(0.3)
    raise AssertionError(f"nothing listens on {port} after {bound:g}s:\n{log_tail(proc)}")


def stop(proc: subprocess.Popen, grace: float = GRACE) -> bool:
    """As the kubelet stops a container: SIGTERM, up to ``grace`` seconds to exit, then SIGKILL to the whole
    process group (children too, as the container's end takes them). True when it exited by itself."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
        clean = True
    except subprocess.TimeoutExpired:
        clean = False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()  # after SIGKILL the kernel ends it: no bound needed
    return clean


def wait_port_free(port: int, bound: float = BOUND) -> None:
    """Until nothing listens on ``port`` (after ``stop``: the killed group's sockets close as its processes end)."""
    deadline = time.monotonic() + bound
    while _listening(port):
        assert time.monotonic() < deadline, f"port {port} still served {bound:g}s after its process group was killed"
        time.sleep(0.1)
