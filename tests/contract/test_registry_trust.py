"""The cluster registry as a trust boundary (docs/security.md), against the API-server stand-in (tests/fakekube.py:
no kube-apiserver runs here; it answers as a v1.24 server with RBAC does, and decides for the users in
``rbac_users`` from the Roles and RoleBindings stored in it) and the real chart's rendered output (fixture
1.11.10/b, release dagster in namespace dagster; the chart renders locations sales-etl and ml-models).

Covers: one bad entry beside good ones of each kind is left out with one stderr line and everything else renders
byte for byte as without it; the privileged, hostPath and service-account patches refused by every writer
(add-location, update-location, deploy, import) and left out at render when written with kubectl; a policy with
allowedImages at write, at render and through real Helm 3's --post-renderer-args; the registry in its own
namespace end to end, with the Roles `rbac` prints deciding every request; the live objects of an entry left out
(pruned by the next apply); versioned entries; short errors."""

import json

import pytest
from conftest import CHART_FIXTURES, MINI_CHART, cli, run, tool

from kubectl_dagster.base import yamlio
from kubectl_dagster.core.chart import manifests, workspace
from kubectl_dagster.shells.registry import configmaps

B = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
GOOD = {"image": {"repository": "ghcr.io/acme/code", "tag": "1"}, "pythonFile": "defs.py"}
POD = "/spec/template/spec"
PRIVILEGED = [{"op": "add", "path": f"{POD}/containers/0/securityContext", "value": {"privileged": True}}]
HOST_ROOT = [{"op": "add", "path": f"{POD}/volumes", "value": [{"name": "root", "hostPath": {"path": "/"}}]}]
SERVICE_ACCOUNT = [{"op": "replace", "path": f"{POD}/serviceAccountName", "value": "dagster"}]
POLICY = """\
apiVersion: kubectl-dagster/v1alpha1
kind: LocationPolicy
allowedImages: [ghcr.io/acme/]
allowedSecrets: [team-*]
"""


def env(kube):
    return {"KUBECONFIG": kube.kubeconfig_path}


def register(kube, name, spec, namespace="dagster", annotations=None, text=None):
    """An entry as kubectl (or a writer of another version) leaves it: nothing checked it."""
    obj = configmaps.to_configmap(name, spec, namespace)
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    if text is not None:
        obj["data"]["location.yaml"] = text
    kube.put("configmaps", namespace, obj)


def good(kube, *names, namespace="dagster"):
    for port, name in enumerate(names, start=3040):
        register(kube, name, {"name": name, **GOOD, "port": port}, namespace)


def warnings(stderr):
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def location_docs(text, name):
    return [d for d in manifests.split(text).documents if (d.labels() or {}).get("kubectl-dagster.io/location") == name]


def served(text):
    """The workspace entries a render adds (the chart's own come first)."""
    config = next(d for d in manifests.split(text).documents if d.name == "dagster-workspace-yaml")
    return [workspace.entry_name(e) for e in workspace.split_entries(config.data["data"]["workspace.yaml"])[1]]


BAD = {
    "invalid": (
        "bad",
        lambda kube: register(kube, "bad", {"name": "bad", **GOOD, "port": "grpc"}),
        "port must be an integer from 1 to 65535, got 'grpc'",
    ),
    "unknown-key": (
        "bad",
        lambda kube: register(kube, "bad", {"name": "bad", **GOOD, "futureKey": True}),
        "futureKey: unknown key 'futureKey'",
    ),
    "newer-format": (
        "bad",
        lambda kube: register(
            kube,
            "bad",
            {"name": "bad", **GOOD, "futureKey": True},
            annotations={
                "kubectl-dagster.io/entry-format": "2",
                "kubectl-dagster.io/written-by": "kubectl-dagster 9.0",
            },
        ),
        "written by a newer kubectl-dagster (kubectl-dagster 9.0, entry format 2; this one reads format 1); "
        "upgrade the renderer",
    ),
    "not-yaml": (
        "bad",
        lambda kube: register(kube, "bad", {}, text="name: [unclosed\n"),
        "configmap/dagster-location-bad location.yaml is not valid YAML",
    ),
    "chart-conflict": (
        "sales-etl",
        lambda kube: register(kube, "sales-etl", {"name": "sales-etl", **GOOD}),
        "the chart already renders location sales-etl (a user-code Deployment); rename the entry",
    ),
    "another-entry": (
        "bad",
        lambda kube: register(kube, "bad", {"name": "good-a", **GOOD}),
        "it holds location 'good-a', which belongs in configmap/dagster-location-good-a",
    ),
    "patch-does-not-apply": (
        "bad",
        lambda kube: register(
            kube,
            "bad",
            {
                "name": "bad",
                **GOOD,
                "envSecrets": ["prod-db-admin"],
                "patches": [{"kind": "Deployment", "patch": [{"op": "remove", "path": f"{POD}/nodeName"}]}],
            },
        ),
        "patch 0 (Deployment) operation 0 (remove '/spec/template/spec/nodeName') does not apply: "
        "can't remove a non-existent object 'nodeName'",
    ),
    "policy": (
        "bad",
        lambda kube: register(
            kube, "bad", {"name": "bad", **GOOD, "patches": [{"kind": "Deployment", "patch": PRIVILEGED}]}
        ),
        "Deployment containers[dagster-user-deployments].securityContext.privileged: privileged containers are not "
        "allowed (Pod Security baseline)",
    ),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_entry_beside_good_ones_is_left_out(kube, kind):
    good(kube, "good-a", "good-b")
    before = cli("render", "--from-cluster", stdin=B, env=env(kube))
    assert before.code == 0, before.stderr
    name, write, reason = BAD[kind]
    write(kube)
    result = cli("render", "--from-cluster", stdin=B, env=env(kube))
    assert result.code == 0, result.stderr
    assert result.stdout == before.stdout  # the release and every other location, byte for byte
    (line,) = warnings(result.stderr)
    assert line.startswith(f"warning: location {name} (configmap/dagster-location-{name}) left out of the render: ")
    assert reason in line and len(line) <= 300
    assert "prod-db-admin" not in result.stderr  # a Secret's name never comes with an error about the entry


ESCALATIONS = {"privileged": PRIVILEGED, "host-root": HOST_ROOT, "service-account": SERVICE_ACCOUNT}
FIRST = {
    "privileged": "Deployment containers[dagster-user-deployments].securityContext.privileged: privileged containers "
    "are not allowed (Pod Security baseline)",
    "host-root": "Deployment volumes[root].hostPath: hostPath volumes are not allowed (Pod Security baseline)",
    "service-account": "Deployment spec.template.spec.serviceAccountName: a patch may not change it",
}


@pytest.mark.parametrize("kind", list(ESCALATIONS))
def test_an_escalating_patch_is_refused_at_write_and_left_out_at_render(kube, tmp_path, kind):
    spec = {"name": "esc", **GOOD, "patches": [{"kind": "Deployment", "patch": ESCALATIONS[kind]}]}
    entry = tmp_path / "entry.yaml"
    entry.write_text(yamlio.dump(spec))
    refused = cli("add-location", "--location-file", str(entry), "--cluster", env=env(kube))
    assert (refused.code, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"error: location esc: {FIRST[kind]}; nothing was written; change the entry, or ask the platform team "
        "about the policy\n"
    )
    assert ("dagster", "dagster-location-esc") not in kube.configmaps
    register(kube, "esc", spec)  # kubectl apply, past the writer
    good(kube, "good-a")
    result = cli("render", "--from-cluster", stdin=B, env=env(kube))
    assert result.code == 0, result.stderr
    assert warnings(result.stderr) == [
        f"warning: location esc (configmap/dagster-location-esc) left out of the render: {FIRST[kind]}"
    ]
    assert location_docs(result.stdout, "esc") == [] and served(result.stdout) == ["good-a"]


def test_each_writer_refuses_what_the_policy_forbids_and_writes_nothing(kube, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    flags = ["--cluster", "--policy", str(policy)]
    added = cli("add-location", "ok", "--image", "ghcr.io/acme/code:1", "-f", "d.py", *flags, env=env(kube))
    assert added.code == 0, added.stderr
    outside = cli("add-location", "evil", "--image", "docker.io/evil/code:1", "-f", "d.py", *flags, env=env(kube))
    assert outside.stderr == (
        "error: location evil: Deployment containers[dagster-user-deployments].image: 'docker.io/evil/code:1' is not "
        f"under an allowedImages prefix of {policy}; nothing was written; change the entry, or ask the platform team "
        "about the policy\n"
    )
    secret = cli("update-location", "ok", "--env-secret", "prod-db-admin", *flags, env=env(kube))
    assert secret.code == 1 and "Secret 'prod-db-admin' is not in the allowedSecrets of" in secret.stderr
    cloud = tmp_path / "dagster_cloud.yaml"
    cloud.write_text(
        "locations:\n  - location_name: fine\n    image: ghcr.io/acme/fine:1\n    code_source: {python_file: f.py}\n"
        "  - location_name: other\n    image: quay.io/other/x:1\n    code_source: {python_file: f.py}\n"
    )
    imported = cli("import", str(cloud), *flags, env=env(kube))
    assert imported.code == 1 and imported.stderr.startswith("error: location other: Deployment containers")
    assert sorted(name for ns, name in kube.configmaps if name.startswith("dagster-location-")) == [
        "dagster-location-ok"
    ]
    assert "prod-db-admin" not in kube.configmaps[("dagster", "dagster-location-ok")]["data"]["location.yaml"]


def test_deploy_takes_the_policy_from_the_project_config(kube, tmp_path):
    from test_deploy import git
    from test_deploy import run as deploy_run

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feat/x")
    git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    (repo / "policy.yaml").write_text(POLICY)
    (repo / ".kubectl-dagster.yaml").write_text(
        "apiVersion: kubectl-dagster/v1alpha1\nkind: ProjectConfig\ndefaults:\n  project: etl\n"
        "  image: {repository: docker.io/evil/etl, tag: '1'}\n  codeSource: {pythonFile: defs.py}\n"
        "  registry: {cluster: true, namespace: dagster-registry}\n  policy: policy.yaml\n"
    )
    kube.namespaces.add("dagster-registry")
    code, out, err = deploy_run(["deploy"], str(repo), **env(kube))
    assert (code, out) == (1, ""), err
    assert err.startswith("error: location etl--feat-x: Deployment containers[dagster-user-deployments].image")
    assert all(not name.startswith("dagster-location-") for _, name in kube.configmaps)
    code, out, err = deploy_run(["deploy", "--image", "ghcr.io/acme/etl:2"], str(repo), **env(kube))
    assert code == 0, err
    assert list(kube.configmaps) == [("dagster-registry", "dagster-location-etl--feat-x")]


def test_a_policy_with_allowed_images_at_render(kube, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    good(kube, "good-a")
    register(kube, "evil", {"name": "evil", "image": {"repository": "docker.io/evil/code"}, "pythonFile": "d.py"})
    plain = cli("render", "--from-cluster", stdin=B, env=env(kube))
    assert plain.code == 0 and served(plain.stdout) == ["evil", "good-a"]  # the default allows any image
    result = cli("render", "--from-cluster", "--policy", str(policy), stdin=B, env=env(kube))
    assert result.code == 0, result.stderr
    assert served(result.stdout) == ["good-a"]
    assert warnings(result.stderr) == [
        "warning: location evil (configmap/dagster-location-evil) left out of the render: Deployment "
        f"containers[dagster-user-deployments].image: 'docker.io/evil/code:1.11.10' is not under an allowedImages "
        f"prefix of {policy}"
    ]
    without = cli("render", "--policy", str(policy), stdin=B, env=env(kube))
    assert without.code == 2 and without.stdout == ""
    assert without.stderr.startswith("error: a LocationPolicy applies to the cluster registry's entries")


def test_helm3_passes_the_policy_through_post_renderer_args(kube, tmp_path):
    """Real Helm 3 on the mini chart (release dagster in namespace previews), the policy as post-renderer args."""
    kube.namespaces.add("previews")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    good(kube, "good-a", namespace="previews")
    register(kube, "evil", {"name": "evil", "image": {"repository": "quay.io/x"}, "pythonFile": "d.py"}, "previews")
    homes = {f"HELM_{name.upper()}_HOME": str(tmp_path / name) for name in ("data", "config", "cache")}
    args = ["render", "--from-cluster", f"--policy={policy}"]
    result = run(
        [tool("helm3"), "template", "dagster", str(MINI_CHART), "-n", "previews", "--post-renderer", "kubectl-dagster"]
        + [item for arg in args for item in ("--post-renderer-args", arg)],
        env={**homes, **env(kube)},
    )
    assert result.code == 0, result.stderr
    assert "location_name: good-a" in result.stdout and "evil" not in result.stdout


def test_the_live_objects_of_an_entry_left_out_are_pruned_by_the_next_apply(kube):
    """Yesterday's render had the entry; today's has neither its objects nor its workspace entry, and the reload
    hook declares the locations without it: Helm and ArgoCD delete what a release no longer renders."""
    good(kube, "good-a", "feat")
    yesterday = cli("render", "--from-cluster", stdin=B, env=env(kube))
    assert [d.kind for d in location_docs(yesterday.stdout, "feat")] == ["ConfigMap", "Service", "Deployment"]
    register(kube, "feat", {"name": "feat", **GOOD, "port": 3041, "futureKey": True})  # a hand edit with kubectl
    today = cli("render", "--from-cluster", stdin=yesterday.stdout, env=env(kube))  # as Helm renders the next upgrade
    assert today.code == 0, today.stderr
    assert location_docs(today.stdout, "feat") == [] and served(today.stdout) == ["good-a"]
    job = next(d for d in manifests.split(today.stdout).documents if d.kind == "Job")
    declared = next(
        e["value"]
        for e in job.data["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "KUBECTL_DAGSTER_LOCATIONS"
    )
    assert "feat" not in json.loads(declared) and "good-a" in json.loads(declared)


def test_entries_carry_their_format_and_old_ones_keep_working(kube):
    added = cli("add-location", "new", "--image", "ghcr.io/acme/code:1", "-f", "d.py", "--cluster", env=env(kube))
    assert added.code == 0, added.stderr
    annotations = kube.configmaps[("dagster", "dagster-location-new")]["metadata"]["annotations"]
    assert annotations["kubectl-dagster.io/entry-format"] == "1"
    assert annotations["kubectl-dagster.io/written-by"].startswith("kubectl-dagster ")
    register(kube, "old", {"name": "old", **GOOD, "port": 3050}, annotations={})  # written before formats existed
    result = cli("render", "--from-cluster", stdin=B, env=env(kube))
    assert result.code == 0 and warnings(result.stderr) == [] and served(result.stdout) == ["new", "old"]
    newer = {"kubectl-dagster.io/entry-format": "2", "kubectl-dagster.io/written-by": "kubectl-dagster 9.0"}
    register(kube, "next", {"name": "next", **GOOD, "futureKey": {"x": 1}}, annotations=newer)
    update = cli("update-location", "next", "--image", "ghcr.io/acme/code:2", "--cluster", env=env(kube))
    assert update.code == 1 and "upgrade the renderer; replace it with add-location --replace" in update.stderr
    assert "futureKey" in kube.configmaps[("dagster", "dagster-location-next")]["data"]["location.yaml"]


def test_list_locations_shows_an_entry_left_out_with_the_reason(kube):
    good(kube, "good-a")
    register(kube, "bad", {"name": "bad", **GOOD, "futureKey": True})
    result = cli("list-locations", "--cluster", env=env(kube))
    assert result.code == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["bad"][2] == "<invalid>" and rows["good-a"][2] == "ghcr.io/acme/code:1"
    assert result.stderr == (
        "warning: location bad (configmap/dagster-location-bad) is invalid, renders leave it out: "
        "futureKey: unknown key 'futureKey'\n"
    )
    as_file = cli("list-locations", "--cluster", "-o", "yaml", env=env(kube))
    assert "name: good-a" in as_file.stdout and "name: bad" not in as_file.stdout  # still a valid locations file


def test_status_and_the_pr_comment_show_an_entry_left_out(kube, tmp_path, dagster_install):
    """status against a real dagster-webserver (an empty workspace: nothing is served yet)."""
    from test_dagster_reload import Dagster

    good(kube, "good-a")
    register(
        kube,
        "bad",
        {"name": "bad", **GOOD, "branch": "feat/bad", "patches": [{"kind": "Deployment", "patch": HOST_ROOT}]},
    )
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")
    dagster = Dagster(tmp_path, dagster_install)
    try:
        dagster.webserver(tmp_path / "workspace.yaml")
        args = ["status", "--cluster", "--webserver-url", dagster.url]
        table = cli(*args, env=env(kube))
        markdown = cli(*args, "--branch", "feat/bad", "-o", "markdown", env=env(kube))
    finally:
        dagster.stop()
    assert table.code == 0, table.stderr
    rows = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert rows["bad"].split()[4] == "INVALID" and "hostPath volumes are not allowed" in rows["bad"]
    assert rows["good-a"].split()[4] == "MISSING"
    assert markdown.code == 0, markdown.stderr
    assert markdown.stdout.splitlines()[5].startswith(
        "| `bad` | 🚫 INVALID: Deployment volumes[root].hostPath: hostPath volumes are not allowed (Pod Security "
        "baseline) |"
    )


def apply_rbac(kube, text):
    """`kubectl apply` of what `rbac` prints (the test's own user, not one the Roles decide for)."""
    plural = {"Role": "roles", "RoleBinding": "rolebindings"}
    for doc in yamlio.load_all(text):
        if doc:
            kube.put(plural[doc["kind"]], doc["metadata"]["namespace"], doc)


def user(kube, tmp_path, token, name):
    kube.add_user(token, name)
    kube.rbac_users.add(name)
    return {"KUBECONFIG": kube.kubeconfig(tmp_path / f"kubeconfig-{token}", namespace="dagster", token=token)}


def test_the_registry_in_its_own_namespace_end_to_end(kube, tmp_path):
    kube.namespaces.add("dagster-registry")
    printed = cli("rbac", "-n", "dagster", "--registry-namespace", "dagster-registry", "--writer", "ci/deployer")
    assert printed.code == 0, printed.stderr
    apply_rbac(kube, printed.stdout)
    writer = user(kube, tmp_path, "writer-token", "system:serviceaccount:ci:deployer")
    reader = user(kube, tmp_path, "reader-token", "system:serviceaccount:argocd:argocd-repo-server")
    there = ["--cluster", "--registry-namespace", "dagster-registry"]
    added = cli("add-location", "feat", "--image", "ghcr.io/acme/code:1", "-f", "d.py", *there, env=writer)
    assert added.code == 0, added.stderr
    assert ("dagster-registry", "dagster-location-feat") in kube.configmaps
    listed = cli("list-locations", *there, env=writer)
    assert listed.code == 0 and listed.stdout.splitlines()[1].startswith("feat ")
    home = cli("add-location", "x", "--image", "ghcr.io/acme/code:1", "-f", "d.py", "--cluster", env=writer)
    assert home.code == 1 and home.stderr.startswith(
        'error: forbidden (read location x): configmaps "dagster-location-x" is forbidden: User '
        '"system:serviceaccount:ci:deployer" cannot get resource "configmaps" in API group "" in the '
        'namespace "dagster"'
    )
    rendered = cli("render", "--from-cluster", "--registry-namespace", "dagster-registry", stdin=B, env=reader)
    assert rendered.code == 0, rendered.stderr
    assert "read 1 location(s) from the cluster registry in namespace dagster-registry" in rendered.stderr
    assert served(rendered.stdout) == ["feat"]
    assert cli("remove-location", "feat", *there, env=reader).code == 1  # the reader writes nothing
    assert cli("remove-location", "feat", *there, env=writer).code == 0
    empty = cli("render", "--from-cluster", "--registry-namespace", "dagster-registry", stdin=B, env=reader)
    assert empty.code == 0, empty.stderr  # the empty-registry guard may list the release's ConfigMaps
    denied = [c for c in kube.calls if c.path.startswith("/api/v1/namespaces/dagster/") and c.method != "GET"]
    assert denied == []


def test_the_watcher_reads_the_registry_namespace(kube, tmp_path):
    from test_watch import Watcher

    kube.namespaces.add("dagster-registry")
    kube.add_application("argocd", "dagster")
    args = ["watch", "--registry-namespace", "dagster-registry", "--argocd-app", "dagster", "--debounce", "1s"]
    watcher = Watcher(kube, args)
    try:
        watcher.wait_for("refreshed application argocd/dagster (hard)")
        good(kube, "feat", namespace="dagster-registry")
        watcher.wait_for("registry change(s): +feat")
    finally:
        assert watcher.stop() == 0, watcher.seen
    assert "in namespace dagster-registry" in watcher.seen[0]
