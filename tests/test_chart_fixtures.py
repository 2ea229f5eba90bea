"""Render every real chart fixture (plain `helm template` output and the exact Helm 4
post-renderer stdin) with locations added, and check the merged release hangs together."""

import json

import pytest
from conftest import CHART_FIXTURES, SCENARIOS, VERSIONS
from ruamel.yaml import YAML

from kubectl_dagster.base import constants, k8s
from kubectl_dagster.core.chart import manifests, render
from kubectl_dagster.core.spec import locations
from kubectl_dagster.shells import run

FORMS = {"plain": "{s}.yaml", "helm4": "helm4-postrender/{s}.stdin.yaml"}
CASES = [(v, s, f) for v in VERSIONS for s in SCENARIOS for f in FORMS]
NEW = [
    locations.Location(
        "feat-x",
        {
            "branch": "feat/x",
            "image": {"repository": "ghcr.io/acme/x", "tag": "1"},
            "pythonFile": "defs.py",
            "port": 3030,
        },
    ),
    locations.Location(
        "analytics",
        {
            "name": "analytics",
            "image": {"repository": "ghcr.io/acme/a", "tag": "2"},
            "moduleName": "analytics.defs",
            "port": 4100,
            "labels": {"team": "bi"},
        },
    ),
]


def _safe_load(text):
    return YAML(typ="safe").load(text)


def _options(**given):
    """Render options as the CLI gives them: with the branch hook's script (the core cannot read it)."""
    return render.Options(branch_hook=run.script("branchhook.py"), **given)


def _render(version, scenario, form, locs=NEW, **options):
    text = (CHART_FIXTURES / version / FORMS[form].format(s=scenario)).read_text()
    opts = _options(namespace="dagster", **options)
    return text, render.render(text, locs, opts)


def _objects(text):
    return [d for d in manifests.split(text).documents if d.kind and isinstance(d.data, dict)]


@pytest.mark.parametrize("version,scenario,form", CASES, ids=[f"{v}-{s}-{f}" for v, s, f in CASES])
def test_merged_release_is_consistent(version, scenario, form):
    original, result = _render(version, scenario, form, rollout="restart")
    docs = _objects(result.text)
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc.kind, {})[doc.name] = doc.data
    workspace_docs = [
        d for d in docs if d.kind == "ConfigMap" and constants.WORKSPACE_KEY in (d.data.get("data") or {})
    ]
    entries = {}
    for doc in workspace_docs:
        for entry in _safe_load(doc.data["data"][constants.WORKSPACE_KEY])["load_from"]:
            entries[entry["grpc_server"]["location_name"]] = entry["grpc_server"]
    for location in NEW:
        name = location.name
        assert k8s.is_dns1035_label(name)
        if result.mode in ("full", "workspace"):
            assert entries[name] == {"host": name, "port": location.spec["port"], "location_name": name}
        if result.mode in ("full", "objects"):
            service = by_kind["Service"][name]
            deployment = next(d for n, d in by_kind["Deployment"].items() if n.endswith("-" + name))
            pod = deployment["spec"]["template"]
            selector = deployment["spec"]["selector"]["matchLabels"]
            assert selector.items() <= pod["metadata"]["labels"].items()
            assert service["spec"]["selector"] == selector
            port = service["spec"]["ports"][0]["port"]
            assert port == location.spec["port"]
            args = pod["spec"]["containers"][0]["args"]
            assert args[args.index("-p") + 1] == str(port)
            assert all(k8s.is_label_value(v) for v in pod["metadata"]["labels"].values())
            assert all(k8s.is_label_value(str(v)) for v in deployment["metadata"]["labels"].values())
            for obj in (service, deployment):
                assert obj["metadata"]["annotations"][constants.HELM4_FILENAME_ANNOTATION].endswith(
                    f"/templates/kubectl-dagster/{name}.yaml"
                )
    # documents we did not change pass through byte for byte
    before = {d.text for d in manifests.split(original).documents}
    changed = [d for d in manifests.split(result.text).documents if d.text not in before]
    for doc in changed:
        assert (
            doc.labels().get(constants.LOCATION_LABEL)
            or doc in workspace_docs
            or constants.WORKSPACE_CHECKSUM in doc.text
        ), doc.text[:200]
    # deterministic and idempotent
    assert (
        render.render(original, list(reversed(NEW)), _options(namespace="dagster", rollout="restart")).text
        == result.text
    )
    assert render.render(result.text, NEW, _options(namespace="dagster", rollout="restart")).text == result.text


@pytest.mark.parametrize("version,scenario,form", CASES, ids=[f"{v}-{s}-{f}" for v, s, f in CASES])
def test_no_locations_changes_nothing_and_removing_prunes(version, scenario, form):
    original, merged = _render(version, scenario, form)
    assert render.render(original, [], _options(namespace="dagster")).text == original
    pruned = render.render(merged.text, [], _options(namespace="dagster")).text
    assert constants.LOCATION_LABEL not in pruned
    assert constants.WORKSPACE_MARKER not in pruned
    assert "feat-x" not in pruned


def test_restart_changes_the_workspace_checksum_and_none_keeps_it():
    original, restart = _render("1.11.10", "b", "plain", rollout="restart")
    _, none = _render("1.11.10", "b", "plain", rollout="none")
    old = "2d04d982e190121fe7781bf298cac726c57ed2ab1f65ea97cad50142589dfbf4"
    assert original.count(old) == 2
    assert none.text.count(old) == 2
    assert restart.text.count(old) == 0
    assert "init-user-deployment-feat-x" not in restart.text  # no init containers for added locations


def _values_items(version, scenario):
    values = _safe_load((CHART_FIXTURES / version / f"values-{scenario}.yaml").read_text())
    return (values.get("dagster-user-deployments") or values)["deployments"]


def _prune(value):
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _comparable(obj):
    obj = json.loads(json.dumps(obj))
    meta = obj["metadata"]
    (meta.get("labels") or {}).pop(constants.LOCATION_LABEL, None)
    meta["annotations"] = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(("postrenderer.helm.sh", "kubectl-dagster.io"))
    }
    if obj["kind"] == "ConfigMap":
        obj.pop("data", None)  # the chart's env ConfigMap holds only a comment
    return _prune(obj)


FIDELITY = [(v, s, f) for v in VERSIONS for s in ("b", "d") for f in FORMS]


@pytest.mark.parametrize("version,scenario,form", FIDELITY, ids=[f"{v}-{s}-{f}" for v, s, f in FIDELITY])
def test_generated_objects_equal_what_the_chart_renders(version, scenario, form):
    """The chart's own values items, merged with --on-conflict=replace, give the chart's objects:
    same Deployment (checksum and container-context JSON included), Service and env ConfigMap."""
    items = _values_items(version, scenario)
    locs = [locations.Location(item["name"], item) for item in items]
    original, result = _render(version, scenario, form, locs=locs, on_conflict="replace")
    before = {(d.kind, d.name): d.data for d in _objects(original)}
    after = {(d.kind, d.name): d.data for d in _objects(result.text)}
    compared = 0
    for key, chart_obj in before.items():
        if (chart_obj.get("metadata") or {}).get("labels", {}).get("component") == "user-deployments" or str(
            key[1]
        ).endswith("-user-env"):
            assert _comparable(after[key]) == _comparable(chart_obj), key
            assert after[key]["metadata"]["labels"][constants.LOCATION_LABEL]  # it really is ours now
            compared += 1
    assert compared == 3 * len(items)
