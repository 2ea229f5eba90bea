"""Shared test helpers: paths to the real tools and fixtures, and a CLI runner that keeps
stdout, stderr and the exit code apart."""

from __future__ import annotations

import collections
import os
import pathlib
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional

import dagsters
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
    parser.addoption(
        "--dagster-version",
        action="append",
        default=[],
        metavar="VERSION",
        help="Run the real-Dagster tests on this release only (repeatable; default: every one, see tests/dagsters.py).",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "every_dagster: run once per Dagster release of the matrix (tests/dagsters.py), not only the latest"
    )
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A shell's background job starts with SIGINT ignored, and its children inherit that. Dagster maps
        # SIGTERM onto SIGINT's handler, so its processes would ignore SIGTERM too; in a container they do not.
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_generate_tests(metafunc):
    """``dagster_install``: every release for a test marked ``every_dagster``, the latest for the others;
    ``--dagster-version`` narrows that down."""
    if "dagster_install" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("--dagster-version")
    unknown = sorted(set(chosen) - set(dagsters.every()))
    if unknown:
        raise pytest.UsageError(f"--dagster-version {', '.join(unknown)}: not one of {', '.join(dagsters.every())}")
    wanted = dagsters.every() if metafunc.definition.get_closest_marker("every_dagster") else (dagsters.latest(),)
    versions = [v for v in wanted if not chosen or v in chosen]
    metafunc.parametrize("dagster_install", versions, indirect=True, ids=[f"dagster-{v}" for v in versions])


@pytest.fixture(scope="session")
def dagster_install(request) -> dagsters.Install:
    """One Dagster release's executables (``.exe("dagster-webserver")``, ``.python``, ``.version``)."""
    return dagsters.install(request.param)


def pytest_terminal_summary(terminalreporter):
    """Per Dagster release and test file, how many real-Dagster tests passed (and failed, errored)."""
    counts = collections.defaultdict(collections.Counter)
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            version = getattr(report, "dagster_version", None)
            if version and (report.when == "call" or outcome != "passed"):
                counts[(version, report.nodeid.split("::")[0])][outcome] += 1
    if not counts:
        return
    terminalreporter.section("Dagster releases")
    for version in dict.fromkeys([v for v in dagsters.every() if any(k[0] == v for k in counts)]):
        files = sorted(f for v, f in counts if v == version)
        total = sum((counts[(version, f)] for f in files), collections.Counter())
        terminalreporter.write_line(f"Dagster {version}: {_counted(total)}")
        for name in files:
            terminalreporter.write_line(f"    {name}: {_counted(counts[(version, name)])}")


def _counted(counter) -> str:
    shown = [what for what in ("passed", "failed", "error") if counter[what] or what == "passed"]
    return ", ".join(f"{counter[what]} {what}" for what in shown)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item):
    outcome = yield
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "dagster_install" in callspec.params:
        outcome.get_result().dagster_version = callspec.params["dagster_install"]


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
