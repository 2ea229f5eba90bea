"""`render --from-cluster` against the API-server stand-in (tests/fakekube.py; no kube-apiserver runs
here): the registry is read in the release's namespace as the stream shows it (unless -n says
otherwise), stderr says where and how many, a failed read is an error and never an empty registry,
and an empty registry does not prune the locations an earlier render put into the live release."""

import json
import urllib.request

from conftest import CHART_FIXTURES, cli

from kubectl_dagster.base import yamlio

B = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()  # release dagster in namespace dagster
C = (CHART_FIXTURES / "1.11.10" / "c.yaml").read_text()  # system chart, release prod in namespace data-platform


def kubeconfig_elsewhere(kube, tmp_path):
    """A kubeconfig whose context defaults to namespace `default`, not the release's."""
    return {"KUBECONFIG": kube.kubeconfig(tmp_path / "kubeconfig-default", namespace="default")}


def add(kube, env, name, namespace="dagster"):
    result = cli("add-location", name, "--image", "r:1", "-f", "a.py", "--cluster", "-n", namespace, env=env)
    assert result.code == 0, result.stderr


def apply_configmaps(kube, text, namespace="dagster"):
    """What `helm upgrade` leaves in the cluster, as far as the guard reads it: the release's ConfigMaps."""
    for doc in yamlio.load_all(text):
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
            request = urllib.request.Request(
                f"{kube.url}/api/v1/namespaces/{namespace}/configmaps",
                data=json.dumps(doc).encode(),
                method="POST",
                headers={"Authorization": f"Bearer {kube.token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request) as response:
                assert response.status == 201


def lists(kube):
    return [path for method, path, _ in kube.requests if method == "GET" and path.endswith("/configmaps")]


def test_reads_the_registry_in_the_release_namespace(kube, tmp_path):
    env = kubeconfig_elsewhere(kube, tmp_path)
    add(kube, env, "from-registry")
    result = cli("render", "--from-cluster", stdin=B, env=env)
    assert result.code == 0, result.stderr
    assert "read 1 location(s) from the cluster registry in namespace dagster" in result.stderr
    assert "from-registry" in result.stdout
    assert lists(kube)[-1] == "/api/v1/namespaces/dagster/configmaps"


def test_the_namespace_of_a_system_only_release(kube, tmp_path):
    kube.namespaces.add("data-platform")
    env = kubeconfig_elsewhere(kube, tmp_path)
    add(kube, env, "loc", namespace="data-platform")
    result = cli("render", "--from-cluster", stdin=C, env=env)
    assert result.code == 0, result.stderr
    assert "read 1 location(s) from the cluster registry in namespace data-platform" in result.stderr


def test_namespace_flag_wins(kube, tmp_path):
    env = kubeconfig_elsewhere(kube, tmp_path)
    add(kube, env, "in-argocd", namespace="argocd")
    result = cli("render", "--from-cluster", "-n", "argocd", stdin=B, env=env)
    assert result.code == 0, result.stderr
    assert "read 1 location(s) from the cluster registry in namespace argocd" in result.stderr


def test_a_failed_read_is_an_error_not_an_empty_registry(kube, tmp_path):
    env = kubeconfig_elsewhere(kube, tmp_path)
    kube.forbidden.add("dagster")
    result = cli("render", "--from-cluster", stdin=B, env=env)
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: forbidden (list locations)") and result.stderr.count("\n") == 1


def test_a_registry_namespace_that_does_not_exist_does_not_prune(kube, tmp_path):
    """The API server lists nothing, with no error, in a namespace that does not exist (a typo in -n):
    the guard looks at the live release in the namespace the stream shows."""
    env = kubeconfig_elsewhere(kube, tmp_path)
    add(kube, env, "one")
    first = cli("render", "--from-cluster", stdin=B, env=env)
    apply_configmaps(kube, first.stdout)
    result = cli("render", "--from-cluster", "-n", "nope", stdin=B, env=env)
    assert result.code == 1 and result.stdout == ""
    assert "read 0 location(s) from the cluster registry in namespace nope" in result.stderr
    assert "error: the cluster registry in namespace nope has no locations, but release dagster runs 1" in result.stderr


def test_a_registry_configmap_that_holds_no_location_is_left_out(kube, tmp_path):
    """One unreadable entry never blocks the release: it is named on stderr, everything else renders."""
    env = kubeconfig_elsewhere(kube, tmp_path)
    add(kube, env, "good")
    apply_configmaps(
        kube,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dagster-location-broken\n  labels:\n"
        "    kubectl-dagster.io/registry: code-location\ndata:\n  location.yaml: '- not a mapping'\n",
    )
    result = cli("render", "--from-cluster", "--summary", stdin=B, env=env)
    assert result.code == 0, result.stderr
    assert (
        "warning: location broken (configmap/dagster-location-broken) left out of the render: "
        "its location.yaml does not hold a location mapping\n"
    ) in result.stderr
    assert "merged 1 location(s) into release dagster (full): good" in result.stderr


def test_an_empty_registry_on_a_fresh_release_renders(kube, tmp_path):
    result = cli("render", "--from-cluster", stdin=B, env=kubeconfig_elsewhere(kube, tmp_path))
    assert result.code == 0, result.stderr
    assert "read 0 location(s) from the cluster registry in namespace dagster" in result.stderr


def test_an_empty_registry_does_not_prune_the_live_release(kube, tmp_path):
    env = kubeconfig_elsewhere(kube, tmp_path)
    add(kube, env, "one")
    add(kube, env, "two")
    first = cli("render", "--from-cluster", stdin=B, env=env)
    assert first.code == 0, first.stderr
    apply_configmaps(kube, first.stdout)
    for name in ("one", "two"):
        assert cli("remove-location", name, "--cluster", "-n", "dagster", env=env).code == 0
    refused = cli("render", "--from-cluster", stdin=B, env=env)
    assert refused.code == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 2  # the registry line, then the one error line
    assert "read 0 location(s) from the cluster registry in namespace dagster" in refused.stderr
    assert (
        "error: the cluster registry in namespace dagster has no locations, but release dagster runs 2 that an "
        "earlier render added (one, two); this render would remove them all"
    ) in refused.stderr
    assert "pass --allow-empty" in refused.stderr
    allowed = cli("render", "--from-cluster", "--allow-empty", stdin=B, env=env)
    assert allowed.code == 0, allowed.stderr
    assert "kubectl-dagster.io/location" not in allowed.stdout


def test_a_file_location_kept_is_not_a_prune(kube, tmp_path):
    """Locations that the files still give are not removed: only those that would vanish count."""
    env = kubeconfig_elsewhere(kube, tmp_path)
    local = tmp_path / "locations.yaml"
    local.write_text(
        "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n"
        "  - name: from-file\n    image: {repository: r}\n    pythonFile: b.py\n"
    )
    first = cli("render", "--from-cluster", "--locations", str(local), stdin=B, env=env)
    assert first.code == 0, first.stderr
    apply_configmaps(kube, first.stdout)
    again = cli("render", "--from-cluster", "--locations", str(local), stdin=B, env=env)
    assert again.code == 0, again.stderr
