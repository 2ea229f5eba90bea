"""Branch context against real Dagster: `deploy` (GitLab merge-request variables, a detached checkout)
and `add-location --branch` write the registry, `render` merges it into the real chart's output, and
each rendered Deployment's container (its args, its env, the env of its own ConfigMap) is started as
a real `dagster api grpc` process behind a real `dagster-webserver`. Definitions that read the
variables load; a run launched through the webserver carries the container context the chart gives
launched runs (what Dagster's K8sRunLauncher turns into the run pod's env: no Kubernetes here, so the
run record is the boundary checked); `status` shows a Dagster version skew a code server reports.
On every Dagster release of the matrix (tests/dagsters.py); Dagster's own Python API (the run record) is
read with that release's Python. Every wait is bounded; every process is stopped at the end."""

import json
import subprocess
import time

import dagsters
import pytest
from conftest import entry_point
from dagsters import BOUND, free_port, wait_port
from test_dagster_reload import Dagster
from test_deploy import clean_env, git
from test_deploy import render_documents as _render

from kubectl_dagster.base import constants, yamlio
from kubectl_dagster.core.chart import workspace
from kubectl_dagster.shells import reloadhook

pytestmark = pytest.mark.every_dagster
SHA = "3f2c1ab9d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0"
GITLAB_MR = {
    "GITLAB_CI": "true",
    "CI": "true",
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_MERGE_REQUEST_IID": "17",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feat/branch-env",
    "CI_COMMIT_REF_NAME": "feat/branch-env",
    "CI_COMMIT_SHA": SHA,
    "CI_PROJECT_URL": "https://gitlab.example.com/acme/etl",
}
CONFIG = """\
apiVersion: kubectl-dagster/v1alpha1
kind: ProjectConfig
defaults:
  project: etl
  image: {repository: ghcr.io/acme/etl, tag: "{short_commit}"}
  codeSource: {pythonFile: mapped_defs.py}
  env: {MODE: preview}
  branchEnv: dagster-cloud
  registry: {locations: registry/}
"""
# Fails to load unless every variable is there; its asset's description shows what it saw.
MAPPED = """\
import os
import dagster as dg

NAMES = ["KUBECTL_DAGSTER_IS_BRANCH_DEPLOYMENT", "KUBECTL_DAGSTER_BRANCH", "KUBECTL_DAGSTER_COMMIT",
         "KUBECTL_DAGSTER_PULL_REQUEST", "KUBECTL_DAGSTER_REPOSITORY_URL", "KUBECTL_DAGSTER_LOCATION",
         "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "DAGSTER_CLOUD_GIT_BRANCH", "DAGSTER_CLOUD_GIT_SHA",
         "DAGSTER_CLOUD_PULL_REQUEST_ID", "DAGSTER_CLOUD_GIT_REPO", "DAGSTER_CLOUD_DEPLOYMENT_NAME", "MODE"]
SEEN = {name: os.environ[name] for name in NAMES}


@dg.asset(description=repr(sorted(SEEN.items())))
def seen():
    return 1


defs = dg.Definitions(assets=[seen])
"""
LISTED = """\
import os
import dagster as dg

assert os.environ["KUBECTL_DAGSTER_IS_BRANCH_DEPLOYMENT"] == "1"
BRANCH = os.environ["KUBECTL_DAGSTER_BRANCH"]


@dg.op
def check_env():
    assert os.environ["KUBECTL_DAGSTER_BRANCH"] == BRANCH


@dg.job
def branch_job():
    check_env()


@dg.asset(description=BRANCH + " " + os.environ["KUBECTL_DAGSTER_LOCATION"])
def listed():
    return 1


defs = dg.Definitions(assets=[listed], jobs=[branch_job])
"""
OLD = """\
import inspect

import dagster as dg

try:
    from dagster_shared.libraries import DagsterLibraryRegistry
except ImportError:  # Dagster before dagster_shared
    from dagster._core.libraries import DagsterLibraryRegistry

PARAMETERS = inspect.signature(DagsterLibraryRegistry.register).parameters
ASIS = {"is_dagster_package": False} if "is_dagster_package" in PARAMETERS else {}
DagsterLibraryRegistry.register("dagster", "1.9.0", **ASIS)  # as an older image would report


@dg.asset
def old():
    return 1


defs = dg.Definitions(assets=[old])
"""
# runs start at once: no daemon here to dequeue them
RUN_NOW = "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
ASSETS = (
    "query { workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename "
    "... on PythonError { message } ... on RepositoryLocation { repositories { assetNodes { assetKey { path } "
    "description } } } } } } } }"
)


# The run record, as the run launcher reads it, through the webserver's Dagster release.
RUN_CONTEXT = """\
import json, sys
from dagster import DagsterInstance

with DagsterInstance.from_config(sys.argv[1]) as instance:
    run = instance.get_run_by_id(sys.argv[2])
    print(json.dumps(run.job_code_origin.repository_origin.container_context))
"""


def _container_env(docs, name):
    """What the kubelet would give the code server: the container's env values, then its own env ConfigMap's data."""
    deployment = next(d.data for d in docs if d.kind == "Deployment" and d.name.endswith("-" + name))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {}
    for ref in container.get("envFrom") or []:
        config = next(
            (
                d.data
                for d in docs
                if d.kind == "ConfigMap"
                and d.name == (ref.get("configMapRef") or {}).get("name")
                and d.name.endswith("-user-env")
            ),
            None,
        )
        env.update((config or {}).get("data") or {})
    env.update({item["name"]: item["value"] for item in container["env"] if "value" in item})
    return container, env


def _start(d, docs, name, cwd):
    container, env = _container_env(docs, name)
    args = list(container["args"])
    port = free_port()
    args[args.index("-h") + 1], args[args.index("-p") + 1] = "127.0.0.1", str(port)
    home = d.tmp / f"home-{name}"
    home.mkdir()
    process_env = dict(clean_env(), DAGSTER_HOME=str(home), PYTHONUNBUFFERED="1", **env)
    argv = [d.install.exe(args[0])] + args[1:] + ["-d", str(cwd)]
    d.ports[name] = (port, d.start(f"grpc-{name}", argv, process_env, cwd=cwd))
    return container, env


@pytest.fixture(scope="module")
def served(tmp_path_factory, dagster_install):
    tmp = tmp_path_factory.mktemp("branch-env")
    repo = tmp / "etl"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".kubectl-dagster.yaml").write_text(CONFIG)
    for file, text in (("mapped_defs.py", MAPPED), ("listed_defs.py", LISTED), ("old_defs.py", OLD)):
        (repo / file).write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    git(repo, "checkout", "-q", "--detach")  # as a merge-request pipeline checks it out
    run = dict(cwd=repo, capture_output=True, timeout=120)
    deployed = subprocess.run([entry_point(), "deploy"], env=clean_env(**GITLAB_MR), **run)
    assert deployed.returncode == 0, deployed.stderr.decode()
    registry = repo / "registry"
    for name, file, extra in (
        ("listed", "listed_defs.py", ["--branch", "feat/listed", "--commit-hash", SHA]),
        ("old", "old_defs.py", []),
    ):
        added = subprocess.run(
            [
                entry_point(),
                "add-location",
                *([] if extra else [name]),
                *extra,
                "--image",
                "ghcr.io/acme/etl:1",
                "-f",
                file,
                "--locations",
                str(registry),
            ],
            env=clean_env(),
            **run,
        )
        assert added.returncode == 0, added.stderr.decode()
    docs = _render(registry)
    d = Dagster(tmp, dagster_install)
    try:
        d.started = {name: _start(d, docs, name, repo) for name in ("etl--feat-branch-env", "feat-listed", "old")}
        for port, proc in d.ports.values():
            wait_port(port, proc)
        config = next(
            doc for doc in docs if doc.kind == "ConfigMap" and "workspace.yaml" in (doc.data.get("data") or {})
        )
        _, ours = workspace.split_entries(config.data["data"]["workspace.yaml"])
        for item in ours:
            item["grpc_server"].update(host="127.0.0.1", port=d.ports[item["grpc_server"]["location_name"]][0])
        (tmp / "workspace.yaml").write_text(yamlio.dump({"load_from": ours}))
        (tmp / "home" / "dagster.yaml").write_text(RUN_NOW)
        d.webserver(tmp / "workspace.yaml")
        d.registry, d.docs = registry, docs
        post = reloadhook.http_transport(d.url)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            states = reloadhook.status(post)
            if all(states.get(n, {}).get("status") not in (None, reloadhook.LOADING) for n in d.started):
                break
            time.sleep(1)
        yield d
    finally:
        d.stop()


def _entries(d):
    answer = reloadhook.http_transport(d.url)(ASSETS)
    return {e["name"]: e["locationOrLoadError"] for e in answer["data"]["workspaceOrError"]["locationEntries"]}


def test_definitions_reading_the_branch_env_load(served):
    entries = _entries(served)
    mapped = entries["etl--feat-branch-env"]
    assert mapped["__typename"] == "RepositoryLocation", mapped
    (node,) = mapped["repositories"][0]["assetNodes"]
    assert dict(eval(node["description"])) == {  # noqa: S307 - the repr of a list of string pairs we wrote
        "KUBECTL_DAGSTER_IS_BRANCH_DEPLOYMENT": "1",
        "KUBECTL_DAGSTER_BRANCH": "feat/branch-env",
        "KUBECTL_DAGSTER_COMMIT": SHA,
        "KUBECTL_DAGSTER_PULL_REQUEST": "17",
        "KUBECTL_DAGSTER_REPOSITORY_URL": "https://gitlab.example.com/acme/etl",
        "KUBECTL_DAGSTER_LOCATION": "etl--feat-branch-env",
        "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1",
        "DAGSTER_CLOUD_GIT_BRANCH": "feat/branch-env",
        "DAGSTER_CLOUD_GIT_SHA": SHA,
        "DAGSTER_CLOUD_PULL_REQUEST_ID": "17",
        "DAGSTER_CLOUD_GIT_REPO": "acme/etl",
        "DAGSTER_CLOUD_DEPLOYMENT_NAME": "etl--feat-branch-env",
        "MODE": "preview",
    }
    listed = entries["feat-listed"]
    assert listed["repositories"][0]["assetNodes"][0]["description"] == "feat/listed feat-listed"
    assert entries["old"]["__typename"] == "RepositoryLocation"


def _context(container):
    value = next(e["value"] for e in container["env"] if e["name"] == "DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT")
    return json.loads(value)


def test_where_the_variables_are_rendered(served):
    """Map-form env goes to the location's env ConfigMap (runs load it: env_config_maps); list form or none
    goes to the container env and the container context's env, which the chart hands to launched runs."""
    container, _ = served.started["etl--feat-branch-env"]
    context = _context(container)
    assert context["k8s"]["env_config_maps"][0].endswith("-etl--feat-branch-env-user-env")
    hook = (constants.RUN_TAGS_ENV, constants.AUTOMATION_DEFAULT_ENV)  # the branch hook's, not branch context
    assert not any(e["name"].startswith("KUBECTL_DAGSTER_") and e["name"] not in hook for e in container["env"])
    container, _ = served.started["feat-listed"]
    context = _context(container)
    assert {"name": "KUBECTL_DAGSTER_BRANCH", "value": "feat/listed"} in context["k8s"]["env"]
    container, env = served.started["old"]
    assert not any(name.startswith("KUBECTL_DAGSTER_") for name in env)  # no branch, nothing new


def test_a_launched_run_carries_the_container_context(served):
    launch = (
        'mutation { launchRun(executionParams: {selector: {repositoryLocationName: "feat-listed", '
        'repositoryName: "__repository__", jobName: "branch_job"}}) { __typename '
        "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"
    )
    answer = reloadhook.http_transport(served.url)(launch)["data"]["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    run_id = answer["run"]["runId"]
    context = json.loads(served.install.python_output(RUN_CONTEXT, str(served.tmp / "home"), run_id))
    assert {"name": "KUBECTL_DAGSTER_BRANCH", "value": "feat/listed"} in context["k8s"]["env"]
    status = 'query { runOrError(runId: "%s") { ... on Run { status } } }' % run_id
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        state = reloadhook.http_transport(served.url)(status)["data"]["runOrError"]["status"]
        if state in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    assert state == "SUCCESS"  # the op found KUBECTL_DAGSTER_BRANCH in the run's environment


def test_status_reports_version_skew_and_markdown(served):
    proc = subprocess.run(
        [entry_point(), "status", "--webserver-url", served.url, "--locations", str(served.registry), "-o", "json"],
        capture_output=True,
        env=clean_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    rows = {row["name"]: row for row in json.loads(proc.stdout)["locations"]}
    version = served.install.version
    assert rows["old"]["skew"] == f"Dagster version skew: code server 1.9.0, webserver {version}"
    assert rows["feat-listed"]["skew"] is None and rows["feat-listed"]["dagster_version"] == version
    assert rows["old"]["dagster"] == "LOADED" and rows["old"]["updated"].endswith(" UTC")
    table = subprocess.run(
        [entry_point(), "status", "old", "--webserver-url", served.url],
        capture_output=True,
        env=clean_env(),
        timeout=120,
    ).stdout.decode()
    assert table.splitlines()[1].split()[:2] == ["old", "no"] and "version skew: code server 1.9.0" in table
    markdown = (
        subprocess.run(
            [
                entry_point(),
                "status",
                "--branch",
                "feat/branch-env",
                "--webserver-url",
                served.url,
                "--locations",
                str(served.registry),
                "-o",
                "markdown",
                "--ui-url",
                "http://ui",
            ],
            capture_output=True,
            env=clean_env(),
            timeout=120,
        )
        .stdout.decode()
        .splitlines()
    )
    assert markdown[5].startswith(
        "| `etl--feat-branch-env` | ✅ LOADED | none | [Open in Dagster](http://ui/locations/"
        "__repository__@etl--feat-branch-env) | 20"
    )
    assert len(markdown) == 6


def test_deploy_records_a_snapshot_of_its_base(served):
    """deploy --base-snapshot (issue 16) takes the base's asset fingerprints from the real webserver."""
    proc = subprocess.run(
        [
            entry_point(),
            "deploy",
            "--base",
            "old",
            "--base-snapshot",
            "--webserver-url",
            served.url,
            "--dry-run",
            "-o",
            "json",
        ],
        cwd=served.tmp / "etl",
        env=clean_env(**GITLAB_MR),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    entry = json.loads(proc.stdout)
    assert entry["base"] == "old" and entry["baseSnapshot"]["location"] == "old"
    assert list(entry["baseSnapshot"]["assets"]) == ["old"]


def test_status_markdown_with_the_assets_a_branch_changes(served, tmp_path):
    """status --assets -o markdown (issue 16 in the comment of issue 12): the Assets column and the details."""
    import shutil

    registry = tmp_path / "registry"
    shutil.copytree(served.registry, registry)
    updated = subprocess.run(
        [entry_point(), "update-location", "feat-listed", "--base", "old", "--locations", str(registry)],
        capture_output=True,
        env=clean_env(),
        timeout=120,
    )
    assert updated.returncode == 0, updated.stderr.decode()
    proc = subprocess.run(
        [
            entry_point(),
            "status",
            "--branch",
            "feat/listed",
            "--assets",
            "-o",
            "markdown",
            "--webserver-url",
            served.url,
            "--locations",
            str(registry),
        ],
        capture_output=True,
        env=clean_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert lines[3] == "| Location | Status | Automation | Link | Updated | Assets |"
    assert lines[5].startswith("| `feat-listed` | ✅ LOADED | none | — | ") and lines[5].endswith(
        " | 1 new, 0 changed, 1 removed |"
    )
    suffix = dagsters.unseen_suffix(served.install.version)
    head = "<details><summary><b>feat-listed</b> against old (live): 1 new, 0 changed, 1 removed"
    assert f"{head}{suffix}</summary>" in lines
    assert proc.stderr.decode() == dagsters.unseen_warning(served.install.version)
