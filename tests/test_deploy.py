"""`deploy`, `teardown`, `config view`, `suspend`/`resume` and `import --from dagster-uc` through the
installed command, in real git repositories made in tmp_path (branches, a detached HEAD, a worktree),
with each CI system's variables set as that system sets them (their documentation is cited in
tests/unit/test_gitctx.py), against the git registry and the stand-in API server (tests/fakekube.py)."""

import json
import os
import subprocess

import pytest
from conftest import CHART_FIXTURES, entry_point, path_with_plugin

from kubectl_dagster.core.chart import manifests, workspace
from kubectl_dagster.shells import sources

CI_MARKERS = (
    "GITHUB_",
    "GITLAB_",
    "CI_",
    "BUILDKITE",
    "CIRCLE",
    "TF_BUILD",
    "BUILD_",
    "SYSTEM_",
    "JENKINS_URL",
    "CHANGE_",
    "BRANCH_NAME",
    "GIT_",
    "KUBECTL_DAGSTER_",
    "DAGSTER_WEBSERVER_URL",
    "KUBECONFIG",
    "CI",
)
CONFIG = """\
apiVersion: kubectl-dagster/v1alpha1
kind: ProjectConfig
defaultEnvironment: dev
defaults:
  image: {repository: ghcr.io/acme/etl, tag: "sha-{short_commit}"}
  codeSource: {moduleName: etl.definitions}
  env: {MODE: preview, API_TOKEN: hunter2}
  ttl: 7d
  registry: {locations: deploy/locations/}
environments:
  dev:
    namespace: dagster-dev
  small:
    maxBranchLocations: 1
"""
PYPROJECT = '[project]\nname = "etl"\n\n[tool.kubectl-dagster]\nproject = "etl"\n'


def clean_env(**extra):
    """The test process's environment without any CI system's variables (the suite may itself run in CI)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CI_MARKERS)}
    env.update(PATH=path_with_plugin(), GIT_CONFIG_NOSYSTEM="1", HOME=os.environ.get("HOME", "/tmp"))
    env.update(extra)
    return env


def run(args, cwd, **env):
    proc = subprocess.run([entry_point(), *args], cwd=cwd, env=clean_env(**env), capture_output=True, timeout=120)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def git(repo, *args):
    out = subprocess.run(
        ["git", "-c", "user.email=ci@acme.test", "-c", "user.name=CI", *args],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        check=True,
    )
    return out.stdout.decode().strip()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "etl"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "remote", "add", "origin", "git@github.com:acme/etl.git")
    (path / ".kubectl-dagster.yaml").write_text(CONFIG)
    (path / "pyproject.toml").write_text(PYPROJECT)
    (path / "src" / "etl").mkdir(parents=True)
    (path / "src" / "etl" / "definitions.py").write_text("defs = None\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "init")
    git(path, "checkout", "-q", "-b", "feat/Login-page")
    return path


def entry_files(repo):
    folder = repo / "deploy" / "locations"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_deploy_from_a_checked_out_branch_writes_what_add_location_would(repo):
    sha = git(repo, "rev-parse", "HEAD")
    code, out, err = run(["deploy"], repo)
    assert code == 0, err
    path = repo / "deploy/locations/etl--feat-login-page.yaml"
    assert (
        out == f"location/etl--feat-login-page created (image ghcr.io/acme/etl:sha-{sha[:7]}; port 3031; in {path})\n"
    )
    assert err == f"deploy: branch 'feat/Login-page' (git), commit {sha[:12]} -> location etl--feat-login-page\n"
    (location,) = sources.load([str(repo / "deploy/locations")])
    assert location.spec["branch"] == "feat/Login-page" and location.spec["commit"] == sha
    assert location.spec["annotations"] == {"kubectl-dagster.io/git-url": "https://github.com/acme/etl"}
    assert location.spec["env"] == {"MODE": "preview", "API_TOKEN": "hunter2"}
    assert location.spec["moduleName"] == "etl.definitions" and location.spec["port"] == 3031
    code, out, _ = run(["deploy"], repo)  # every push redeploys: the TTL is renewed, the port stays
    assert code == 0 and out.startswith("location/etl--feat-login-page ")
    assert sources.load([str(repo / "deploy/locations")])[0].spec["port"] == 3031


def test_the_config_is_found_from_a_subdirectory_and_a_worktree(repo, tmp_path):
    code, out, err = run(["deploy", "--dry-run=client", "-o", "name"], repo / "src" / "etl")
    assert (code, out) == (0, "location/etl--feat-login-page\n"), err
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "fix/worktree")
    code, out, err = run(["deploy", "-o", "name"], tmp_path / "wt")
    assert (code, out) == (0, "location/etl--fix-worktree\n"), err
    assert entry_files(tmp_path / "wt") == ["etl--fix-worktree.yaml"]  # relative to the worktree's config


def test_a_detached_head_without_ci_variables_is_one_error_and_writes_nothing(repo):
    git(repo, "checkout", "-q", "--detach")
    code, out, err = run(["deploy"], repo)
    assert (code, out) == (1, "")
    assert (
        err == "error: HEAD is detached and no CI variables name the branch; pass --branch BRANCH "
        "(or check out a branch)\n"
    )
    assert entry_files(repo) == []


SHA = "3f2c1ab9d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0"
CI_SYSTEMS = {
    "github-actions": {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_REF_NAME": "42/merge",
        "GITHUB_HEAD_REF": "feat/ci",
        "GITHUB_BASE_REF": "main",
        "GITHUB_SHA": "9" * 40,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/etl",
    },
    "gitlab-ci": {
        "GITLAB_CI": "true",
        "CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "42",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feat/ci",
        "CI_COMMIT_REF_NAME": "feat/ci",
        "CI_COMMIT_SHA": SHA,
        "CI_PROJECT_URL": "https://github.com/acme/etl",
    },
    "buildkite": {
        "BUILDKITE": "true",
        "CI": "true",
        "BUILDKITE_BRANCH": "feat/ci",
        "BUILDKITE_COMMIT": SHA,
        "BUILDKITE_PULL_REQUEST": "42",
        "BUILDKITE_REPO": "git@github.com:acme/etl.git",
    },
    "circleci": {
        "CIRCLECI": "true",
        "CI": "true",
        "CIRCLE_BRANCH": "feat/ci",
        "CIRCLE_SHA1": SHA,
        "CIRCLE_PULL_REQUEST": "https://github.com/acme/etl/pull/42",
        "CIRCLE_REPOSITORY_URL": "git@github.com:acme/etl.git",
    },
    "jenkins": {
        "JENKINS_URL": "https://jenkins.acme.test/",
        "BUILD_NUMBER": "7",
        "BRANCH_NAME": "PR-42",
        "CHANGE_ID": "42",
        "CHANGE_BRANCH": "feat/ci",
        "CHANGE_TARGET": "main",
        "GIT_COMMIT": SHA,
        "GIT_URL": "https://github.com/acme/etl.git",
    },
    "azure-pipelines": {
        "TF_BUILD": "True",
        "BUILD_SOURCEBRANCH": "refs/pull/42/merge",
        "BUILD_SOURCEBRANCHNAME": "merge",
        "BUILD_SOURCEVERSION": "9" * 40,
        "BUILD_REPOSITORY_URI": "https://github.com/acme/etl",
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "1042",
        "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": "42",
        "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/feat/ci",
        "SYSTEM_PULLREQUEST_SOURCECOMMITID": SHA,
    },
}


@pytest.mark.parametrize("system", list(CI_SYSTEMS))
def test_each_ci_system_in_a_detached_checkout(repo, tmp_path, system):
    """CI checks pull requests out detached; the branch, commit, number and URL come from its variables."""
    git(repo, "checkout", "-q", "--detach")
    env = dict(CI_SYSTEMS[system])
    if system == "github-actions":
        event = tmp_path / "event.json"
        event.write_text(
            json.dumps(
                {
                    "action": "synchronize",
                    "number": 42,
                    "pull_request": {"number": 42, "head": {"ref": "feat/ci", "sha": SHA}},
                }
            )
        )
        env["GITHUB_EVENT_PATH"] = str(event)
    code, out, err = run(["deploy", "--dry-run=client", "-o", "json"], repo, **env)
    assert code == 0, err
    entry = json.loads(out)
    assert (entry["name"], entry["branch"], entry["commit"], entry["pullRequest"]) == (
        "etl--feat-ci",
        "feat/ci",
        SHA,
        42,
    )
    assert entry["image"] == {"repository": "ghcr.io/acme/etl", "tag": "sha-3f2c1ab"}
    assert entry["annotations"]["kubectl-dagster.io/git-url"] == "https://github.com/acme/etl"
    assert f"({system})" in err and entry_files(repo) == []


def test_flags_win_over_ci_variables(repo):
    code, out, err = run(
        ["deploy", "--dry-run=client", "-o", "json", "--branch", "hotfix", "--commit", "a" * 40, "--pull-request", "7"],
        repo,
        **CI_SYSTEMS["gitlab-ci"],
    )
    entry = json.loads(out)
    assert (code, entry["name"], entry["commit"], entry["pullRequest"]) == (0, "etl--hotfix", "a" * 40, 7), err


def test_the_base_of_the_branch_location(repo):
    """issue 16's base: from the project config, a variable, or --base (the flag wins)."""
    (repo / ".kubectl-dagster.yaml").write_text(CONFIG.replace("  ttl: 7d\n", "  ttl: 7d\n  base: etl\n"))
    for args, env, base in (
        ([], {}, "etl"),
        ([], {"KUBECTL_DAGSTER_BASE": "etl-staging"}, "etl-staging"),
        (["--base", "etl-main"], {"KUBECTL_DAGSTER_BASE": "etl-staging"}, "etl-main"),
    ):
        code, out, err = run(["deploy", "--dry-run", "-o", "json", *args], repo, **env)
        assert (code, json.loads(out)["base"]) == (0, base), err


def test_layers_env_variables_and_flags_with_their_sources(repo):
    env = {"KUBECTL_DAGSTER_IMAGE_TAG": "{pr}-{short_commit}", "KUBECTL_DAGSTER_TTL": "2d"}
    code, out, err = run(["config", "view", "--ttl", "3d", "-o", "json"], repo, **env)
    assert code == 0, err
    values = {row["key"]: row for row in json.loads(out)["values"]}
    assert values["image.tag"] == {
        "key": "image.tag",
        "value": "{pr}-{short_commit}",
        "source": "env KUBECTL_DAGSTER_IMAGE_TAG",
    }
    assert values["ttl"]["value"] == "3d" and values["ttl"]["source"] == "flag --ttl"
    assert values["namespace"]["source"] == f"environment dev ({repo / '.kubectl-dagster.yaml'})"
    assert values["project"]["source"] == f"pyproject [tool.kubectl-dagster] ({repo / 'pyproject.toml'})"
    table = run(["config", "view"], repo, **env)[1]
    assert "hunter2" not in out + table and "preview" not in out + table  # env values: names only
    assert "env.API_TOKEN" in table and "<hidden>" in table


BAD_CONFIGS = [
    (
        "malformed",
        "apiVersion: kubectl-dagster/v1alpha1\nkind: ProjectConfig\ndefaults: [\n",
        [],
        ".kubectl-dagster.yaml:4: not valid YAML",
    ),
    (
        "unknown-key",
        CONFIG.replace("  ttl: 7d\n", "  ttl: 7d\n  colour: red\n"),
        [],
        ".kubectl-dagster.yaml:9: unknown key 'colour'; fix the project config file and run again",
    ),
    ("wrong-type", CONFIG.replace("ttl: 7d", "ttl: 7"), [], ".kubectl-dagster.yaml:8: ttl must be a duration"),
    (
        "unknown-environment",
        CONFIG,
        ["-e", "prd"],
        "/.kubectl-dagster.yaml (defined: dev, small); pass one of them with -e/--environment",
    ),
]


@pytest.mark.parametrize("case, text, args, message", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configs_are_one_line_and_write_nothing(repo, case, text, args, message):
    (repo / ".kubectl-dagster.yaml").write_text(text)
    code, out, err = run(["deploy", *args], repo)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert entry_files(repo) == []


def test_a_missing_config_when_one_is_asked_for(repo, tmp_path):
    code, _, err = run(["deploy", "--config", str(tmp_path / "nope.yaml")], repo)
    missing = tmp_path / "nope.yaml"
    assert (code, err) == (1, f"error: project config {missing} does not exist (--config); fix --config\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, _, err = run(["deploy", "-e", "dev", "--branch", "x"], elsewhere)
    assert code == 1 and err.startswith("error: environment 'dev' was asked for, but no project config was found")


def test_a_branch_without_a_usable_name(repo):
    git(repo, "checkout", "-q", "-b", "__")
    code, out, err = run(["deploy"], repo)
    assert (code, out, err) == (
        1,
        "",
        "error: branch '__' leaves no usable location name; pass --name NAME, or "
        "deploy from a branch whose name has letters or digits\n",
    )


def test_a_colliding_name_is_refused_and_changes_nothing(repo):
    (repo / "deploy/locations").mkdir(parents=True)
    permanent = repo / "deploy/locations/etl--feat-login-page.yaml"
    permanent.write_text("name: etl--feat-login-page\nimage: {repository: r}\nmoduleName: m\n")
    before = permanent.read_bytes()
    code, out, err = run(["deploy"], repo)
    assert (code, out) == (1, "")
    assert err == (
        f"error: location 'etl--feat-login-page' already exists for a permanent location (no branch) "
        f"(file:{permanent}); pass --suffix to deploy beside it, or --name NAME\n"
    )
    assert permanent.read_bytes() == before
    assert run(["teardown"], repo)[0] == 1 and permanent.read_bytes() == before  # nor removed by teardown
    code, out, _ = run(["deploy", "--suffix", "2", "-o", "name"], repo)
    assert (code, out) == (0, "location/etl--feat-login-page-2\n")


def test_the_cap_on_branch_locations(repo):
    assert run(["deploy", "-e", "small"], repo)[0] == 0
    git(repo, "checkout", "-q", "-b", "feat/second")
    code, out, err = run(["deploy", "-e", "small"], repo)
    assert (code, out) == (1, "")
    assert (
        err == "error: the registry already holds 1 branch locations, the most maxBranchLocations (1) allows; "
        "tear one down (kubectl dagster teardown NAME, or gc), or raise maxBranchLocations\n"
    )
    assert entry_files(repo) == ["etl--feat-login-page.yaml"]
    assert run(["deploy", "-e", "small", "--max-branch-locations", "2"], repo)[0] == 0


def test_teardown_and_close_are_idempotent(repo):
    assert run(["deploy"], repo)[0] == 0
    code, out, err = run(["teardown"], repo)
    assert (code, out) == (0, "location/etl--feat-login-page deleted\n"), err
    for args in (["teardown"], ["deploy", "--close"], ["teardown", "etl:feat-login-page"]):
        code, out, err = run(args, repo)
        assert (code, out) == (0, "")
        assert err.endswith(
            f"location/etl--feat-login-page not found in {repo / 'deploy/locations'}: nothing to remove\n"
        )


def test_project_prefix_from_pyprojects_project_name(repo):
    (repo / "pyproject.toml").write_text('[project]\nname = "Sales_ETL"\n')
    (repo / ".kubectl-dagster.yaml").write_text(CONFIG.replace("  ttl: 7d\n", "  ttl: 7d\n  useProjectName: true\n"))
    code, out, _ = run(["deploy", "--dry-run", "-o", "name"], repo)
    assert (code, out) == (0, "location/sales-etl--feat-login-page\n")
    code, out, _ = run(["deploy", "--dry-run", "-o", "name", "--project", ""], repo)
    assert (code, out) == (0, "location/feat-login-page\n")


def test_the_cluster_registry(repo, kube):
    """The same deploy against the stand-in API server: one ConfigMap per location, as add-location writes."""
    (repo / ".kubectl-dagster.yaml").write_text(
        CONFIG.replace("registry: {locations: deploy/locations/}", "registry: {cluster: true}")
    )
    env = {"KUBECONFIG": kube.kubeconfig_path}
    code, out, err = run(["deploy", "-n", "dagster"], repo, **env)
    assert code == 0 and out.startswith("location/etl--feat-login-page created"), err
    stored = kube.configmaps[("dagster", "dagster-location-etl--feat-login-page")]
    assert "branch: feat/Login-page" in stored["data"]["location.yaml"]
    assert run(["teardown", "-n", "dagster"], repo, **env)[1] == "location/etl--feat-login-page deleted\n"
    assert ("dagster", "dagster-location-etl--feat-login-page") not in kube.configmaps


def render_documents(registry):
    """The real chart's release (1.11.10/b) rendered with ``registry`` through the CLI, as documents."""
    release = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
    proc = subprocess.run(
        [entry_point(), "render", "--locations", str(registry)],
        input=release.encode(),
        capture_output=True,
        env=clean_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return manifests.split(proc.stdout.decode()).documents


def _render(registry):
    docs = render_documents(registry)
    config = next(d for d in docs if d.kind == "ConfigMap" and "workspace.yaml" in (d.data.get("data") or {}))
    served = {workspace.entry_name(e) for e in sum(workspace.split_entries(config.data["data"]["workspace.yaml"]), [])}
    deployment = next(d for d in docs if d.kind == "Deployment" and d.name.endswith("etl--feat-login-page"))
    return served, deployment.data


def test_suspend_and_resume_on_real_chart_output(repo):
    assert run(["deploy"], repo)[0] == 0
    registry = repo / "deploy/locations"
    expires = sources.load([str(registry)])[0].spec["expiresAt"]
    code, out, _ = run(["suspend", "etl--feat-login-page", "--locations", str(registry)], repo)
    assert (code, out) == (0, "location/etl--feat-login-page configured (suspended <none> -> True)\n")
    served, deployment = _render(registry)
    assert "etl--feat-login-page" not in served and deployment["spec"]["replicas"] == 0
    assert deployment["metadata"]["annotations"]["kubectl-dagster.io/suspended"] == "true"
    assert sources.load([str(registry)])[0].spec["expiresAt"] == expires  # the TTL stays
    assert (
        run(["resume", "--branch", "feat/Login-page", "--locations", str(registry)], repo)[1]
        == "location/etl--feat-login-page configured (suspended True -> <none>)\n"
    )
    served, deployment = _render(registry)
    assert "etl--feat-login-page" in served and deployment["spec"]["replicas"] == 1


def test_list_locations_flags_what_expires_within_a_day(repo):
    assert run(["deploy", "--ttl", "5h"], repo)[0] == 0
    git(repo, "checkout", "-q", "-b", "feat/long")
    assert run(["deploy"], repo)[0] == 0
    code, out, err = run(["list-locations", "--locations", "deploy/locations"], repo)
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert code == 0 and "in 4h (soon)" in rows["etl--feat-login-page"] and "(soon)" not in rows["etl--feat-long"]
    assert (
        err == "warning: 1 location(s) expire within a day: etl--feat-login-page (in 4h); deploy again or "
        "update-location --ttl to keep them\n"
    )


def test_status_markdown_from_the_registry_alone(repo):
    assert run(["deploy"], repo)[0] == 0
    code, out, err = run(
        ["status", "--branch", "feat/Login-page", "-o", "markdown", "--ui-url", "https://dagster.acme.test/"], repo
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:5] == [
        "<!-- kubectl-dagster:status -->",
        "### Dagster code locations of `feat/Login-page`",
        "",
        "| Location | Status | Link | Updated |",
        "| --- | --- | --- | --- |",
    ]
    assert lines[5].startswith(
        "| `etl--feat-login-page` | - | [Open in Dagster](https://dagster.acme.test/locations/"
        "__repository__@etl--feat-login-page) | "
    )
    assert len(lines) == 6


def test_import_from_dagster_uc_gives_a_config_deploy_reads(repo, tmp_path):
    uc = tmp_path / ".config_user_code_deployments.yaml"
    uc.write_text(
        "defaults:\n  code_path: defs.py\n  docker: {image_prefix: team, dockerfile: Dockerfile}\n"
        "  kubernetes: {namespace: dagster}\n"
        "dev:\n  docker: {container_registry: acr.example.io}\n  kubernetes: {context: aks-dev}\n"
    )
    code, out, err = run(["import", "--from", "dagster-uc", str(uc), "--cluster"], repo)
    assert (code, out) == (2, "") and err.startswith("error: --from dagster-uc prints a project config")
    code, out, err = run(["import", "--from", "dagster-uc", str(uc)], repo)
    assert code == 0, err
    assert (
        err.splitlines()[0] == "warning: defaults.docker.dockerfile not carried over: kubectl-dagster builds no "
        "image: the CI's build step does"
    )
    (repo / ".kubectl-dagster.yaml").write_text(out)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    code, out, err = run(["deploy", "--dry-run", "-o", "json", "--kubeconfig", str(kubeconfig)], repo)
    assert (code, out) == (1, "")  # its registry is the cluster, through the dev environment's kube context
    assert err.startswith("error: bad kubeconfig: ") and "aks-dev" in err, err
    code, out, err = run(["config", "view", "-o", "json"], repo)
    values = {row["key"]: row["value"] for row in json.loads(out)["values"]}
    assert values["image.repository"] == "acr.example.io/team/{name}" and values["context"] == "aks-dev"
