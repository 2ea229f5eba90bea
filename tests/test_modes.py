"""Every --mode on every real chart fixture scenario, plain `helm template` output and the exact stdin
Helm 4 gives a post-renderer, through the installed CLI: what each mode adds, what it refuses, and
the one `note:` line `auto` prints when it can only add workspace entries.

Scenarios (../shared/fixtures/dagster-chart/README.md): a, b: system chart with the user-code
subchart; c: system chart alone (`enableSubchart: false`); d: the user-code chart alone; e: explicit
`workspace.servers`, subchart off. The oracle corpus adds the platform install with the subchart on
and `deployments: []` (cases 12, 31, 35, 36; 36 with the subchart's `nameOverride`).
"""

from __future__ import annotations

import collections

import pytest
from conftest import CHART_FIXTURES, EXAMPLES, SCENARIOS, VERSIONS, cli
from ruamel.yaml import YAML

from kubectl_dagster.base import constants

LOCATIONS = str(EXAMPLES / "dagster-locations.yaml")
NAMES = ("feat-my-amazing-feature", "marketing")
BRANCHES = ("feat-my-amazing-feature",)
BRANCH_HOOK_SUFFIX = constants.BRANCH_HOOK_SUFFIX
FORMS = {"plain": "{s}.yaml", "helm4": "helm4-postrender/{s}.stdin.yaml"}
WITH_SUBCHART, SYSTEM_ONLY, USER_CODE_ONLY = ("a", "b"), ("c", "e"), ("d",)
EMPTY_SUBCHART = ("12", "31", "35", "36")  # oracle-1.10.4 cases with `deployments: []`
CASES = [(v, s, f) for v in VERSIONS for s in SCENARIOS for f in FORMS]
IDS = [f"{v}-{s}-{f}" for v, s, f in CASES]


def _stream(version, scenario, form):
    return (CHART_FIXTURES / version / FORMS[form].format(s=scenario)).read_text()


def _render(text, *args):
    return cli("render", "--locations", LOCATIONS, "--rollout=none", *args, stdin=text)


def _docs(text):
    return [doc for doc in YAML(typ="safe").load_all(text) if isinstance(doc, dict)]


def _mine(docs, name):
    return [doc for doc in docs if (doc["metadata"].get("labels") or {}).get(constants.LOCATION_LABEL) == name]


def _ours(docs, name):
    """The chart's three objects of a location, by kind (a branch location's hook ConfigMap apart)."""
    return {doc["kind"]: doc for doc in _mine(docs, name) if not doc["metadata"]["name"].endswith(BRANCH_HOOK_SUFFIX)}


def _assert_hook(docs, name, pod):
    """A branch location's code server mounts its own branch hook ConfigMap; a permanent one has none."""
    hooks = [d["metadata"]["name"] for d in _mine(docs, name) if d["metadata"]["name"].endswith(BRANCH_HOOK_SUFFIX)]
    mounted = [v["configMap"]["name"] for v in pod["spec"].get("volumes") or [] if "configMap" in v]
    assert hooks == ([mounted[-1]] if name in BRANCHES else [])


def _workspace(docs):
    found = [doc for doc in docs if doc["kind"] == "ConfigMap" and constants.WORKSPACE_KEY in (doc.get("data") or {})]
    return found[0] if found else None


def _entry_names(docs):
    text = _workspace(docs)["data"][constants.WORKSPACE_KEY]
    return {entry["grpc_server"]["location_name"] for entry in YAML(typ="safe").load(text)["load_from"]}


def _keys(docs):
    return collections.Counter((d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs)


def _assert_objects(docs, before):
    """Each location has its three objects, wired together, and we add no object twice nor one the input has
    (the input may have its own duplicates: with `global.fullnameOverride` chart 1.10.4 names two Roles alike)."""
    added = _keys(docs) - _keys(before)
    assert [key for key, count in added.items() if count > 1 or key in _keys(before)] == []
    shared = [
        doc["metadata"]["name"] for doc in docs if doc["metadata"]["name"].endswith("-user-deployments-shared-env")
    ]
    assert len(shared) == 1
    for name in NAMES:
        ours = _ours(docs, name)
        assert sorted(ours) == ["ConfigMap", "Deployment", "Service"]
        deployment, service = ours["Deployment"], ours["Service"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        pod = deployment["spec"]["template"]
        assert selector.items() <= pod["metadata"]["labels"].items()
        assert service["spec"]["selector"] == selector
        _assert_hook(docs, name, pod)
        container = pod["spec"]["containers"][0]
        env_maps = [e["configMapRef"]["name"] for e in container["envFrom"][:2]]
        assert env_maps == shared + [ours["ConfigMap"]["metadata"]["name"]]
        password = next(e for e in container["env"] if e["name"] == "DAGSTER_PG_PASSWORD")
        assert password["valueFrom"]["secretKeyRef"]["key"] == "postgresql-password"


@pytest.mark.parametrize("version,scenario,form", CASES, ids=IDS)
def test_full(version, scenario, form):
    result = _render(_stream(version, scenario, form), "--mode=full")
    if scenario in USER_CODE_ONLY:
        assert (result.code, result.stdout) == (1, "")
        assert result.stderr.startswith("error: --mode=full needs the workspace ConfigMap")
        assert result.stderr.count("\n") == 1
        return
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    docs = _docs(result.stdout)
    _assert_objects(docs, _docs(_stream(version, scenario, form)))
    assert set(NAMES) <= _entry_names(docs)


@pytest.mark.parametrize("version,scenario,form", CASES, ids=IDS)
def test_workspace(version, scenario, form):
    result = _render(_stream(version, scenario, form), "--mode=workspace")
    if scenario in USER_CODE_ONLY:
        assert (result.code, result.stdout) == (1, "")
        return
    assert (result.code, result.stderr) == (0, "")
    docs = _docs(result.stdout)
    assert all(_ours(docs, name) == {} for name in NAMES)
    assert set(NAMES) <= _entry_names(docs)


@pytest.mark.parametrize("version,scenario,form", CASES, ids=IDS)
def test_objects(version, scenario, form):
    text = _stream(version, scenario, form)
    result = _render(text, "--mode=objects")
    assert (result.code, result.stderr) == (0, "")
    docs = _docs(result.stdout)
    _assert_objects(docs, _docs(text))
    assert (_workspace(docs) is None) == (_workspace(_docs(text)) is None)
    if _workspace(docs) is not None:
        assert _workspace(docs) == _workspace(_docs(text))  # objects only: the workspace is left alone


@pytest.mark.parametrize("version,scenario,form", CASES, ids=IDS)
def test_auto_picks_a_mode_and_says_so_when_it_can_only_add_entries(version, scenario, form):
    text = _stream(version, scenario, form)
    result = _render(text)
    assert result.code == 0, result.stderr
    docs = _docs(result.stdout)
    if scenario in SYSTEM_ONLY:
        assert all(_ours(docs, name) == {} for name in NAMES)
        release = "prod" if scenario == "c" else "dagster"
        assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"note: release '{release}' ")
        assert "--mode=objects" in result.stderr and "--mode=full" in result.stderr
        assert result.stdout == _render(text, "--mode=workspace").stdout  # the note changes nothing on stdout
    else:
        assert result.stderr == ""
        _assert_objects(docs, _docs(text))
        if scenario in WITH_SUBCHART:
            assert result.stdout == _render(text, "--mode=full").stdout


@pytest.mark.parametrize("case", EMPTY_SUBCHART)
def test_platform_install_without_locations_of_its_own_gets_full_objects(case):
    """The subchart is on with `deployments: []`: only its shared env ConfigMap, ServiceAccount, Role and
    RoleBinding show it, and `auto` must still add Deployments and Services, named and labelled as the
    chart would (case 36 overrides the subchart's name)."""
    text = (CHART_FIXTURES / "oracle-1.10.4" / f"{case}.yaml").read_text()
    result = _render(text)
    assert (result.code, result.stderr) == (0, "")
    docs = _docs(result.stdout)
    _assert_objects(docs, _docs(text))
    labels = [doc["metadata"].get("labels") or {} for doc in _docs(text)]
    subchart = {
        label[constants.LABEL_NAME]
        for label in labels
        if str(label.get(constants.LABEL_CHART)).startswith("dagster-user-deployments-")
    }
    assert len(subchart) == 1
    for name in NAMES:
        selector = _ours(docs, name)["Deployment"]["spec"]["selector"]["matchLabels"]
        assert {selector[constants.LABEL_NAME]} == subchart
    assert result.stdout == _render(text, "--mode=full").stdout
    assert _render(result.stdout).stdout == result.stdout  # rendering the output again changes nothing
