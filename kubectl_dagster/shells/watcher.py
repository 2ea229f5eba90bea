"""Keep ArgoCD's manifest cache honest: watch the registry ConfigMaps and, when their set or content
changes, ask for a hard refresh of the Application(s) that render them (``from-cluster``).

ArgoCD reruns a plugin only for a new commit or a hard refresh, so a registration written by CI, a
per-PR Application, ``gc`` or a person with kubectl would otherwise stay invisible. The watcher lists
the registry (label ``kubectl-dagster.io/registry=code-location``) and watches it from the list's
resourceVersion, with bookmarks. A watch that ends is resumed from the last resourceVersion seen; a
410 Gone (history compacted), or any failure to reach the API server, leads to a fresh list, compared
with what was known, so nothing that happened meanwhile is missed. Changes are debounced: a refresh
is sent once the registry has been quiet for ``quiet`` seconds, and at the latest ``longest`` seconds
after the first change of a burst. Each refresh is one log line. The first list after a start also
refreshes (a change made while the watcher was down would be missed otherwise).
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..base import constants, errors
from . import kube

State = Dict[str, str]  # ConfigMap name -> fingerprint of its data
WATCH_SECONDS = 240  # the server ends each watch after this long (timeoutSeconds); we resume from where it was
BACKOFF = (0.2, 5.0)  # seconds: first and longest wait before trying the API server again
TICK = 0.1  # seconds between checks of the debounce and of the stop flag


def fingerprint(obj: Dict[str, Any]) -> str:
    return json.dumps(obj.get("data"), sort_keys=True)


def changes(old: State, new: State) -> List[str]:
    """``+location`` added, ``~location`` changed, ``-location`` removed, in name order."""
    out = []
    for name in sorted(set(old) | set(new)):
        shown = (
            name[len(constants.REGISTRY_CONFIGMAP_PREFIX) :]
            if name.startswith(constants.REGISTRY_CONFIGMAP_PREFIX)
            else name
        )
        if name not in old:
            out.append("+" + shown)
        elif name not in new:
            out.append("-" + shown)
        elif old[name] != new[name]:
            out.append("~" + shown)
    return out


class Debounce:
    """When to refresh: ``quiet`` seconds after the last change, at most ``longest`` after the first. Pure
    (the caller passes the time); the watch thread and the refresh loop share it under a lock."""

    def __init__(self, quiet: float, longest: float):
        self.quiet, self.longest = quiet, longest
        self.first: Optional[float] = None
        self.last: Optional[float] = None
        self.not_before = 0.0
        self.pending: List[str] = []
        self.lock = threading.Lock()

    def changed(self, now: float, what: Sequence[str]) -> None:
        with self.lock:
            if self.first is None:
                self.first = now
            self.last = now
            self.pending += list(what)

    def due(self, now: float) -> bool:
        with self.lock:
            if self.first is None or now < self.not_before:
                return False
            return now - self.last >= self.quiet or now - self.first >= self.longest

    def take(self) -> List[str]:
        with self.lock:
            taken, self.pending, self.first, self.last = self.pending, [], None, None
            return taken

    def retry(self, now: float, what: Sequence[str], delay: float) -> None:
        """A refresh failed: try again after ``delay``, with the same changes."""
        self.changed(now, what)
        with self.lock:
            self.not_before = now + delay


def log(line: str) -> None:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {line}", file=sys.stderr, flush=True)


class Watcher:
    def __init__(
        self,
        cluster: kube.Cluster,
        namespace: str,
        apps: Sequence[Tuple[str, str]],
        quiet: float,
        longest: float,
        stop: threading.Event,
        say: Callable[[str], None] = log,
    ):
        self.cluster, self.namespace, self.apps = cluster, namespace, list(apps)
        self.debounce = Debounce(quiet, longest)
        self.stop, self.say = stop, say
        self.state: Optional[State] = None

    # -- the refresh loop (main thread) -------------------------------------------------------------
    def run(self) -> None:
        self.say(
            f"watching registry ConfigMaps ({constants.REGISTRY_SELECTOR}) in namespace {self.namespace}; "
            f"refreshing {', '.join(f'{ns}/{name}' for ns, name in self.apps)}"
        )
        # a daemon thread: a stop does not wait for its blocking read (closing the stream from here would)
        thread = threading.Thread(target=self._watch_loop, name="registry-watch", daemon=True)
        thread.start()
        failures = 0
        while not self.stop.wait(TICK):
            if not self.debounce.due(time.monotonic()):
                continue
            what = self.debounce.take()
            failed = self._refresh(what)
            if failed:
                failures += 1
                self.debounce.retry(time.monotonic(), what, min(BACKOFF[0] * 2**failures, BACKOFF[1]))
            else:
                failures = 0
        self.say("stopped")

    def _refresh(self, what: List[str]) -> bool:
        """One hard refresh per Application, one log line each; True when any failed (all are retried)."""
        summary = _summary(what)
        failed = False
        for namespace, name in self.apps:
            try:
                kube.refresh_argocd_app(self.cluster, name, namespace)
                self.say(f"refreshed application {namespace}/{name} (hard): {summary}")
            except errors.Error as exc:
                failed = True
                self.say(f"refresh of application {namespace}/{name} failed: {exc.line()}; retrying")
        return failed

    # -- the watch (its own thread) -----------------------------------------------------------------
    def _watch_loop(self) -> None:
        version: Optional[str] = None
        backoff = BACKOFF[0]
        while not self.stop.is_set():
            try:
                if version is None:
                    version = self._relist()
                version = self._follow(version)
                backoff = BACKOFF[0]
            except Exception as exc:  # the API server went away, answered garbage, or refused; relist when back
                if self.stop.is_set():
                    return
                self.say(f"registry watch interrupted: {_reason(exc)}; retrying in {backoff:.1f}s")
                self.stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF[1])
                version = None

    def _path(self) -> str:
        return kube.namespaced(self.namespace, "configmaps")

    def _relist(self) -> str:
        what = "list registry ConfigMaps"
        answer = self.cluster.request(what, "GET", self._path(), {"labelSelector": constants.REGISTRY_SELECTOR})
        items = kube.items_of(answer, what, self.cluster.server)
        state = {str((item.get("metadata") or {}).get("name")): fingerprint(item) for item in items}
        if self.state is None:
            self.debounce.changed(time.monotonic(), [f"start ({len(state)} location(s) registered)"])
        else:
            found = changes(self.state, state)
            if found:
                self.debounce.changed(time.monotonic(), found)
        self.state = state
        return str((answer.get("metadata") or {}).get("resourceVersion") or "")

    def _follow(self, version: str) -> Optional[str]:
        """Watch from ``version`` until the stream ends: the last resourceVersion seen, or None after 410 Gone."""
        query = {
            "watch": "true",
            "labelSelector": constants.REGISTRY_SELECTOR,
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        connect = self.cluster.timeout[0] if isinstance(self.cluster.timeout, tuple) else self.cluster.timeout
        response = self.cluster.open(
            "watch registry ConfigMaps", "GET", self._path(), query, timeout=(connect, WATCH_SECONDS + 30)
        )
        if response.status >= 400:
            body = response.response.read()
            raise kube.api_error("watch registry ConfigMaps", response.status, body, self.namespace)
        try:
            for line in _lines(response.response):
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        self.say(f"resourceVersion {version} is too old (410 Gone); relisting")
                        return None
                    raise errors.ClusterError(
                        f"the registry watch failed: {kube.status_message(json.dumps(obj))}", "check the watcher's RBAC"
                    )
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self._event(kind, obj)
        finally:
            response.response.release_conn()
        return version

    def _event(self, kind: str, obj: Dict[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name"))
        state = dict(self.state or {})
        if kind == "DELETED":
            state.pop(name, None)
        else:
            state[name] = fingerprint(obj)
        found = changes(self.state or {}, state)
        self.state = state
        if found:
            self.debounce.changed(time.monotonic(), found)


def _lines(raw: Any):
    """The newline-delimited JSON events of a chunked watch response, as they arrive."""
    buffer = b""
    for chunk in raw.stream(amt=None, decode_content=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


def _summary(what: List[str], shown: int = 8) -> str:
    what = sorted(set(what))
    names = ", ".join(what[:shown]) + (f", and {len(what) - shown} more" if len(what) > shown else "")
    return f"{len(what)} registry change(s): {names}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, errors.Error):
        return exc.line()
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def parse_app(value: str, default_namespace: str) -> Tuple[str, str]:
    """``NAME`` or ``NAMESPACE/NAME`` of an Application."""
    namespace, _, name = value.rpartition("/")
    if not name or "/" in namespace:
        raise errors.UsageError(f"--argocd-app {value!r} is not NAME or NAMESPACE/NAME", "fix --argocd-app")
    return namespace or default_namespace, name
