"""core/policy: the Pod Security levels, the LocationPolicy document and the checks of generated objects, as
tables. The objects are built by the real chart code (core/chart/objects.py) for a neutral release."""

import copy

import pytest

from kubectl_dagster.base import errors
from kubectl_dagster.core.chart import isolation, objects
from kubectl_dagster.core.policy import document, podsecurity, rules
from kubectl_dagster.core.registry import admission
from kubectl_dagster.core.spec import locations as locs

SPEC = {"name": "feat", "image": {"repository": "ghcr.io/acme/code", "tag": "1"}, "pythonFile": "defs.py"}


def template(**pod):
    """A pod template with one container whose fields are given as container__<key>."""
    container = {"name": "c", "image": "x"}
    container.update({k[len("container__") :]: v for k, v in pod.items() if k.startswith("container__")})
    spec = {k: v for k, v in pod.items() if not k.startswith("container__") and k != "annotations"}
    return {"metadata": {"annotations": pod.get("annotations", {})}, "spec": {**spec, "containers": [container]}}


BASELINE = [
    ("host-network", template(hostNetwork=True), "hostNetwork"),
    ("host-pid", template(hostPID=True), "hostPID"),
    ("host-ipc", template(hostIPC=True), "hostIPC"),
    (
        "privileged",
        template(container__securityContext={"privileged": True}),
        "containers[c].securityContext.privileged",
    ),
    (
        "sys-admin",
        template(container__securityContext={"capabilities": {"add": ["SYS_ADMIN"]}}),
        "containers[c].securityContext.capabilities.add",
    ),
    ("host-path", template(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), "volumes[root].hostPath"),
    (
        "host-port",
        template(container__ports=[{"containerPort": 80, "hostPort": 80}]),
        "containers[c].ports[0].hostPort",
    ),
    (
        "proc-mount",
        template(container__securityContext={"procMount": "Unmasked"}),
        "containers[c].securityContext.procMount",
    ),
    (
        "seccomp-unconfined",
        template(securityContext={"seccompProfile": {"type": "Unconfined"}}),
        "securityContext.seccompProfile.type",
    ),
    (
        "selinux-user",
        template(container__securityContext={"seLinuxOptions": {"user": "root"}}),
        "containers[c].securityContext.seLinuxOptions.user",
    ),
    (
        "selinux-type",
        template(securityContext={"seLinuxOptions": {"type": "spc_t"}}),
        "securityContext.seLinuxOptions.type",
    ),
    (
        "unsafe-sysctl",
        template(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
        "securityContext.sysctls",
    ),
    (
        "apparmor-annotation",
        template(annotations={"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}),
        "annotations[container.apparmor.security.beta.kubernetes.io/c]",
    ),
    (
        "host-process",
        template(securityContext={"windowsOptions": {"hostProcess": True}}),
        "securityContext.windowsOptions.hostProcess",
    ),
    (
        "probe-host",
        template(container__livenessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}}),
        "containers[c].livenessProbe.httpGet.host",
    ),
]


@pytest.mark.parametrize("pod, field", [case[1:] for case in BASELINE], ids=[case[0] for case in BASELINE])
def test_baseline_refuses(pod, field):
    found = podsecurity.check(pod, "baseline")
    assert [f for f, _ in found] == [field]
    assert podsecurity.check(pod, "privileged") == []


ALLOWED = [
    ("empty", template()),
    ("default-capabilities", template(container__securityContext={"capabilities": {"add": ["NET_BIND_SERVICE"]}})),
    ("safe-sysctl", template(securityContext={"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]})),
    ("runtime-default", template(securityContext={"seccompProfile": {"type": "RuntimeDefault"}})),
    ("container-t", template(securityContext={"seLinuxOptions": {"type": "container_t"}})),
    ("host-port-0", template(container__ports=[{"containerPort": 80, "hostPort": 0}])),
]


@pytest.mark.parametrize("pod", [case[1] for case in ALLOWED], ids=[case[0] for case in ALLOWED])
def test_baseline_allows(pod):
    assert podsecurity.check(pod, "baseline") == []


RESTRICTED_OK = template(
    securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    container__securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    volumes=[{"name": "cfg", "configMap": {"name": "x"}}],
)


def test_restricted_allows_a_hardened_pod_and_names_each_missing_field():
    assert podsecurity.check(RESTRICTED_OK, "restricted") == []
    fields = [f for f, _ in podsecurity.check(template(volumes=[{"name": "n", "nfs": {}}]), "restricted")]
    assert fields == [
        "volumes[n]",
        "containers[c].securityContext.allowPrivilegeEscalation",
        "containers[c].securityContext.runAsNonRoot",
        "containers[c].securityContext.seccompProfile.type",
        "containers[c].securityContext.capabilities.drop",
    ]


def policy(**data):
    return document.parse({"apiVersion": "kubectl-dagster/v1alpha1", "kind": "LocationPolicy", **data}, "policy.yaml")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"podSecurity": "strict"}, "policy.yaml: podSecurity: podSecurity must be one of privileged, baseline"),
        ({"allowedImages": "ghcr.io/"}, "policy.yaml: allowedImages: allowedImages must be a list"),
        ({"maxResources": {"cpu": "lots"}}, "policy.yaml: maxResources.cpu: maxResources.cpu must be a resource"),
        ({"maxLocations": -1}, "policy.yaml: maxLocations: maxLocations must be a whole number"),
        ({"patches": {"paths": [{"kind": "Pod", "path": "/x"}]}}, "policy.yaml: patches.paths.0: each path is"),
        ({"futureKey": True}, "policy.yaml: futureKey: unknown key 'futureKey'"),
    ],
    ids=["level", "images", "resources", "count", "patch-kind", "unknown"],
)
def test_an_invalid_policy_names_the_field(data, message):
    with pytest.raises(errors.InputError) as caught:
        policy(**data)
    assert caught.value.message.startswith(message), caught.value.message


@pytest.mark.parametrize(
    "image, allowed",
    [
        ("ghcr.io/acme/code:1", True),
        ("ghcr.io/acme:1", True),
        ("ghcr.io/acme@sha256:abc", True),
        ("ghcr.io/acme-evil/code:1", False),
        ("docker.io/acme/code:1", False),
    ],
)
def test_image_prefixes_match_at_a_boundary(image, allowed):
    assert document.image_allowed(image, ("ghcr.io/acme",)) is allowed


def generated(spec):
    """(before, after) objects of one location on a neutral release, patches applied."""
    location = locs.Location(spec["name"], spec)
    before = objects.build(location, isolation.neutral_base("dagster"), "")
    after, problems = objects.apply_patches(location, copy.deepcopy(before))
    assert not problems
    return before, after


def findings(spec, chosen=document.DEFAULT):
    before, after = generated(spec)
    refs = isolation.release_refs(isolation.neutral_base("dagster"), spec["name"])
    return rules.check(before, after, spec.get("patches"), chosen, refs)


def patch(*ops, kind="Deployment"):
    return {**SPEC, "patches": [{"kind": kind, "patch": list(ops)}]}


POD_SPEC = "/spec/template/spec"
ESCALATIONS = [
    (
        "privileged",
        patch({"op": "add", "path": f"{POD_SPEC}/containers/0/securityContext", "value": {"privileged": True}}),
        "Deployment containers[dagster-user-deployments].securityContext.privileged: privileged containers are "
        "not allowed (Pod Security baseline)",
    ),
    (
        "host-root",
        patch({"op": "add", "path": f"{POD_SPEC}/volumes", "value": [{"name": "root", "hostPath": {"path": "/"}}]}),
        "Deployment volumes[root].hostPath: hostPath volumes are not allowed (Pod Security baseline)",
    ),
    (
        "service-account",
        patch({"op": "replace", "path": f"{POD_SPEC}/serviceAccountName", "value": "dagster"}),
        "Deployment spec.template.spec.serviceAccountName: a patch may not change it",
    ),
    (
        "token",
        patch({"op": "replace", "path": f"{POD_SPEC}/automountServiceAccountToken", "value": False}),
        "Deployment spec.template.spec.automountServiceAccountToken: a patch may not change it",
    ),
    (
        "namespace",
        patch({"op": "add", "path": "/metadata/namespace", "value": "kube-system"}),
        "Deployment metadata.namespace: a patch may not change it",
    ),
    (
        "node-port",
        patch({"op": "replace", "path": "/spec/type", "value": "NodePort"}, kind="Service"),
        "Service spec.type: a patch may not change it",
    ),
    (
        "selector-label",
        patch({"op": "replace", "path": "/spec/template/metadata/labels/component", "value": "dagster-webserver"}),
        "Deployment spec.template.metadata.labels.component: a patch may not change it",
    ),
]


@pytest.mark.parametrize("spec, first", [c[1:] for c in ESCALATIONS], ids=[c[0] for c in ESCALATIONS])
def test_the_default_refuses_an_escalation_made_by_a_patch(spec, first):
    assert findings(spec)[0] == first
    assert findings(SPEC) == []


def test_a_policy_limits_images_references_resources_and_patch_paths():
    strict = policy(
        allowedImages=["ghcr.io/acme/"],
        allowedSecrets=["team-*"],
        allowedConfigMaps=[],
        maxResources={"memory": "1Gi"},
        patches={"paths": [{"kind": "Deployment", "path": "/spec/template/metadata/annotations"}]},
    )
    spec = {
        **SPEC,
        "image": {"repository": "docker.io/evil/code", "tag": "1"},
        "envSecrets": ["team-db", "prod-admin"],
        "envConfigMaps": ["other"],
        "resources": {"limits": {"memory": "2Gi"}},
        "patches": [{"kind": "Deployment", "patch": [{"op": "add", "path": "/spec/replicas", "value": 2}]}],
    }
    assert findings(spec, strict) == [
        "patches[0] (Deployment) path /spec/replicas: not a path policy.yaml allows",
        "Deployment containers[dagster-user-deployments].image: 'docker.io/evil/code:1' is not under an "
        "allowedImages prefix of policy.yaml",
        "Deployment containers[dagster-user-deployments].envFrom[2]: ConfigMap 'other' is not in the "
        "allowedConfigMaps of policy.yaml",
        "Deployment containers[dagster-user-deployments].envFrom[4]: Secret 'prod-admin' is not in the "
        "allowedSecrets of policy.yaml",
        "Deployment resources.limits.memory: the pod's add up to more than 1Gi (policy.yaml)",
    ]
    assert findings({**SPEC, "resources": {"limits": {"memory": "512Mi"}}}, strict) == []
    assert findings(SPEC, strict)[0].endswith("limits.memory: not set; policy.yaml caps memory at 1Gi")


def entry(name, spec, created=None, problem=None):
    from kubectl_dagster.core.registry import entries

    return entries.Entry(name, spec, f"configmap/dagster-location-{name}", spec, created, problem=problem)


def test_registry_entries_are_taken_one_by_one():
    import datetime

    day = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    found = [
        entry("old", {**SPEC, "name": "old"}, day),
        entry("new", {**SPEC, "name": "new"}, day + datetime.timedelta(days=1)),
        entry("future", {**SPEC, "name": "future", "futureKey": True}, day),
        entry("thief", {**SPEC, "name": "old"}, day),
        entry("mine", {**SPEC, "name": "mine"}, day),
        entry("broken", {}, day, problem="its location.yaml is not YAML"),
    ]
    taken, left = admission.registry_locations(found, {"mine"}, policy(maxLocations=1))
    assert [loc.name for loc in taken] == ["old"]
    assert left == [
        ("broken", "configmap/dagster-location-broken", "its location.yaml is not YAML"),
        ("future", "configmap/dagster-location-future", "futureKey: unknown key 'futureKey'"),
        ("mine", "configmap/dagster-location-mine", "location mine is also in the platform's --locations, which wins"),
        (
            "new",
            "configmap/dagster-location-new",
            "policy.yaml allows 1 registry locations (maxLocations); this entry is one of the newer ones",
        ),
        (
            "thief",
            "configmap/dagster-location-thief",
            "it holds location 'old', which belongs in configmap/dagster-location-old",
        ),
    ]


def test_every_line_about_an_entry_left_out_is_at_most_300_characters():
    line = isolation.line("x" * 63, "configmap/dagster-location-" + "x" * 63, isolation.reason(["y" * 500, "z"]))
    assert len(line) == 300 and line.endswith("...")
    assert isolation.reason(["a" * 500, "b"]).endswith("... (and 1 more)")


def test_a_policy_without_patches_refuses_any():
    spec = patch({"op": "add", "path": "/metadata/annotations/team", "value": "a"})
    assert findings(spec, policy(patches={"allowed": False})) == ["patches: policy.yaml allows no patches"]
    assert findings(spec) == []


def test_a_writer_is_refused_past_max_locations_and_for_what_the_render_leaves_out():
    chosen = policy(maxLocations=1)
    admission.refuse("feat", dict(SPEC), chosen, [entry("feat", SPEC)])  # replacing itself: still one
    with pytest.raises(errors.PolicyError) as caught:
        admission.refuse("feat", dict(SPEC), chosen, [entry("other", SPEC)])
    assert caught.value.line() == (
        "location feat: the registry holds 1 locations and policy.yaml allows 1; nothing was written; change the "
        "entry, or ask the platform team about the policy"
    )
    with pytest.raises(errors.PolicyError, match="hostPath volumes are not allowed"):
        admission.refuse("feat", patch(ESCALATIONS[1][1]["patches"][0]["patch"][0]), None, [])
