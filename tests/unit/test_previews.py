"""The pull-request plugin's pure part (core/gitops/previews.py)."""

import pytest

from kubectl_dagster.base import errors
from kubectl_dagster.core.gitops import previews
from kubectl_dagster.core.registry import entries

HEAD = "0123456789abcdef0123456789abcdef01234567"


def env(**params):
    found = {
        "ARGOCD_APP_NAMESPACE": "dagster",
        "ARGOCD_APP_REVISION": HEAD,
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/etl.git",
        "PARAM_NUMBER": "7",
        "PARAM_BRANCH": "Feature/Über_Cool",
        "PARAM_IMAGE": "r/etl:{head_short_sha_7}",
    }
    found.update({"PARAM_" + k.upper(): v for k, v in params.items()})
    return found


def test_placeholders_and_defaults():
    preview = previews.settings(env(NAME="{branch_slug}-{number}"))
    assert preview.name == "feature-uber-cool-7"
    assert preview.image == "r/etl:0123456" and preview.head_sha == HEAD  # head-sha defaults to ARGOCD_APP_REVISION
    assert (preview.port, preview.location_file, preview.location_file_explicit, preview.check_registry) == (
        3030,
        "dagster-location.yaml",
        False,
        True,
    )
    assert previews.settings(env()).name == "pr-7"


def test_the_file_forms_and_the_entry():
    document = {
        "apiVersion": "kubectl-dagster/v1alpha1",
        "kind": "CodeLocations",
        "defaults": {"env": {"A": "1"}},
        "locations": [{"moduleName": "etl.defs", "image": {"pullPolicy": "Always"}}],
    }
    base = previews.from_file(document, "f.yaml")
    assert base == {"env": {"A": "1"}, "moduleName": "etl.defs", "image": {"pullPolicy": "Always"}}
    preview = previews.settings(env())
    spec = previews.spec(preview, base, "f.yaml")
    assert spec["image"] == {"pullPolicy": "Always", "repository": "r/etl", "tag": "0123456"}
    assert (spec["name"], spec["branch"], spec["pullRequest"], spec["commit"], spec["port"]) == (
        "pr-7",
        "Feature/Über_Cool",
        7,
        HEAD,
        3030,
    )
    with pytest.raises(errors.InputError, match="must hold one location"):
        previews.from_file({**document, "locations": [{}, {}]}, "f.yaml")
    assert previews.from_file(None, "f.yaml") == {}


def test_collisions():
    preview = previews.settings(env())
    mine = entries.Entry(
        "pr-7",
        {"pullRequest": 7, "annotations": {"kubectl-dagster.io/git-url": "https://git.example.com/etl.git"}},
        "configmap/x",
    )
    previews.collision(preview, mine, ["pr-7"])  # our own registration: fine, even though the workspace serves it
    ci = entries.Entry("pr-7", {"image": {"repository": "r"}}, "configmap/dagster-location-pr-7")
    with pytest.raises(errors.ExistsError, match=r"already registered by another writer \(no pull request\)"):
        previews.collision(preview, ci, [])
    with pytest.raises(errors.ExistsError, match="already served by the Dagster workspace"):
        previews.collision(preview, None, ["chart-location", "pr-7"])
    previews.collision(preview, None, ["chart-location"])
