"""The project config format: strict checks, layer order, sources, env values never shown; and the
name, image and entry a deploy derives from it."""

import datetime

import pytest

from kubectl_dagster.base import constants, errors
from kubectl_dagster.core.branches import branchdeploy, gitctx, projectconfig
from kubectl_dagster.core.chart import branchenv
from kubectl_dagster.core.registry import entries

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.timezone.utc)
SHA = "3f2c1ab9d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0"
DOC = {
    "apiVersion": "kubectl-dagster/v1alpha1",
    "kind": "ProjectConfig",
    "defaultEnvironment": "dev",
    "defaults": {
        "image": {"repository": "ghcr.io/acme/etl", "tag": "sha-{short_commit}"},
        "codeSource": {"moduleName": "etl.defs"},
        "env": {"MODE": "preview", "TOKEN": "hunter2"},
        "ttl": "7d",
        "registry": {"cluster": True},
    },
    "environments": {
        "dev": {"namespace": "dagster-dev", "env": {"MODE": "dev"}},
        "prd": {"registry": {"locations": "deploy/"}, "codeSource": {"packageName": "etl"}},
    },
}


def test_a_good_document_has_no_problems():
    assert projectconfig.check_document(DOC) == []


@pytest.mark.parametrize(
    "change, path, message",
    [
        ({"colour": "red"}, ("colour",), "unknown key 'colour'"),
        ({"defaults": {"namespce": "x"}}, ("defaults", "namespce"), "unknown key 'namespce'"),
        ({"defaults": {"image": {"repo": "x"}}}, ("defaults", "image", "repo"), "unknown key image.repo"),
        ({"defaults": {"ttl": "soon"}}, ("defaults", "ttl"), "ttl must be a duration"),
        ({"defaults": {"maxBranchLocations": 0}}, ("defaults", "maxBranchLocations"), "positive integer"),
        ({"defaults": {"maxBranchLocations": True}}, ("defaults", "maxBranchLocations"), "must be a positive integer"),
        ({"defaults": {"namespace": 3}}, ("defaults", "namespace"), "namespace must be a string"),
        ({"defaults": {"registry": {"cluster": True, "locations": "x"}}}, ("defaults", "registry"), "exactly one"),
        ({"defaults": {"env": {"A": {"b": 1}}}}, ("defaults", "env", "A"), "plain value"),
        ({"defaults": {"env": {"1BAD": "x"}}}, ("defaults", "env"), "does not start with a digit"),
        (
            {"defaults": {"resources": {"requests": {"cpu": "lots"}}}},
            ("defaults", "resources", "requests"),
            "quantities",
        ),
        ({"defaults": {"location": {"branch": "x"}}}, ("defaults", "location", "branch"), "not allowed here"),
        ({"defaults": {"branchEnv": "dagster-plus"}}, ("defaults", "branchEnv"), "branchEnv must be one of"),
        ({"environments": {"dev": {"envSecrets": "s"}}}, ("environments", "dev", "envSecrets"), "list of names"),
        ({"defaultEnvironment": "qa"}, ("defaultEnvironment",), "not one of the environments"),
        (
            {"kind": "CodeLocations"},
            ("apiVersion",),
            "expected apiVersion: kubectl-dagster/v1alpha1 and kind: ProjectConfig",
        ),
    ],
)
def test_strict_checks_name_the_key(change, path, message):
    doc = dict(DOC)
    for key, value in change.items():
        doc[key] = (
            {**DOC.get(key, {}), **value}
            if isinstance(value, dict) and isinstance(DOC.get(key), dict) and key != "defaults"
            else value
        )
    problems = projectconfig.check_document(doc)
    assert any(where == path and message in text for where, text in problems), problems


def test_layers_merge_in_order_and_remember_their_source():
    layers, chosen = projectconfig.file_layers(DOC, "c.yaml", None)
    env_layers, problems = projectconfig.env_layers({"KUBECTL_DAGSTER_TTL": "2d", "KUBECTL_DAGSTER_OTHER": "x"})
    flag = projectconfig.Layer("flag --image-tag", {"image": {"tag": "{commit}"}})
    merged = projectconfig.merge(layers + env_layers + [flag], chosen, "c.yaml")
    assert (chosen, problems) == ("dev", [])
    assert merged.get("env") == {"MODE": "dev", "TOKEN": "hunter2"}  # mappings merge key by key
    assert merged.get("image") == {"repository": "ghcr.io/acme/etl", "tag": "{commit}"}
    assert merged.sources[("env", "MODE")] == "environment dev (c.yaml)"
    assert merged.sources[("env", "TOKEN")] == "defaults (c.yaml)"
    assert merged.sources[("ttl",)] == "env KUBECTL_DAGSTER_TTL"
    assert merged.sources[("image", "tag")] == "flag --image-tag"


def test_registry_and_code_source_are_replaced_whole():
    layers, _ = projectconfig.file_layers(DOC, "c.yaml", "prd")
    merged = projectconfig.merge(layers)
    assert merged.get("registry") == {"locations": "deploy/"}
    assert merged.get("codeSource") == {"packageName": "etl"}
    assert projectconfig.check_merged(merged) == []


def test_unknown_environment_lists_the_defined_ones():
    with pytest.raises(errors.InputError, match=r"environment 'qa' is not defined in c.yaml \(defined: dev, prd\)"):
        projectconfig.file_layers(DOC, "c.yaml", "qa")


def test_bad_environment_variable_is_a_problem():
    _, problems = projectconfig.env_layers({"KUBECTL_DAGSTER_MAX_BRANCH_LOCATIONS": "many"})
    assert problems == [
        "$KUBECTL_DAGSTER_MAX_BRANCH_LOCATIONS: maxBranchLocations must be a positive integer, got 'many'"
    ]


def test_rows_never_show_env_values():
    layers, chosen = projectconfig.file_layers(DOC, "c.yaml", None)
    rows = projectconfig.rows(projectconfig.merge(layers, chosen, "c.yaml"))
    text = repr(rows)
    assert "hunter2" not in text and "preview" not in text
    assert ("env.TOKEN", "<hidden>", "defaults (c.yaml)") in rows
    assert ("namespace", "dagster-dev", "environment dev (c.yaml)") in rows


# -- the name, the image, the entry -----------------------------------------------------------------
@pytest.mark.parametrize(
    "branch, prefix, suffix, name",
    [
        ("feat/Login page", None, None, "feat-login-page"),
        ("feat/Login page", "etl", None, "etl--feat-login-page"),
        ("feat/Login page", "etl", "Nightly 2", "etl--feat-login-page-nightly-2"),
        ("123-fix", None, None, "b-123-fix"),
    ],
)
def test_location_name(branch, prefix, suffix, name):
    assert branchdeploy.location_name(branch, prefix, suffix) == name


def test_a_long_branch_stays_a_distinct_dns_label():
    a = branchdeploy.location_name("feature/" + "x" * 80 + "-a", "analytics", "nightly")
    b = branchdeploy.location_name("feature/" + "x" * 80 + "-b", "analytics", "nightly")
    assert a != b and len(a) <= 63 and a.startswith("analytics--") and a.endswith("-nightly")


@pytest.mark.parametrize(
    "branch, prefix, suffix, message",
    [
        ("///", None, None, "branch '///' leaves no usable location name"),
        ("feat", "p" * 60, None, "leave 1 characters for the branch; shorten the project name"),
        ("feat", None, "--", "has no letters or digits"),
    ],
)
def test_names_that_cannot_be_derived(branch, prefix, suffix, message):
    with pytest.raises(errors.InputError) as caught:
        branchdeploy.location_name(branch, prefix, suffix)
    assert message in caught.value.line()


def test_explicit_name_accepts_dagster_ucs_display_form():
    assert branchdeploy.explicit_name("etl:feat-x") == "etl--feat-x"


def test_image_templates():
    context = gitctx.Context("feat/x", SHA, 42, None, "github-actions")
    fields = branchdeploy.template_fields(context, "etl--feat-x", "etl")
    assert (
        branchdeploy.expand("r/{project}:{name}-{pr}-{short_commit}", fields, "image.tag")
        == "r/etl:etl--feat-x-42-3f2c1ab"
    )
    with pytest.raises(errors.InputError, match=r"uses \{sha\}"):
        branchdeploy.expand("sha-{sha}", fields, "image.tag")
    with pytest.raises(errors.InputError, match=r"uses \{commit.upper\}"):
        branchdeploy.expand("{commit.upper}", fields, "image.tag")
    no_pr = branchdeploy.template_fields(context._replace(pull_request=None), "n", None)
    with pytest.raises(errors.InputError) as caught:
        branchdeploy.expand("pr-{pr}", no_pr, "image.tag")
    assert (
        caught.value.line() == "image.tag 'pr-{pr}' needs {pr}, which is not known here; pass --pull-request "
        "(or run in CI)"
    )


def _merged(**values):
    return projectconfig.merge([projectconfig.Layer("defaults", values)])


def test_the_entry_is_what_add_location_would_write():
    merged = _merged(
        image={"repository": "ghcr.io/acme/etl", "tag": "sha-{short_commit}"},
        codeSource={"moduleName": "etl.defs"},
        env={"MODE": "preview", "ON": True},
        ttl="7d",
        resources={"requests": {"cpu": "250m"}},
        location={"nodeSelector": {"pool": "b"}},
        branchEnv="dagster-cloud",
    )
    context = gitctx.Context("feat/x", SHA, 42, "https://github.com/acme/etl", "github-actions")
    target = branchdeploy.Target("etl--feat-x", "feat/x")
    image = branchdeploy.image_ref(merged, None, branchdeploy.template_fields(context, target.name, "etl"))
    spec = branchdeploy.build(
        target, branchdeploy.flags_for(merged, context, image, []), branchdeploy.base_spec(merged), NOW
    )
    assert spec == {
        "name": "etl--feat-x",
        "branch": "feat/x",
        "nodeSelector": {"pool": "b"},
        "resources": {"requests": {"cpu": "250m"}},
        "env": {"MODE": "preview", "ON": "true"},
        "branchEnv": "dagster-cloud",
        "image": {"repository": "ghcr.io/acme/etl", "tag": "sha-3f2c1ab"},
        "moduleName": "etl.defs",
        "commit": SHA,
        "pullRequest": 42,
        "annotations": {constants.GIT_URL_ANNOTATION: "https://github.com/acme/etl"},
        "expiresAt": "2026-11-30T12:00:00Z",
    }


def test_no_image_and_no_code_source_are_errors():
    context = gitctx.Context("feat/x", SHA)
    with pytest.raises(errors.InputError) as caught:
        branchdeploy.image_ref(_merged(), None, branchdeploy.template_fields(context, "x", None))
    assert caught.value.line().startswith("no image for the location; pass --image REPOSITORY:TAG or set image.")
    flags = branchdeploy.flags_for(_merged(), context, "r:1", [])
    with pytest.raises(errors.InputError, match="no code source"):
        branchdeploy.build(branchdeploy.Target("feat-x", "feat/x"), flags, {}, NOW)


def _entry(entry_name, **spec):
    return entries.Entry(entry_name, spec, f"file:{entry_name}.yaml", spec)


def _snap(old, *others):
    current = ([old] if old else []) + list(others)
    return entries.Snapshot(old, current, {}, "where", "file:where")


def test_deploy_edit_replaces_its_own_branch_and_keeps_the_port():
    target = branchdeploy.Target("feat-x", "feat/x")
    edit = branchdeploy.deploying(target, lambda: {"branch": "feat/x", "image": {"repository": "r"}}, set(), None)
    old = _entry("feat-x", branch="feat/x", port=3039)
    assert edit(_snap(old, _entry("other", port=3031)))["port"] == 3039
    assert edit(_snap(None, _entry("other", port=3031)))["port"] == 3032


@pytest.mark.parametrize(
    "old, owner",
    [
        (_entry("feat-x", name="feat-x", image={"repository": "r"}), "a permanent location"),
        (_entry("feat-x", branch="FEAT_X"), "branch 'FEAT_X'"),
    ],
)
def test_deploy_and_close_never_take_over_another_owner(old, owner):
    target = branchdeploy.Target("feat-x", "feat/x")
    for edit in (branchdeploy.deploying(target, dict, set(), None), branchdeploy.closing(target)):
        with pytest.raises(errors.ExistsError) as caught:
            edit(_snap(old))
        assert f"already exists for {owner}" in caught.value.line()
        assert caught.value.line().endswith("; pass --suffix to deploy beside it, or --name NAME")


def test_the_cap_counts_branch_locations_only_for_new_ones():
    target = branchdeploy.Target("feat-z", "feat/z")
    full = [_entry("a", branch="a"), _entry("b", branch="b"), _entry("perm", name="perm")]
    edit = branchdeploy.deploying(target, lambda: {"branch": "feat/z"}, set(), 2)
    with pytest.raises(errors.RegistryError, match=r"holds 2 branch locations, the most maxBranchLocations \(2\)"):
        edit(_snap(None, *full))
    assert edit(_snap(_entry("feat-z", branch="feat/z"), *full)) is not None  # a redeploy is not a new one


def test_suspend_keeps_everything_else():
    old = _entry("feat-x", branch="feat/x", expiresAt="2026-12-01T00:00:00Z")
    suspended = branchdeploy.suspending("feat-x", True)(_snap(old))
    assert suspended == {"branch": "feat/x", "expiresAt": "2026-12-01T00:00:00Z", "suspended": True}
    assert branchdeploy.suspending("feat-x", False)(_snap(_entry("feat-x", **suspended))) == old.spec


# -- branch env ----------------------------------------------------------------------------------
def test_branch_env_ours_and_dagster_clouds():
    spec = {
        "branch": "feat/x",
        "commit": SHA,
        "pullRequest": 42,
        "annotations": {constants.GIT_URL_ANNOTATION: "https://github.com/acme/etl"},
    }
    assert branchenv.variables("etl--feat-x", spec) == [
        ("KUBECTL_DAGSTER_IS_BRANCH_DEPLOYMENT", "1"),
        ("KUBECTL_DAGSTER_BRANCH", "feat/x"),
        ("KUBECTL_DAGSTER_COMMIT", SHA),
        ("KUBECTL_DAGSTER_PULL_REQUEST", "42"),
        ("KUBECTL_DAGSTER_REPOSITORY_URL", "https://github.com/acme/etl"),
        ("KUBECTL_DAGSTER_LOCATION", "etl--feat-x"),
    ]
    cloud = dict(branchenv.variables("etl--feat-x", {**spec, "branchEnv": "dagster-cloud"})[6:])
    assert cloud == {
        "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1",
        "DAGSTER_CLOUD_DEPLOYMENT_NAME": "etl--feat-x",
        "DAGSTER_CLOUD_GIT_BRANCH": "feat/x",
        "DAGSTER_CLOUD_GIT_SHA": SHA,
        "DAGSTER_CLOUD_GIT_REPO": "acme/etl",
        "DAGSTER_CLOUD_PULL_REQUEST_ID": "42",
        "DAGSTER_CLOUD_PULL_REQUEST_STATUS": "OPEN",
    }
    assert branchenv.variables("perm", {"name": "perm"}) == []
    assert branchenv.variables("x", {"branch": "x", "branchEnv": "off"}) == []


def test_branch_env_keeps_the_entrys_own_values_and_form():
    listed = branchenv.with_env({"env": [{"name": "KUBECTL_DAGSTER_BRANCH", "value": "mine"}]}, "x", {"branch": "b"})
    assert [e["name"] for e in listed["env"]] == [
        "KUBECTL_DAGSTER_IS_BRANCH_DEPLOYMENT",
        "KUBECTL_DAGSTER_LOCATION",
        "KUBECTL_DAGSTER_BRANCH",
    ]
    assert listed["env"][-1]["value"] == "mine"
    mapped = branchenv.with_env({"env": {"A": "1"}}, "x", {"branch": "b"})
    assert mapped["env"] == {
        "KUBECTL_DAGSTER_IS_BRANCH_DEPLOYMENT": "1",
        "KUBECTL_DAGSTER_BRANCH": "b",
        "KUBECTL_DAGSTER_LOCATION": "x",
        "A": "1",
    }
    item = {"env": [{"name": "A", "value": "1"}]}
    assert branchenv.with_env(item, "x", {"name": "x"}) is item
