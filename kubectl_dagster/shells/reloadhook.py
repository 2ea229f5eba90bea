"""Talk to a Dagster webserver over GraphQL: reload the workspace or single locations, read each location's load
status, and wait, with a bound, until the served workspace is the declared one. Standard library only, no imports
from this package: the same file is the reload hook Job's script (``python -c`` in the webserver's image) and the
module behind ``reload``, ``status`` and ``--wait``.

Job environment (core/chart/hook.py sets it): ``DAGSTER_WEBSERVER_URL``; ``KUBECTL_DAGSTER_LOCATIONS``, JSON
``{name: {"host", "port", "image", "template"}}`` of every location the workspace must hold, exactly;
``KUBECTL_DAGSTER_NUDGE``, JSON label selectors (the writable webserver's first) of the pods that mount the
workspace, whose annotation is updated at the start (the kubelet then re-syncs their volumes) and which keep
``{name: [template, server id]}`` of the last reload; ``KUBECTL_DAGSTER_TIMEOUT``, ``_INTERVAL``, ``_ERROR_GRACE``.
"""
import datetime
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ENTRY_FIELDS = ("name loadStatus displayMetadata { key value } locationOrLoadError { __typename "
                "... on RepositoryLocation { serverId } "
                "... on PythonError { message stack errorChain { error { message stack } } } }")
WORKSPACE_FIELDS = ("__typename ... on Workspace { locationEntries { " + ENTRY_FIELDS + " } } "
                    "... on PythonError { message }")
RELOAD = ("mutation KubectlDagsterReload { reloadWorkspace { " + WORKSPACE_FIELDS
          + " ... on UnauthorizedError { message } } }")  # a read-only webserver answers UnauthorizedError
RELOAD_ONE = ("mutation KubectlDagsterReloadLocation($name: String!) { reloadRepositoryLocation("
              "repositoryLocationName: $name) { __typename ... on WorkspaceLocationEntry { name } "
              "... on ReloadNotSupported { message } ... on RepositoryLocationNotFound { message } "
              "... on UnauthorizedError { message } ... on PythonError { message } } }")
STATUS = "query KubectlDagsterStatus { workspaceOrError { " + WORKSPACE_FIELDS + " } }"
LOADED, LOADING, FAILED, MISSING = "LOADED", "LOADING", "ERROR", "MISSING"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
NUDGE_ANNOTATION = "kubectl-dagster.io/workspace-nudge"
STATE_ANNOTATION = "kubectl-dagster.io/reload-state"
NUDGE_EVERY = 30.0  # seconds: nudge again while the webserver still serves an old workspace


class WebserverError(Exception):
    """The webserver could not be reached, or answered with an error."""


class ReadOnlyError(WebserverError):
    """The webserver refuses mutations: a read-only webserver (``dagster-webserver --read-only``)."""


class KubeError(Exception):
    """The Kubernetes API server refused or could not be reached."""


def http_transport(url, timeout=15.0):
    """A function posting one GraphQL document (and its variables) to ``<url>/graphql``; the JSON answer."""
    endpoint = url.rstrip("/") + "/graphql"

    def post(document, variables=None):
        payload = {"query": document, **({"variables": variables} if variables else {})}
        request = urllib.request.Request(endpoint, data=json.dumps(payload).encode("utf-8"),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                errors = json.loads(exc.read().decode("utf-8")).get("errors") or []
                detail = "; ".join(e.get("message", "") for e in errors)
            except (ValueError, AttributeError, OSError):
                detail = ""
            raise WebserverError(f"{endpoint} answered HTTP {exc.code}" + (f": {detail}" if detail else "")) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise WebserverError(f"cannot reach {endpoint}: {getattr(exc, 'reason', exc)}") from exc

    return post


def _checked(answer, field):
    if answer.get("errors"):
        raise WebserverError("GraphQL error: " + "; ".join(str(e.get("message")) for e in answer["errors"]))
    result = (answer.get("data") or {}).get(field) or {}
    if result.get("__typename") == "UnauthorizedError":
        raise ReadOnlyError("the webserver refuses it (read-only webserver?): " + str(result.get("message")))
    return result


def entries(answer, field):
    """{location name: {"status", "message", "stack", "causes", "server", "image", "host", "port"}} from a
    reloadWorkspace/workspaceOrError answer."""
    result = _checked(answer, field)
    kind = result.get("__typename")
    if kind != "Workspace":
        raise WebserverError(f"{field} failed: {result.get('message') or kind}")
    return {entry["name"]: _state(entry) for entry in result.get("locationEntries") or []}


def _state(entry):
    shown = {item.get("key"): item.get("value") for item in entry.get("displayMetadata") or []}
    state = {"status": LOADING, "message": "", "stack": [], "causes": [], "server": None,
             "image": shown.get("image"), "host": shown.get("host"), "port": shown.get("port")}
    location = entry.get("locationOrLoadError") or {}
    if location.get("__typename") == "PythonError":
        causes = [link.get("error") or {} for link in location.get("errorChain") or []]
        state.update(status=FAILED, message=location.get("message") or "", stack=location.get("stack") or [],
                     causes=[{"message": c.get("message") or "", "stack": c.get("stack") or []} for c in causes])
    elif entry.get("loadStatus") == "LOADED":
        state.update(status=LOADED, server=location.get("serverId"))
    return state


def reload(post):
    return entries(post(RELOAD), "reloadWorkspace")


def reload_location(post, name):
    """Reload one location (``reloadRepositoryLocation``); its new state shows in the next ``status``."""
    result = _checked(post(RELOAD_ONE, {"name": name}), "reloadRepositoryLocation")
    if result.get("__typename") != "WorkspaceLocationEntry":
        raise WebserverError(f"reloading location {name} failed: {result.get('message') or result.get('__typename')}")


def status(post):
    return entries(post(STATUS), "workspaceOrError")


def summary(found):
    return ", ".join(f"{name} {found[name]['status']}" for name in sorted(found)) or "no locations"


def first_line(message):
    return (message or "").strip().splitlines()[0] if (message or "").strip() else ""


def root_cause(state):
    """The first line of the innermost error (Dagster wraps user-code errors in DagsterUserCodeLoadError)."""
    causes = state.get("causes") or []
    return first_line(causes[-1]["message"] if causes else state.get("message"))


def wait(fetch, done, timeout, interval, log, clock=time.monotonic, sleep=time.sleep, on_poll=None):
    """Call ``fetch`` until ``done(found)`` is True (or False: stop, failed), at most ``timeout`` s. Returns
    (outcome, found), outcome None when time ran out. Logs each change of state once; ``on_poll(elapsed)``."""
    start = clock()
    deadline, last_line, found = start + timeout, None, {}
    while True:
        try:
            found = fetch()
            line = summary(found)
        except WebserverError as exc:
            found, line = {}, f"waiting for the webserver: {exc}"
        if line != last_line:
            log(line)
        last_line = line
        outcome = done(found) if found or line == "no locations" else None
        if outcome is not None:
            return outcome, found
        if on_poll is not None:
            on_poll(clock() - start)
        if clock() + interval > deadline:
            return None, found
        sleep(interval)


class Plan:
    """What the hook waits for: the declared locations, and which must come back from a new server. A location
    is *pending* while served from an old code server: its image differs from the declared one, or its pod template
    changed since the last reload (``previous``) and the webserver still reports the server id it had then. An error
    of a pending location counts only after ``grace`` seconds (a restarting code server answers nothing a moment)."""

    def __init__(self, declared, previous, grace, clock=time.monotonic):
        self.declared, self.previous, self.grace, self.clock = declared, previous, grace, clock
        self.changed = sorted(n for n in declared if n in previous and previous[n][0] != declared[n].get("template"))
        self.failing_since = {}
        self.renewed = set(self.changed)  # locations that had to come back from a new code server

    def stale_workspace(self, found):
        """The webserver has not read the new workspace.yaml: other names, or another host or port."""
        return set(found) != set(self.declared) or any(
            found[name][key] is not None and want.get(key) is not None and str(found[name][key]) != str(want[key])
            for name, want in self.declared.items() for key in ("host", "port"))

    def old_server(self, name, state):
        want = self.declared[name].get("image")
        if want and state["image"] and state["image"] != want:
            return True
        return name in self.changed and bool(self.previous[name][1]) and state["server"] == self.previous[name][1]

    def pending(self, found):
        out = []
        for name in sorted(self.declared):
            state = found.get(name) or {"status": MISSING}
            if state["status"] == LOADED and self.old_server(name, state):
                out.append(name)
            elif state["status"] == FAILED and self._in_grace(name):
                out.append(name)
            if state["status"] != FAILED:
                self.failing_since.pop(name, None)
        self.renewed.update(out)
        return out

    def _in_grace(self, name):
        if not (self.declared[name].get("image") or name in self.changed):
            return False  # nothing says a newer server is coming: the error is final
        since = self.failing_since.setdefault(name, self.clock())
        return self.clock() - since < self.grace

    def done(self, found):
        if self.stale_workspace(found) or any(v["status"] == LOADING for v in found.values()):
            return None
        return True if not self.pending(found) else None


def reloader(post, plan, nudge, log):
    """``fetch`` for ``wait``: reload the whole workspace while the webserver serves an old one, else
    just the pending locations; with nothing to tell (no state, no image), reload everything once."""
    first = [True]

    def fetch():
        found = status(post)
        if plan.stale_workspace(found):
            nudge.again()
            found = reload(post)
        else:
            todo = plan.pending(found)
            for name in todo:
                reload_location(post, name)
            if todo:
                found = status(post)
            elif first[0] and not plan.previous:
                found = reload(post)
        first[0] = False
        return found

    return fetch


def kube_transport(environ, timeout=15.0):
    """``call(method, path, body=None, content_type=None)`` to the API server with the pod's service account."""
    sa_dir = environ.get("KUBECTL_DAGSTER_SA_DIR") or SA_DIR
    host = environ.get("KUBERNETES_SERVICE_HOST") or ""
    base = environ.get("KUBECTL_DAGSTER_API_URL") or (
        f"https://{'[' + host + ']' if ':' in host else host}:{environ.get('KUBERNETES_SERVICE_PORT') or '443'}")
    with open(os.path.join(sa_dir, "token"), encoding="utf-8") as handle:
        token = handle.read().strip()
    ca = os.path.join(sa_dir, "ca.crt")
    context = ssl.create_default_context(cafile=ca) if base.startswith("https:") and os.path.exists(ca) else None

    def call(method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read().decode("utf-8")).get("message") or ""
            except (ValueError, OSError):
                detail = ""
            raise KubeError(f"{method} {path}: HTTP {exc.code} {detail}".rstrip()) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise KubeError(f"{method} {path}: {getattr(exc, 'reason', exc)}") from exc

    return call


class Nudge:
    """Update an annotation on the pods that mount the workspace, so the kubelet re-syncs their
    volumes now rather than on its next periodic sync (a minute or more). Failures only log."""

    def __init__(self, call, namespace, selectors, log, clock=time.monotonic):
        self.call, self.namespace, self.selectors, self.log, self.clock = call, namespace, selectors, log, clock
        self.last = None

    def pods(self, selector):
        query = urllib.parse.urlencode({"labelSelector": selector})
        return self.call("GET", f"/api/v1/namespaces/{self.namespace}/pods?{query}").get("items") or []

    def annotate(self, pod, annotations):
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod['metadata']['name']}"
        self.call("PATCH", path, {"metadata": {"annotations": annotations}}, "application/merge-patch+json")

    def now(self):
        """Annotate every pod with the time; returns the state the webserver pods kept from the last reload."""
        self.last = self.clock()
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        previous, count = {}, 0
        try:
            for index, selector in enumerate(self.selectors):
                for pod in self.pods(selector):
                    kept = ((pod.get("metadata") or {}).get("annotations") or {}).get(STATE_ANNOTATION)
                    if index == 0 and kept and not previous:
                        previous = _parse_state(kept)
                    self.annotate(pod, {NUDGE_ANNOTATION: stamp})
                    count += 1
        except KubeError as exc:
            self.log(f"warning: cannot nudge the kubelet ({exc}); waiting for its periodic sync")
            return previous
        self.log(f"nudged {count} pod(s) so the kubelet refreshes the mounted workspace.yaml now")
        return previous

    def again(self):
        if self.last is not None and self.clock() - self.last >= NUDGE_EVERY:
            self.now()

    def keep(self, state):
        """Record ``{name: [template, server id]}`` on the webserver pods for the next run."""
        try:
            for pod in self.pods(self.selectors[0]):
                self.annotate(pod, {STATE_ANNOTATION: json.dumps(state, sort_keys=True, separators=(",", ":"))})
        except KubeError as exc:
            self.log(f"warning: cannot record the reloaded servers ({exc})")


class NoNudge:
    def now(self):
        return {}

    def again(self):
        pass

    def keep(self, state):
        pass


def _parse_state(text):
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return {str(k): v for k, v in data.items() if isinstance(v, list) and len(v) == 2} if isinstance(data, dict) else {}


def make_nudge(environ, log):
    selectors = json.loads(environ.get("KUBECTL_DAGSTER_NUDGE") or "[]")
    if not selectors:
        return NoNudge()
    sa_dir = environ.get("KUBECTL_DAGSTER_SA_DIR") or SA_DIR
    try:
        call = kube_transport(environ)
        with open(os.path.join(sa_dir, "namespace"), encoding="utf-8") as handle:
            namespace = handle.read().strip()
    except OSError as exc:
        log(f"warning: no service account token ({exc}); waiting for the kubelet's periodic sync")
        return NoNudge()
    return Nudge(call, namespace, selectors, log)


def report(plan, found, log):
    for name in sorted(found):
        state = found[name]
        if state["status"] == FAILED:
            log(f"warning: location {name} failed to load: {root_cause(state)}")
        elif name in plan.renewed:
            detail = ", ".join(part for part in (f"image {state['image']}" if state["image"] else "",
                                                 f"server {state['server']}" if state["server"] else "") if part)
            log(f"location {name} reloaded from its new code server" + (f": {detail}" if detail else ""))


def main(environ=None, log=None):
    environ = os.environ if environ is None else environ
    log = log or (lambda line: print(line, flush=True))
    url = environ["DAGSTER_WEBSERVER_URL"]
    declared = json.loads(environ.get("KUBECTL_DAGSTER_LOCATIONS") or "{}")
    timeout, interval, grace = (float(environ.get(key, default)) for key, default in (
        ("KUBECTL_DAGSTER_TIMEOUT", "600"), ("KUBECTL_DAGSTER_INTERVAL", "5"), ("KUBECTL_DAGSTER_ERROR_GRACE", "30")))
    post = http_transport(url)
    log(f"reloading the workspace of {url} until it serves: {', '.join(sorted(declared)) or 'no locations'}")
    nudge = make_nudge(environ, log)
    plan = Plan(declared, nudge.now(), grace)
    if plan.changed:
        log(f"changed since the last reload: {', '.join(plan.changed)}")
    outcome, found = wait(reloader(post, plan, nudge, log), plan.done, timeout, interval, log)
    if outcome:
        report(plan, found, log)
        nudge.keep({name: [declared[name].get("template"), found[name]["server"]] for name in sorted(declared)})
        log("workspace reloaded")
        return 0
    log(failure(plan, declared, found, timeout))
    return 1


def failure(plan, declared, found, timeout):
    missing = sorted(set(declared) - set(found))
    extra = sorted(set(found) - set(declared))
    old = [f"{n} (serves {found[n]['image'] or 'server ' + str(found[n]['server'])})"
           for n in plan.pending(found) if n in found and found[n]["status"] == LOADED]
    return (f"error: after {timeout:g}s the webserver serves {summary(found)}"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not declared: {', '.join(extra)}" if extra else "")
            + (f"; still the old code server: {', '.join(old)}" if old else "")
            + " (the kubelet may not have updated the mounted workspace.yaml yet, the new code server is not ready,"
              " or the webserver is not ready)")


if __name__ == "__main__":
    sys.exit(main())
