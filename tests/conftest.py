"""Shared test helpers: paths to the real tools and fixtures, and a CLI runner that keeps
stdout, stderr and the exit code apart."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CHART_FIXTURES = SHARED / "fixtures" / "dagster-chart"
TOOLS = ROOT / ".tools" / "bin"
EXAMPLES = ROOT / "examples"
MINI_CHART = ROOT / "tests" / "charts" / "mini-dagster"
VERSIONS = ("1.9.11", "1.11.10")
SCENARIOS = ("a", "b", "c", "d", "e")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="Rewrite tests/golden/*/expected files.")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


def tool(name: str) -> str:
    """A real binary installed by bin/fetch-tools. Missing is a failure, never a skip."""
    path = TOOLS / name
    assert path.exists(), f"{path} is missing: run bin/fetch-tools (CI does)"
    return str(path)


def kpt() -> str:
    """The real kpt (the machine image's apt package google-cloud-cli-kpt; $KPT overrides). Missing is a failure."""
    found = os.environ.get("KPT") or shutil.which("kpt")
    assert found, "kpt is missing: it comes with the machine image (apt package google-cloud-cli-kpt), see .ci/run"
    return found


def entry_point() -> str:
    """The installed console script (what pip/pipx put on PATH)."""
    found = shutil.which("kubectl-dagster", path=os.path.dirname(sys.executable))
    assert found, "kubectl-dagster is not installed next to this Python: pip install -e ."
    return found


def path_with_plugin() -> str:
    """PATH with the console script's directory first (kubectl and Helm look plugins up there)."""
    return os.path.dirname(entry_point()) + os.pathsep + os.environ.get("PATH", "")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run(args: List[str], stdin: str = "", env: Optional[Dict[str, str]] = None, cwd=None, timeout=120) -> Run:
    full_env = dict(os.environ)
    full_env["PATH"] = path_with_plugin()
    full_env.update(env or {})
    proc = subprocess.run(
        args, input=stdin.encode("utf-8"), capture_output=True, env=full_env, cwd=cwd, timeout=timeout
    )
    return Run(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


def cli(*args: str, stdin: str = "", env=None, cwd=None) -> Run:
    return run([entry_point(), *args], stdin=stdin, env=env, cwd=cwd)


def cli_in_process(*args: str, stdin: bytes = b"") -> Run:
    """The CLI called in this process through ``kubectl_dagster.cli.main``, as the entry point calls it,
    with stdin, stdout, stderr and the exit code kept apart (for tests that run it hundreds of times)."""
    import contextlib
    import io

    from kubectl_dagster import cli as entry

    class Stdin(io.TextIOWrapper):
        def isatty(self) -> bool:
            return False

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = Stdin(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = entry.main(list(args))
    finally:
        sys.stdin = saved
    return Run(code, out.getvalue(), err.getvalue())


def fixture_text(version: str, name: str) -> str:
    return (CHART_FIXTURES / version / name).read_text()


@pytest.fixture
def kube(tmp_path):
    """The stand-in API server (tests/fakekube.py) and a kubeconfig pointing at it (namespace dagster)."""
    from fakekube import FakeKube

    with FakeKube() as fake:
        fake.kubeconfig_path = fake.kubeconfig(tmp_path / "kubeconfig")
        yield fake
