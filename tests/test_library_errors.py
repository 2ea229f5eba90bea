"""What each library raises on broken input (ruamel's YAML errors, the kubernetes client's
kubeconfig and API errors, urllib's connection errors, jsonpatch's patch errors) reaches the user
as one `error:` line with exit 1 from every command that meets it: never exit 70, never a traceback,
never output on stdout."""

import json
import socket

import pytest
from conftest import cli, fixture_text

B = fixture_text("1.11.10", "b.yaml")
BROKEN_YAML = "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations: [\n"
BAD_PATCH = """apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
locations:
  - name: x
    image: {repository: r}
    pythonFile: a.py
    patches: [{kind: Deployment, patch: [{op: remove, path: /spec/nothing/here}]}]
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kubeconfig(tmp_path, text: str) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    return str(path)


REGISTRY_READS = [
    ["list-locations"],
    ["get-location", "x"],
    ["gc"],
    ["status"],
    ["update-location", "x", "--image", "r:2"],
    ["remove-location", "x"],
    ["add-location", "y", "--image", "r", "-f", "a.py"],
]


@pytest.mark.parametrize("args", REGISTRY_READS, ids=lambda a: a[0])
def test_ruamel_errors_in_a_git_registry(tmp_path, args):
    path = tmp_path / "locations.yaml"
    path.write_text(BROKEN_YAML)
    result = cli(*args, "--locations", str(path))
    assert (result.code, result.stdout) == (1, ""), result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "not valid YAML" in result.stderr
    assert path.read_text() == BROKEN_YAML


@pytest.mark.parametrize(
    "args, stdin",
    [
        (["render", "--locations", "{file}"], B),
        (["add-location", "--location-file", "{file}", "--locations", "{registry}"], ""),
        (["import", "{file}", "--locations", "{registry}"], ""),
        (["gc", "--keep-branches", "{file}", "--locations", "{registry}"], ""),
    ],
    ids=["render", "add-location-file", "import", "gc-keep-branches"],
)
def test_ruamel_errors_in_input_files(tmp_path, args, stdin):
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(b"\xff\xfe binary \x00 data")
    registry = tmp_path / "registry.yaml"
    filled = [a.replace("{file}", str(broken)).replace("{registry}", str(registry)) for a in args]
    result = cli(*filled, stdin=stdin)
    assert (result.code, result.stdout) == (1, ""), result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert not registry.exists()


KUBECONFIGS = {
    "binary": "\x00\x01\x02 not yaml \x7f",
    "yaml-list": "- a\n- b\n",
    "bad-certificate-data": json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [
                {"name": "k", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": "%%%"}}
            ],
            "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
        }
    ),
}
CLUSTER_COMMANDS = [
    ["list-locations", "--cluster"],
    ["add-location", "x", "--image", "r", "-f", "a.py", "--cluster"],
    ["gc", "--cluster"],
    ["status", "--cluster"],
    ["render", "--from-cluster"],
]


@pytest.mark.parametrize("kind", sorted(KUBECONFIGS))
@pytest.mark.parametrize("args", CLUSTER_COMMANDS, ids=lambda a: a[0])
def test_kubernetes_client_errors_on_garbage_kubeconfigs(tmp_path, kind, args):
    env = {"KUBECONFIG": _kubeconfig(tmp_path, KUBECONFIGS[kind])}
    result = cli(*args, stdin=B if args[0] == "render" else "", env=env)
    assert (result.code, result.stdout) == (1, ""), result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("path", ["/dev/zero", "."], ids=["dev-zero", "directory"])
def test_kubeconfig_that_is_not_a_file(path):
    result = cli("list-locations", "--cluster", "--kubeconfig", path)
    assert (result.code, result.stdout) == (1, ""), result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    "args",
    [["reload"], ["status"], ["reload", "--wait-for", "x", "--timeout", "1s"]],
    ids=["reload", "status", "reload-wait"],
)
def test_urllib_errors_reaching_the_webserver(args):
    """A bounded wait prints its progress lines first; the outcome is still one error line, the last."""
    url = f"http://127.0.0.1:{_closed_port()}"
    result = cli(*args, "--webserver-url", url)
    assert (result.code, result.stdout) == (1, ""), result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], result.stderr
    assert "cannot reach" in result.stderr


def test_jsonpatch_errors_in_render(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(BAD_PATCH)
    result = cli("render", "--locations", str(path), stdin=B)
    assert (result.code, result.stdout) == (1, ""), result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["reload", "--webserver-url", "not a url"], "is not an http(s) URL"),
        (
            ["add-location", "x", "--image", "r", "-f", "a.py", "--ttl", "99999999999999999999d"],
            "longer than 100 years",
        ),
        (["add-location", "x", "--image", "r", "-f", "a.py", "--wait=soon"], "--wait 'soon' is not a duration"),
    ],
    ids=["webserver-url", "ttl-overflow", "wait-checked-before-writing"],
)
def test_flags_are_checked_before_anything_is_written(tmp_path, args, message):
    registry = tmp_path / "registry.yaml"
    result = cli(*args, "--locations", str(registry)) if args[0] != "reload" else cli(*args)
    assert (result.code, result.stdout) == (1, ""), result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not registry.exists()


def test_import_with_a_code_source_that_is_a_string(tmp_path):
    source = tmp_path / "dagster_cloud.yaml"
    source.write_text("locations:\n  - location_name: a\n    code_source: defs.py\n    image: r\n")
    result = cli("import", str(source), "--locations", str(tmp_path / "registry.yaml"))
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == "error: location a: code_source is a str, not a mapping; fix dagster_cloud.yaml\n"


def test_last_error_on_a_binary_file(tmp_path):
    path = tmp_path / "last-error.log"
    path.write_bytes(b"\xff\xfe\x00 garbage")
    result = cli("last-error", env={"KUBECTL_DAGSTER_ERROR_FILE": str(path)})
    assert result.code == 0 and result.stderr == ""
    assert "garbage" in result.stdout
