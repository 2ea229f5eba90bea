"""The cluster registry against tests/fakekube.py, which stands in for the Kubernetes API server
(none can run here): the official client talks HTTP to it, and it answers with the API server's
semantics (resourceVersion per write, 409 on stale updates and failed delete preconditions, 404,
422, Status bodies, label selectors, 401/403). Commands run as real processes, as kubectl runs
a plugin."""

import json
import os
import socket
import subprocess

import pytest
from conftest import CHART_FIXTURES, cli, entry_point, path_with_plugin, tool

from kubectl_dagster.base import errors
from kubectl_dagster.core.registry import entries
from kubectl_dagster.shells import kube as kube_mod
from kubectl_dagster.shells.registry import configmaps
from kubectl_dagster.shells.registry import store as store_mod


def kc(kube, *args, stdin=""):
    return cli(*args, "--cluster", stdin=stdin, env={"KUBECONFIG": kube.kubeconfig_path})


def stored(kube):
    return {name: obj for (ns, name), obj in kube.configmaps.items() if ns == "dagster"}


def spec_of(obj):
    from kubectl_dagster.base import yamlio

    return yamlio.make_yaml().load(obj["data"]["location.yaml"])


def test_add_update_get_list_remove(kube):
    result = kc(
        kube, "add-location", "--branch", "feat/x", "--image", "ghcr.io/acme/code:1", "-f", "defs.py", "--ttl", "7d"
    )
    assert (result.code, result.stderr) == (0, "")
    assert (
        result.stdout
        == "location/feat-x created (image ghcr.io/acme/code:1; port 3031; in configmap/dagster-location-feat-x)\n"
    )
    obj = stored(kube)["dagster-location-feat-x"]
    assert obj["metadata"]["labels"] == {
        "kubectl-dagster.io/registry": "code-location",
        "kubectl-dagster.io/location": "feat-x",
        "app.kubernetes.io/managed-by": "kubectl-dagster",
    }
    assert spec_of(obj)["branch"] == "feat/x" and spec_of(obj)["port"] == 3031
    version = obj["metadata"]["resourceVersion"]
    result = kc(kube, "update-location", "feat-x", "--image", "ghcr.io/acme/code:2", "--env", "API_KEY=s3cret")
    assert (
        result.stdout == "location/feat-x configured (env +API_KEY; image ghcr.io/acme/code:1 -> ghcr.io/acme/code:2)\n"
    )
    assert "s3cret" not in result.stdout + result.stderr
    assert int(stored(kube)["dagster-location-feat-x"]["metadata"]["resourceVersion"]) > int(version)
    listed = kc(kube, "list-locations").stdout.splitlines()
    assert listed[1].split()[:4] == ["feat-x", "feat/x", "ghcr.io/acme/code:2", "3031"]
    assert listed[1].split()[-1] == "configmap/dagster-location-feat-x"
    got = json.loads(kc(kube, "get-location", "feat-x", "-o", "json").stdout)
    assert got["image"] == {"repository": "ghcr.io/acme/code", "tag": "2"}
    assert kc(kube, "remove-location", "--branch", "feat/x").stdout == "location/feat-x deleted\n"
    assert stored(kube) == {}


def test_ports_avoid_the_live_workspace(kube):
    kube.configmaps[("dagster", "dagster-workspace-yaml")] = {
        "metadata": {"name": "dagster-workspace-yaml", "namespace": "dagster", "resourceVersion": "1"},
        "data": {"workspace.yaml": "load_from:\n  - grpc_server: {host: a, port: 3031, location_name: a}\n"},
    }
    assert kc(kube, "add-location", "x", "--image", "r", "-f", "a.py").code == 0
    assert spec_of(stored(kube)["dagster-location-x"])["port"] == 3032


def test_only_labelled_configmaps_are_locations(kube):
    kube.configmaps[("dagster", "dagster-location-fake")] = {
        "metadata": {"name": "dagster-location-fake", "namespace": "dagster", "resourceVersion": "1", "labels": {}},
        "data": {"location.yaml": "name: fake\n"},
    }
    assert kc(kube, "add-location", "x", "--image", "r", "-f", "a.py").code == 0
    assert kc(kube, "list-locations", "-o", "name").stdout == "location/x\n"


def test_dry_run_server_stores_nothing(kube):
    result = kc(kube, "add-location", "x", "--image", "r", "-f", "a.py", "--dry-run=server")
    assert result.code == 0 and result.stdout.startswith("location/x created (server dry run)")
    assert stored(kube) == {}
    assert ("POST", "/api/v1/namespaces/dagster/configmaps") in [(m, p) for m, p, _ in kube.requests]


def _parallel(kube, commands):
    env = dict(os.environ, PATH=path_with_plugin(), KUBECONFIG=kube.kubeconfig_path)
    procs = [
        subprocess.Popen([entry_point(), *args, "--cluster"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for args in commands
    ]
    return [(p.wait(timeout=180), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]


def test_twenty_concurrent_writers_lose_nothing(kube):
    results = _parallel(kube, [["add-location", f"loc-{i}", "--image", f"r:{i}", "-f", "a.py"] for i in range(20)])
    assert all(code == 0 for code, _, _ in results), results
    assert sorted(stored(kube)) == sorted(f"dagster-location-loc-{i}" for i in range(20))


def test_concurrent_updates_of_one_location_all_land(kube):
    assert kc(kube, "add-location", "shared", "--image", "r", "-f", "a.py").code == 0
    results = _parallel(kube, [["update-location", "shared", "--label", f"k{i}=v{i}"] for i in range(10)])
    assert all(code == 0 for code, _, _ in results), results
    assert spec_of(stored(kube)["dagster-location-shared"])["labels"] == {f"k{i}": f"v{i}" for i in range(10)}
    conflicts = [m for m, p, _ in kube.requests if m == "PUT"]
    assert len(conflicts) >= 10


def test_conflict_outliving_retries_is_one_line_and_changes_nothing(kube):
    assert kc(kube, "add-location", "x", "--image", "r:1", "-f", "a.py").code == 0
    kube.always_conflict = True
    result = kc(kube, "update-location", "x", "--image", "r:2")
    assert result.code == 1 and result.stdout == ""
    assert result.stderr == (
        f"error: location x kept changing: {configmaps.ConfigMapStore.attempts} attempts met a conflict; "
        "retry the command; another writer is updating the same location\n"
    )
    assert spec_of(stored(kube)["dagster-location-x"])["image"]["tag"] == "1"
    assert len([m for m, _, _ in kube.requests if m == "PUT"]) == configmaps.ConfigMapStore.attempts


def test_delete_is_precise(kube, tmp_path):
    """A delete carries the uid and resourceVersion it read: an object changed in between is not deleted blindly."""
    assert kc(kube, "add-location", "x", "--image", "r:1", "-f", "a.py").code == 0
    os.environ["KUBECONFIG"] = kube.kubeconfig_path
    try:
        store = configmaps.ConfigMapStore(kube_mod.Cluster(kube_mod.KubeFlags()))
        stale = store.snapshot("x")
        assert kc(kube, "update-location", "x", "--image", "r:2").code == 0
        with pytest.raises(store_mod.Retry, match="the ResourceVersion in the precondition"):  # the real wording
            store.write(stale, None, server_dry_run=False)
        assert "dagster-location-x" in stored(kube)
        old, new = store_mod.mutate(store, "x", entries.removing)  # re-reads, then deletes
        assert new is None and old.spec["image"]["tag"] == "2" and stored(kube) == {}
    finally:
        del os.environ["KUBECONFIG"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "case, message",
    [
        ("unauthorized", "error: unauthorized (read location x): Unauthorized; log in again"),
        (
            "forbidden",
            'error: forbidden (read location x): configmaps "dagster-location-x" is forbidden: '
            'User "system:serviceaccount:ci:ci" cannot get',
        ),  # a named object: the server names it
        ("missing-namespace", "error: namespace nowhere not found (create location x); pass -n/--namespace"),
        ("bad-kubeconfig", "error: bad kubeconfig:"),
        ("missing-kubeconfig", "error: kubeconfig /nonexistent/config does not exist"),
        ("unreachable", "error: cannot reach the API server at http://127.0.0.1:"),
        ("unknown-context", "error: bad kubeconfig:"),
    ],
)
def test_cluster_errors_are_one_line(kube, tmp_path, case, message):
    env = {"KUBECONFIG": kube.kubeconfig_path}
    args = ["add-location", "x", "--image", "r", "-f", "a.py", "--cluster"]
    if case == "unauthorized":
        env["KUBECONFIG"] = kube.kubeconfig(tmp_path / "wrong", token="wrong")
    elif case == "forbidden":
        kube.forbidden.add("dagster")
    elif case == "missing-namespace":
        args += ["-n", "nowhere"]
    elif case == "bad-kubeconfig":
        (tmp_path / "broken").write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
        env["KUBECONFIG"] = str(tmp_path / "broken")
    elif case == "missing-kubeconfig":
        args += ["--kubeconfig", "/nonexistent/config"]
    elif case == "unreachable":
        text = open(kube.kubeconfig_path).read().replace(kube.url, f"http://127.0.0.1:{_closed_port()}")
        (tmp_path / "down").write_text(text)
        env["KUBECONFIG"] = str(tmp_path / "down")
    elif case == "unknown-context":
        args += ["--context", "nope"]
    result = cli(*args, env=env)
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert stored(kube) == {}


def test_api_error_mapping_of_a_real_422_status():
    body = json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": "Invalid",
            "code": 422,
            "message": 'ConfigMap "x" is invalid: metadata.name: Invalid value',
        }
    )
    error = kube_mod.api_error("create location x", 422, body, "dagster")
    assert isinstance(error, errors.ClusterError)
    assert error.line() == (
        'rejected by the API server (create location x): ConfigMap "x" is invalid: metadata.name: '
        "Invalid value; fix the location spec"
    )


def test_context_namespace_is_the_default(kube):
    assert kc(kube, "add-location", "x", "--image", "r", "-f", "a.py", "--context", "other").code == 0
    assert ("argocd", "dagster-location-x") in kube.configmaps


def test_render_from_cluster_with_files(kube, tmp_path):
    assert kc(kube, "add-location", "from-cluster", "--image", "r:1", "-f", "a.py").code == 0
    local = tmp_path / "locations.yaml"
    local.write_text(
        "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n"
        "  - name: from-file\n    image: {repository: r}\n    pythonFile: b.py\n    port: 3040\n"
    )
    release = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
    env = {"KUBECONFIG": kube.kubeconfig_path}
    result = cli("render", "--from-cluster", "--locations", str(local), "--summary", stdin=release, env=env)
    assert result.code == 0, result.stderr
    assert "from-cluster, from-file" in result.stderr
    local.write_text(local.read_text().replace("from-file", "from-cluster"))
    clash = cli("render", "--from-cluster", "--locations", str(local), "--summary", stdin=release, env=env)
    assert clash.code == 0, clash.stderr  # the platform's file wins; the registry's entry is left out
    assert (
        "warning: location from-cluster (configmap/dagster-location-from-cluster) left out of the render: "
        "location from-cluster is also in the platform's --locations, which wins\n"
    ) in clash.stderr
    assert "merged 1 location(s) into release dagster (full): from-cluster" in clash.stderr
    assert "image: r:1" not in clash.stdout and "pythonFile" not in clash.stdout and "- b.py" in clash.stdout


def test_argocd_refresh_after_the_write_and_only_after(kube):
    kube.add_application("argocd", "dagster")
    args = ["add-location", "x", "--image", "r", "-f", "a.py", "--argocd-app", "dagster"]
    result = kc(kube, *args)
    assert result.code == 0, result.stderr
    assert result.stderr == "application.argoproj.io/dagster refresh requested (hard)\n"
    app = kube.applications[("argocd", "dagster")]
    assert app["metadata"]["annotations"] == {"argocd.argoproj.io/refresh": "hard"}
    writes = [(m, p) for m, p, _ in kube.requests if m in ("POST", "PUT", "PATCH", "DELETE")]
    assert writes == [
        ("POST", "/api/v1/namespaces/dagster/configmaps"),
        ("PATCH", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/dagster"),
    ]
    del app["metadata"]["annotations"]
    failed = kc(kube, *args)  # exists already: no write, so no refresh
    assert failed.code == 1 and "already exists" in failed.stderr
    assert kc(kube, *args, "--replace", "--dry-run").code == 0  # dry run: no refresh
    assert "annotations" not in kube.applications[("argocd", "dagster")]["metadata"]
    assert kc(kube, "remove-location", "x", "--argocd-app", "dagster").code == 0
    assert kube.applications[("argocd", "dagster")]["metadata"]["annotations"] == {"argocd.argoproj.io/refresh": "hard"}


def test_real_kubectl_runs_the_plugin(kube):
    env = {"KUBECONFIG": kube.kubeconfig_path}
    kubectl = tool("kubectl")
    from conftest import run

    added = run(
        [
            kubectl,
            "dagster",
            "add-location",
            "--branch",
            "feat/kubectl",
            "--image",
            "r:1",
            "-f",
            "a.py",
            "--cluster",
            "-n",
            "dagster",
            "-o",
            "name",
        ],
        env=env,
    )
    assert (added.code, added.stdout, added.stderr) == (0, "location/feat-kubectl\n", "")
    listed = run([kubectl, "dagster", "list-locations", "--cluster", "--no-headers"], env=env)
    assert listed.code == 0 and listed.stdout.split()[0] == "feat-kubectl"
    again = run(
        [kubectl, "dagster", "add-location", "--branch", "feat/kubectl", "--image", "r:1", "-f", "a.py", "--cluster"],
        env=env,
    )
    assert again.code == 1 and again.stdout == ""
    assert again.stderr == (
        "error: location 'feat-kubectl' already exists (configmap/dagster-location-feat-kubectl); "
        "pass --replace, or use update-location\n"
    )
    usage = run([kubectl, "dagster", "add-location", "--nope"], env=env)
    assert usage.code == 2 and usage.stdout == "" and "No such option '--nope'; see" in usage.stderr
