"""The registry core as data: flags to entries, updates that touch only what is given, ports, gc
selection, change descriptions, import translation and RBAC."""

import datetime

import pytest

from kubectl_dagster.base import constants, errors, yamlio
from kubectl_dagster.core.registry import entries as registry
from kubectl_dagster.core.registry import flagedits, importer, listing, rbac

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("ghcr.io/acme/code:sha-1", {"repository": "ghcr.io/acme/code", "tag": "sha-1"}),
        ("localhost:5000/code:1.2", {"repository": "localhost:5000/code", "tag": "1.2"}),
        ("localhost:5000/code", {"repository": "localhost:5000/code"}),
        ("code", {"repository": "code"}),
        ("ghcr.io/acme/code@sha256:abc", {"repository": "ghcr.io/acme/code@sha256", "tag": "abc"}),
    ],
)
def test_parse_image_renders_back(ref, expected):
    image = flagedits.parse_image(ref)
    assert image == expected
    assert flagedits.image_ref({"image": image}) == ref


def test_build_spec_from_flags():
    flags = flagedits.Flags(
        image="r:1",
        branch="feat/x",
        python_file="defs.py",
        env=["A=1"],
        labels=["team=data"],
        cpu="250m",
        memory_limit="1Gi",
        pull_request=42,
        ttl="7d",
        commit_hash="abc",
        git_url="https://g",
    )
    spec = flagedits.build_spec(None, flags, NOW)
    assert spec == {
        "branch": "feat/x",
        "image": {"repository": "r", "tag": "1"},
        "pythonFile": "defs.py",
        "commit": "abc",
        "pullRequest": 42,
        "annotations": {constants.GIT_URL_ANNOTATION: "https://g"},
        "env": [{"name": "A", "value": "1"}],
        "labels": {"team": "data"},
        "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": "1Gi"}},
        "expiresAt": "2026-11-30T12:00:00Z",
    }


def test_build_spec_needs_an_image():
    with pytest.raises(errors.InputError, match="--image is required"):
        flagedits.build_spec("x", flagedits.Flags(python_file="a.py"), NOW)


def test_update_changes_only_what_is_given():
    spec = {
        "name": "x",
        "image": {"repository": "r", "tag": "1", "pullPolicy": "Always"},
        "moduleName": "m",
        "env": [{"name": "KEEP", "value": "1"}, {"name": "DROP", "value": "2"}],
        "port": 3031,
        "labels": {"a": "b"},
    }
    updated = flagedits.apply_flags(spec, flagedits.Flags(image="r:2", env=["DROP-", "NEW=3"], labels=["a-"]), NOW)
    assert updated == {
        "name": "x",
        "image": {"repository": "r", "tag": "2", "pullPolicy": "Always"},
        "moduleName": "m",
        "env": [{"name": "KEEP", "value": "1"}, {"name": "NEW", "value": "3"}],
        "port": 3031,
        "labels": {},
    }
    assert spec["image"]["tag"] == "1"  # the input is not modified


def test_new_code_source_replaces_the_old_one():
    spec = {"name": "x", "dagsterApiGrpcArgs": ["-m", "old"]}
    assert flagedits.apply_flags(spec, flagedits.Flags(package_name="pkg"), NOW) == {"name": "x", "packageName": "pkg"}
    with pytest.raises(errors.InputError, match="two code sources"):
        flagedits.apply_flags(spec, flagedits.Flags(package_name="pkg", module_name="m"), NOW)


def test_executable_path_becomes_one_deployment_patch():
    spec = flagedits.apply_flags({}, flagedits.Flags(executable_path="/venv/bin/python"), NOW)
    spec = flagedits.apply_flags(spec, flagedits.Flags(executable_path="/other/python"), NOW)
    assert len(spec["patches"]) == 1
    assert spec["patches"][0]["patch"][0] == {
        "op": "replace",
        "path": flagedits.CONTAINER_ARGS + "/0",
        "value": "/other/python",
    }


@pytest.mark.parametrize("bad", ["7", "d", "0d", "7y", "-1d"])
def test_bad_ttl(bad):
    with pytest.raises(errors.InputError, match="--ttl"):
        flagedits.parse_ttl(bad)


@pytest.mark.parametrize("bad", ["novalue", "=x"])
def test_bad_env(bad):
    with pytest.raises(errors.InputError, match="--env"):
        flagedits.build_spec("x", flagedits.Flags(image="r", env=[bad]), NOW)


def test_pick_port_skips_used_and_chart_ports():
    assert registry.pick_port(set()) == 3031
    assert registry.pick_port({3031, 3032, 3034}) == 3033
    assert registry.pick_port({3031}, reserved={3030, 3032}) == 3033


def _entry(name, **spec):
    return registry.Entry(name, spec, "file:x", spec)


def test_gc_selection():
    entries = [
        _entry("old", branch="gone", expiresAt="2026-11-01T00:00:00Z"),
        _entry("fresh", branch="main", expiresAt="2026-12-01T00:00:00Z"),
        _entry("deleted-branch", branch="feature/deleted"),
        _entry("permanent"),
    ]
    assert [e.name for e in registry.expired(entries, NOW)] == ["old"]
    keep = registry.parse_branch_list("abc123\trefs/heads/main\ndef456\trefs/heads/release/1.0\n\n# comment\n")
    assert keep == {"main", "release/1.0"}
    assert [e.name for e in registry.gone_branches(entries, keep)] == ["old", "deleted-branch"]
    assert registry.parse_branch_list("main\nfeature/x\n") == {"main", "feature/x"}


def test_describe_change_never_shows_env_values():
    old = {"image": {"repository": "r", "tag": "1"}, "env": [{"name": "TOKEN", "value": "s3cret"}], "port": 3031}
    new = {
        "image": {"repository": "r", "tag": "2"},
        "env": [{"name": "TOKEN", "value": "n3w"}, {"name": "B", "value": "x"}],
        "port": 3032,
    }
    lines = listing.describe_change(old, new)
    assert lines == ["env +B ~TOKEN", "image r:1 -> r:2", "port 3031 -> 3032"]
    assert "s3cret" not in " ".join(lines) and "n3w" not in " ".join(lines)


def test_table_layout():
    text = listing.table([["a", "bb"], ["ccc", "d"]], ["NAME", "X"])
    assert text == "NAME   X\na      bb\nccc    d\n"


def test_age_and_expiry():
    assert listing.age(None, NOW) == "<unknown>"
    assert listing.age(NOW - datetime.timedelta(seconds=45), NOW) == "45s"
    assert listing.age(NOW - datetime.timedelta(hours=5), NOW) == "5h"
    assert listing.age(NOW - datetime.timedelta(days=3), NOW) == "3d"
    assert listing.expires(_entry("x", expiresAt="2026-11-01T00:00:00Z"), NOW) == "expired"
    assert listing.expires(_entry("x", expiresAt="2026-11-26T12:00:00Z"), NOW) == "in 3d"
    assert listing.expires(_entry("x"), NOW) == "<never>"


DAGSTER_CLOUD = {
    "locations": [
        {
            "location_name": "data_eng",
            "code_source": {"package_name": "etl"},
            "working_directory": "./project",
            "executable_path": "/venv/bin/python",
            "attribute": "defs",
            "image": "ghcr.io/acme/etl:1",
            "build": {"directory": "."},
            "agent_queue": "special",
            "container_context": {
                "k8s": {
                    "env_vars": ["A=1", "FROM_AGENT"],
                    "env_secrets": ["s"],
                    "env_config_maps": ["c"],
                    "resources": {"requests": {"cpu": "1"}},
                    "labels": {"team": "de"},
                    "volumes": [{"name": "v", "emptyDir": {}}],
                    "volume_mounts": [{"name": "v", "mountPath": "/v"}],
                    "image_pull_policy": "IfNotPresent",
                    "namespace": "other",
                    "server_k8s_config": {},
                },
                "ecs": {},
            },
        },
        {"location_name": "ml", "code_source": {"python_file": "ml.py"}},
    ]
}


def test_import_translates_and_names_the_rest():
    entries, notes = importer.translate(DAGSTER_CLOUD, "ghcr.io/acme/default:2")
    first, second = entries
    assert first["name"] == "data-eng"
    assert first["image"] == {"repository": "ghcr.io/acme/etl", "tag": "1", "pullPolicy": "IfNotPresent"}
    assert first["packageName"] == "etl" and first["workingDirectory"] == "./project" and first["attribute"] == "defs"
    assert first["env"] == [{"name": "A", "value": "1"}]
    assert first["envSecrets"] == ["s"] and first["envConfigMaps"] == ["c"]
    assert first["volumeMounts"] == [{"name": "v", "mountPath": "/v"}] and first["labels"] == {"team": "de"}
    assert first["patches"][0]["kind"] == "Deployment"
    assert second == {"name": "ml", "image": {"repository": "ghcr.io/acme/default", "tag": "2"}, "pythonFile": "ml.py"}
    text = "\n".join(notes)
    for named in (
        "renamed to 'data-eng'",
        "build not translated",
        "agent_queue not translated",
        "'FROM_AGENT'",
        "container_context.k8s.namespace",
        "container_context.k8s.server_k8s_config",
        "container_context.ecs",
    ):
        assert named in text


def test_import_rejects_other_files():
    with pytest.raises(errors.InputError, match="dagster_cloud.yaml"):
        importer.translate({"foo": 1})


def test_rbac_grants_exactly_the_registry_verbs():
    docs = list(
        yamlio.make_yaml().load_all(rbac.manifests("dagster", ("dagster", "ci"), ("argocd", "repo"), "dagster"))
    )
    roles = {d["metadata"]["name"]: d for d in docs if d and d["kind"] == "Role"}
    writer = roles["kubectl-dagster-registry-writer"]["rules"]
    assert writer == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "update", "delete"]}
    ]
    assert roles["kubectl-dagster-registry-reader"]["rules"][0]["verbs"] == ["get", "list"]
    observer = roles["kubectl-dagster-observer"]["rules"]
    assert {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get", "create"]} in observer
    assert roles["kubectl-dagster-automation"]["rules"] == [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "create", "delete"]}
    ]  # automation on --for: its Jobs
    refresh = roles["kubectl-dagster-refresh-dagster"]
    assert refresh["metadata"]["namespace"] == "argocd"
    assert refresh["rules"][0]["resourceNames"] == ["dagster"] and refresh["rules"][0]["verbs"] == ["get", "patch"]
    bindings = [d for d in docs if d and d["kind"] == "RoleBinding"]
    assert {(b["subjects"][0]["namespace"], b["subjects"][0]["name"]) for b in bindings} == {
        ("dagster", "ci"),
        ("argocd", "repo"),
    }
    assert len(bindings) == 5  # writer, reader, observer, automation and refresh (the last three: the writer)
