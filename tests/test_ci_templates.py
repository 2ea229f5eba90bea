"""The CI templates under examples/ci/: valid YAML with the triggers, concurrency and stop job the
flow needs, and every `kubectl dagster` line in them run through the real kubectl (plugin lookup on
PATH) and the real CLI, in a fixture repository made in tmp_path, with the variables GitHub Actions or
GitLab CI would set for a pull/merge request (see tests/unit/test_gitctx.py for their documentation).
Writes run with --dry-run=client; the registry is a git one here (no API server), by the same
KUBECTL_DAGSTER_LOCATIONS variable a user may set. No CI runner is available here: the rest of the
workflow (build, gh) is checked as text only."""

import json
import os
import re
import shutil
import subprocess

import pytest
from conftest import EXAMPLES, ROOT, tool
from ruamel.yaml import YAML
from test_deploy import clean_env, git

from kubectl_dagster.base import yamlio

TEMPLATES = EXAMPLES / "ci"
COMMAND = re.compile(r"(?:^|[;&|(])[ \t]*(kubectl[ -]dagster[ \t]+[a-z][^\n>|;&)]*)", re.M)  # commands, not packages
WRITES = ("deploy", "teardown")
HEAD = "3f2c1ab9d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0"


def load(name):
    """As the CI systems read workflow files: YAML 1.2, where `on` is a key, not a boolean."""
    return YAML(typ="safe", pure=True).load((TEMPLATES / name).read_text())


def scripts_github(doc, job):
    return [(step.get("env") or {}, step["run"]) for step in doc["jobs"][job]["steps"] if "run" in step]


def scripts_gitlab(doc, job):
    spec = doc[job]
    return [({}, line) for key in ("before_script", "script", "after_script") for line in spec.get(key) or []]


def commands(script):
    return [match.group(1).strip() for match in COMMAND.finditer(script)]


def test_templates_are_valid_yaml_with_the_flow():
    github = load("github-actions.yml")
    assert github["on"]["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]
    assert github["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in github["concurrency"]["group"]
    assert github["jobs"]["deploy"]["if"] == "github.event.action != 'closed'"
    assert github["jobs"]["teardown"]["if"] == "github.event.action == 'closed'"
    assert github["permissions"]["pull-requests"] == "write"
    gitlab = load("gitlab-ci.yml")
    assert gitlab["workflow"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert gitlab["deploy-dagster"]["environment"]["on_stop"] == "stop-dagster"
    assert gitlab["stop-dagster"]["environment"]["action"] == "stop"
    assert gitlab["stop-dagster"]["environment"]["name"] == gitlab["deploy-dagster"]["environment"]["name"]
    config = yamlio.make_yaml("safe").load((TEMPLATES / "kubectl-dagster.yaml").read_text())
    from kubectl_dagster.core.branches import projectconfig

    assert projectconfig.check_document(config) == []


@pytest.fixture
def project(tmp_path):
    """A repository as the templates expect it: the example project config, on a pull request's branch."""
    repo = tmp_path / "etl"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shutil.copy(TEMPLATES / "kubectl-dagster.yaml", repo / ".kubectl-dagster.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def _run(line, repo, env):
    """One extracted command, through bash (its quoting and $VARIABLES) and the real kubectl."""
    argv = line + (" --dry-run=client" if line.split()[1 if line.startswith("kubectl-") else 2] in WRITES else "")
    path = os.pathsep.join([os.path.dirname(tool("kubectl")), clean_env()["PATH"]])
    proc = subprocess.run(["bash", "-c", argv], cwd=repo, env=dict(env, PATH=path), capture_output=True, timeout=120)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _github_env(repo, tmp_path, action):
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": action,
                "number": 42,
                "pull_request": {"number": 42, "head": {"ref": "feat/login", "sha": HEAD}, "base": {"ref": "main"}},
            }
        )
    )
    doc = load("github-actions.yml")
    env = clean_env(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REF="refs/pull/42/merge",
        GITHUB_HEAD_REF="feat/login",
        GITHUB_BASE_REF="main",
        GITHUB_SHA="9" * 40,
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="acme/etl",
        KUBECTL_DAGSTER_LOCATIONS=str(tmp_path / "registry"),
    )
    env.update({k: v for k, v in doc["env"].items() if "${{" not in v})
    return env


def test_github_actions_commands_run(project, tmp_path):
    git(project, "checkout", "-q", "--detach")  # actions/checkout of the head sha
    doc = load("github-actions.yml")
    for job, action, expected in (
        ("deploy", "synchronize", "location/etl--feat-login created (dry run)"),
        ("teardown", "closed", ""),
    ):
        env = _github_env(project, tmp_path, action)
        lines = [(step_env, line) for step_env, script in scripts_github(doc, job) for line in commands(script)]
        assert [line.split()[2] for _, line in lines] == ([job, "status"]), lines
        for _step_env, line in lines:
            assert "${{" not in line  # expressions stay in env:, where the test sets their values
            code, out, err = _run(line, project, dict(env, PR="42"))
            assert code == 0, (line, err)
            if line.split()[2] == job:
                assert out.startswith(expected), (line, out, err)
            else:
                assert out.startswith("<!-- kubectl-dagster:status -->\n### Dagster code locations of `feat/login`")


def test_gitlab_ci_commands_run(project, tmp_path):
    git(project, "checkout", "-q", "--detach")  # GitLab checks out the merge request's head detached
    doc = load("gitlab-ci.yml")
    env = clean_env(
        GITLAB_CI="true",
        CI="true",
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_IID="42",
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME="feat/login",
        CI_COMMIT_REF_NAME="feat/login",
        CI_COMMIT_SHA=HEAD,
        CI_PROJECT_URL="https://gitlab.com/acme/etl",
        KUBECTL_DAGSTER_LOCATIONS=str(tmp_path / "registry"),
    )
    env.update(
        KUBECTL_DAGSTER_ENVIRONMENT=doc["variables"]["KUBECTL_DAGSTER_ENVIRONMENT"],
        KUBECTL_DAGSTER_IMAGE_TAG=doc["variables"]["KUBECTL_DAGSTER_IMAGE_TAG"].replace("$CI_COMMIT_SHA", HEAD),
    )
    seen = []
    for job in ("deploy-dagster", "stop-dagster"):
        for _, script in scripts_gitlab(doc, job):
            for line in commands(script):
                code, out, err = _run(line, project, env)
                assert code == 0, (line, err)
                seen.append(line.split()[1])
                if line.split()[1] == "deploy":
                    assert out.startswith(
                        f"location/etl--feat-login created (dry run) (image ghcr.io/acme/etl:sha-{HEAD};"
                    ), out
    assert seen == ["deploy", "status", "teardown"]


def test_docs_map_every_event_to_its_command():
    text = (ROOT / "docs" / "ci.md").read_text()
    for event in load("github-actions.yml")["on"]["pull_request"]["types"]:
        assert re.search(rf"^\| `?{event}`? .*\| `kubectl dagster (deploy|teardown)", text, re.M), event
