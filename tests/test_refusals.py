"""Inputs the API server or Helm would refuse are refused here first: exit 1, nothing on stdout, one
`error:` line. Section 3 of issue 17 (locations the API server rejects, at render time and before a
registry write) and section 4 (broken streams, unbounded reads, alias bombs), each class on the real
chart's output (fixture 1.11.10/b)."""

import os

import pytest
from conftest import CHART_FIXTURES, cli, cli_in_process

B = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
HEAD = (
    "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n  - name: x\n    image: {repository: r}\n"
)
GOOD = HEAD + "    pythonFile: a.py\n"


def one_line_error(result, fragment: str) -> None:
    assert result.code == 1, (result.code, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert fragment in result.stderr, result.stderr
    assert len(result.stderr) < 2000


LOCATIONS = [
    # id, extra lines of location x (after name, image, pythonFile), fragment of the error
    (
        "quantity",
        "    resources: {requests: {cpu: 1 core}}\n",
        "resources.requests.cpu '1 core' is not a Kubernetes quantity",
    ),
    ("quantity-unit", "    resources: {limits: {memory: 1GB}}\n", "is not a Kubernetes quantity"),
    ("negative-quantity", "    resources: {requests: {cpu: '-1'}}\n", "must not be negative"),
    (
        "request-over-limit",
        "    resources: {requests: {cpu: '2'}, limits: {cpu: 500m}}\n",
        "resources.requests.cpu is more than resources.limits.cpu",
    ),
    ("resource-name", "    resources: {requests: {gpu: '1'}}\n", "an unprefixed resource name is one of"),
    ("env-name-map", "    env: {'1BAD': x}\n", "env var name '1BAD' is refused by Kubernetes"),
    ("env-name-list", "    env: [{name: 'A B', value: x}]\n", "env var name 'A B' is refused by Kubernetes"),
    ("env-float-1e3", "    env: {A: 1e3}\n", "env 'A': 1000.0 is not a string after YAML parsing; quote the value"),
    ("env-octal-0o17", "    env: {A: 0o17}\n", "env 'A': 15 is not a string after YAML parsing"),
    ("env-yes", "    env: {A: yes}\n", "env 'A': True is not a string after YAML parsing"),
    ("env-list-int", "    env: [{name: A, value: 3}]\n", "(the API server refuses it); quote the value"),
    ("env-list-value", "    env: {A: [1, 2]}\n", "env 'A': a list is not a string"),
    ("env-map-value", "    env: {A: {b: c}}\n", "env 'A': a mapping is not a string"),
    ("env-secret-name", "    envSecrets: [Bad_Secret]\n", "envSecrets name 'Bad_Secret' is not a DNS subdomain"),
    ("env-configmap-name", "    envConfigMaps: [{name: 'has space'}]\n", "envConfigMaps name 'has space' is not a DNS"),
    ("image-whitespace", None, "image.repository 'ghcr.io/acme/x y': an image reference contains no whitespace"),
    ("image-tag-float", None, "image.tag 1.1 is not a string after YAML parsing"),
    ("label-key", "    labels: {'bad key': x}\n", "label key 'bad key' is refused by Kubernetes"),
    ("label-value", "    labels: {team: 'not valid!'}\n", "label team: 'not valid!' is refused by Kubernetes"),
    ("label-not-string", "    labels: {version: 1.0}\n", "label version: 1.0 is not a string after YAML parsing"),
    ("annotation-key", "    annotations: {'a/b/c': x}\n", "annotation key 'a/b/c' is refused by Kubernetes"),
    ("annotation-not-string", "    annotations: {a: true}\n", "annotation a: True is not a string"),
    ("service-annotation", "    service: {annotations: {'x y': z}}\n", "annotation key 'x y'"),
    ("node-selector-not-string", "    nodeSelector: {gpu: true}\n", "nodeSelector gpu: True is not a string"),
    ("selector-label", "    labels: {deployment: other}\n", "label 'deployment' is a label the chart selects pods by"),
    (
        "selector-label-name",
        "    labels: {app.kubernetes.io/name: other}\n",
        "label 'app.kubernetes.io/name' is a label",
    ),
    ("sidecar-not-mapping", "    sidecarContainers: [busybox]\n", "each sidecarContainers item must be a mapping"),
    ("sidecar-no-image", "    sidecarContainers: [{name: side}]\n", "sidecarContainers image None: an image is"),
    (
        "sidecar-name-clash",
        "    sidecarContainers: [{name: dagster-user-deployments, image: busybox}]\n",
        "is used by another container of the pod",
    ),
    (
        "init-bad-name",
        "    initContainers: [{name: Init_1, image: busybox}]\n",
        "initContainers name 'Init_1' is not a DNS label",
    ),
    (
        "init-env",
        "    initContainers: [{name: init, image: busybox, env: [{name: A, value: 1}]}]\n",
        "env 'A': 1 is not a string",
    ),
    ("long-value-is-cut", "    labels: {team: '" + "x" * 5000 + "'}\n", "xxx..."),
]


def _file(extra, case_id):
    if case_id == "image-whitespace":
        return GOOD.replace("{repository: r}", "{repository: ghcr.io/acme/x y}")
    if case_id == "image-tag-float":
        return GOOD.replace("{repository: r}", "{repository: r, tag: 1.10}")
    return GOOD + extra


@pytest.mark.parametrize("extra,fragment", [c[1:] for c in LOCATIONS], ids=[c[0] for c in LOCATIONS])
def test_render_refuses_what_the_api_server_refuses(tmp_path, extra, fragment, request):
    path = tmp_path / "locations.yaml"
    path.write_text(_file(extra, request.node.callspec.id))
    one_line_error(cli_in_process("render", "--locations", str(path), stdin=B.encode()), fragment)


def test_quoted_values_render(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(
        GOOD + "    env: {A: '1e3', B: '0o17', C: 'yes', D: 3}\n    labels: {version: '1.0'}\n"
        "    resources: {requests: {cpu: 250m, memory: 1.5Gi}, limits: {cpu: 1}}\n"
    )
    result = cli_in_process("render", "--locations", str(path), stdin=B.encode())
    assert result.code == 0, result.stderr
    assert 'A: "1e3"' in result.stdout and 'B: "0o17"' in result.stdout and 'C: "yes"' in result.stdout


REGISTRY = [
    (["--env", "1BAD=x"], "env var name '1BAD' is refused by Kubernetes"),
    (["--cpu", "1 core"], "is not a Kubernetes quantity"),
    (["--memory", "lots"], "is not a Kubernetes quantity"),
    (["--label", "deployment=x"], "is a label the chart selects pods by"),
    (["--label", "team=not valid!"], "is refused by Kubernetes"),
    (["--env-secret", "Bad_Secret"], "is not a DNS subdomain"),
    (["--env-config-map", "a b"], "is not a DNS subdomain"),
]


@pytest.mark.parametrize("args,fragment", REGISTRY, ids=[a[0] for a, _ in REGISTRY])
def test_registry_refuses_before_writing(tmp_path, args, fragment):
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD)
    result = cli_in_process("add-location", "y", "--image", "r:1", "-f", "a.py", *args, "--locations", str(path))
    one_line_error(result, fragment)
    assert path.read_text() == GOOD
    assert os.listdir(tmp_path) == ["locations.yaml"]


def test_import_refuses_before_writing(tmp_path):
    cloud = tmp_path / "dagster_cloud.yaml"
    cloud.write_text(
        "locations:\n  - location_name: a\n    image: r:1\n    code_source: {python_file: a.py}\n"
        "    container_context: {k8s: {env_vars: ['1BAD=x']}}\n"
    )
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD)
    result = cli_in_process("import", str(cloud), "--locations", str(path))
    assert result.code == 1 and result.stdout == "", result.stderr
    assert path.read_text() == GOOD


def test_cluster_registry_refuses_before_writing(kube):
    base = ["--cluster", "-n", "dagster", "--kubeconfig", kube.kubeconfig_path]
    result = cli("add-location", "y", "--image", "r:1", "-f", "a.py", "--cpu", "1 core", *base)
    one_line_error(result, "is not a Kubernetes quantity")
    assert not [r for r in kube.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]


# -- section 4: streams ---------------------------------------------------------------------------------
WORKSPACE = B.index("# Source: dagster/templates/configmap-workspace.yaml")
WORKSPACE_END = B.index("\n---", WORKSPACE) + 1
WORKSPACE_KEY = B.index("  workspace.yaml: |", WORKSPACE)


def _workspace_value(value: str) -> str:
    return B[:WORKSPACE_KEY] + f"  workspace.yaml: {value}\n" + B[WORKSPACE_END:]


STREAMS = [
    (
        "workspace-map",
        _workspace_value('"{a: 1}"'),
        "workspace.yaml in the input's workspace ConfigMap is a mapping, not a",
    ),
    ("workspace-number", _workspace_value('"12"'), "workspace.yaml in the input's workspace ConfigMap is 12"),
    ("workspace-scalars", _workspace_value('"load_from: [1, 2]"'), "an entry of load_from in the input's workspace"),
    ("workspace-not-string", _workspace_value("12"), "has data that is not a mapping of strings"),
    (
        "metadata-list",
        B[:WORKSPACE_END] + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: [a]\n" + B[WORKSPACE_END:],
        "has no metadata mapping",
    ),
    (
        "spec-list",
        B + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: [a]\n",
        "has spec that is a list, not a mapping",
    ),
    (
        "containers-not-list",
        B.replace("      containers:\n", "      containers: 3\n      x:\n", 1),
        "has spec.template.spec.containers that is 3, not a list",
    ),
    ("list-document", B + "---\n- a\n- b\n", "is a list, not a Kubernetes object"),
    ("scalar-document", B + "---\njust text\n", "is a scalar, not a Kubernetes object"),
    ("boolean-document", B + "---\ntrue\n", "is a scalar, not a Kubernetes object"),
    ("null-document", B + "---\nnull\n", "is null, not a Kubernetes object"),
    ("no-kind", B + "---\napiVersion: v1\nmetadata: {name: x}\n", "has no kind"),
    ("no-name", B + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n", "has no metadata.name"),
    ("cut-inside-a-document", B[: B.index('"{\\"k8s\\"') + 20], "the input is not valid YAML"),
    ("nul-byte", B.replace("kind: Service", "kind: Ser\0vice", 1), "the input is not valid YAML"),
    (
        "deep-nesting",
        B
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: {a: "
        + "[" * 5000
        + "]" * 5000
        + "}\n",
        "nested more than 100 levels deep",
    ),
    (
        "alias-bomb",
        B
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx:\n"
        + "".join(f"  - &a{i} [{', '.join([f'*a{i - 1}' if i else 'lol'] * 9)}]\n" for i in range(9)),
        "the YAML aliases expand to more than",
    ),
    ("recursive-alias", B + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: r}\nx: &a [*a]\n", "recursive"),
]


@pytest.mark.parametrize("stdin,fragment", [s[1:] for s in STREAMS], ids=[s[0] for s in STREAMS])
def test_broken_streams(tmp_path, stdin, fragment):
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD)
    one_line_error(cli_in_process("render", "--locations", str(path), stdin=stdin.encode()), fragment)


def test_a_release_cut_right_after_its_workspace_configmap(tmp_path):
    """Nothing after the workspace ConfigMap: no Deployments, so no webserver or user-code template.
    A valid stream; it renders with the chart's defaults or is refused with one line."""
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD)
    result = cli_in_process("render", "--locations", str(path), "-n", "dagster", stdin=B[:WORKSPACE_END].encode())
    assert result.code in (0, 1), result.stderr
    assert (result.stdout == "") is (result.code == 1)


def test_a_stream_without_a_trailing_newline_is_not_glued(tmp_path):
    from kubectl_dagster.base import yamlio

    path = tmp_path / "locations.yaml"
    path.write_text(GOOD)
    result = cli_in_process("render", "--locations", str(path), stdin=B.rstrip("\n").encode())
    assert result.code == 0, result.stderr
    assert 'storage: "8Gi"\n---\n' in result.stdout
    assert all(isinstance(doc, dict) and doc.get("kind") for doc in yamlio.load_all(result.stdout) if doc is not None)


def test_an_alias_bomb_in_a_locations_file(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(
        "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))
    )
    one_line_error(cli_in_process("render", "--locations", str(path), stdin=B.encode()), "aliases expand to more than")


def test_an_alias_bomb_value_is_not_expanded_into_the_error(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD + "    port: &p [" + ", ".join(["x" * 100] * 50) + "]\n    env: {A: *p}\n")
    one_line_error(cli_in_process("render", "--locations", str(path), stdin=B.encode()), "port must be an integer")


@pytest.mark.parametrize(
    "args",
    [
        ["render", "--locations", "/dev/zero"],
        ["add-location", "y", "--location-file", "/dev/zero", "--locations", "{registry}"],
        ["import", "/dev/zero", "--locations", "{registry}"],
        ["gc", "--keep-branches", "/dev/zero", "--locations", "{registry}"],
        ["list-locations", "--locations", "/dev/zero"],
    ],
    ids=["locations", "location-file", "import", "gc-keep-branches", "registry-path"],
)
def test_unbounded_reads_fail_fast(tmp_path, args):
    registry = tmp_path / "locations.yaml"
    registry.write_text(GOOD)
    result = cli(*[a.format(registry=registry) for a in args], stdin=B)
    one_line_error(result, "/dev/zero is larger than 16 MiB")
    assert registry.read_text() == GOOD


def test_huge_stdin_fails_fast(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD)
    one_line_error(
        cli_in_process("render", "--locations", str(path), stdin=b"#" * (65 * 1024 * 1024)),
        "the input on stdin is larger than 64 MiB",
    )


COMMANDS = [["render"], ["list-locations"], ["add-location", "y", "--image", "r", "-f", "a.py"]]


@pytest.mark.parametrize("command", COMMANDS, ids=["render", "list", "add"])
def test_a_trailing_slash_on_a_file(tmp_path, command):
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD)
    result = cli_in_process(*command, "--locations", str(path) + "/", stdin=B.encode())
    one_line_error(result, "is a file, not a directory; drop the trailing /")
    assert path.read_text() == GOOD
