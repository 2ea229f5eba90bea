"""`kubectl dagster watch` against the API-server stand-in (tests/fakekube.py: list + watch with resourceVersions,
bookmarks, 410 Expired as an ERROR event, stop/start on the same port). No real API server or ArgoCD can run
here; the watcher's contract with them is the list/watch protocol and a merge patch of the Application's
`argocd.argoproj.io/refresh: hard` annotation, which is what is checked. The watcher runs as a real process."""

import json
import queue
import signal
import subprocess
import threading
import urllib.error
import urllib.request

import pytest
from conftest import entry_point, path_with_plugin

from kubectl_dagster.shells.registry import configmaps

APP = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/dagster"
WAIT = 30  # seconds: the bound on waiting for something that should happen (never a measured duration)


ARGS = [
    "watch",
    "-n",
    "dagster",
    "--argocd-app",
    "dagster",
    "--debounce",
    "1s",
    "--max-delay",
    "10s",
    "--request-timeout",
    "5s",
]


class Watcher:
    def __init__(self, kube, args=ARGS):
        env = {"KUBECONFIG": kube.kubeconfig_path, "PATH": path_with_plugin()}
        self.proc = subprocess.Popen(
            [entry_point(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text):
        while True:
            line = self.lines.get(timeout=WAIT)
            self.seen.append(line)
            if text in line:
                return line

    def drain(self, seconds):
        """The lines logged from now on until ``seconds`` pass without one (to see that nothing more happens)."""
        new = []
        try:
            while True:
                new.append(self.lines.get(timeout=seconds))
        except queue.Empty:
            self.seen += new
            return new

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=2)
        return self.proc.returncode


@pytest.fixture
def watched(kube):
    kube.add_application("argocd", "dagster")
    watcher = Watcher(kube)
    watcher.wait_for("refreshed application argocd/dagster (hard): 1 registry change(s): start (0 location(s)")
    yield kube, watcher
    watcher.stop()


def refreshes(kube):
    return [path for method, path, _ in list(kube.requests) if method == "PATCH" and path == APP]


def register(kube, name, attempts=5):
    """Create a registry ConfigMap as a writer would; a connection the busy stand-in resets is tried again."""
    spec = {"name": name, "image": {"repository": "ghcr.io/acme/etl", "tag": name}, "pythonFile": "a.py"}
    request = urllib.request.Request(
        kube.url + "/api/v1/namespaces/dagster/configmaps",
        method="POST",
        data=json.dumps(configmaps.to_configmap(name, spec, "dagster")).encode(),
        headers={"Authorization": f"Bearer {kube.token}", "Content-Type": "application/json"},
    )
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request) as response:
                assert response.status == 201
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 409 and attempt > 0:  # the reset came after the server had stored it
                return
            raise
        except (ConnectionError, urllib.error.URLError):
            if attempt == attempts - 1:
                raise


def test_a_burst_of_20_concurrent_writes_gives_one_to_three_refreshes(watched):
    kube, watcher = watched
    before = len(refreshes(kube))
    start = threading.Barrier(20)
    failures = []

    def write(n):
        start.wait()
        try:
            register(kube, f"pr-{n}")
        except Exception as exc:  # noqa: BLE001 - reported below, a thread cannot fail the test itself
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failures == [] and len([k for k in kube.configmaps if k[1].startswith("dagster-location-")]) == 20
    watcher.wait_for("refreshed application argocd/dagster (hard)")
    lines = [watcher.seen[-1]] + [line for line in watcher.drain(3) if "refreshed application" in line]
    burst = len(refreshes(kube)) - before
    assert 1 <= burst <= 3
    assert len(lines) == burst  # one log line per refresh
    assert kube.applications[("argocd", "dagster")]["metadata"]["annotations"]["argocd.argoproj.io/refresh"] == "hard"
    named = " ".join(lines)
    assert "20 registry change(s): +pr-0, +pr-1, +pr-10, +pr-11" in named or burst > 1


def test_changes_of_content_and_deletions_refresh_unrelated_configmaps_do_not(watched):
    kube, watcher = watched
    register(kube, "pr-1")
    watcher.wait_for("1 registry change(s): +pr-1")
    spec = {"name": "pr-1", "image": {"repository": "ghcr.io/acme/etl", "tag": "two"}, "pythonFile": "a.py"}
    kube.put("configmaps", "dagster", configmaps.to_configmap("pr-1", spec, "dagster"))
    watcher.wait_for("1 registry change(s): ~pr-1")
    before = len(refreshes(kube))
    kube.put("configmaps", "dagster", {"metadata": {"name": "unrelated"}, "data": {"a": "b"}})
    assert not [line for line in watcher.drain(2.5) if "refreshed" in line]
    assert len(refreshes(kube)) == before
    kube.remove("configmaps", "dagster", "dagster-location-pr-1")
    watcher.wait_for("1 registry change(s): -pr-1")


def test_a_server_restart_mid_watch_is_survived(watched):
    kube, watcher = watched
    kube.stop()
    watcher.wait_for("registry watch interrupted")
    register_while_down = {"name": "pr-7", "image": {"repository": "r"}, "pythonFile": "a.py"}
    kube.put("configmaps", "dagster", configmaps.to_configmap("pr-7", register_while_down, "dagster"))
    kube.restart()  # back on the same port; like a real restart, its watch history is gone
    watcher.wait_for("registry change(s): +pr-7")  # seen by the relist after the outage
    register(kube, "pr-8")
    watcher.wait_for("registry change(s): +pr-8")  # and watching again
    assert watcher.proc.poll() is None


def test_410_gone_leads_to_a_relist(watched):
    kube, watcher = watched
    kube.put("configmaps", "dagster", {"metadata": {"name": "unrelated"}, "data": {}})  # history moves on, unseen
    kube.compact()
    calls = len(kube.requests)
    kube.end_watches()  # the server ends the stream; the watcher resumes from a resourceVersion now compacted
    watcher.wait_for("is too old (410 Gone); relisting")
    later = [(method, path) for method, path, _ in list(kube.requests)[calls:]]
    assert ("GET", "/api/v1/namespaces/dagster/configmaps") in later
    register(kube, "pr-9")
    watcher.wait_for("registry change(s): +pr-9")


def test_sigterm_stops_it_within_two_seconds(kube):
    kube.add_application("argocd", "dagster")
    watcher = Watcher(kube)
    watcher.wait_for("refreshed application argocd/dagster (hard)")
    assert watcher.stop() == 0  # proc.wait(timeout=2) raises if it takes longer
    assert watcher.wait_for("stopped")


def test_sigterm_while_the_server_is_away(kube):
    kube.add_application("argocd", "dagster")
    watcher = Watcher(kube)
    watcher.wait_for("refreshed application")
    kube.stop()
    watcher.wait_for("registry watch interrupted")
    assert watcher.stop() == 0


def test_without_an_application_it_refuses_to_start(kube):
    result = subprocess.run(
        [entry_point(), "watch", "-n", "dagster"],
        capture_output=True,
        text=True,
        env={"KUBECONFIG": kube.kubeconfig_path, "PATH": path_with_plugin()},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == "error: no Application to refresh; pass --argocd-app NAME (repeatable)\n"


def test_the_shipped_deployment_runs_with_only_its_rbac(kube, tmp_path):
    """deploy/argocd/watcher.yaml: its command runs (against the stand-in, with a kubeconfig instead of the pod's
    token), and every request it makes is one its Roles allow."""
    from conftest import ROOT

    from kubectl_dagster.base import yamlio

    docs = {
        (d["kind"], d["metadata"]["name"], d["metadata"]["namespace"]): d
        for d in yamlio.make_yaml("safe").load_all((ROOT / "deploy" / "argocd" / "watcher.yaml").read_text())
        if d
    }
    pod = docs[("Deployment", "kubectl-dagster-watch", "dagster")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"][:2] == ["kubectl-dagster", "watch"]
    rules = [(role_ns, rule) for (kind, _, role_ns), role in docs.items() if kind == "Role" for rule in role["rules"]]
    account = {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": "dagster"}
    bound = {
        d["roleRef"]["name"] for (kind, _, _), d in docs.items() if kind == "RoleBinding" and d["subjects"] == [account]
    }
    assert bound == {name for (kind, name, _) in docs if kind == "Role"}

    kube.add_application("argocd", "dagster")
    watcher = Watcher(kube, container["command"][1:])
    try:
        watcher.wait_for("refreshed application argocd/dagster (hard)")
        register(kube, "pr-1")
        watcher.wait_for("registry change(s): +pr-1")
    finally:
        assert watcher.stop() == 0

    def allowed(verb, resource, namespace, name, group):
        return any(
            role_ns == namespace
            and group in rule["apiGroups"]
            and resource in rule["resources"]
            and verb in rule["verbs"]
            and name in rule.get("resourceNames", [name])
            for role_ns, rule in rules
        )

    for call in kube.calls:
        parts = call.path.strip("/").split("/")
        group = "" if parts[0] == "api" else parts[1]
        namespace, resource = parts[parts.index("namespaces") + 1], parts[parts.index("namespaces") + 2]
        name = parts[parts.index("namespaces") + 3] if len(parts) > parts.index("namespaces") + 3 else None
        if call.method == "POST" and resource == "configmaps":
            continue  # the test's own registration
        verb = {"PATCH": "patch", "GET": "watch" if call.query.get("watch") == "true" else ("get" if name else "list")}
        assert allowed(verb[call.method], resource, namespace, name, group), call
