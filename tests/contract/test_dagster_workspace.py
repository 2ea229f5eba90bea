"""Dagster's own workspace loading code (the `dagster` package from PyPI, the code the webserver
and daemon run on -w workspace.yaml) accepts the workspace.yaml we generate, for every fixture
that has one, and sees exactly the chart's locations plus ours."""

import pytest
from conftest import CHART_FIXTURES, SCENARIOS, VERSIONS
from ruamel.yaml import YAML

from kubectl_dagster.base import constants
from kubectl_dagster.core.chart import manifests, render
from kubectl_dagster.core.spec import locations

NEW = [
    locations.Location(
        f"preview-{i}", {"image": {"repository": "r", "tag": "1"}, "pythonFile": "d.py", "port": 4000 + i}
    )
    for i in range(3)
]
CASES = [
    (v, s, f) for v in VERSIONS for s in SCENARIOS if s != "d" for f in ("{}.yaml", "helm4-postrender/{}.stdin.yaml")
]


def _workspace(text):
    for doc in manifests.split(text).documents:
        if doc.kind == "ConfigMap" and constants.WORKSPACE_KEY in ((doc.data or {}).get("data") or {}):
            return doc.data["data"][constants.WORKSPACE_KEY]
    raise AssertionError("no workspace ConfigMap")


@pytest.mark.parametrize("version,scenario,form", CASES, ids=[f"{v}-{s}-{f[:5]}" for v, s, f in CASES])
def test_dagster_loads_generated_workspace(tmp_path, version, scenario, form):
    from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    original = (CHART_FIXTURES / version / form.format(scenario)).read_text()
    merged = render.render(original, NEW, render.Options(namespace="dagster")).text
    path = tmp_path / "workspace.yaml"
    path.write_text(_workspace(merged))
    origins = location_origins_from_yaml_paths([str(path)])
    chart_names = [
        e["grpc_server"].get("location_name") or e["grpc_server"]["host"]
        for e in YAML(typ="safe").load(_workspace(original))["load_from"] or []
    ]
    assert [o.location_name for o in origins] == chart_names + [n.name for n in NEW]
    for origin, location in zip(origins[len(chart_names) :], NEW, strict=False):
        assert isinstance(origin, GrpcServerCodeLocationOrigin)
        assert (origin.host, origin.port) == (location.name, location.spec["port"])


def test_dagster_rejects_what_it_should(tmp_path):
    """The check has teeth: a malformed grpc_server entry fails Dagster's own validation."""
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    path = tmp_path / "workspace.yaml"
    path.write_text("load_from:\n  - grpc_server:\n      hostname: x\n      port: 1\n")
    with pytest.raises(Exception):  # noqa: B017 - the class differs across Dagster versions
        location_origins_from_yaml_paths([str(path)])
