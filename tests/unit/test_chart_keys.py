"""Chart keys whose meaning depends on the chart version (docs/chart-keys.md), on real rendered releases.

No rendered 1.12+ chart is available here (../shared/notes/dagster-chart-structure.md): the 1.12 behaviour
of `image.digest` and of `initContainers[].image` given as a map is tested at the boundary, on the real
1.11.10 release with its chart version read as 1.12.19, against what the chart's pull requests state
(dagster #32570: `repository@digest`, the digest taking precedence over the tag; #33296: the same for
init containers).
"""

from __future__ import annotations

import json

import pytest
from conftest import CHART_FIXTURES, cli

from kubectl_dagster.base import constants
from kubectl_dagster.core.chart import gojson, manifests, objects, releasebase
from kubectl_dagster.core.chart import release as rel
from kubectl_dagster.core.spec import checks, locations

DIGEST = "sha256:" + "ab" * 32
SOURCE = "dagster/charts/dagster-user-deployments/templates/kubectl-dagster/x.yaml"


def _release(scenario="b", version="1.11.10"):
    text = (CHART_FIXTURES / version / f"{scenario}.yaml").read_text()
    return rel.find(manifests.split(text))


def _base(chart_version=None, scenario="b"):
    base = releasebase.base_from(_release(scenario), None)
    return base._replace(chart_version=chart_version) if chart_version else base


def _location(**spec):
    spec = {"name": "x", "image": {"repository": "ghcr.io/acme/x", "tag": "1"}, "pythonFile": "defs.py", **spec}
    assert list(checks.check(spec)) == []
    return locations.Location("x", spec)


def _deployment(location, base):
    return next(obj for obj in objects.build(location, base, SOURCE) if obj["kind"] == "Deployment")


def _context(deployment):
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return json.loads(next(e["value"] for e in env if e["name"] == constants.GRPC_CONTEXT_ENV))["k8s"]


def test_checksum_hashes_numbers_as_helm_holds_them():
    """Helm reads values through JSON, so every number is a float64 that Go prints in its shortest form."""
    assert (
        gojson.go_json({"b": [1e3, 3030, 0.5, 1e21, 1.5e-7], "a": "<&>"})
        == '{"a":"\\u003c\\u0026\\u003e","b":[1000,3030,0.5,1e+21,1.5e-7]}'
    )
    item = {"name": "x", "env": [{"name": "MODE", "value": 1e3}]}
    assert gojson.checksum(item) == gojson.checksum({"name": "x", "env": [{"name": "MODE", "value": 1000}]})


def test_image_digest_takes_precedence_over_the_tag_from_chart_1_12():
    location = _location(image={"repository": "ghcr.io/acme/x", "tag": "1", "digest": DIGEST})
    base = _base("1.12.19")
    container = _deployment(location, base)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"ghcr.io/acme/x@{DIGEST}"
    assert container["env"][0] == {"name": "DAGSTER_CURRENT_IMAGE", "value": f"ghcr.io/acme/x@{DIGEST}"}
    assert objects.version_problems(location, base) == []


def test_image_digest_on_an_older_chart_is_refused_not_ignored(tmp_path):
    """Chart 1.11.10 ignores `image.digest` and would run the tag: the render says so instead."""
    path = tmp_path / "locations.yaml"
    path.write_text(
        f"name: x\nimage: {{repository: ghcr.io/acme/x, tag: '1', digest: '{DIGEST}'}}\npythonFile: defs.py\n"
    )
    result = cli("render", "--locations", str(path), stdin=(CHART_FIXTURES / "1.11.10" / "b.yaml").read_text())
    assert (result.code, result.stdout) == (1, "")
    assert "image.digest needs chart 1.12 or later; chart 1.11.10 ignores it" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("digest", ["latest", "sha256:abc", 42])
def test_a_malformed_digest_is_a_validation_problem(digest):
    spec = {"name": "x", "image": {"repository": "r", "digest": digest}, "pythonFile": "d.py"}
    assert [path for path, _ in checks.check(spec)] == [("image", "digest")]


@pytest.mark.parametrize("version", ["1.11.10", "1.12.19"])
def test_init_container_image_maps_become_strings(version):
    init = [
        {
            "name": "fetch",
            "image": {"repository": "busybox", "tag": "1.36", "pullPolicy": "IfNotPresent"},
            "command": ["true"],
        },
        {"name": "pinned", "image": {"repository": "busybox", "digest": DIGEST}},
        {"name": "plain", "image": "busybox:1.28"},
    ]
    location = _location(initContainers=init)
    deployment = _deployment(location, _base(version))
    images = [(c["image"], c.get("imagePullPolicy")) for c in deployment["spec"]["template"]["spec"]["initContainers"]]
    assert images == [("busybox:1.36", "IfNotPresent"), (f"busybox@{DIGEST}", None), ("busybox:1.28", None)]
    launched = _context(deployment)["run_k8s_config"]["pod_spec_config"]["init_containers"]
    assert [c["image"] for c in launched] == [image for image, _ in images]
    # the checksum is over the values item as given, map and all, as the chart computes it
    item = locations.chart_item(location)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations[constants.USER_DEPLOYMENT_CHECKSUM] == gojson.checksum(item)
    assert item["initContainers"][0]["image"]["repository"] == "busybox"


def test_include_instance_mounts_the_instance_config_map_the_webserver_mounts():
    base = _base()
    assert (base.volumes, base.volume_mounts) == ([], [])  # chart 1.11.10 code servers do not mount it
    pod = _deployment(_location(includeInstance=True), base)["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "dagster-instance", "configMap": {"name": "dagster-instance"}}]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "dagster-instance", "mountPath": "/opt/dagster/dagster_home/dagster.yaml", "subPath": "dagster.yaml"}
    ]
    for spec in ({"includeInstance": False}, {}):
        pod = _deployment(_location(**spec), base)["spec"]["template"]["spec"]
        assert "volumes" not in pod and "volumeMounts" not in pod["containers"][0]


def test_include_instance_false_drops_the_mount_the_release_gives_its_code_servers():
    volume, mount = {"name": "dagster-instance", "configMap": {"name": "x-instance"}}, {"name": "dagster-instance"}
    base = _base()._replace(volumes=[volume], volume_mounts=[mount])  # a 1.12 release with includeInstance: true
    assert _deployment(_location(), base)["spec"]["template"]["spec"]["volumes"] == [volume]
    assert "volumes" not in _deployment(_location(includeInstance=False), base)["spec"]["template"]["spec"]
    spec = {"name": "x", "image": {"repository": "r"}, "pythonFile": "d.py", "includeInstance": "yes"}
    assert list(checks.check(spec)) == [(("includeInstance",), "includeInstance must be true or false")]


def test_launched_runs_get_each_locations_own_annotations_only():
    """Oracle case 02: the chart's own location is annotated `owner: core-team`; ours must not inherit it."""
    text = (CHART_FIXTURES / "oracle-1.10.4" / "02.yaml").read_text()
    base = releasebase.base_from(rel.find(manifests.split(text)), None)
    assert "core-team" in text
    annotated = _context(_deployment(_location(annotations={"owner": "bi"}), base))
    assert annotated["run_k8s_config"]["pod_template_spec_metadata"] == {"annotations": {"owner": "bi"}}
    assert annotated["run_k8s_config"]["pod_spec_config"] == {"automount_service_account_token": True}
    plain = _context(_deployment(_location(), base))
    assert "pod_template_spec_metadata" not in plain["run_k8s_config"]
