"""Reload without restarting, and per-location status, against real Dagster: `dagster api grpc`
code servers (two good, one broken) and a real `dagster-webserver` on 127.0.0.1, with the
workspace.yaml that `render` produced (hosts pointed at 127.0.0.1, as the Services would resolve in
a cluster), on every Dagster release of the matrix (tests/dagsters.py). The hook Job's script runs
with that release's Python, as it runs in the webserver's image. Every wait is bounded; every process
is stopped at the end, as the kubelet stops a container."""

import json
import os
import re
import subprocess
import time
import urllib.request

import dagsters
import pytest
from conftest import CHART_FIXTURES, cli, entry_point, path_with_plugin
from dagsters import BOUND, free_port, wait_port

from kubectl_dagster.base import constants, yamlio
from kubectl_dagster.core.chart import manifests, workspace
from kubectl_dagster.shells import reloadhook

pytestmark = pytest.mark.every_dagster
GOOD = (
    "import dagster as dg\n\n\n@dg.asset\ndef {name}_asset():\n    return 1\n\n\n"
    "defs = dg.Definitions(assets=[{name}_asset])\n"
)
BROKEN = "raise RuntimeError('this location is broken on purpose')\n"


class Dagster:
    """Code servers and a webserver of one Dagster release, in ``tmp``."""

    def __init__(self, tmp, install: dagsters.Install):
        self.tmp, self.install = tmp, install
        self.procs = []
        self.ports = {}
        self.env = dict(os.environ, DAGSTER_HOME=str(tmp / "home"), PYTHONUNBUFFERED="1")
        (tmp / "home").mkdir()

    def start(self, name, argv, env, cwd=None):
        proc = dagsters.start(argv, self.tmp / f"{name}.log", cwd=cwd or self.tmp, env=env)
        self.procs.append(proc)
        return proc

    def code_server(self, name, source, lazy=False, port=None, image=None):
        """``dagster api grpc`` serving ``source``; ``image`` becomes DAGSTER_CURRENT_IMAGE, as the chart sets it."""
        (self.tmp / f"{name}.py").write_text(source)
        port = port or free_port()
        argv = [self.install.exe("dagster"), "api", "grpc", "-h", "127.0.0.1", "-p", str(port)]
        argv += ["-f", f"{name}.py", "-d", str(self.tmp)] + (["--lazy-load-user-code"] if lazy else [])
        home = self.tmp / f"home-{name}"  # one instance per process: sqlite storage is not for concurrent set-up
        home.mkdir(exist_ok=True)
        env = dict(self.env, DAGSTER_HOME=str(home), **({"DAGSTER_CURRENT_IMAGE": image} if image else {}))
        self.ports[name] = (port, self.start(f"grpc-{name}", argv, env))
        return port

    def restart_code_server(self, name, source, image=None):
        """A new pod behind the same Service: the old server stops as its pod does, a new one starts on the port."""
        port, proc = self.ports[name]
        dagsters.stop(proc)
        dagsters.wait_port_free(port)
        self.code_server(name, source, port=port, image=image)
        wait_port(port, self.ports[name][1])

    def webserver(self, workspace_path, read_only=False, port=None):
        self.web_port = port or free_port()
        argv = [self.install.exe("dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.web_port)]
        argv += ["-w", str(workspace_path)] + (["--read-only"] if read_only else [])
        self.web = self.start("webserver", argv, self.env)
        self.url = f"http://127.0.0.1:{self.web_port}"
        wait_port(self.web_port, self.web)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/server_info", timeout=2).read()
                return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"the webserver never answered /server_info:\n{dagsters.log_tail(self.web)}")

    def restart_webserver(self, workspace_path, read_only=False):
        """A new webserver pod on the same address (what a changed pod-template checksum does)."""
        dagsters.stop(self.web)
        dagsters.wait_port_free(self.web_port)
        self.webserver(workspace_path, read_only=read_only, port=self.web_port)

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            dagsters.stop(proc)


LOCATIONS_HEAD = (
    "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\ndefaults:\n  image: {repository: ghcr.io/acme/code}\n"
    "locations:\n"
)


def entry(name, port, tag=None):
    image = f"    image: {{tag: '{tag}'}}\n" if tag else ""
    return f"  - name: {name}\n    pythonFile: {name}.py\n    port: {port}\n" + image


def render_workspace(locations_path, tmp):
    """workspace.yaml as `render` makes it, our entries only, hosts pointed at 127.0.0.1; and the hook Job."""
    release = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
    result = cli("render", "--locations", str(locations_path), stdin=release)
    assert result.code == 0, result.stderr
    docs = manifests.split(result.stdout).documents
    config = next(d for d in docs if d.kind == "ConfigMap" and "workspace.yaml" in (d.data.get("data") or {}))
    _, ours = workspace.split_entries(config.data["data"]["workspace.yaml"])
    for item in ours:
        item["grpc_server"]["host"] = "127.0.0.1"
    job = next(d for d in docs if d.kind == "Job")
    return yamlio.dump({"load_from": ours}), job.data


def write_in_place(path, text):
    """As the kubelet updates a ConfigMap volume: new content appears atomically at the same path."""
    tmp = path.with_name("." + path.name + ".new")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def dagster(tmp_path_factory, dagster_install):
    tmp = tmp_path_factory.mktemp("dagster")
    d = Dagster(tmp, dagster_install)
    try:
        ports = {name: d.code_server(name, GOOD.format(name=name)) for name in ("alpha", "beta", "gamma")}
        ports["broken"] = d.code_server("broken", BROKEN, lazy=True)
        for _name, (port, proc) in d.ports.items():
            wait_port(port, proc)
        d.locations = tmp / "dagster-locations.yaml"
        d.locations.write_text(
            LOCATIONS_HEAD
            + entry("alpha", ports["alpha"])
            + entry("beta", ports["beta"])
            + entry("broken", ports["broken"])
        )
        text, d.job = render_workspace(d.locations, tmp)
        d.workspace = tmp / "workspace.yaml"
        d.workspace.write_text(text)
        d.webserver(d.workspace)
        d.ports_by_name = ports
        yield d
    finally:
        d.stop()


def test_status_shows_loaded_and_the_load_error(dagster):
    table = cli("status", "--webserver-url", dagster.url, "--locations", str(dagster.locations))
    assert table.code == 0, table.stderr
    rows = {line.split()[0]: line.split() for line in table.stdout.splitlines()[1:]}
    assert table.stdout.splitlines()[0].split() == [
        "NAME",
        "DECLARED",
        "WORKSPACE",
        "READY",
        "DAGSTER",
        "AUTOMATION",
        "MESSAGE",
    ]
    assert rows["alpha"][:5] == ["alpha", "yes", "-", "-", "LOADED"]
    assert rows["beta"][4] == "LOADED"
    assert rows["broken"][4] == "ERROR" and "this location is broken on purpose" in table.stdout
    as_json = json.loads(cli("status", "broken", "--webserver-url", dagster.url, "-o", "json").stdout)
    (row,) = as_json["locations"]
    assert row["dagster"] == "ERROR" and row["declared"] is False
    assert "DagsterUserCodeLoadError" in row["message"] and row["stack"]
    assert row["causes"][-1]["message"].startswith("RuntimeError: this location is broken on purpose")
    assert any("broken.py" in frame for frame in row["causes"][-1]["stack"])


def test_reload_picks_up_a_new_location_without_restarting(dagster):
    pid = dagster.web.pid
    dagster.locations.write_text(dagster.locations.read_text() + entry("gamma", dagster.ports_by_name["gamma"]))
    before = reloadhook.status(reloadhook.http_transport(dagster.url))
    assert "gamma" not in before
    text, _ = render_workspace(dagster.locations, dagster.tmp)
    write_in_place(dagster.workspace, text)
    result = cli("reload", "--webserver-url", dagster.url, "--wait-for", "gamma", "--timeout", "60s")
    assert result.code == 0, result.stderr
    assert "gamma LOADED" in result.stdout
    assert dagster.web.poll() is None and dagster.web.pid == pid  # the same webserver process served it


def test_add_location_wait_success_and_load_error(dagster, tmp_path):
    registry = tmp_path / "locations.yaml"
    env = dict(os.environ, PATH=path_with_plugin())
    port = dagster.ports_by_name["gamma"]
    waiting = subprocess.Popen(
        [
            entry_point(),
            "add-location",
            "delta",
            "--image",
            "r:1",
            "-f",
            "gamma.py",
            "--port",
            str(port),
            "--locations",
            str(registry),
            "--wait=60s",
            "--webserver-url",
            dagster.url,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert waiting.stdout.readline().decode().startswith("location/delta created")  # then the sync adds it
    current = yamlio.make_yaml().load(dagster.workspace.read_text())
    current["load_from"].append(workspace.grpc_entry("delta", "127.0.0.1", port))
    write_in_place(dagster.workspace, yamlio.dump(current))
    out, err = waiting.communicate(timeout=BOUND)
    assert waiting.returncode == 0, err.decode()
    assert "location/delta loaded" in err.decode()
    current["load_from"].append(workspace.grpc_entry("epsilon", "127.0.0.1", dagster.ports_by_name["broken"]))
    write_in_place(dagster.workspace, yamlio.dump(current))
    failed = cli(
        "add-location",
        "epsilon",
        "--image",
        "r:1",
        "-f",
        "broken.py",
        "--locations",
        str(registry),
        "--wait=60s",
        "--webserver-url",
        dagster.url,
    )
    assert failed.code == 1
    assert "this location is broken on purpose" in failed.stderr  # Dagster's own error, as Dagster+ shows it
    assert (
        failed.stderr.rstrip()
        .splitlines()[-1]
        .startswith("error: invalid locations: dagster: location 'epsilon' failed to load")
    )


def _hook_env(d, job, timeout, declared=None, **extra):
    """The Job's command and environment, pointed at the local webserver and run by its Dagster release's
    Python (the Job runs in the webserver's image); ``declared`` replaces its locations."""
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    env.update(
        DAGSTER_WEBSERVER_URL=d.url,
        KUBECTL_DAGSTER_TIMEOUT=str(timeout),
        KUBECTL_DAGSTER_INTERVAL="1",
        KUBECTL_DAGSTER_NUDGE="[]",
    )  # no API server unless a test gives one
    env.update(extra)
    if declared is not None:
        env["KUBECTL_DAGSTER_LOCATIONS"] = json.dumps(declared)
    argv = [d.install.python if arg == "python" else arg for arg in container["command"]]
    return argv, dict(os.environ, **env)


def _run_hook_script(d, names, timeout):
    """The script's own bound: ``timeout``, then one last call (the transport's 15 s); BOUND for starting up."""
    argv, env = _hook_env(d, d.job, timeout, {name: {} for name in names})
    return subprocess.run(argv, env=env, capture_output=True, timeout=timeout + 15 + BOUND)


def test_hook_job_script_succeeds_when_the_workspace_matches(dagster):
    """The script inside the rendered Job, run as a local process against the real webserver."""
    served = sorted(reloadhook.status(reloadhook.http_transport(dagster.url)))
    proc = _run_hook_script(dagster, served, 60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    out = proc.stdout.decode()
    assert "workspace reloaded" in out and "warning: location broken failed to load" in out


def test_hook_job_script_fails_within_its_bound(dagster):
    served = sorted(reloadhook.status(reloadhook.http_transport(dagster.url)))
    proc = _run_hook_script(dagster, served + ["never-appears"], 4)  # a hang fails on the bound
    assert proc.returncode == 1
    last = proc.stdout.decode().splitlines()[-1]
    assert last.startswith("error: after 4s the webserver serves ") and "; missing: never-appears" in last


def test_rendered_job_reloads_the_writable_webserver(dagster):
    job = dagster.job
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["DAGSTER_WEBSERVER_URL"] == "http://dagster-dagster-webserver:80"
    declared = json.loads(env["KUBECTL_DAGSTER_LOCATIONS"])
    assert sorted(declared) == ["alpha", "beta", "broken", "ml-models", "sales-etl"]
    assert declared["alpha"]["image"] == "ghcr.io/acme/code:1.11.10"  # no tag: the chart version, as the chart does
    assert declared["sales-etl"]["image"] == "ghcr.io/acme/sales-etl:2024.06.1"  # the chart's own location
    assert json.loads(env["KUBECTL_DAGSTER_NUDGE"])[0].endswith("component=dagster-webserver")
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "dagster-dagster-reload"
    assert container["image"] == "docker.io/dagster/dagster-celery-k8s:1.11.10"  # the webserver's image
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert annotations["argocd.argoproj.io/hook"] == "PostSync"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]


def test_status_and_reload_through_the_api_server_service_proxy(dagster, kube, tmp_path):
    """The cluster path: the registry, the live workspace ConfigMap and the Deployments come from the
    stand-in API server (tests/fakekube.py), and GraphQL goes through its service proxy to the real webserver."""
    env = {"KUBECONFIG": kube.kubeconfig_path}
    for name in ("alpha", "broken", "zeta"):
        assert cli("add-location", name, "--image", "r:1", "-f", f"{name}.py", "--cluster", env=env).code == 0
    kube.configmaps[("dagster", "dagster-workspace-yaml")] = {
        "metadata": {"name": "dagster-workspace-yaml", "namespace": "dagster", "resourceVersion": "1"},
        "data": {"workspace.yaml": dagster.workspace.read_text()},
    }
    kube.add_deployment(
        "dagster", "dagster-dagster-user-deployments-alpha", {"kubectl-dagster.io/location": "alpha"}, 1, 1
    )
    kube.add_deployment(
        "dagster", "dagster-dagster-user-deployments-zeta", {"kubectl-dagster.io/location": "zeta"}, 1, 0
    )
    kube.add_service("dagster", "dagster-dagster-webserver", 80, {"component": "dagster-webserver"}, target=dagster.url)
    table = cli("status", "--cluster", env=env)
    assert table.code == 0, table.stderr
    rows = {line.split()[0]: line.split() for line in table.stdout.splitlines()[1:]}
    assert rows["alpha"][:5] == ["alpha", "yes", "yes", "1/1", "LOADED"]
    assert rows["zeta"][:5] == ["zeta", "yes", "no", "0/1", "MISSING"]  # declared, not synced yet
    assert rows["broken"][4] == "ERROR" and rows["beta"][1] == "no"  # beta: served, not in the cluster registry
    reloaded = cli("reload", env=env)  # no --webserver-url: found by its label, reached through the proxy
    assert reloaded.code == 0, reloaded.stderr
    assert "via the API server" in reloaded.stdout
    proxied = [p for m, p, _ in kube.requests if "/proxy/" in p]
    assert proxied and all(
        p == "/api/v1/namespaces/dagster/services/dagster-dagster-webserver:80/proxy/graphql" for p in proxied
    )


LOCATION_FIELDS = (
    "query { workspaceOrError { ... on Workspace { locationEntries { name updatedTimestamp "
    "locationOrLoadError { ... on RepositoryLocation { repositories { assetNodes { assetKey { path } } } "
    "} } "
    "} } } }"
)


def served(url):
    """{location: (updatedTimestamp, asset names)} as the webserver serves them."""
    answer = reloadhook.http_transport(url)(LOCATION_FIELDS)
    out = {}
    for item in answer["data"]["workspaceOrError"]["locationEntries"]:
        repositories = (item.get("locationOrLoadError") or {}).get("repositories") or []
        assets = {"/".join(node["assetKey"]["path"]) for repo in repositories for node in repo["assetNodes"]}
        out[item["name"]] = (item["updatedTimestamp"], assets)
    return out


def declared_for_local(job, names):
    """The Job's declared locations, as the local processes serve them: only ``names`` (the chart's own
    locations of the fixture have no process here) and hosts pointed at 127.0.0.1."""
    env = {item["name"]: item["value"] for item in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    declared = json.loads(env["KUBECTL_DAGSTER_LOCATIONS"])
    return {name: dict(declared[name], host="127.0.0.1") for name in names}


@pytest.fixture
def fresh(tmp_path, dagster_install):
    d = Dagster(tmp_path, dagster_install)
    try:
        yield d
    finally:
        d.stop()


def test_image_only_change_gets_a_new_hook_that_reloads_just_that_location(fresh):
    """Issue 11, bullet 1: the same location, a new image tag. The render gives a new Job name; its
    script, run against the live webserver while the location's code server is replaced behind the same
    host:port, reloads only that location until the new server (new image, new definitions) serves it."""
    d = fresh
    v1 = GOOD.format(name="alpha")
    v2 = v1.replace("alpha_asset", "alpha_v2_asset")
    ports = {
        "alpha": d.code_server("alpha", v1, image="ghcr.io/acme/code:1"),
        "beta": d.code_server("beta", GOOD.format(name="beta"), image="ghcr.io/acme/code:1"),
    }
    for _name, (port, proc) in d.ports.items():
        wait_port(port, proc)
    locations = d.tmp / "locations.yaml"
    locations.write_text(LOCATIONS_HEAD + entry("alpha", ports["alpha"], "1") + entry("beta", ports["beta"], "1"))
    text_v1, job_v1 = render_workspace(locations, d.tmp)
    locations.write_text(LOCATIONS_HEAD + entry("alpha", ports["alpha"], "2") + entry("beta", ports["beta"], "1"))
    text_v2, job_v2 = render_workspace(locations, d.tmp)
    assert text_v2 == text_v1  # the workspace is the same ...
    assert job_v2["metadata"]["name"] != job_v1["metadata"]["name"]  # ... but Helm 3, Helm 4 and ArgoCD run a new Job
    d.workspace = d.tmp / "workspace.yaml"
    d.workspace.write_text(text_v2)
    d.webserver(d.workspace)
    pid = d.web.pid
    before = served(d.url)
    assert "alpha_asset" in before["alpha"][1]
    timeout = dagsters.GRACE + BOUND  # the old server's shutdown, then the new one's start
    argv, env = _hook_env(d, job_v2, timeout, declared_for_local(job_v2, ["alpha", "beta"]))
    hook = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = [hook.stdout.readline(), hook.stdout.readline()]  # its plan, then what the webserver serves now
        d.restart_code_server("alpha", v2, image="ghcr.io/acme/code:2")  # the rollout: a new pod takes over
        out, err = hook.communicate(timeout=timeout + BOUND)
    finally:
        if hook.poll() is None:
            hook.kill()
    out = "".join(seen) + out
    assert hook.returncode == 0, out + err
    assert "location alpha reloaded from its new code server: image ghcr.io/acme/code:2" in out
    assert "location beta reloaded" not in out
    after = served(d.url)
    assert after["alpha"][1] == {"alpha_v2_asset"}  # the new definitions
    assert after["beta"][0] == before["beta"][0]  # beta was not reloaded
    assert d.web.poll() is None and d.web.pid == pid  # the same webserver process


def test_removing_the_last_location_reloads_it_away(fresh, tmp_path):
    """Issue 11, bullet 3: with no location left the render still adds the hook, and its script makes
    the webserver drop the removed location."""
    d = fresh
    port = d.code_server("solo", GOOD.format(name="solo"))
    wait_port(port, d.ports["solo"][1])
    locations = d.tmp / "locations.yaml"
    locations.write_text(LOCATIONS_HEAD + entry("solo", port))
    text, _ = render_workspace(locations, d.tmp)
    d.workspace = d.tmp / "workspace.yaml"
    d.workspace.write_text(text)
    d.webserver(d.workspace)
    pid = d.web.pid
    assert "solo" in reloadhook.status(reloadhook.http_transport(d.url))
    locations.write_text(LOCATIONS_HEAD.replace("locations:\n", "locations: []\n"))
    text, job = render_workspace(locations, d.tmp)  # fails if the render added no hook Job
    assert yamlio.make_yaml("safe").load(text) == {"load_from": []}
    assert "solo" not in json.dumps(declared_for_local(job, []))
    write_in_place(d.workspace, text)
    argv, env = _hook_env(d, job, 60, declared_for_local(job, []))
    proc = subprocess.run(argv, env=env, capture_output=True, timeout=BOUND)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert reloadhook.status(reloadhook.http_transport(d.url)) == {}
    assert d.web.poll() is None and d.web.pid == pid


def test_adding_a_location_while_a_read_only_webserver_runs(fresh, tmp_path):
    """Issue 11, bullet 2: a read-only webserver refuses reloads (ReadOnlyError, not a text match) and
    never re-reads workspace.yaml by itself; `add-location --wait` against it only watches, and the
    restart that its pod-template checksum causes under --rollout=reload makes it serve the new location."""
    d = fresh
    ports = {name: d.code_server(name, GOOD.format(name=name)) for name in ("alpha", "beta")}
    for _name, (port, proc) in d.ports.items():
        wait_port(port, proc)
    d.workspace = d.tmp / "workspace.yaml"
    d.workspace.write_text(yamlio.dump({"load_from": [workspace.grpc_entry("alpha", "127.0.0.1", ports["alpha"])]}))
    d.webserver(d.workspace, read_only=True)
    post = reloadhook.http_transport(d.url)
    with pytest.raises(reloadhook.ReadOnlyError):
        reloadhook.reload(post)
    both = [workspace.grpc_entry(name, "127.0.0.1", ports[name]) for name in ports]
    write_in_place(d.workspace, yamlio.dump({"load_from": both}))
    registry = tmp_path / "registry.yaml"
    env = dict(os.environ, PATH=path_with_plugin())
    argv = [
        entry_point(),
        "add-location",
        "beta",
        "--image",
        "r:1",
        "-f",
        "beta.py",
        "--port",
        str(ports["beta"]),
        "--locations",
        str(registry),
        f"--wait={dagsters.GRACE + BOUND:g}s",  # the old webserver's shutdown, then the new one's start
        "--webserver-url",
        d.url,
    ]
    waiting = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert waiting.stdout.readline().decode().startswith("location/beta created")  # now it waits
        assert "beta" not in reloadhook.status(post)  # read-only: still the workspace it started with
        d.restart_webserver(d.workspace, read_only=True)  # what the changed checksum/dagster-workspace does
        out, err = waiting.communicate(timeout=dagsters.GRACE + 2 * BOUND)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, err.decode()
    assert "location/beta loaded" in err.decode()


def _api_calls(requests):
    """(apiGroup, resource, verb) of each request, as the API server's authorizer sees it."""
    calls = set()
    for method, path, _ in requests:
        match = re.fullmatch(r"/api/v1/namespaces/[^/]+/(?P<res>[^/]+)(?:/(?P<name>[^/]+))?", path) or re.fullmatch(
            r"/apis/(?P<group>[^/]+)/[^/]+/namespaces/[^/]+/(?P<res>[^/]+)(?:/(?P<name>[^/]+))?", path
        )
        assert match, path
        named = match.group("name") is not None
        verb = {
            "GET": "get" if named else "list",
            "PATCH": "patch",
            "PUT": "update",
            "POST": "create",
            "DELETE": "delete",
        }[method]
        calls.add((match.groupdict().get("group") or "", match.group("res"), verb))
    return calls


def test_nudge_calls_exactly_what_the_role_grants(dagster, kube, tmp_path):
    """The Job's script with its own environment and the Role from the same render: every API call it
    makes (to the stand-in API server, tests/fakekube.py, as the pod's service account) is granted, and
    the Role grants nothing it does not call. It annotates the webserver and daemon pods (the kubelet
    re-syncs their volumes), keeps the served servers on the webserver pods, and a second run reads
    them back: a location whose pod template changed must come back from another server."""
    release = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
    rendered = cli("render", "--locations", str(dagster.locations), stdin=release)
    docs = {d.kind: d.data for d in manifests.split(rendered.stdout).documents if d.kind in ("Role", "Job")}
    granted = {
        (group, resource, verb)
        for rule in docs["Role"]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    job_env = {item["name"]: item["value"] for item in docs["Job"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    selectors = json.loads(job_env[constants.HOOK_ENV_NUDGE])
    for index, selector in enumerate(selectors):
        kube.add_pod("dagster", f"pod-{index}", dict(term.split("=") for term in selector.split(",")))
    kube.add_pod("dagster", "unrelated", {"component": "dagster-webserver"})  # another release's webserver
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(kube.token)
    (sa / "namespace").write_text("dagster")
    names = sorted(reloadhook.status(reloadhook.http_transport(dagster.url)))
    declared = {name: {"template": "t1"} for name in names}
    argv, env = _hook_env(
        dagster,
        docs["Job"],
        30,
        declared,
        KUBECTL_DAGSTER_API_URL=kube.url,
        KUBECTL_DAGSTER_SA_DIR=str(sa),
        KUBECTL_DAGSTER_NUDGE=json.dumps(selectors),
    )
    kube.requests.clear()
    proc = subprocess.run(argv, env=env, capture_output=True, timeout=BOUND)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert "nudged 2 pod(s)" in proc.stdout.decode()
    assert _api_calls(kube.requests) == granted  # exactly: nothing missing, nothing extra
    pods = {name: pod["metadata"].get("annotations") or {} for (_, name), pod in kube.pods.items()}
    assert constants.NUDGE_ANNOTATION in pods["pod-0"] and constants.NUDGE_ANNOTATION in pods["pod-1"]
    assert pods["unrelated"] == {}
    kept = json.loads(pods["pod-0"][constants.STATE_ANNOTATION])
    assert sorted(kept) == names and kept["alpha"][0] == "t1" and kept["alpha"][1]  # [template, server id]
    declared["alpha"] = {"template": "t2"}  # alpha's pod template changed, but its server did not restart
    argv, env = _hook_env(
        dagster,
        docs["Job"],
        3,
        declared,
        KUBECTL_DAGSTER_API_URL=kube.url,
        KUBECTL_DAGSTER_SA_DIR=str(sa),
        KUBECTL_DAGSTER_NUDGE=json.dumps(selectors),
    )
    again = subprocess.run(argv, env=env, capture_output=True, timeout=BOUND)
    out = again.stdout.decode()
    assert again.returncode == 1, out
    assert "changed since the last reload: alpha" in out and "still the old code server: alpha" in out
