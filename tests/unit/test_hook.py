"""The reload hook: its identity (what makes Helm 3, Helm 4 and ArgoCD run it again), what it
declares to its script, its RBAC, the read-only webserver under --rollout=reload, and the script's
plan of which locations to reload (pure parts, on the real chart's rendered output)."""

import json

import pytest
from conftest import CHART_FIXTURES, ROOT

from kubectl_dagster.base import constants
from kubectl_dagster.core.chart import manifests, render
from kubectl_dagster.core.spec import locations
from kubectl_dagster.shells import reloadhook

B = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
SCRIPT = (ROOT / "kubectl_dagster" / "shells" / "reloadhook.py").read_text()


def loc(name="feat-x", **spec):
    base = {"image": {"repository": "ghcr.io/acme/x", "tag": "1"}, "pythonFile": "defs.py", "port": 3100}
    base.update(spec)
    return locations.Location(name, base)


def hook_docs(text=B, locs=None, **options):
    locs = (loc(),) if locs is None else locs
    result = render.render(text, list(locs), render.Options(namespace="dagster", hook_script="script", **options))
    docs = [d for d in manifests.split(result.text).documents if d.kind and constants.RELOAD_HOOK_LABEL in d.text]
    return result, docs


def job_of(docs):
    (job,) = [d.data for d in docs if d.kind == "Job"]
    return job


def env_of(job):
    return {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}


CHANGES = [
    ("image tag", {"image": {"repository": "ghcr.io/acme/x", "tag": "2"}}),
    ("args", {"pythonFile": "other.py"}),
    ("env", {"env": [{"name": "MODE", "value": "preview"}]}),
    ("resources", {"resources": {"requests": {"cpu": "1"}}}),
]


@pytest.mark.parametrize("what,change", CHANGES, ids=[c[0] for c in CHANGES])
def test_what_a_location_runs_changes_the_hook_name(what, change):
    _, before = hook_docs()
    _, after = hook_docs(locs=[loc(**change)])
    assert job_of(after)["metadata"]["name"] != job_of(before)["metadata"]["name"]
    old, new = (json.loads(env_of(job_of(d))[constants.HOOK_ENV_LOCATIONS])["feat-x"] for d in (before, after))
    assert old["template"] != new["template"]
    assert (
        json.loads(env_of(job_of(before))[constants.HOOK_ENV_LOCATIONS])["sales-etl"]
        == json.loads(env_of(job_of(after))[constants.HOOK_ENV_LOCATIONS])["sales-etl"]
    )  # the others stay as they were


def test_what_does_not_reach_the_pod_keeps_the_hook_name():
    _, before = hook_docs()
    _, after = hook_docs(locs=[loc(expiresAt="2030-01-01T00:00:00Z", commit="abc")])  # Deployment annotations only
    assert job_of(after)["metadata"]["name"] == job_of(before)["metadata"]["name"]


def test_declared_images_are_what_the_code_servers_report():
    _, docs = hook_docs(locs=[loc(), loc("no-tag", image={"repository": "ghcr.io/acme/y"}, port=3101)])
    declared = json.loads(env_of(job_of(docs))[constants.HOOK_ENV_LOCATIONS])
    assert declared["feat-x"] == {
        "host": "feat-x",
        "port": 3100,
        "image": "ghcr.io/acme/x:1",
        "template": declared["feat-x"]["template"],
    }
    assert declared["no-tag"]["image"] == "ghcr.io/acme/y:1.11.10"  # as the chart: the chart version
    assert declared["ml-models"]["image"] == "registry.example.com/data/ml-models:v3.2.0"  # the chart's own


def test_workspace_mode_fingerprints_the_location_entry():
    c = (CHART_FIXTURES / "1.11.10" / "c.yaml").read_text()
    _, before = hook_docs(c)
    _, after = hook_docs(c, locs=[loc(resources={"limits": {"memory": "1Gi"}})])
    assert job_of(after)["metadata"]["name"] != job_of(before)["metadata"]["name"]
    assert json.loads(env_of(job_of(before))[constants.HOOK_ENV_LOCATIONS])["feat-x"]["image"] == "ghcr.io/acme/x:1"


def test_rbac_comes_first_and_grants_only_list_and_patch_on_pods():
    _, docs = hook_docs()
    assert [d.kind for d in docs] == ["ServiceAccount", "Role", "RoleBinding", "Job"]
    sa, role, binding, job = (d.data for d in docs)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "patch"]}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"] == sa["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"]}]
    for doc in (sa, role, binding):
        annotations = doc["metadata"]["annotations"]
        assert annotations["helm.sh/hook-weight"] == "-1" and annotations["argocd.argoproj.io/sync-wave"] == "-1"
        for key in (
            "helm.sh/hook",
            "helm.sh/hook-delete-policy",
            "argocd.argoproj.io/hook",
            "argocd.argoproj.io/hook-delete-policy",
        ):
            assert annotations[key] == job["metadata"]["annotations"][key]
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"] and pod["automountServiceAccountToken"] is True
    selectors = json.loads(env_of(job)[constants.HOOK_ENV_NUDGE])
    common = "app.kubernetes.io/instance=dagster,app.kubernetes.io/name=dagster"
    assert selectors == [
        f"{common},component=dagster-webserver",
        f"{common},component=dagster-daemon,deployment=daemon",
    ]


def test_no_nudge_means_no_rbac():
    _, docs = hook_docs(reload_nudge=False)
    assert [d.kind for d in docs] == ["Job"]
    job = job_of(docs)
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]
    assert env_of(job)[constants.HOOK_ENV_NUDGE] == "[]"


def test_rendering_again_replaces_the_hook_resources():
    first, _ = hook_docs()
    again, docs = hook_docs(first.text)
    assert again.text == first.text and len(docs) == 4


def test_removing_the_last_location_keeps_a_hook():
    first, _ = hook_docs()
    pruned, docs = hook_docs(first.text, locs=[])  # an earlier render's entries: the marker tells
    assert sorted(json.loads(env_of(job_of(docs))[constants.HOOK_ENV_LOCATIONS])) == ["ml-models", "sales-etl"]
    assert constants.WORKSPACE_MARKER not in pruned.text
    _, fresh = hook_docs(B, locs=[], locations_given=True)  # Helm's fresh chart render: the locations source tells
    assert job_of(fresh)["metadata"]["name"] == job_of(docs)["metadata"]["name"]
    assert render.render(B, [], render.Options(namespace="dagster")).text == B  # nothing given: untouched


def test_script_spells_the_constants_the_same():
    for value in (
        constants.NUDGE_ANNOTATION,
        constants.STATE_ANNOTATION,
        constants.HOOK_ENV_URL,
        constants.HOOK_ENV_LOCATIONS,
        constants.HOOK_ENV_NUDGE,
        constants.HOOK_ENV_TIMEOUT,
        constants.HOOK_ENV_INTERVAL,
    ):
        assert f'"{value}"' in SCRIPT
    assert reloadhook.NUDGE_ANNOTATION == constants.NUDGE_ANNOTATION
    assert reloadhook.STATE_ANNOTATION == constants.STATE_ANNOTATION


# -- the script's plan -------------------------------------------------------------------------------


def served(status="LOADED", image="r:1", server="s1", host="h", port="1"):
    return {
        "status": status,
        "image": image,
        "server": server,
        "host": host,
        "port": port,
        "message": "",
        "stack": [],
        "causes": [],
    }


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plan_waits_for_the_declared_image():
    plan = reloadhook.Plan({"a": {"image": "r:2", "host": "h", "port": 1}}, {}, 30)
    assert plan.pending({"a": served(image="r:1")}) == ["a"]
    assert plan.done({"a": served(image="r:1")}) is None
    assert plan.done({"a": served(image="r:2")}) is True
    assert plan.renewed == {"a"}


def test_plan_uses_the_server_kept_from_the_last_reload():
    declared = {"a": {"template": "t2"}, "b": {"template": "t1"}}
    plan = reloadhook.Plan(declared, {"a": ["t1", "s1"], "b": ["t1", "s9"]}, 30)
    assert plan.changed == ["a"]
    assert plan.pending({"a": served(server="s1"), "b": served(server="s9")}) == ["a"]  # b did not change
    assert plan.done({"a": served(server="s2"), "b": served(server="s9")}) is True


def test_plan_gives_a_restarting_server_a_grace_period():
    clock = Clock()
    plan = reloadhook.Plan({"a": {"image": "r:2"}, "b": {}}, {}, 30, clock=clock)
    failing = {"a": served("ERROR"), "b": served("ERROR")}
    assert plan.pending(failing) == ["a"]  # b: nothing says a newer server is coming, its error is final
    clock.now = 31
    assert plan.pending(failing) == [] and plan.done(failing) is True


@pytest.mark.parametrize(
    "found",
    [
        {"a": served(host="old")},
        {"a": served(port="2")},
        {"a": served(), "gone": served()},
        {},
    ],
    ids=["host", "port", "extra", "missing"],
)
def test_plan_sees_a_workspace_the_webserver_has_not_read(found):
    plan = reloadhook.Plan({"a": {"host": "h", "port": 1}}, {}, 30)
    assert plan.stale_workspace(found)
    assert not plan.stale_workspace({"a": served()})
