"""Talk to a Dagster webserver over GraphQL: reload the workspace, read each location's load status,
and wait, with a bound, until the served workspace is the declared one.

Standard library only, and no imports from this package: the same file is the script of the reload
hook Job (``python -c <this file>`` in the webserver's own image), and the module that
``kubectl dagster reload``, ``status`` and ``add-location --wait`` use.

Job environment: ``DAGSTER_WEBSERVER_URL`` (``http://host:port[/prefix]``), ``KUBECTL_DAGSTER_EXPECT``
(comma-separated location names the workspace must hold, exactly), ``KUBECTL_DAGSTER_TIMEOUT`` and
``KUBECTL_DAGSTER_INTERVAL`` (seconds).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

ENTRY_FIELDS = ("__typename ... on Workspace { locationEntries { name loadStatus locationOrLoadError "
                "{ __typename ... on PythonError { message stack errorChain { error { message stack } } } } } } "
                "... on PythonError { message }")
RELOAD = ("mutation KubectlDagsterReload { reloadWorkspace { " + ENTRY_FIELDS
          + " ... on UnauthorizedError { message } } }")  # a read-only webserver answers UnauthorizedError
STATUS = "query KubectlDagsterStatus { workspaceOrError { " + ENTRY_FIELDS + " } }"
LOADED, LOADING, FAILED, MISSING = "LOADED", "LOADING", "ERROR", "MISSING"


class WebserverError(Exception):
    """The webserver could not be reached, or answered with an error."""


def http_transport(url, timeout=15.0):
    """A function posting one GraphQL document to ``<url>/graphql`` and returning the JSON answer."""
    endpoint = url.rstrip("/") + "/graphql"

    def post(document):
        body = json.dumps({"query": document}).encode("utf-8")
        request = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                detail = "; ".join(e.get("message", "") for e in json.loads(exc.read().decode("utf-8")).get("errors") or [])
            except (ValueError, AttributeError, OSError):
                detail = ""
            raise WebserverError(f"{endpoint} answered HTTP {exc.code}" + (f": {detail}" if detail else "")) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WebserverError(f"cannot reach {endpoint}: {reason}") from exc

    return post


def entries(answer, field):
    """{location name: {"status", "message", "stack"}} from a reloadWorkspace/workspaceOrError answer."""
    if answer.get("errors"):
        raise WebserverError("GraphQL error: " + "; ".join(str(e.get("message")) for e in answer["errors"]))
    result = (answer.get("data") or {}).get(field) or {}
    kind = result.get("__typename")
    if kind == "UnauthorizedError":
        raise WebserverError("the webserver refuses it (read-only webserver?): " + str(result.get("message")))
    if kind != "Workspace":
        raise WebserverError(f"{field} failed: {result.get('message') or kind}")
    found = {}
    for entry in result.get("locationEntries") or []:
        error = entry.get("locationOrLoadError") or {}
        if error.get("__typename") == "PythonError":
            causes = [link.get("error") or {} for link in error.get("errorChain") or []]
            found[entry["name"]] = {"status": FAILED, "message": error.get("message") or "", "stack": error.get("stack") or [],
                                    "causes": [{"message": c.get("message") or "", "stack": c.get("stack") or []} for c in causes]}
        else:
            status = LOADED if entry.get("loadStatus") == "LOADED" else LOADING
            found[entry["name"]] = {"status": status, "message": "", "stack": [], "causes": []}
    return found


def reload(post):
    return entries(post(RELOAD), "reloadWorkspace")


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
    """Call ``fetch`` until ``done(found)`` is True (or False: stop, failed), at most ``timeout`` s.

    Returns (outcome, found): outcome True/False from ``done``, None when time ran out. Logs one
    line per change of state, never the same line twice in a row; ``on_poll(elapsed)`` after each call.
    """
    start = clock()
    deadline = start + timeout
    last_line, found = None, {}
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


def exactly(expected):
    """``done`` for the hook: the served names are the expected ones and none is still loading."""
    def done(found):
        if set(found) == set(expected) and all(v["status"] != LOADING for v in found.values()):
            return True
        return None
    return done


def main(environ=None, log=None):
    environ = os.environ if environ is None else environ
    log = log or (lambda line: print(line, flush=True))
    url = environ["DAGSTER_WEBSERVER_URL"]
    expected = sorted(n for n in environ.get("KUBECTL_DAGSTER_EXPECT", "").split(",") if n)
    timeout = float(environ.get("KUBECTL_DAGSTER_TIMEOUT", "600"))
    interval = float(environ.get("KUBECTL_DAGSTER_INTERVAL", "5"))
    post = http_transport(url)
    log(f"reloading the workspace of {url} until it serves: {', '.join(expected) or 'no locations'}")
    outcome, found = wait(lambda: reload(post), exactly(expected), timeout, interval, log)
    if outcome:
        for name in sorted(found):
            if found[name]["status"] == FAILED:
                log(f"warning: location {name} failed to load: {root_cause(found[name])}")
        log("workspace reloaded")
        return 0
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    log(f"error: after {timeout:g}s the webserver serves {summary(found)}"
        + (f"; missing: {', '.join(missing)}" if missing else "") + (f"; not declared: {', '.join(extra)}" if extra else "")
        + " (the kubelet may not have updated the mounted workspace.yaml yet, or the webserver is not ready)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
