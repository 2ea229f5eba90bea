"""Dagster's own workspace loading code (the `dagster` package from PyPI, the code the webserver
and daemon run on -w workspace.yaml) accepts the workspace.yaml we generate, for every fixture
that has one, and sees exactly the chart's locations plus ours; on every Dagster release of the
matrix (tests/dagsters.py), each loading every case in one run of its own Python."""

import json

import pytest
from conftest import CHART_FIXTURES, SCENARIOS, VERSIONS
from ruamel.yaml import YAML

from kubectl_dagster.base import constants
from kubectl_dagster.core.chart import manifests, render
from kubectl_dagster.core.spec import locations

pytestmark = pytest.mark.every_dagster
NEW = [
    locations.Location(
        f"preview-{i}", {"image": {"repository": "r", "tag": "1"}, "pythonFile": "d.py", "port": 4000 + i}
    )
    for i in range(3)
]
CASES = [
    (v, s, f) for v in VERSIONS for s in SCENARIOS if s != "d" for f in ("{}.yaml", "helm4-postrender/{}.stdin.yaml")
]
IDS = [f"{v}-{s}-{f[:5]}" for v, s, f in CASES]
MALFORMED = "load_from:\n  - grpc_server:\n      hostname: x\n      port: 1\n"
# Each path's origins (name, class, host, port), or the error; the class is named, so no import path is version-bound.
LOAD = """\
import json, sys
from dagster._core.workspace.load import location_origins_from_yaml_paths

out = []
for path in sys.argv[1:]:
    try:
        origins = location_origins_from_yaml_paths([path])
    except Exception as exc:
        out.append({"error": type(exc).__name__})
        continue
    out.append({"origins": [[o.location_name, type(o).__name__, getattr(o, "host", None), getattr(o, "port", None)]
                            for o in origins]})
print(json.dumps(out))
"""


def _workspace(text):
    for doc in manifests.split(text).documents:
        if doc.kind == "ConfigMap" and constants.WORKSPACE_KEY in ((doc.data or {}).get("data") or {}):
            return doc.data["data"][constants.WORKSPACE_KEY]
    raise AssertionError("no workspace ConfigMap")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, dagster_install):
    """{case id or "malformed": what Dagster's loader made of its workspace.yaml}."""
    tmp = tmp_path_factory.mktemp("workspaces")
    paths = {}
    for (version, scenario, form), case in zip(CASES, IDS, strict=True):
        original = (CHART_FIXTURES / version / form.format(scenario)).read_text()
        paths[case] = tmp / f"{case}.yaml"
        paths[case].write_text(_workspace(render.render(original, NEW, render.Options(namespace="dagster")).text))
    paths["malformed"] = tmp / "malformed.yaml"
    paths["malformed"].write_text(MALFORMED)
    found = json.loads(dagster_install.python_output(LOAD, *map(str, paths.values())))
    return dict(zip(paths, found, strict=True))


@pytest.mark.parametrize("version,scenario,form", CASES, ids=IDS)
def test_dagster_loads_generated_workspace(loaded, version, scenario, form):
    result = loaded[f"{version}-{scenario}-{form[:5]}"]
    assert "error" not in result, result
    original = (CHART_FIXTURES / version / form.format(scenario)).read_text()
    chart_names = [
        e["grpc_server"].get("location_name") or e["grpc_server"]["host"]
        for e in YAML(typ="safe").load(_workspace(original))["load_from"] or []
    ]
    origins = result["origins"]
    assert [name for name, *_ in origins] == chart_names + [n.name for n in NEW]
    for (_, kind, host, port), location in zip(origins[len(chart_names) :], NEW, strict=True):
        assert kind == "GrpcServerCodeLocationOrigin"
        assert (host, port) == (location.name, location.spec["port"])


def test_dagster_rejects_what_it_should(loaded):
    """The check has teeth: a malformed grpc_server entry fails Dagster's own validation."""
    assert "error" in loaded["malformed"]  # the class differs across Dagster versions
