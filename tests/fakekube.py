"""A stand-in for the Kubernetes API server (no API server can run here), for the endpoints
kubectl-dagster uses, with the real server's semantics:

- ConfigMaps (core/v1): list with ``labelSelector`` (=, ==, !=, exists, !exists, in, notin), get,
  create (201; 409 AlreadyExists; 404 when the namespace does not exist; 422 for an invalid name),
  replace (409 when ``metadata.resourceVersion`` is stale; 404; 422 on a name mismatch), delete
  with ``preconditions`` (409 on a uid/resourceVersion mismatch; 404). ``dryRun=All`` validates
  and answers without storing.
- Services and apps/v1 Deployments: list with ``labelSelector``; the service proxy
  (``/api/v1/namespaces/NS/services/NAME:PORT/proxy/...``) forwards to a local URL, as the API
  server forwards to the Service's endpoints (503 when there is none).
- argoproj.io/v1alpha1 Applications: get and JSON merge patch (the client sends
  ``application/merge-patch+json``).
- Every object gets a uid, a creationTimestamp and a resourceVersion taken from one counter that
  increases on every write, as etcd's revision does. Errors are ``Status`` objects with reason and
  code, as the API server sends them. A bearer token is required (401 without it); namespaces can
  be made forbidden (403).

Every request is recorded in ``requests`` (method, path, time) so tests can check ordering.
"""
from __future__ import annotations

import copy
import datetime
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs, urlparse

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CM_LIST = re.compile(r"^/api/v1/namespaces/([^/]+)/configmaps$")
_CM_ITEM = re.compile(r"^/api/v1/namespaces/([^/]+)/configmaps/([^/]+)$")
_NS_ITEM = re.compile(r"^/api/v1/namespaces/([^/]+)$")
_SVC_LIST = re.compile(r"^/api/v1/namespaces/([^/]+)/services$")
_SVC_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/:]+)(?::(\d+))?/proxy(/.*)?$")
_DEPLOY_LIST = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments$")
_APP_ITEM = re.compile(r"^/apis/argoproj.io/v1alpha1/namespaces/([^/]+)/applications/([^/]+)$")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Optional[dict] = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Dict[str, Any]:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def selector_matches(selector: str, labels: Dict[str, str]) -> bool:
    for term in _split_terms(selector):
        term = term.strip()
        if not term:
            continue
        match = re.fullmatch(r"([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)", term)
        if match:
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if (op == "in") != (key in labels and labels[key] in values):
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = re.split(r"==?", term, maxsplit=1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def _split_terms(selector: str) -> List[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return terms


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class FakeKube:
    def __init__(self, token: str = "test-token", namespaces: Tuple[str, ...] = ("dagster", "argocd", "default")):
        self.token = token
        self.namespaces: Set[str] = set(namespaces)
        self.forbidden: Set[str] = set()
        self.always_conflict = False  # every update meets a concurrent writer (to exhaust retries)
        self.configmaps: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.applications: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.services: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.deployments: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.proxy_targets: Dict[Tuple[str, str, int], str] = {}  # (ns, service, port) -> base URL it forwards to
        self.requests: List[Tuple[str, str, float]] = []
        self.revision = 1000
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeKube":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, path, namespace: str = "dagster", token: Optional[str] = None) -> str:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "ci", "user": {"token": token or self.token}}],
            "contexts": [{"name": "test", "context": {"cluster": "fake", "user": "ci", "namespace": namespace}},
                         {"name": "other", "context": {"cluster": "fake", "user": "ci", "namespace": "argocd"}}],
        }))
        return str(path)

    def add_application(self, namespace: str, name: str) -> None:
        self._store_new(self.applications, namespace, {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                                                       "metadata": {"name": name, "namespace": namespace}, "spec": {}})

    # -- semantics --------------------------------------------------------------------------------
    def _next_version(self) -> str:
        self.revision += 1
        return str(self.revision)

    def _store_new(self, store, namespace: str, obj: Dict[str, Any]) -> Dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.update({"namespace": namespace, "uid": str(uuid.uuid4()), "resourceVersion": self._next_version(),
                     "creationTimestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        store[(namespace, meta["name"])] = obj
        return obj

    def _namespace(self, namespace: str, verb: str, resource: str) -> None:
        if namespace in self.forbidden:
            raise ApiError(403, "Forbidden", f'{resource} is forbidden: User "system:serviceaccount:ci:ci" cannot {verb} '
                           f'resource "{resource}" in API group "" in the namespace "{namespace}"',
                           {"kind": resource})

    def add_service(self, namespace: str, name: str, port: int, labels: Dict[str, str], target: Optional[str] = None) -> None:
        self._store_new(self.services, namespace, {"apiVersion": "v1", "kind": "Service",
                                                   "metadata": {"name": name, "labels": labels},
                                                   "spec": {"ports": [{"port": port, "name": "http"}]}})
        if target:
            self.proxy_targets[(namespace, name, port)] = target

    def add_deployment(self, namespace: str, name: str, labels: Dict[str, str], replicas: int, ready: int) -> None:
        self._store_new(self.deployments, namespace, {"apiVersion": "apps/v1", "kind": "Deployment",
                                                      "metadata": {"name": name, "labels": labels},
                                                      "spec": {"replicas": replicas}, "status": {"readyReplicas": ready}})

    def _list(self, store, namespace: str, query, kind: str) -> Dict[str, Any]:
        selector = query.get("labelSelector", [""])[0]
        items = [copy.deepcopy(obj) for (ns, _), obj in sorted(store.items())
                 if ns == namespace and selector_matches(selector, obj["metadata"].get("labels") or {})]
        return {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": str(self.revision)}, "items": items}

    def proxy(self, method: str, path: str, raw: bytes, content_type: str) -> Tuple[int, bytes]:
        """The API server's service proxy: forward to the Service's endpoint (here: a local URL)."""
        match = _SVC_PROXY.match(path)
        namespace, name, port, rest = match.group(1), match.group(2), int(match.group(3) or 80), match.group(4) or "/"
        self._namespace(namespace, "get", "services/proxy")
        target = self.proxy_targets.get((namespace, name, port))
        if target is None:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        request = urllib.request.Request(target.rstrip("/") + rest, data=raw or None, method=method,
                                         headers={"Content-Type": content_type or "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def handle(self, method: str, path: str, query: Dict[str, List[str]], body: Any, content_type: str) -> Tuple[int, Any]:
        dry = query.get("dryRun", [""])[0] == "All"
        if _SVC_LIST.match(path) and method == "GET":
            self._namespace(_SVC_LIST.match(path).group(1), "list", "services")
            return 200, self._list(self.services, _SVC_LIST.match(path).group(1), query, "ServiceList")
        if _DEPLOY_LIST.match(path) and method == "GET":
            self._namespace(_DEPLOY_LIST.match(path).group(1), "list", "deployments")
            return 200, self._list(self.deployments, _DEPLOY_LIST.match(path).group(1), query, "DeploymentList")
        match = _CM_LIST.match(path)
        if match:
            namespace = match.group(1)
            if method == "GET":
                self._namespace(namespace, "list", "configmaps")
                selector = query.get("labelSelector", [""])[0]
                items = [copy.deepcopy(obj) for (ns, _), obj in sorted(self.configmaps.items())
                         if ns == namespace and selector_matches(selector, obj["metadata"].get("labels") or {})]
                return 200, {"kind": "ConfigMapList", "apiVersion": "v1",
                             "metadata": {"resourceVersion": str(self.revision)}, "items": items}
            if method == "POST":
                self._namespace(namespace, "create", "configmaps")
                if namespace not in self.namespaces:
                    raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                                   {"name": namespace, "kind": "namespaces"})
                name = (body.get("metadata") or {}).get("name", "")
                self._validate(name, body)
                if (namespace, name) in self.configmaps:
                    raise ApiError(409, "AlreadyExists", f'configmaps "{name}" already exists',
                                   {"name": name, "kind": "configmaps"})
                obj = copy.deepcopy(body)
                obj.setdefault("metadata", {}).pop("resourceVersion", None)
                if dry:
                    return 201, obj
                return 201, copy.deepcopy(self._store_new(self.configmaps, namespace, obj))
        match = _CM_ITEM.match(path)
        if match:
            namespace, name = match.groups()
            key = (namespace, name)
            self._namespace(namespace, {"GET": "get", "PUT": "update", "DELETE": "delete"}.get(method, method.lower()), "configmaps")
            current = self.configmaps.get(key)
            if current is None:
                raise ApiError(404, "NotFound", f'configmaps "{name}" not found', {"name": name, "kind": "configmaps"})
            if method == "GET":
                return 200, copy.deepcopy(current)
            if method == "PUT":
                meta = body.get("metadata") or {}
                if meta.get("name") != name:
                    raise ApiError(422, "Invalid", f'ConfigMap "{meta.get("name")}" is invalid: metadata.name: Invalid value: '
                                   f'"{meta.get("name")}": field is immutable')
                self._validate(name, body)
                wanted = meta.get("resourceVersion")
                if self.always_conflict:  # someone else wrote first, every time
                    current["metadata"]["resourceVersion"] = self._next_version()
                if wanted and wanted != current["metadata"]["resourceVersion"]:
                    raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on configmaps "{name}": the object has '
                                   'been modified; please apply your changes to the latest version and try again',
                                   {"name": name, "kind": "configmaps"})
                obj = copy.deepcopy(body)
                obj["metadata"].update({k: current["metadata"][k] for k in ("uid", "creationTimestamp", "namespace")})
                obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                if dry:
                    return 200, obj
                obj["metadata"]["resourceVersion"] = self._next_version()
                self.configmaps[key] = obj
                return 200, copy.deepcopy(obj)
            if method == "DELETE":
                pre = (body or {}).get("preconditions") or {}
                if pre.get("uid") and pre["uid"] != current["metadata"]["uid"]:
                    raise ApiError(409, "Conflict", f'Precondition failed: UID in precondition: {pre["uid"]}, UID in object '
                                   f'meta: {current["metadata"]["uid"]}', {"name": name, "kind": "configmaps"})
                if pre.get("resourceVersion") and pre["resourceVersion"] != current["metadata"]["resourceVersion"]:
                    raise ApiError(409, "Conflict", f'Precondition failed: ResourceVersion in precondition: '
                                   f'{pre["resourceVersion"]}, ResourceVersion in object meta: '
                                   f'{current["metadata"]["resourceVersion"]}', {"name": name, "kind": "configmaps"})
                if not dry and not (body or {}).get("dryRun"):
                    del self.configmaps[key]
                    self.revision += 1
                return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": name, "kind": "configmaps", "uid": current["metadata"]["uid"]}}
        match = _APP_ITEM.match(path)
        if match:
            namespace, name = match.groups()
            current = self.applications.get((namespace, name))
            if current is None:
                raise ApiError(404, "NotFound", f'applications.argoproj.io "{name}" not found',
                               {"name": name, "group": "argoproj.io", "kind": "applications"})
            if method == "GET":
                return 200, copy.deepcopy(current)
            if method == "PATCH":
                if not content_type.startswith("application/merge-patch+json"):
                    raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                   f"accepted media types include: application/json-patch+json, application/merge-patch+json, "
                                   f"application/apply-patch+yaml (got {content_type})")
                updated = merge_patch(current, body)
                updated["metadata"]["resourceVersion"] = self._next_version()
                self.applications[(namespace, name)] = updated
                return 200, copy.deepcopy(updated)
        match = _NS_ITEM.match(path)
        if match and method == "GET":
            if match.group(1) not in self.namespaces:
                raise ApiError(404, "NotFound", f'namespaces "{match.group(1)}" not found')
            return 200, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": match.group(1)}}
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _validate(self, name: str, body: Dict[str, Any]) -> None:
        if not name or len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
            raise ApiError(422, "Invalid", f'ConfigMap "{name}" is invalid: metadata.name: Invalid value: "{name}": a '
                           "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'")
        for key in (body.get("data") or {}):
            if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
                raise ApiError(422, "Invalid", f'ConfigMap "{name}" is invalid: data[{key}]: Invalid value: "{key}"')

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if _SVC_PROXY.match(parsed.path):  # forwarded without holding the store lock
                    with fake.lock:
                        fake.requests.append((self.command, parsed.path, time.monotonic()))
                    try:
                        if self.headers.get("Authorization") != f"Bearer {fake.token}":
                            raise ApiError(401, "Unauthorized", "Unauthorized")
                        code, data = fake.proxy(self.command, parsed.path, raw, self.headers.get("Content-Type") or "")
                    except ApiError as exc:
                        code, data = exc.code, json.dumps(exc.status()).encode()
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                with fake.lock:
                    fake.requests.append((self.command, parsed.path, time.monotonic()))
                    try:
                        if self.headers.get("Authorization") != f"Bearer {fake.token}":
                            raise ApiError(401, "Unauthorized", "Unauthorized")
                        body = json.loads(raw) if raw else None
                        code, payload = fake.handle(self.command, parsed.path, parse_qs(parsed.query), body,
                                                    self.headers.get("Content-Type") or "")
                    except ApiError as exc:
                        code, payload = exc.code, exc.status()
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler
