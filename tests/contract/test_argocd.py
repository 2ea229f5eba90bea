"""The shipped plugin.yaml, run as ArgoCD's cmp-server runs it (ArgoCD itself cannot run here):
the repo is copied to a temporary directory, the commands run in the Application's source path
with the environment ArgoCD sets (ARGOCD_APP_*, KUBE_VERSION, KUBE_API_VERSIONS, ARGOCD_ENV_*,
ARGOCD_APP_PARAMETERS, PARAM_*), `init` and then `generate`, with the argv from plugin.yaml and
real Helm, on an umbrella chart whose Dagster-shaped dependency is local (file://)."""

import json
import os
import shutil

import pytest
from conftest import MINI_CHART, ROOT, run, tool

from kubectl_dagster.base import yamlio
from kubectl_dagster.core.chart import manifests, workspace

REPO = ROOT / "tests" / "argocd-repo"
PLUGIN = yamlio.make_yaml().load((ROOT / "plugin.yaml").read_text())


def argv(step):
    spec = PLUGIN["spec"][step]
    return list(spec["command"]) + list(spec.get("args") or [])


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(REPO, root)
    shutil.copytree(MINI_CHART, root / "charts" / "mini-dagster")
    return root


def argocd_env(tmp_path, helm="helm3", parameters=None, **extra):
    env = {
        "ARGOCD_APP_NAME": "dagster",
        "ARGOCD_APP_NAMESPACE": "data-platform",
        "ARGOCD_APP_PROJECT_NAME": "default",
        "ARGOCD_APP_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "ARGOCD_APP_REVISION_SHORT": "0123456",
        "ARGOCD_APP_REVISION_SHORT_8": "01234567",
        "ARGOCD_APP_SOURCE_PATH": "apps/dagster",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/platform/gitops.git",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.29.3",
        "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1,example.com/v1",
        "KUBECTL_DAGSTER_HELM": tool(helm),
        "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
        "HELM_DATA_HOME": str(tmp_path / "helm-data"),
    }
    if parameters is not None:
        env["ARGOCD_APP_PARAMETERS"] = parameters if isinstance(parameters, str) else json.dumps(parameters)
    env.update(extra)
    return env


def cmp(repo, env, step="generate"):
    return run(argv(step), env=env, cwd=str(repo / "apps" / "dagster"))


def init_and_generate(repo, env):
    init = cmp(repo, env, "init")
    assert init.code == 0, init.stderr
    assert init.stdout == ""  # init output is not treated as manifests, but keep it clean
    return cmp(repo, env)


def workspace_names(text):
    stream = manifests.split(text)
    doc = next(d for d in stream.documents if d.kind == "ConfigMap" and "workspace.yaml" in (d.data.get("data") or {}))
    chart, ours = workspace.split_entries(doc.data["data"]["workspace.yaml"])
    return [workspace.entry_name(e) for e in chart], [workspace.entry_name(e) for e in ours]


def by_kind_name(text):
    return {(d.kind, d.name): d for d in manifests.split(text).documents if d.kind}


def test_plugin_yaml_is_a_cmp_v2_config():
    assert PLUGIN["apiVersion"] == "argoproj.io/v1alpha1" and PLUGIN["kind"] == "ConfigManagementPlugin"
    assert argv("generate") == ["kubectl-dagster", "argocd-generate"]
    assert argv("init") == ["kubectl-dagster", "argocd-init"]
    assert PLUGIN["spec"]["discover"]["fileName"] == "./dagster-locations*"
    names = [p["name"] for p in PLUGIN["spec"]["parameters"]["static"]]
    from kubectl_dagster.core.gitops import argocd

    assert names == [p.name for p in argocd.PARAMS]  # what the UI announces is what the plugin reads
    for announced, param in zip(PLUGIN["spec"]["parameters"]["static"], argocd.PARAMS, strict=False):
        key = {"string": "string", "array": "array", "map": "map"}[param.kind]
        assert announced[key] == param.default


def test_init_then_generate_merges_the_repo_locations(repo, tmp_path):
    result = init_and_generate(repo, argocd_env(tmp_path))
    assert result.code == 0, result.stderr
    assert (repo / "charts" / "mini-dagster").exists() and list(
        (repo / "apps" / "dagster" / "charts").glob("dagster-*.tgz")
    )
    objects = by_kind_name(result.stdout)
    assert ("Service", "feature-new-assets") in objects
    assert ("Deployment", "dagster-dagster-user-deployments-feature-new-assets") in objects
    assert workspace_names(result.stdout) == (["chart-location"], ["feature-new-assets"])
    caps = objects[("ConfigMap", "dagster-capabilities")].data["data"]
    assert caps == {"kubeVersion": "v1.29.3", "hasExampleApi": "true", "namespace": "data-platform"}
    assert "merged 1 location(s) into release dagster" in result.stderr
    (job,) = [d for (kind, _), d in objects.items() if kind == "Job" and "kubectl-dagster.io/reload-hook" in d.text]
    assert job.data["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"  # rollout=reload by default
    assert ("Role", "dagster-dagster-reload") in objects  # with the nudge's RBAC by default


def test_reload_nudge_parameter_turns_the_rbac_off(repo, tmp_path):
    env = argocd_env(tmp_path, parameters=[{"name": "reload-nudge", "string": "false"}])
    result = init_and_generate(repo, env)
    assert result.code == 0, result.stderr
    objects = by_kind_name(result.stdout)
    assert not [
        key
        for key in objects
        if key[0] in ("ServiceAccount", "Role", "RoleBinding") and "kubectl-dagster.io/reload-hook" in objects[key].text
    ]
    (job,) = [d for (kind, _), d in objects.items() if kind == "Job" and "kubectl-dagster.io/reload-hook" in d.text]
    assert job.data["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_app_name_with_namespace_prefix_and_parameters(repo, tmp_path):
    """ARGOCD_APP_NAME is <app-namespace>_<name> outside ArgoCD's namespace; parameters come as JSON and PARAM_*."""
    params = [
        {"name": "values-files", "array": ["values.yaml", "values-prod.yaml"]},
        {"name": "set", "map": {"dagster.deployments[0].image.tag": "3.0"}},
        {"name": "rollout", "string": "restart"},
    ]
    env = argocd_env(
        tmp_path,
        parameters=params,
        ARGOCD_APP_NAME="team-a_analytics",
        PARAM_VALUES_FILES_0="values.yaml",
        PARAM_VALUES_FILES_1="values-prod.yaml",
        PARAM_SET_DAGSTER_DEPLOYMENTS_0__IMAGE_TAG="3.0",
        PARAM_ROLLOUT="restart",
    )
    result = init_and_generate(repo, env)
    assert result.code == 0, result.stderr
    objects = by_kind_name(result.stdout)
    assert ("Deployment", "analytics-dagster-user-deployments-feature-new-assets") in objects
    chart_deployment = objects[("Deployment", "analytics-dagster-user-deployments-chart-location")].text
    assert "ghcr.io/acme/chart-location:3.0" in chart_deployment  # --set wins over values-prod.yaml's 2.0
    restarted = objects[("Deployment", "analytics-webserver")].text
    env.pop("PARAM_ROLLOUT")
    env["ARGOCD_APP_PARAMETERS"] = json.dumps(params[:2])
    untouched = by_kind_name(cmp(repo, env).stdout)[("Deployment", "analytics-webserver")].text
    assert restarted != untouched and "checksum/dagster-workspace" in restarted  # rollout=restart moved the checksum


def test_plugin_env_and_param_vars_without_json(repo, tmp_path):
    """No ARGOCD_APP_PARAMETERS: PARAM_* and the Application's plugin env (ARGOCD_ENV_<Name>, case kept) are read."""
    (repo / "apps" / "dagster" / "previews").mkdir()
    (repo / "apps" / "dagster" / "previews" / "pr-7.yaml").write_text(
        "name: pr-7\nimage: {repository: ghcr.io/acme/code, tag: pr-7}\npythonFile: defs.py\nport: 3032\n"
    )
    env = argocd_env(tmp_path, ARGOCD_ENV_releaseName="from-env", PARAM_LOCATIONS="previews")
    result = init_and_generate(repo, env)
    assert result.code == 0, result.stderr
    assert ("Service", "pr-7") in by_kind_name(result.stdout)
    assert ("Deployment", "from-env-webserver") in by_kind_name(result.stdout)
    assert workspace_names(result.stdout)[1] == ["pr-7"]


def test_plugin_block_without_parameters(repo, tmp_path):
    """`plugin: {}` sends the literal null."""
    result = init_and_generate(repo, argocd_env(tmp_path, parameters="null"))
    assert result.code == 0, result.stderr
    assert workspace_names(result.stdout)[1] == ["feature-new-assets"]


def test_helm4_generates_the_same(repo, tmp_path):
    three = init_and_generate(repo, argocd_env(tmp_path))
    four = cmp(repo, argocd_env(tmp_path, helm="helm4"))
    assert four.code == 0, four.stderr
    assert workspace_names(four.stdout) == workspace_names(three.stdout)
    assert set(by_kind_name(four.stdout)) == set(by_kind_name(three.stdout))


def test_same_render_on_every_cluster(repo, tmp_path):
    """An ApplicationSet across clusters: same repo and revision give the same bytes everywhere."""
    first = init_and_generate(repo, argocd_env(tmp_path))
    second = cmp(repo, argocd_env(tmp_path, ARGOCD_APP_REVISION="f" * 40))
    assert first.stdout == second.stdout


def test_from_cluster_reads_the_registry(repo, tmp_path, kube):
    from conftest import cli

    kube.namespaces.add("data-platform")
    added = cli(
        "add-location",
        "from-registry",
        "--image",
        "r:1",
        "-f",
        "a.py",
        "--cluster",
        "-n",
        "data-platform",
        env={"KUBECONFIG": kube.kubeconfig_path},
    )
    assert added.code == 0, added.stderr
    env = argocd_env(tmp_path, parameters=[{"name": "from-cluster", "string": "true"}], KUBECONFIG=kube.kubeconfig_path)
    result = init_and_generate(repo, env)
    assert result.code == 0, result.stderr
    assert workspace_names(result.stdout)[1] == ["feature-new-assets", "from-registry"]
    assert ("GET", "/api/v1/namespaces/data-platform/configmaps") in [(m, p) for m, p, _ in kube.requests]


def test_from_cluster_with_a_registry_namespace_and_a_policy(repo, tmp_path, kube):
    """The parameters registry-namespace and policy (a file in the Application's source): the plugin reads the
    registry there and leaves out the entry the policy forbids."""
    from conftest import cli

    kube.namespaces |= {"data-platform", "dagster-registry"}
    (repo / "apps" / "dagster" / "policy.yaml").write_text(
        "apiVersion: kubectl-dagster/v1alpha1\nkind: LocationPolicy\nallowedImages: [ghcr.io/acme/]\n"
    )
    for name, image in (("ok", "ghcr.io/acme/code:1"), ("other", "quay.io/other/code:1")):
        args = ["add-location", name, "--image", image, "-f", "a.py", "--cluster", "--registry-namespace"]
        added = cli(*args, "dagster-registry", env={"KUBECONFIG": kube.kubeconfig_path})
        assert added.code == 0, added.stderr
    parameters = [
        {"name": "from-cluster", "string": "true"},
        {"name": "registry-namespace", "string": "dagster-registry"},
        {"name": "policy", "string": "policy.yaml"},
    ]
    result = init_and_generate(repo, argocd_env(tmp_path, parameters=parameters, KUBECONFIG=kube.kubeconfig_path))
    assert result.code == 0, result.stderr
    assert workspace_names(result.stdout)[1] == ["feature-new-assets", "ok"]
    assert (
        "warning: location other (configmap/dagster-location-other) left out of the render: Deployment "
        "containers[dagster-user-deployments].image: 'quay.io/other/code:1' is not under an allowedImages prefix of "
    ) in result.stderr


def _break(repo, case):
    app = repo / "apps" / "dagster"
    if case == "broken-chart":
        (app / "templates" / "broken.yaml").write_text("{{ .Values.nope.nope }\n")
    elif case == "bad-locations":
        (app / "dagster-locations.yaml").write_text(
            (app / "dagster-locations.yaml").read_text().replace("    pythonFile: definitions.py\n", "")
        )
    elif case == "symlink-out":
        os.symlink("/etc", app / "escape")
    elif case == "no-manifests":
        (app / "values-empty.yaml").write_text("dagster: {}\n")
        for template in (app / "templates").iterdir():
            template.unlink()
        shutil.rmtree(repo / "charts" / "mini-dagster" / "templates")
        (repo / "charts" / "mini-dagster" / "templates").mkdir()


@pytest.mark.parametrize(
    "case, params, message",
    [
        ("broken-chart", None, "error: helm template failed:"),
        ("bad-locations", None, "error: invalid locations:"),
        (
            "dotdot",
            [{"name": "values-files", "array": ["../../../etc/passwd"]}],
            "error: values file '../../../etc/passwd' leads outside",
        ),
        (
            "absolute",
            [{"name": "values-files", "array": ["/etc/passwd"]}],
            "error: values file '/etc/passwd' is an absolute path",
        ),
        (
            "symlink-out",
            [{"name": "locations", "string": "escape/hostname"}],
            "error: locations 'escape/hostname' leads outside",
        ),
        (
            "missing-locations",
            [{"name": "locations", "string": "nope.yaml"}],
            "error: locations nope.yaml does not exist",
        ),
        ("unknown-param", [{"name": "value-files", "array": ["x"]}], "error: unknown plugin parameter 'value-files'"),
        ("bad-json", "[{", "error: ARGOCD_APP_PARAMETERS is not JSON"),
        ("params-number", "3", "error: ARGOCD_APP_PARAMETERS is 3, not a list of parameters"),
        ("params-boolean", "true", "error: ARGOCD_APP_PARAMETERS is True, not a list of parameters"),
        ("params-object", '{"name": "chart"}', "error: ARGOCD_APP_PARAMETERS is a mapping, not a list"),
        (
            "params-name-not-string",
            [{"name": 3, "string": "x"}],
            "error: ARGOCD_APP_PARAMETERS has a mapping where a parameter",
        ),
        ("params-item-not-object", ["chart"], "error: ARGOCD_APP_PARAMETERS has 'chart' where a parameter"),
        ("params-deep", "[" * 30000 + "]" * 30000, "error: ARGOCD_APP_PARAMETERS is nested too deeply"),
        (
            "params-array-of-lists",
            [{"name": "values-files", "array": [["values.yaml"]]}],
            "error: plugin parameter values-files takes array: [...] of strings",
        ),
        ("params-map-of-maps", [{"name": "set", "map": {"a": {"b": "c"}}}], "error: plugin parameter set takes map"),
        (
            "bad-skip-schema",
            [{"name": "skip-schema-validation", "string": "maybe"}],
            "error: skip-schema-validation must be true or false",
        ),
        ("bad-rollout", [{"name": "rollout", "string": "sometimes"}], "error: rollout must be one of"),
        (
            "bad-reload-nudge",
            [{"name": "reload-nudge", "string": "maybe"}],
            "error: reload-nudge must be true or false",
        ),
        ("no-manifests", None, "error: helm template rendered no manifests"),
    ],
)
def test_failures_leave_stdout_empty(repo, tmp_path, case, params, message):
    _break(repo, case)
    env = argocd_env(tmp_path, parameters=params)
    cmp(repo, env, "init")
    result = cmp(repo, env)
    assert result.code != 0
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "text",
    [b"name: [unclosed\n", b"- a\n- b\n", b"\x89PNG\r\n\x1a\n\x00\xff", b"dependencies: 3\n"],
    ids=["unparseable", "list", "binary", "dependencies-not-list"],
)
def test_init_on_a_broken_chart_yaml(repo, tmp_path, text):
    (repo / "apps" / "dagster" / "Chart.yaml").write_bytes(text)
    result = cmp(repo, argocd_env(tmp_path), "init")
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Chart.yaml" in result.stderr


def test_skip_schema_validation(repo, tmp_path):
    """A values schema that loads a definition from a URL the repo-server cannot reach (connection
    refused here, as without internet): helm template fails unless the parameter asks Helm to skip it."""
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"dagster": {"$ref": "http://127.0.0.1:9/definitions.json#/definitions/x"}},
    }
    (repo / "apps" / "dagster" / "values.schema.json").write_text(json.dumps(schema))
    failed = init_and_generate(repo, argocd_env(tmp_path))
    assert failed.code == 1 and failed.stdout == "" and "error: helm template failed" in failed.stderr
    env = argocd_env(tmp_path, parameters=[{"name": "skip-schema-validation", "string": "true"}])
    result = cmp(repo, env)
    assert result.code == 0, result.stderr
    assert ("Service", "feature-new-assets") in by_kind_name(result.stdout)


def test_init_without_local_dependencies_is_a_no_op(repo, tmp_path):
    chart = repo / "apps" / "dagster" / "Chart.yaml"
    chart.write_text(chart.read_text().split("dependencies:")[0])
    result = cmp(repo, argocd_env(tmp_path), "init")
    assert result.code == 0 and "no local chart dependencies" in result.stderr


REPO_SERVER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      automountServiceAccountToken: false
      serviceAccountName: argocd-repo-server
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v2.13.2
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
"""


def test_kustomize_component_adds_the_sidecar(tmp_path):
    """The shipped component, built by real `kubectl kustomize` over a stand-in of ArgoCD's repo-server Deployment."""
    (tmp_path / "repo-server.yaml").write_text(REPO_SERVER)
    component = os.path.relpath(ROOT / "deploy" / "argocd", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(f"resources: [repo-server.yaml]\ncomponents: [{component}]\n")
    built = run([tool("kubectl"), "kustomize", str(tmp_path)])
    assert built.code == 0, built.stderr
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yamlio.make_yaml().load_all(built.stdout) if d}
    config = docs[("ConfigMap", "kubectl-dagster-cmp-plugin")]
    assert config["data"]["plugin.yaml"] == (ROOT / "plugin.yaml").read_text()  # the copy is the shipped plugin.yaml
    pod = docs[("Deployment", "argocd-repo-server")]["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    # added, the repo-server untouched: one sidecar per plugin (a cmp-server serves one plugin.yaml)
    assert sorted(containers) == ["argocd-repo-server", "kubectl-dagster", "kubectl-dagster-location"]
    location = docs[("ConfigMap", "kubectl-dagster-cmp-location-plugin")]
    assert location["data"]["plugin.yaml"] == (ROOT / "deploy" / "argocd" / "plugin-location.yaml").read_text()
    volumes = {v["name"]: v for v in pod["volumes"]}
    for name, plugin_config, tmp in (
        ("kubectl-dagster", config, "kubectl-dagster-tmp"),
        ("kubectl-dagster-location", location, "kubectl-dagster-location-tmp"),
    ):
        sidecar = containers[name]
        assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
        assert sidecar["securityContext"]["runAsUser"] == 999
        mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
        assert mounts["/var/run/argocd"]["name"] == "var-files"
        assert mounts["/home/argocd/cmp-server/plugins"]["name"] == "plugins"
        plugin = mounts["/home/argocd/cmp-server/config/plugin.yaml"]
        assert plugin["subPath"] == "plugin.yaml"
        assert volumes[plugin["name"]]["configMap"]["name"] == plugin_config["metadata"]["name"]
        assert volumes[mounts["/tmp"]["name"]] == {"name": tmp, "emptyDir": {}}
        token = volumes[mounts["/var/run/secrets/kubernetes.io/serviceaccount"]["name"]]["projected"]["sources"]
        assert token[0]["serviceAccountToken"]["path"] == "token"


def test_shipped_rbac_is_what_the_rbac_command_prints():
    from conftest import cli

    printed = cli(
        "rbac",
        "-n",
        "data-platform",
        "--reader",
        "argocd/argocd-repo-server",
        "--writer",
        "ci/dagster-ci",
        "--argocd-app",
        "dagster",
    )
    assert printed.code == 0
    assert printed.stdout == (ROOT / "deploy" / "argocd" / "registry-rbac.yaml").read_text()
