"""The pull-request plugin (deploy/argocd/plugin-location.yaml), run as ArgoCD's cmp-server runs it for an
Application made by the ApplicationSet pull-request generator (examples/argocd/previews-applicationset.yaml).
ArgoCD itself cannot run here, so this is the contract at the boundary: the shipped `generate` argv, run in the
Application's source directory (the PR's code repository), with the environment ArgoCD documents:

- docs/user-guide/build-environment.md: ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE (the destination namespace),
  ARGOCD_APP_PROJECT_NAME, ARGOCD_APP_REVISION (+ _SHORT, _SHORT_8), ARGOCD_APP_SOURCE_PATH,
  ARGOCD_APP_SOURCE_REPO_URL, ARGOCD_APP_SOURCE_TARGET_REVISION, KUBE_VERSION, KUBE_API_VERSIONS;
- docs/operator-manual/config-management-plugins.md: ARGOCD_APP_PARAMETERS (JSON of the parameters the
  Application sets) and PARAM_<NAME> (upper-cased, other characters as `_`);
- docs/operator-manual/applicationset/Generators-Pull-Request.md: the template fills number, branch, head_sha.

Its output goes to the API-server stand-in (tests/fakekube.py) as ArgoCD's sync would create it, and
`render --from-cluster` (what the Dagster Application runs) must then serve the location.
"""

import json
import shutil
import urllib.request

import pytest
from conftest import CHART_FIXTURES, EXAMPLES, ROOT, cli, run

from kubectl_dagster.base import yamlio
from kubectl_dagster.core.chart import manifests, workspace
from kubectl_dagster.core.gitops import previews

PLUGIN = yamlio.make_yaml("safe").load((ROOT / "deploy" / "argocd" / "plugin-location.yaml").read_text())
RELEASE = CHART_FIXTURES / "1.11.10" / "b.yaml"
REPO_URL = "https://github.com/acme/etl.git"
HEAD = "4f2a9c81d3b7e6a5f0c1d2e3f4a5b6c7d8e9f0a1"


def argv():
    spec = PLUGIN["spec"]["generate"]
    return list(spec["command"]) + list(spec.get("args") or [])


def pr_env(kube, number=42, head=HEAD, branch="feature/new-assets", **override):
    """The environment for Application etl-pr-<number>, as the template in previews-applicationset.yaml sets it."""
    params = [
        {"name": "number", "string": str(number)},
        {"name": "branch", "string": branch},
        {"name": "head-sha", "string": head},
        {"name": "image", "string": "ghcr.io/acme/etl:sha-{head_short_sha}"},
        {"name": "name", "string": "etl-pr-{number}"},
    ]
    env = {
        "ARGOCD_APP_NAME": f"etl-pr-{number}",
        "ARGOCD_APP_NAMESPACE": "dagster",
        "ARGOCD_APP_PROJECT_NAME": "dagster-previews",
        "ARGOCD_APP_REVISION": head,
        "ARGOCD_APP_REVISION_SHORT": head[:7],
        "ARGOCD_APP_REVISION_SHORT_8": head[:8],
        "ARGOCD_APP_SOURCE_PATH": ".",
        "ARGOCD_APP_SOURCE_REPO_URL": REPO_URL,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": head,
        "KUBE_VERSION": "1.29.3",
        "KUBE_API_VERSIONS": "v1,apps/v1",
        "ARGOCD_APP_PARAMETERS": json.dumps(sorted(params, key=lambda p: p["name"])),
        "KUBECONFIG": kube.kubeconfig_path,
    }
    for param in params:
        env["PARAM_" + param["name"].upper().replace("-", "_")] = param["string"]
    env.update(override)
    return env


@pytest.fixture
def code_repo(tmp_path):
    root = tmp_path / "etl"
    root.mkdir()
    shutil.copy(EXAMPLES / "argocd" / "dagster-location.yaml", root / "dagster-location.yaml")
    return root


def generate(code_repo, env):
    return run(argv(), env=env, cwd=str(code_repo))


def apply(kube, text, method="POST"):
    """ArgoCD's sync: create (or replace) the rendered ConfigMap."""
    (doc,) = [d for d in yamlio.make_yaml("safe").load_all(text) if d]
    path = f"/api/v1/namespaces/{doc['metadata']['namespace']}/configmaps"
    if method != "POST":
        current = json.loads(_call(kube, "GET", f"{path}/{doc['metadata']['name']}"))
        doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        path += "/" + doc["metadata"]["name"]
    return _call(kube, method, path, doc)


def _call(kube, method, path, body=None):
    request = urllib.request.Request(
        kube.url + path,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {kube.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.read()


def dagster_render(kube):
    """The Dagster Application's view: the chart's output merged with the cluster registry."""
    result = cli(
        "render", "--from-cluster", "-n", "dagster", env={"KUBECONFIG": kube.kubeconfig_path}, stdin=RELEASE.read_text()
    )
    assert result.code == 0, result.stderr
    documents = {(d.kind, d.name): d for d in manifests.split(result.stdout).documents if d.kind}
    (config,) = [
        d
        for (kind, _), d in documents.items()
        if kind == "ConfigMap" and "workspace.yaml" in (d.data.get("data") or {})
    ]
    _, ours = workspace.split_entries(config.data["data"]["workspace.yaml"])
    return documents, [workspace.entry_name(e) for e in ours]


def test_the_plugin_announces_what_it_reads():
    assert PLUGIN["kind"] == "ConfigManagementPlugin" and PLUGIN["metadata"]["name"] == "kubectl-dagster-location"
    assert argv() == ["kubectl-dagster", "argocd-location"]
    static = PLUGIN["spec"]["parameters"]["static"]
    assert [(p["name"], p["string"]) for p in static] == [(p.name, p.default) for p in previews.PARAMS]


def test_open_push_close(kube, code_repo):
    # PR opened: the Application renders one ConfigMap, ArgoCD creates it, the Dagster render serves the location.
    opened = generate(code_repo, pr_env(kube))
    assert opened.code == 0, opened.stderr
    (doc,) = [d for d in yamlio.make_yaml("safe").load_all(opened.stdout) if d]
    assert (doc["kind"], doc["metadata"]["name"], doc["metadata"]["namespace"]) == (
        "ConfigMap",
        "dagster-location-etl-pr-42",
        "dagster",
    )
    assert doc["metadata"]["labels"]["kubectl-dagster.io/registry"] == "code-location"
    spec = yamlio.make_yaml("safe").load(doc["data"]["location.yaml"])
    assert spec == {
        "name": "etl-pr-42",
        "branch": "feature/new-assets",
        "pythonFile": "etl/definitions.py",
        "workingDirectory": "/opt/dagster/app",
        "env": {"DAGSTER_ENV": "preview"},
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}},
        "image": {"repository": "ghcr.io/acme/etl", "tag": "sha-4f2a9c81"},
        "commit": HEAD,
        "pullRequest": 42,
        "annotations": {"kubectl-dagster.io/git-url": REPO_URL},
        "port": 3030,
    }
    apply(kube, opened.stdout)
    documents, names = dagster_render(kube)
    assert names == ["etl-pr-42"]
    deployment = documents[("Deployment", "dagster-dagster-user-deployments-etl-pr-42")].data
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/etl:sha-4f2a9c81"
    listed = cli("list-locations", "--cluster", "-n", "dagster", "-o", "wide", env={"KUBECONFIG": kube.kubeconfig_path})
    assert "etl-pr-42" in listed.stdout and " 42 " in listed.stdout

    # A push: a new head commit; the same PR's registration is its own, so check-registry lets it through.
    pushed_head = "9" * 40
    pushed = generate(code_repo, pr_env(kube, head=pushed_head))
    assert pushed.code == 0, pushed.stderr
    apply(kube, pushed.stdout, method="PUT")
    documents, _ = dagster_render(kube)
    deployment = documents[("Deployment", "dagster-dagster-user-deployments-etl-pr-42")].data
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/etl:sha-99999999"

    # PR closed: the ApplicationSet deletes the Application; its finalizer deletes the ConfigMap.
    _call(kube, "DELETE", "/api/v1/namespaces/dagster/configmaps/dagster-location-etl-pr-42")
    documents, names = dagster_render(kube)
    assert names == [] and ("Service", "etl-pr-42") not in documents


def test_without_a_location_file_the_parameters_need_a_code_source(kube, code_repo):
    (code_repo / "dagster-location.yaml").unlink()
    result = generate(code_repo, pr_env(kube))
    assert result.code == 1 and result.stdout == ""
    assert "no code source" in result.stderr


def _register(kube, name, spec):
    from kubectl_dagster.shells.registry import configmaps

    _call(kube, "POST", "/api/v1/namespaces/dagster/configmaps", configmaps.to_configmap(name, spec, "dagster"))


BAD_FILES = {
    "name": "name: prod\npythonFile: a.py\n",
    "namespace": "namespace: kube-system\npythonFile: a.py\n",
    "port": "port: 80\npythonFile: a.py\n",
    "patches": "pythonFile: a.py\npatches:\n  - kind: Deployment\n    patch:\n"
    "      - {op: replace, path: /metadata/namespace, value: kube-system}\n",
    "image.tag": "pythonFile: a.py\nimage: {tag: latest}\n",
}


@pytest.mark.parametrize("key", sorted(BAD_FILES))
def test_a_location_file_may_not_choose_what_the_plugin_decides(kube, code_repo, key):
    (code_repo / "dagster-location.yaml").write_text(BAD_FILES[key])
    result = generate(code_repo, pr_env(kube))
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: dagster-location.yaml sets {key}, which the pull-request plugin decides")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "override, message",
    [
        (
            {"PARAM_NAME": "{branch}"},
            "error: the location name 'feature/new-assets' (from the name parameter '{branch}') "
            "is not a DNS-1035 label",
        ),
        ({"PARAM_NAME": "pr-{sha}"}, "error: unknown placeholder {sha} in the name parameter"),
        (
            {"PARAM_NAME": "{number}"},
            "error: the location name '42' (from the name parameter '{number}') is not a DNS-1035",
        ),
        ({"PARAM_NUMBER": "forty-two"}, "error: the number parameter must be the pull request number, got 'forty-two'"),
        ({"PARAM_IMAGE": ""}, "error: the image parameter is empty"),
        ({"PARAM_PORT": "70000"}, "error: the port parameter must be a port from 1 to 65535"),
    ],
)
def test_parameters_that_derive_an_invalid_name_or_value(kube, code_repo, override, message):
    env = pr_env(kube, **override)
    del env["ARGOCD_APP_PARAMETERS"]  # the PARAM_* variables carry the same values
    result = generate(code_repo, env)
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.startswith(message), result.stderr


def test_a_name_another_pr_registered_is_refused(kube, code_repo):
    other = {"kubectl-dagster.io/git-url": "https://x/other.git"}
    _register(
        kube,
        "etl-pr-42",
        {
            "name": "etl-pr-42",
            "image": {"repository": "r"},
            "pythonFile": "a.py",
            "pullRequest": 42,
            "annotations": other,
        },
    )
    result = generate(code_repo, pr_env(kube))
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.startswith(
        "error: location 'etl-pr-42' is already registered by PR #42 of "
        "https://x/other.git (configmap/dagster-location-etl-pr-42); set the plugin's name"
    )


def test_a_name_the_workspace_serves_is_refused(kube, code_repo):
    text = "load_from:\n  - grpc_server:\n      host: etl-pr-42\n      port: 3030\n      location_name: etl-pr-42\n"
    _call(
        kube,
        "POST",
        "/api/v1/namespaces/dagster/configmaps",
        {"metadata": {"name": "dagster-workspace-yaml"}, "data": {"workspace.yaml": text}},
    )
    result = generate(code_repo, pr_env(kube))
    assert result.code == 1 and result.stdout == ""
    assert "location 'etl-pr-42' is already served by the Dagster workspace in namespace dagster" in result.stderr
    unchecked = generate(code_repo, pr_env(kube, PARAM_CHECK_REGISTRY="false", ARGOCD_APP_PARAMETERS="null"))
    assert unchecked.code == 0, unchecked.stderr  # check-registry off: no cluster read at all


PROJECT_CONFIG = """\
apiVersion: kubectl-dagster/v1alpha1
kind: ProjectConfig
defaults:
  env: {DAGSTER_ENV: ci}
  location: {port: 4000}
environments:
  preview:
    env: {DAGSTER_ENV: preview}
    envSecrets: [etl-preview]
"""


def test_the_repositorys_project_config_and_dagster_files_describe_the_code(kube, tmp_path):
    """No location file: the PR's code is described by what deploy reads, found from the Application's path up to
    the repository's root (ARGOCD_APP_SOURCE_PATH) and never above it: a create-dagster project's
    [tool.dg.project] and the repository's .kubectl-dagster.yaml (environment `preview`, a plugin parameter).
    What the plugin decides (port) is left out with one note."""
    from conftest import tool
    from test_dagster_projects import scaffold

    outside = tmp_path / "checkout"  # what the cmp-server unpacked; the repository is its root
    outside.mkdir()
    repo = scaffold(outside, tool("create-dagster"), "project", "etl-pipeline", "--no-uv-sync", name="etl-pipeline")
    (repo / ".kubectl-dagster.yaml").write_text(PROJECT_CONFIG)
    outside_file = "locations:\n  - location_name: outside\n    code_source: {module_name: outside}\n"
    (outside / "dagster_cloud.yaml").write_text(outside_file)  # above the repository: never read
    app = repo / "deploy" / "preview"  # the Application's path inside the repository
    app.mkdir(parents=True)
    env = pr_env(kube, ARGOCD_APP_SOURCE_PATH="deploy/preview", PARAM_ENVIRONMENT="preview")
    result = run(argv(), env=env, cwd=str(app))
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "kubectl-dagster: the project config sets location.port, which the pull-request plugin decides; left out"
    )
    (doc,) = [d for d in yamlio.make_yaml("safe").load_all(result.stdout) if d]
    spec = yamlio.make_yaml("safe").load(doc["data"]["location.yaml"])
    assert (spec["moduleName"], spec["env"], spec["envSecrets"], spec["port"]) == (
        "etl_pipeline.definitions",
        {"DAGSTER_ENV": "preview"},
        ["etl-preview"],
        3030,
    )
    apply(kube, result.stdout)
    assert dagster_render(kube)[1] == ["etl-pr-42"]  # the Dagster Application serves it


def test_the_location_file_wins_over_the_project(kube, code_repo):
    """Both describe the code; the location file is the plugin's own, so its code source replaces the project's."""
    (code_repo / "pyproject.toml").write_text('[tool.dagster]\nmodule_name = "etl.definitions"\n')
    result = generate(code_repo, pr_env(kube))
    assert result.code == 0, result.stderr
    (doc,) = [d for d in yamlio.make_yaml("safe").load_all(result.stdout) if d]
    spec = yamlio.make_yaml("safe").load(doc["data"]["location.yaml"])
    assert spec["pythonFile"] == "etl/definitions.py" and "moduleName" not in spec
