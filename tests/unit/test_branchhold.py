"""What render gives a branch location's code server so its preview never acts on its own (core/chart/branchhold.py),
on the real chart's rendered output: the hook's ConfigMap, its mount, PYTHONPATH (ours first, the entry's own after
it), the run tags, the stopped default unless ``automation: on``; nothing for a permanent location; the entry's
ConfigMap patches still reach its env ConfigMap; validation of ``automation``; and that the script spells the env
names as the constants do."""

import json

import pytest
from conftest import CHART_FIXTURES, ROOT

from kubectl_dagster.base import constants, errors
from kubectl_dagster.core.chart import manifests, render
from kubectl_dagster.core.spec import locations
from kubectl_dagster.shells import branchhook

B = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
SCRIPT = (ROOT / "kubectl_dagster" / "shells" / "branchhook.py").read_text()


def objects(**spec):
    base = {"name": "feat-x", "image": {"repository": "ghcr.io/acme/x", "tag": "1"}, "pythonFile": "defs.py"}
    base.update(spec)
    parsed = locations.parse_documents(
        [{"apiVersion": constants.API_VERSION, "kind": constants.KIND, "locations": [base]}], "l.yaml"
    )
    assert not parsed.problems, parsed.problems
    result = render.render(B, parsed.locations, render.Options(namespace="dagster", branch_hook=SCRIPT, rollout="none"))
    docs = manifests.split(result.text).documents
    return [d.data for d in docs if d.kind and (d.labels().get(constants.LOCATION_LABEL) == "feat-x")]


def container(docs):
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    return deployment["spec"]["template"], deployment["spec"]["template"]["spec"]["containers"][0]


def env(docs):
    return {e["name"]: e.get("value") for e in container(docs)[1]["env"]}


def test_a_branch_location_loads_the_hook_and_starts_stopped():
    docs = objects(branch="feat/x")
    (hook,) = [d for d in docs if d["metadata"]["name"].endswith(constants.BRANCH_HOOK_SUFFIX)]
    assert hook["data"] == {constants.BRANCH_HOOK_FILE: SCRIPT}
    template, main = container(docs)
    volume = next(v for v in template["spec"]["volumes"] if v["name"] == constants.BRANCH_HOOK_VOLUME)
    assert volume["configMap"]["name"] == hook["metadata"]["name"]
    mount = next(m for m in main["volumeMounts"] if m["name"] == constants.BRANCH_HOOK_VOLUME)
    assert mount == {"name": constants.BRANCH_HOOK_VOLUME, "mountPath": constants.BRANCH_HOOK_DIR, "readOnly": True}
    values = env(docs)
    assert values["PYTHONPATH"] == constants.BRANCH_HOOK_DIR
    assert json.loads(values[constants.RUN_TAGS_ENV]) == {constants.BRANCH_TAG: "feat/x"}
    assert values[constants.AUTOMATION_DEFAULT_ENV] == "stopped"
    assert len(template["metadata"]["annotations"][constants.BRANCH_HOOK_ANNOTATION]) == 16


def test_automation_on_keeps_dagsters_defaults_and_still_tags_runs():
    values = env(objects(branch="feat/x", automation="on"))
    assert constants.AUTOMATION_DEFAULT_ENV not in values
    assert json.loads(values[constants.RUN_TAGS_ENV]) == {constants.BRANCH_TAG: "feat/x"}


def test_a_permanent_location_gets_nothing():
    docs = objects()
    assert [d["kind"] for d in docs] == ["ConfigMap", "Service", "Deployment"]
    assert not {"PYTHONPATH", constants.RUN_TAGS_ENV, constants.AUTOMATION_DEFAULT_ENV} & set(env(docs))


@pytest.mark.parametrize(
    "given",
    [[{"name": "PYTHONPATH", "value": "/app:/lib"}], {"PYTHONPATH": "/app:/lib"}],
    ids=["list env", "mapping env"],
)
def test_the_entrys_own_pythonpath_comes_after_the_hook(given):
    docs = objects(branch="feat/x", env=given)
    assert env(docs)["PYTHONPATH"] == constants.BRANCH_HOOK_DIR + ":/app:/lib"
    assert sum(1 for e in container(docs)[1]["env"] if e["name"] == "PYTHONPATH") == 1


def test_a_pythonpath_from_value_from_is_refused():
    ref = {"configMapKeyRef": {"name": "paths", "key": "pythonpath"}}
    with pytest.raises(errors.LocationError, match="PYTHONPATH comes from valueFrom"):
        objects(branch="feat/x", env=[{"name": "PYTHONPATH", "valueFrom": ref}])


def test_the_entrys_patches_apply_first_and_cannot_remove_the_hook():
    labelled = [{"op": "add", "path": "/metadata/labels/team", "value": "growth"}]
    emptied = [{"op": "replace", "path": "/spec/template/spec/containers/0/env", "value": []}]
    patches = [{"kind": "ConfigMap", "patch": labelled}, {"kind": "Deployment", "patch": emptied}]
    docs = objects(branch="feat/x", patches=patches)
    env_map = next(d for d in docs if d["metadata"]["name"].endswith("-feat-x-user-env"))
    assert env_map["metadata"]["labels"]["team"] == "growth"  # the entry's ConfigMap patch: the env ConfigMap's
    assert set(env(docs)) == {"PYTHONPATH", constants.RUN_TAGS_ENV, constants.AUTOMATION_DEFAULT_ENV}


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"automation": "on"}, "automation applies to branch locations only"),
        ({"branch": "feat/x", "automation": "yes"}, "automation must be on or off"),
        ({"branch": "feat/x", "automation": True}, "automation must be on or off"),
    ],
    ids=["permanent location", "not on or off", "a boolean"],
)
def test_automation_is_checked(spec, message):
    base = {"name": "feat-x", "image": {"repository": "ghcr.io/acme/x"}, "pythonFile": "defs.py", **spec}
    parsed = locations.parse_documents(
        [{"apiVersion": constants.API_VERSION, "kind": constants.KIND, "locations": [base]}], "l.yaml"
    )
    assert [p.message for p in parsed.problems if message in p.message], parsed.problems


def test_the_script_spells_the_constants_the_same():
    assert branchhook.AUTOMATION_ENV == constants.AUTOMATION_DEFAULT_ENV
    assert branchhook.RUN_TAGS_ENV == constants.RUN_TAGS_ENV
    assert constants.BRANCH_HOOK_FILE == "sitecustomize.py"
