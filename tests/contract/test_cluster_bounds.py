"""Every cluster command against an API server that misbehaves: one that accepts the connection and
never answers (each request is bounded by --request-timeout, kubectl's flag), that drops the
connection, or that answers garbage (a 200 that is not JSON, a list whose items are not a list of
objects). Each gives one `error:` line naming the server and the fix, exit 1, and nothing on stdout. A
registry ConfigMap holding an alias bomb is one untrusted entry: set aside with one bounded line. The
stand-in (tests/fakekube.py) injects the faults at the HTTP level, under the official kubernetes client."""

import socket
import subprocess
import threading

import pytest
from conftest import cli, entry_point, fixture_text

COMMANDS = {
    "list-locations": ["list-locations", "--cluster"],
    "get-location": ["get-location", "x", "--cluster"],
    "add-location": ["add-location", "y", "--image", "r", "-f", "a.py", "--cluster"],
    "update-location": ["update-location", "x", "--image", "r:2", "--cluster"],
    "remove-location": ["remove-location", "x", "--cluster"],
    "gc": ["gc", "--cluster"],
    "status": ["status", "--cluster"],
    "reload": ["reload"],
    "render-from-cluster": ["render", "--from-cluster", "-n", "dagster"],
}
B = fixture_text("1.11.10", "b.yaml")


def _run(kube, args, *extra):
    stdin = B if args[0] == "render" else ""
    return cli(*args, *extra, stdin=stdin, env={"KUBECONFIG": kube.kubeconfig_path})


def _one_error_line(result):
    assert (result.code, result.stdout) == (1, ""), (result.code, result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.fixture
def registered(kube):
    assert (
        cli(
            "add-location", "x", "--image", "r:1", "-f", "a.py", "--cluster", env={"KUBECONFIG": kube.kubeconfig_path}
        ).code
        == 0
    )
    return kube


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_server_that_never_answers_times_out_with_one_line(registered, name):
    """--request-timeout keeps kubectl's meaning (each request's bound), and a request that timed out is
    not sent again: the stand-in sees exactly one request after the fault."""
    registered.inject("hang")
    before = len(registered.requests)
    result = _run(registered, COMMANDS[name], "--request-timeout", "1s")
    _one_error_line(result)
    assert f"the API server at {registered.url} did not answer within --request-timeout 1s (" in result.stderr
    assert result.stderr.endswith("; check the cluster and your network, or raise --request-timeout\n")
    assert len(registered.requests) == before + 1, registered.requests[before:]


@pytest.mark.parametrize("name", ["list-locations", "add-location", "render-from-cluster"])
def test_a_dropped_connection_is_one_line(registered, name):
    registered.inject("disconnect")
    result = _run(registered, COMMANDS[name])
    _one_error_line(result)
    assert f"cannot reach the API server at {registered.url}" in result.stderr


@pytest.mark.parametrize("fault", ["not-json", "items-not-list", "items-null", "null-item"])
@pytest.mark.parametrize("name", ["list-locations", "gc", "status", "render-from-cluster", "add-location"])
def test_garbage_answers_are_one_line(registered, fault, name):
    registered.inject(fault, method="GET")
    result = _run(registered, COMMANDS[name])
    _one_error_line(result)
    assert registered.url in result.stderr


@pytest.mark.parametrize("value", ["0", "2.5", "500ms", "1m"])
def test_request_timeout_takes_kubectls_spellings(registered, value):
    result = _run(registered, COMMANDS["list-locations"], "--request-timeout", value)
    assert result.code == 0, result.stderr


def test_a_bad_request_timeout_is_a_clean_error(registered):
    result = _run(registered, COMMANDS["list-locations"], "--request-timeout", "soon")
    _one_error_line(result)
    assert "--request-timeout 'soon' is not a duration" in result.stderr


ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize("name", ["list-locations", "render-from-cluster", "gc"])
def test_an_alias_bomb_in_a_registry_configmap_is_refused_briefly(registered, name):
    """Registry ConfigMaps are untrusted: the expansion is bounded, the entry is set aside (shown as invalid,
    left out of the render, never a failure of the whole command) and the line about it quotes no input."""
    registered.put(
        "configmaps",
        "dagster",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "dagster-location-bomb",
                "namespace": "dagster",
                "labels": {"kubectl-dagster.io/registry": "code-location", "kubectl-dagster.io/location": "bomb"},
            },
            "data": {"location.yaml": ALIAS_BOMB},
        },
    )
    result = _run(registered, COMMANDS[name])
    assert result.code == 0, result.stderr
    reason = (
        "configmap/dagster-location-bomb location.yaml is YAML past kubectl-dagster's bounds: "
        "the YAML aliases expand to more than"
    )
    lines = [line for line in result.stderr.splitlines() if "bomb" in line]
    assert len(lines) == (0 if name == "gc" else 1) and all(reason in line and len(line) <= 300 for line in lines)
    assert "[x,x" not in result.stderr


def test_a_tls_failure_is_one_line(kube, tmp_path):
    """https:// to a server that speaks plain HTTP: the handshake fails; the line names the server and the fix."""
    import json

    path = tmp_path / "tls-kubeconfig"
    kube.kubeconfig(path)
    config = json.loads(path.read_text())
    config["clusters"][0]["cluster"]["server"] = kube.url.replace("http://", "https://")
    path.write_text(json.dumps(config))
    result = cli("list-locations", "--cluster", env={"KUBECONFIG": str(path)})
    _one_error_line(result)
    assert "TLS with the API server at https://127.0.0.1:" in result.stderr and "certificate-authority" in result.stderr


@pytest.fixture
def silent_server(tmp_path):
    """A socket that accepts connections and never answers nor reads (an API server behind a black-holing
    proxy), and a kubeconfig pointing at it. Yields (kubeconfig path, url, accepted connections)."""
    accepted = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)

        def hold():
            while True:
                try:
                    accepted.append(server.accept()[0])
                except OSError:  # closed at the end of the test
                    return

        threading.Thread(target=hold, daemon=True).start()
        url = "http://127.0.0.1:%d" % server.getsockname()[1]
        path = tmp_path / "silent-kubeconfig"
        path.write_text(
            f"apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: '{url}'}}}}]\n"
            "users: [{name: u, user: {token: t}}]\n"
            "contexts: [{name: x, context: {cluster: c, user: u, namespace: dagster}}]\ncurrent-context: x\n"
        )
        yield str(path), url, accepted
    for connection in accepted:
        connection.close()


SILENT = {  # the command, as a new user types it, and the request it waits on first
    "add-location": (["add-location", "y", "--image", "r", "-f", "a.py", "--cluster"], "list configmaps"),
    "list-locations": (["list-locations", "--cluster"], "list locations"),
    "status": (["status", "--cluster"], "list locations"),
}


def test_a_silent_server_costs_one_budget_per_command(silent_server):
    """With default flags every command gives up after the command's one time budget for the API server
    (30 s, constants.API_BUDGET), says so in words, and sends no request twice. The three run side by side;
    the bound is the subprocess timeout (each command's own budget is what ends it)."""
    kubeconfig, url, accepted = silent_server
    env = {"KUBECONFIG": kubeconfig, "PATH": "/usr/bin:/bin"}
    procs = {
        name: subprocess.Popen([entry_point(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, (args, _) in SILENT.items()
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert (proc.returncode, out) == (1, b""), (name, err)
        assert err.decode() == (
            f"error: the API server at {url} did not answer within the command's 30s ({SILENT[name][1]}); "
            "check the cluster and your network, or pass --request-timeout to give each request its own time\n"
        )
    assert len(accepted) == len(SILENT)  # one connection each: nothing was retried


def test_a_refused_connection_says_so_in_words(tmp_path):
    """Nothing listens: the reason is the refusal, not urllib3's wrapper (MaxRetryError)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = tmp_path / "kubeconfig"
    path.write_text(
        f"apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    for name in ("status", "add-location"):
        args, what = SILENT[name]
        result = cli(*args, env={"KUBECONFIG": str(path)})
        _one_error_line(result)
        assert result.stderr == (
            f"error: cannot reach the API server at http://127.0.0.1:{port} ({what}): "
            "the connection was refused; check the cluster, --context and --kubeconfig\n"
        )
