"""The ResourceList <-> stream conversion (core/gitops/krm.py), on every real chart fixture."""

import pytest
from conftest import CHART_FIXTURES, SCENARIOS, VERSIONS

from kubectl_dagster.base import errors
from kubectl_dagster.core.chart import manifests
from kubectl_dagster.core.gitops import krm

FIXTURES = [f"{v}/{s}.yaml" for v in VERSIONS for s in SCENARIOS] + [
    f"{v}/helm4-postrender/{s}.stdin.yaml" for v in VERSIONS for s in SCENARIOS
]


def documents(stream: str):
    return [
        doc.text if doc.text.endswith("\n") else doc.text + "\n"
        for doc in manifests.split(stream).documents
        if doc.kind
    ]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_a_stream_survives_the_round_trip_byte_for_byte(fixture):
    """Out as items, back in as documents: every document's text (comments, whitespace-only lines, quoting) kept."""
    stream = (CHART_FIXTURES / fixture).read_text()
    wrapped = krm.response("config.kubernetes.io/v1", stream)
    request = krm.parse(wrapped + "functionConfig: {kind: CodeLocations}\n")
    assert documents(request.stream) == documents(stream)
    assert request.function_config == {"kind": "CodeLocations"} and request.tracks_files is False


def test_wide_indentation_and_comments_before_the_dash():
    text = (
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
        "  # Source: a/templates/x.yaml\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: x\n"
        "    data:\n      k: |\n        line\n\n          indented\n"
        "  - {apiVersion: v1, kind: Service, metadata: {name: y}}\n"
    )
    request = krm.parse(text)
    assert documents(request.stream) == [
        "# Source: a/templates/x.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
        "data:\n  k: |\n    line\n\n      indented\n",
        'apiVersion: v1\nkind: Service\nmetadata:\n  name: "y"\n',
    ]  # printed anew: y is quoted for YAML 1.1 readers


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "stdin holds no ResourceList"),
        ("a: [", "the ResourceList is not valid YAML"),
        (
            "apiVersion: v1\nkind: List\nitems: []\n",
            "expected a config.kubernetes.io/v1 ResourceList on stdin, got v1/List",
        ),
        (
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {}\n",
            "the ResourceList's items is not a list",
        ),
        ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [3]\n", "items[0] is not a mapping"),
        (
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: [1]\n",
            "the functionConfig is not a mapping",
        ),
    ],
)
def test_bad_resource_lists(text, message):
    with pytest.raises(errors.InputError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        krm.parse(text)


@pytest.mark.parametrize(
    "config, message",
    [
        (None, "no functionConfig"),
        (
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}},
            "functionConfig kind v1/Secret is not supported",
        ),
        (
            {"apiVersion": "kubectl-dagster/v2", "kind": "CodeLocations"},
            "functionConfig apiVersion 'kubectl-dagster/v2'",
        ),
        (
            {
                "apiVersion": "kubectl-dagster/v1alpha1",
                "kind": "CodeLocations",
                "metadata": {"annotations": {"kubectl-dagster.io/rollouts": "none"}},
            },
            "unknown functionConfig annotation",
        ),
        (
            {
                "apiVersion": "kubectl-dagster/v1alpha1",
                "kind": "CodeLocations",
                "metadata": {"annotations": {"kubectl-dagster.io/mode": "most"}},
            },
            "functionConfig annotation kubectl-dagster.io/mode must be",
        ),
        ({"apiVersion": "v1", "kind": "ConfigMap", "data": {}}, "the functionConfig ConfigMap has no data.locations"),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "data": {"location": "x.yaml"}},
            "unknown functionConfig data key 'location'",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "data": {"locations": "x", "release": ""}},
            "functionConfig data.release must be",
        ),
    ],
)
def test_bad_function_configs(config, message):
    with pytest.raises(errors.InputError, match="^" + message.replace(".", r"\.")):
        krm.function_config(config)


def test_function_config_forms():
    inline = {
        "apiVersion": "kubectl-dagster/v1alpha1",
        "kind": "CodeLocations",
        "metadata": {
            "name": "p",
            "annotations": {"kubectl-dagster.io/rollout": "restart", "config.kubernetes.io/index": "0"},
        },
        "locations": [],
    }
    config = krm.function_config(inline)
    assert config.paths == () and config.inline == (("functionConfig", inline),)
    assert config.options == {"rollout": "restart"}
    assert config.ref == {"apiVersion": "kubectl-dagster/v1alpha1", "kind": "CodeLocations", "name": "p"}
    data = {"locations": "a.yaml, dir/\nb.yaml", "mode": "workspace", "on-conflict": "replace"}
    files = krm.function_config({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
    assert files.paths == ("a.yaml", "dir/", "b.yaml") and files.inline == ()
    assert files.options == {"mode": "workspace", "on-conflict": "replace"}


def test_new_items_get_a_file_when_the_orchestrator_tracks_files():
    ours = "    postrenderer.helm.sh/postrender-filename: d/templates/kubectl-dagster/pr-1.yaml\n"
    stream = (
        "---\n# Source: d/templates/x.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: old\n"
        "  annotations:\n    config.kubernetes.io/path: release.yaml\n"
        "---\n# Source: d/templates/kubectl-dagster/pr-1.yaml\napiVersion: v1\nkind: Service\nmetadata:\n"
        "  name: pr-1\n  annotations:\n"
        + ours
        + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: pr-1\n  annotations:\n"
        + ours
    )
    from kubectl_dagster.base import yamlio

    items = yamlio.make_yaml("safe").load(krm.response("config.kubernetes.io/v1", stream, tracks_files=True))["items"]
    assert [i["metadata"]["annotations"].get("config.kubernetes.io/path") for i in items] == [
        "release.yaml",
        "kubectl-dagster/pr-1.yaml",
        "kubectl-dagster/pr-1.yaml",
    ]
    assert [i["metadata"]["annotations"].get("config.kubernetes.io/index") for i in items] == [None, "0", "1"]
    untracked = yamlio.make_yaml("safe").load(krm.response("config.kubernetes.io/v1", stream))["items"]
    assert "config.kubernetes.io/path" not in untracked[1]["metadata"]["annotations"]


def test_results_point_at_the_problem():
    problems = [
        errors.Problem("functionConfig", None, "x", "image.repository is required", (0, "locations", 2, "image")),
        errors.Problem("dir/a.yaml", 4, "y", "bad port", (1, "locations", 0, "port")),
    ]
    ref = {"apiVersion": "kubectl-dagster/v1alpha1", "kind": "CodeLocations", "name": "p"}
    first, second = krm.results(errors.LocationError(problems), ref)
    assert first == {
        "message": "functionConfig: location 'x' image.repository is required",
        "severity": "error",
        "resourceRef": ref,
        "field": {"path": "locations[2].image"},
    }
    assert second == {
        "message": "dir/a.yaml:4: location 'y' bad port",
        "severity": "error",
        "file": {"path": "dir/a.yaml", "index": 1},
        "field": {"path": "locations[0].port"},
    }
    assert krm.results(errors.ReleaseError("no release", "pipe helm output")) == [
        {"message": "no release; pipe helm output", "severity": "error"}
    ]
    assert krm.field_path(("env", "A.B", 0)) == "env['A.B'][0]"
