"""A stand-in for the Kubernetes API server, for the endpoints kubectl-dagster uses.

No kube-apiserver can run here (none is available from any package registry), so the cluster tests talk to this
HTTP server through the official client. It answers as a real kube-apiserver v1.24 with RBAC on does; what that is
was recorded in ../shared/k8s-api/ and tests/contract/test_fakekube_conformance.py checks it on every recorded
exchange. Uids, timestamps and resourceVersion values are its own.

What it serves
- Namespaced ConfigMaps, Services, apps/v1 Deployments and argoproj.io/v1alpha1 Applications, one generic set of
  semantics: get; list with ``labelSelector`` (the API server's grammar: =, ==, !=, in, notin, exists, !key, gt, lt;
  a malformed selector is a 400), ``fieldSelector`` (metadata.name, metadata.namespace) and paging (``limit`` and
  ``continue``: items in name order, a consistent snapshot per continue token, ``remainingItemCount`` when no
  selector is given, 410 Expired for a token older than the last compaction); create (201; 409 AlreadyExists; 404
  when the namespace does not exist; 422 Invalid with causes for names, labels and ConfigMap keys); replace (409 when
  ``metadata.resourceVersion`` is stale, none means unconditional; 400 when the body's name is not the URL's); patch
  as JSON merge patch, strategic merge patch (built-in kinds, applied as a merge patch), JSON patch (a failing op is
  the server's bare 422) and server-side apply (``application/apply-patch+yaml`` with ``fieldManager``, field
  ownership, 409 on a field another manager owns unless ``force=true``); delete with ``preconditions`` (uid and
  resourceVersion, 409 naming the Kind as the server does). ``dryRun=All`` (query, or ``dryRun`` in DeleteOptions)
  validates and answers without storing. A write that changes nothing keeps the resourceVersion and sends no event.
- ``metadata.managedFields`` as the server keeps them: an Update entry per manager (``fieldManager`` or the
  User-Agent's first word) and an Apply entry per applier.
- Namespaces: create (201, 409) and get.
- Pods, ServiceAccounts, batch/v1 Jobs and rbac.authorization.k8s.io/v1 Roles and RoleBindings, with the same
  semantics: the reload hook's nudge lists and patches pods; kubectl gets the others before it applies them.
- What kubectl reads before it applies: legacy discovery (``/api``, ``/apis``, each group version's resource list,
  from the table above) and, when a test sets ``openapi_v2`` (tests/openapi_v2.py), the protobuf ``/openapi/v2``
  its client-side validation needs. There is no ``/openapi/v3``, as on servers before 1.27, so kubectl validates on
  its side. kubectl sends no bearer token to a plain-HTTP server: ``anonymous`` names the user such requests get
  (None, the default: 401, as a server with ``--anonymous-auth=false``).
- The service proxy (``/api/v1/namespaces/NS/services/NAME:PORT/proxy/...``) forwards to a local URL registered
  with :meth:`FakeKube.add_service`, as the API server forwards to the Service's endpoints (503 when there is none).
- Watch (``?watch=true``): from a ``resourceVersion`` (events after it), or from none or "0" (ADDED for what exists
  first); label and field selectors, with an object that leaves the selector sent as DELETED and one that enters it
  as ADDED; BOOKMARK events with ``allowWatchBookmarks=true``; ``timeoutSeconds`` ends the stream cleanly. A
  resourceVersion older than the last compaction answers HTTP 200 and one ERROR event holding a 410 Expired Status,
  then the stream ends (clients must relist). Every object starts at revision 1000, which is compacted: a watch from
  an older resourceVersion is too old. One revision counter for every write, as etcd's.
- Errors are ``Status`` objects with the server's reason, code, message and details. A bearer token is required
  (401 without a known one), and RBAC denials are 403s worded as the server words them.

Hooks for tests
- ``kube.configmaps`` (and ``services``, ``deployments``, ``applications``): the stored objects, keyed by
  (namespace, name). Writing them directly is seen by get and list but not by watches; :meth:`put` and
  :meth:`remove` change state as another client would (with events). ``add_service``, ``add_deployment`` and
  ``add_application`` create objects the same way. ``kube.namespaces`` is the set of namespaces that exist.
- ``kube.requests``: (method, path, monotonic time) of every request; ``kube.calls`` adds the query.
- RBAC: ``kube.forbidden`` is a set of namespaces where every request is denied; :meth:`add_user` registers another
  token and user; :meth:`deny` denies a verb on a resource (optionally for one user, namespace or name), with the
  server's 403. ``deny(user="u")`` makes a user that no Role grants anything. A user in ``kube.rbac_users`` gets
  exactly what the stored Roles and RoleBindings grant it, as the RBAC authorizer decides for namespaced requests
  (no ClusterRoles, no aggregation, no escalation checks).
- ``kube.always_conflict = True``: every update meets a concurrent writer (to exhaust retries).
- Faults, with :meth:`inject` (``method`` and a ``path`` regex narrow them, ``times`` limits them):
  ``"hang"`` accepts the connection, reads the request and never answers (until :meth:`stop`);
  ``"disconnect"`` closes the connection without an answer; ``"not-json"`` answers 200 with a body that is not JSON;
  ``"items-not-list"``, ``"items-null"`` and ``"null-item"`` answer a list whose ``items`` is a mapping, is null, or
  holds a null; ``"raw"`` answers any ``status`` and ``body``. ``kube.faults.clear()`` removes them.
- Watches: :meth:`bookmark` sends a BOOKMARK to every watch that allows them (``bookmark_interval`` makes the
  server send them on its own as well); :meth:`end_watches` ends every stream cleanly, as the server does at its
  timeout; :meth:`compact` forgets history, so older resourceVersions and continue tokens get 410 Expired.
- :meth:`stop` drops every connection (open watches end mid-stream) and refuses new ones; :meth:`start` listens
  again on the same port with the same objects; :meth:`restart` does both and, like an API server whose watch cache
  is rebuilt, compacts history unless told not to.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import queue
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple
from urllib.parse import parse_qs, urlparse

import jsonpatch
from ruamel.yaml import YAML

FIRST_REVISION = 1000
DEFAULT_USER = "system:serviceaccount:ci:ci"
NOT_JSON = b"<html><body><h1>Sign in to continue</h1></body></html>\n"
_HANDLED = ("get", "list", "watch", "create", "update", "patch", "delete")
FAULTS = ("hang", "disconnect", "not-json", "items-not-list", "items-null", "null-item", "raw")

_NAMESPACED = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/namespaces/(?P<ns>[^/]+)"
    r"/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?P<sub>/.*)?$"
)
_NAMESPACES = re.compile(r"^/api/v1/namespaces(?:/(?P<name>[^/]+))?$")
_SVC_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/:]+)(?::(\d+))?/proxy(/.*)?$")

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS_LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
NAME_PART_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
CONFIG_KEY_RULE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a "
    "new list without the continue parameter, or use the continue token in this response to retrieve "
    "the remainder of the results. Continuing with the provided token results in an inconsistent list "
    "- objects that were created, modified, or deleted between the time the first chunk was returned "
    "and now may show up in the list."
)
MAX_CONFIGMAP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    group: str
    version: str
    store: str  # the FakeKube attribute holding the objects
    strategic: bool = True  # built-in kinds accept strategic merge patch; custom resources do not

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = {
    (r.group, r.plural): r
    for r in (
        Resource("configmaps", "ConfigMap", "", "v1", "configmaps"),
        Resource("services", "Service", "", "v1", "services"),
        Resource("deployments", "Deployment", "apps", "v1", "deployments"),
        Resource("applications", "Application", "argoproj.io", "v1alpha1", "applications", strategic=False),
        Resource("pods", "Pod", "", "v1", "pods"),
        Resource("serviceaccounts", "ServiceAccount", "", "v1", "serviceaccounts"),
        Resource("jobs", "Job", "batch", "v1", "jobs"),
        Resource("roles", "Role", "rbac.authorization.k8s.io", "v1", "roles"),
        Resource("rolebindings", "RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings"),
    )
}
OPENAPI_V2_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"  # as kube-apiserver answers


class Raw(NamedTuple):
    """A response body sent as is (not JSON)."""

    data: bytes
    content_type: str


def discovery(path: str) -> Optional[Dict[str, Any]]:
    """The legacy discovery documents kubectl reads to map kinds to resources."""
    versions = sorted({r.api_version for r in RESOURCES.values()})
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }
    if path == "/apis":
        groups = sorted({r.group for r in RESOURCES.values() if r.group})
        entries = []
        for group in groups:
            found = [{"groupVersion": v, "version": v.split("/")[1]} for v in versions if v.startswith(group + "/")]
            entries.append({"name": group, "versions": found, "preferredVersion": found[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": entries}
    wanted = path[len("/api/") :] if path.startswith("/api/") else path[len("/apis/") :]
    if wanted not in versions or path not in (f"/api/{wanted}", f"/apis/{wanted}"):
        return None
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": wanted,
        "resources": [
            {"name": r.plural, "singularName": r.kind.lower(), "namespaced": True, "kind": r.kind, "verbs": verbs}
            for r in RESOURCES.values()
            if r.api_version == wanted
        ],
    }


NAMESPACES = Resource("namespaces", "Namespace", "", "v1", "namespace_objects")


# -- errors -----------------------------------------------------------------------------------------------------------
class ApiError(Exception):
    """A failure the server answers with a ``Status`` body. ``details=None`` leaves ``details`` out, as the server
    does for 400, 401 and some 404s."""

    def __init__(
        self, code: int, reason: str, message: str, details: Optional[dict] = None, metadata: Optional[dict] = None
    ):
        super().__init__(message)
        self.code, self.reason, self.message, self.details, self.metadata = code, reason, message, details, metadata

    def status(self) -> Dict[str, Any]:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": self.metadata or {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


class Cause(NamedTuple):
    reason: str
    field: str
    message: str


def _details(res: Resource, name: str = "", kind: Optional[str] = None, **extra) -> Dict[str, Any]:
    details: Dict[str, Any] = {"name": name} if name else {}
    if res.group:
        details["group"] = res.group
    details["kind"] = kind or res.plural
    details.update(extra)
    return details


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def unknown_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def conflict(res: Resource, name: str, why: str) -> ApiError:
    return ApiError(
        409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}', _details(res, name)
    )


def stale(res: Resource, name: str) -> ApiError:
    return conflict(
        res, name, "the object has been modified; please apply your changes to the latest version and try again"
    )


def invalid(kind: str, name: str, causes: List[Cause], group: str = "") -> ApiError:
    texts = [f"{c.field}: {c.message}" for c in causes]
    message = f'{kind}{"." + group if group else ""} "{name}" is invalid: ' + (
        texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    )
    details: Dict[str, Any] = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
    return ApiError(422, "Invalid", message, details)


def forbidden(user: str, verb: str, res: Resource, namespace: str, name: str, sub: str = "") -> ApiError:
    resource = res.plural + (f"/{sub}" if sub else "")
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    why = f'User "{user}" cannot {verb} resource "{resource}" in API group "{res.group}" {where}'
    message = f'{res.qualified} "{name}" is forbidden: {why}' if name else f"{res.qualified} is forbidden: {why}"
    return ApiError(403, "Forbidden", message, _details(res, name))


# -- validation -------------------------------------------------------------------------------------------------------
def _quoted(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def _bad(field_path: str, value: Any, rule: str) -> Cause:
    return Cause("FieldValueInvalid", field_path, f"Invalid value: {_quoted(value)}: {rule}")


def _name_causes(name: str, dns_label: bool) -> List[Cause]:
    if not name:
        return [Cause("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")]
    limit, pattern, rule = (63, _DNS_LABEL, DNS_LABEL_RULE) if dns_label else (253, _SUBDOMAIN, SUBDOMAIN_RULE)
    if len(name) > limit:
        return [_bad("metadata.name", name, f"must be no more than {limit} characters")]
    return [] if pattern.match(name) else [_bad("metadata.name", name, rule)]


def _key_causes(key: str, field_path: str) -> List[Cause]:
    prefix, _, part = key.rpartition("/")
    if "/" in prefix or (prefix and not _SUBDOMAIN.match(prefix)):
        return [_bad(field_path, key, "prefix part " + SUBDOMAIN_RULE)]
    if len(part) > 63:
        return [_bad(field_path, key, "name part must be no more than 63 characters")]
    return [] if _NAME_PART.match(part) else [_bad(field_path, key, NAME_PART_RULE)]


def _label_causes(labels: Any) -> List[Cause]:
    causes: List[Cause] = []
    for key, value in (labels or {}).items():
        causes += _key_causes(key, "metadata.labels")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                _bad(
                    "metadata.labels",
                    value,
                    LABEL_VALUE_RULE
                    if isinstance(value, str) and len(value) <= 63
                    else "must be no more than 63 characters",
                )
            )
    return causes


def _data_causes(data: Any) -> List[Cause]:
    causes = [_bad(f"data[{key}]", key, CONFIG_KEY_RULE) for key in (data or {}) if not _CONFIG_KEY.match(key)]
    size = sum(len(k) + len(str(v).encode()) for k, v in (data or {}).items())
    if size > MAX_CONFIGMAP_BYTES:
        causes.append(Cause("FieldValueTooLong", "", f"Too long: must have at most {MAX_CONFIGMAP_BYTES} bytes"))
    return causes


def validate(res: Resource, obj: Dict[str, Any]) -> None:
    meta = obj.get("metadata") or {}
    causes = _name_causes(meta.get("name") or "", dns_label=res is NAMESPACES) + _label_causes(meta.get("labels"))
    for key in meta.get("annotations") or {}:
        causes += _key_causes(key, "metadata.annotations")
    if res.plural == "configmaps":
        causes += _data_causes(obj.get("data"))
    if causes:
        raise invalid(res.kind, meta.get("name") or "", causes, res.group)


# -- label and field selectors ----------------------------------------------------------------------------------------
class SelectorError(ValueError):
    """A selector the API server refuses (400 BadRequest with this message)."""


class Requirement(NamedTuple):
    key: str
    op: str  # in, notin, =, ==, !=, exists, !, gt, lt
    values: Tuple[str, ...]

    def matches(self, labels: Dict[str, str]) -> bool:
        has, value = self.key in labels, labels.get(self.key)
        if self.op in ("in", "=", "=="):
            return has and value in self.values
        if self.op in ("notin", "!="):
            return not has or value not in self.values
        if self.op in ("exists", "!"):
            return has == (self.op == "exists")
        try:
            number = int(value or "")
        except ValueError:
            return False
        return number > int(self.values[0]) if self.op == "gt" else number < int(self.values[0])


_SYMBOLS = "=!(),<>"
_OPERATORS = {"=": "=", "==": "==", "!=": "!=", ">": "gt", "<": "lt"}


def _lex(text: str) -> List[Tuple[str, str]]:
    tokens, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text[i : i + 2] in ("==", "!="):
            tokens.append((text[i : i + 2], text[i : i + 2]))
            i += 2
        elif text[i] in _SYMBOLS:
            tokens.append((text[i], text[i]))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in _SYMBOLS:
                i += 1
            tokens.append(("id", text[start:i]))
    return tokens + [("end", "")]


class _SelectorParser:
    """The API server's label selector grammar, with its error messages."""

    def __init__(self, text: str):
        self.tokens, self.pos = _lex(text), 0

    def peek(self) -> Tuple[str, str]:
        return self.tokens[self.pos]

    def take(self) -> Tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def parse(self) -> List[Requirement]:
        requirements: List[Requirement] = []
        while True:
            kind, literal = self.peek()
            if kind == "end":
                return requirements
            if kind not in ("id", "!"):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as exc:
                raise SelectorError(f"unable to parse requirement: {exc}") from None
            kind, literal = self.take()
            if kind == "end":
                return requirements
            if kind != ",":
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            if self.peek()[0] not in ("id", "!"):
                raise SelectorError(f"found '{self.peek()[1]}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        kind, key = self.take()
        negated = kind == "!"
        if negated:
            kind, key = self.take()
        if kind != "id":
            raise SelectorError(f"found '{key}', expected: identifier")
        _check_selector_key(key)
        if negated or self.peek()[0] in ("end", ","):
            return Requirement(key, "!" if negated else "exists", ())
        kind, literal = self.take()
        op = _OPERATORS.get(kind) or (literal if kind == "id" and literal in ("in", "notin") else None)
        if op is None:
            raise SelectorError(f"found '{literal}', expected: in, notin, =, ==, !=, gt, lt")
        values = self.value_set() if op in ("in", "notin") else self.exact_value()
        for value in values:
            if op in ("gt", "lt"):
                if not re.fullmatch(r"-?\d+", value):
                    raise SelectorError("for 'Gt', 'Lt' operators, the value must be an integer")
            elif len(value) > 63 or not _LABEL_VALUE.match(value):
                raise SelectorError(f"values[0][{key}]: Invalid value: {_quoted(value)}: {LABEL_VALUE_RULE}")
        return Requirement(key, op, values)

    def exact_value(self) -> Tuple[str, ...]:
        if self.peek()[0] in ("end", ","):
            return ("",)
        kind, literal = self.take()
        if kind != "id":
            raise SelectorError(f"found '{literal}', expected: identifier")
        return (literal,)

    def value_set(self) -> Tuple[str, ...]:
        kind, literal = self.take()
        if kind != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        values: List[str] = []
        while True:
            kind, literal = self.take()
            if kind == ")":
                return tuple(values or [""])
            if kind == "id":
                values.append(literal)
                if self.peek()[0] not in (",", ")"):
                    raise SelectorError(f"found '{self.peek()[1]}', expected: ',' or ')'")
            elif kind != ",":
                raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")


def _check_selector_key(key: str) -> None:
    causes = _key_causes(key, "key")
    if causes:
        raise SelectorError(f"key: {causes[0].message}")


def parse_selector(text: str) -> List[Requirement]:
    return _SelectorParser(text or "").parse()


def selector_matches(selector: str, labels: Dict[str, str]) -> bool:
    return all(r.matches(labels or {}) for r in parse_selector(selector))


def parse_field_selector(text: str) -> List[Tuple[str, str, str]]:
    terms = []
    for term in filter(None, (t.strip() for t in (text or "").split(","))):
        match = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", term)
        if not match:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        key, op, value = match.groups()
        if key not in ("metadata.name", "metadata.namespace"):
            raise SelectorError(f'"{key}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        terms.append((key, op, value))
    return terms


def fields_match(terms: List[Tuple[str, str, str]], obj: Dict[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return all((meta.get(key.split(".")[1]) == value) == (op != "!=") for key, op, value in terms)


# -- patches ----------------------------------------------------------------------------------------------------------
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


# -- field ownership (metadata.managedFields) -------------------------------------------------------------------------
Path = Tuple[str, ...]
_MISSING = object()
_SERVER_FIELDS = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
}


def _owned(path: Path) -> bool:
    """Whether field managers can own this path (the server leaves out kind, apiVersion and its own metadata)."""
    if not path or path[0] in ("apiVersion", "kind"):
        return False
    return not (path[0] == "metadata" and (len(path) == 1 or path[1] in _SERVER_FIELDS))


def _leaves(obj: Any, prefix: Path = ()) -> Set[Path]:
    if isinstance(obj, dict) and obj:
        return set().union(*(_leaves(value, prefix + (key,)) for key, value in obj.items()))
    return {prefix}


def _changed(old: Any, new: Any, prefix: Path = ()) -> Set[Path]:
    """Paths an update sets: changed values, and maps it creates (the map itself, "." in fieldsV1)."""
    if isinstance(new, dict) and new:
        found = set() if isinstance(old, dict) else {prefix}
        for key, value in new.items():
            found |= _changed(old.get(key, _MISSING) if isinstance(old, dict) else _MISSING, value, prefix + (key,))
        return found
    return set() if old == new else {prefix}


def _lookup(obj: Any, path: Path) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _assign(obj: Dict[str, Any], path: Path, value: Any) -> None:
    for part in path[:-1]:
        if not isinstance(obj.get(part), dict):
            obj[part] = {}
        obj = obj[part]
    obj[path[-1]] = copy.deepcopy(value)


def _drop(obj: Dict[str, Any], path: Path) -> None:
    parent = _lookup(obj, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def fields_v1(paths: Set[Path]) -> Dict[str, Any]:
    root: Dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    for path in paths:
        node = root
        for part in path:
            node = node[f"f:{part}"]
        if node:
            children = dict(node)
            node.clear()
            node.update({".": {}}, **children)
    return root


def paths_of(fields: Any, prefix: Path = ()) -> Set[Path]:
    if not isinstance(fields, dict) or not fields:
        return {prefix} if prefix else set()
    found: Set[Path] = set()
    for key, child in fields.items():
        if key == ".":
            found.add(prefix)
        elif key.startswith("f:"):
            found |= paths_of(child, prefix + (key[2:],))
    return found


@dataclass
class Manager:
    name: str
    operation: str  # Update or Apply
    api_version: str
    time: str
    paths: Set[Path] = field(default_factory=set)

    def shown(self) -> str:
        return json.dumps(self.name) + (f" using {self.api_version}" if self.operation == "Update" else "")

    def entry(self) -> Dict[str, Any]:
        return {
            "manager": self.name,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(self.paths),
        }


def managers_of(obj: Dict[str, Any]) -> List[Manager]:
    return [
        Manager(
            e.get("manager", ""),
            e.get("operation", "Update"),
            e.get("apiVersion", "v1"),
            e.get("time", ""),
            paths_of(e.get("fieldsV1")),
        )
        for e in (obj.get("metadata") or {}).get("managedFields") or []
    ]


def _mine(managers: List[Manager], name: str, operation: str, api_version: str) -> Manager:
    for manager in managers:
        if (manager.name, manager.operation) == (name, operation):
            return manager
    managers.append(Manager(name, operation, api_version, ""))
    return managers[-1]


def _store_managers(obj: Dict[str, Any], managers: List[Manager]) -> None:
    for manager in managers:
        manager.paths = {p for p in manager.paths if _lookup(obj, p) is not _MISSING}
    entries = [m.entry() for m in managers if m.paths]
    if entries:
        obj["metadata"]["managedFields"] = entries
    else:
        obj["metadata"].pop("managedFields", None)


def record_update(old: Optional[Dict[str, Any]], new: Dict[str, Any], manager: str, api_version: str) -> None:
    """An Update by ``manager`` takes the fields it set from everyone else."""
    managers = managers_of(old or {})
    changed = {p for p in _changed(old if old is not None else _MISSING, new) if _owned(p)}
    if changed:
        for other in managers:
            other.paths -= changed
        mine = _mine(managers, manager, "Update", api_version)
        mine.paths |= changed
        mine.time = _now()
    _store_managers(new, managers)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- paging -----------------------------------------------------------------------------------------------------------
def encode_continue(revision: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> Tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("rv"), int):
            raise ValueError("unknown version or resourceVersion")
        return data["rv"], str(data["start"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise bad_request(f"invalid continue token: {exc}") from None


# -- watches ----------------------------------------------------------------------------------------------------------
_END, _ABORT = "end", "abort"


class Watch:
    """One open watch: the events it selects, queued for the connection that streams them."""

    def __init__(
        self,
        res: Resource,
        namespace: str,
        selector: List[Requirement],
        fields: List[Tuple[str, str, str]],
        bookmarks: bool,
        timeout: Optional[float],
    ):
        self.res, self.namespace, self.selector, self.fields = res, namespace, selector, fields
        self.bookmarks, self.timeout = bookmarks, timeout
        self.queue: "queue.Queue[Any]" = queue.Queue()

    def selects(self, obj: Optional[Dict[str, Any]]) -> bool:
        if obj is None:
            return False
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in self.selector) and fields_match(self.fields, obj)

    def send(self, kind: str, obj: Dict[str, Any]) -> None:
        self.queue.put({"type": kind, "object": obj})

    def offer(self, kind: str, obj: Dict[str, Any], old: Optional[Dict[str, Any]]) -> None:
        """As the watch cache does: an object entering the selector is ADDED, one leaving it DELETED."""
        now, before = self.selects(obj), self.selects(old)
        if kind == "MODIFIED" and not now and before:
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
            self.send("DELETED", gone)
        elif kind == "MODIFIED" and now:
            self.send("MODIFIED" if before else "ADDED", obj)
        elif kind in ("ADDED", "DELETED") and now:
            self.send(kind, obj)


class Event(NamedTuple):
    revision: int
    plural: str
    namespace: str
    kind: str
    obj: Dict[str, Any]
    old: Optional[Dict[str, Any]]


# -- faults -----------------------------------------------------------------------------------------------------------
@dataclass
class Fault:
    kind: str
    method: Optional[str] = None
    path: Optional[str] = None  # a regular expression searched in the request path
    times: Optional[int] = None  # None: every matching request
    status: int = 200
    body: Optional[bytes] = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and (self.path is None or re.search(self.path, path) is not None)

    def garble(self, payload: Any) -> Any:
        """The list faults: ``items`` as a mapping, as null, or holding a null."""
        items = payload["items"]
        if self.kind == "items-not-list":
            payload["items"] = {str((item.get("metadata") or {}).get("name")): item for item in items}
        elif self.kind == "items-null":
            payload["items"] = None
        else:
            payload["items"] = [None] + items
        return payload


class Call(NamedTuple):
    method: str
    path: str
    query: Dict[str, str]
    time: float


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, str]
    raw: bytes
    content_type: str
    user_agent: str
    authorization: str
    user: str = ""

    def flag(self, name: str) -> bool:
        return self.query.get(name, "") in ("1", "t", "T", "true", "True", "TRUE")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    @property
    def manager(self) -> str:
        return self.query.get("fieldManager") or self.user_agent.split("/")[0] or "unknown"


def _load_body(request: Request) -> Any:
    if not request.raw:
        return None
    try:
        if request.content_type.startswith("application/apply-patch+yaml"):
            return YAML(typ="safe", pure=True).load(request.raw.decode())
        return json.loads(request.raw)
    except Exception as exc:  # the server answers any undecodable body with 400
        raise bad_request(f"the body of the request could not be decoded: {type(exc).__name__}: {exc}") from None


# -- the server -------------------------------------------------------------------------------------------------------
class FakeKube:
    def __init__(self, token: str = "test-token", namespaces: Tuple[str, ...] = ("dagster", "argocd", "default")):
        self.token = token
        self.users: Dict[str, str] = {token: DEFAULT_USER}
        self.denied: List[Dict[str, str]] = []
        self.namespaces: Set[str] = set(namespaces)
        self.namespace_objects: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.forbidden: Set[str] = set()
        self.rbac_users: Set[str] = set()  # users that get only what their Roles grant (see _granted)
        self.always_conflict = False  # every update meets a concurrent writer (to exhaust retries)
        self.configmaps: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.applications: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.services: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.deployments: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.pods: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.serviceaccounts: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.jobs: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.roles: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.rolebindings: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.openapi_v2: Optional[bytes] = None  # served at /openapi/v2 when set (tests/openapi_v2.py)
        self.anonymous: Optional[str] = None  # the user of requests without a token; None: 401
        self.proxy_targets: Dict[Tuple[str, str, int], str] = {}  # (ns, service, port) -> base URL it forwards to
        self.requests: List[Tuple[str, str, float]] = []
        self.calls: List[Call] = []
        self.faults: List[Fault] = []
        self.bookmark_interval: Optional[float] = None
        self.revision = self.compacted = FIRST_REVISION
        self.events: List[Event] = []
        self.snapshots: Dict[Tuple[str, str, int], List[Dict[str, Any]]] = {}
        self.watches: Set[Watch] = set()
        self.lock = threading.RLock()
        self._connections: Set[socket.socket] = set()
        self._down = threading.Event()
        self.server = self._bind(0)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread: Optional[threading.Thread] = None

    # -- lifecycle ----------------------------------------------------------------------------------------------------
    def _bind(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        server.daemon_threads = True
        return server

    def __enter__(self) -> "FakeKube":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "FakeKube":
        """Serve (again, on the same port, with the same objects after :meth:`stop`)."""
        if self.thread is not None:
            return self
        if self.server is None:
            self.server = self._bind(self.port)
        self._down = threading.Event()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Go down: refuse new connections and drop open ones (a watch ends mid-stream, a hung request unanswered)."""
        if self.thread is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server, self.thread = None, None
        self._down.set()
        with self.lock:
            for watch in list(self.watches):
                watch.queue.put(_ABORT)
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restart(self, keep_history: bool = False) -> None:
        """Stop and start again; the history is compacted as a restarted API server's watch cache is."""
        self.stop()
        if not keep_history:
            self.compact()
        self.start()

    def kubeconfig(self, path, namespace: str = "dagster", token: Optional[str] = None) -> str:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "test",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "ci", "user": {"token": token or self.token}}],
                    "contexts": [
                        {"name": "test", "context": {"cluster": "fake", "user": "ci", "namespace": namespace}},
                        {"name": "other", "context": {"cluster": "fake", "user": "ci", "namespace": "argocd"}},
                    ],
                }
            )
        )
        return str(path)

    # -- hooks --------------------------------------------------------------------------------------------------------
    def add_user(self, token: str, name: str) -> None:
        self.users[token] = name

    def deny(
        self, verb: str = "*", resource: str = "*", namespace: str = "*", user: str = "*", name: str = "*"
    ) -> None:
        """RBAC: refuse ``verb`` on ``resource`` (e.g. "configmaps", "services/proxy"); "*" matches any."""
        self.denied.append({"verb": verb, "resource": resource, "namespace": namespace, "user": user, "name": name})

    def inject(
        self,
        kind: str,
        method: Optional[str] = None,
        path: Optional[str] = None,
        times: Optional[int] = None,
        status: int = 200,
        body: Optional[bytes] = None,
    ) -> Fault:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        fault = Fault(kind, method, path, times, status, body)
        with self.lock:
            self.faults.append(fault)
        return fault

    def bookmark(self) -> None:
        """A BOOKMARK with the current resourceVersion to every open watch that allows them."""
        with self.lock:
            for watch in self.watches:
                if watch.bookmarks:
                    watch.send("BOOKMARK", self._bookmark_object(watch.res))

    def end_watches(self) -> None:
        with self.lock:
            for watch in self.watches:
                watch.queue.put(_END)

    def compact(self) -> None:
        with self.lock:
            self.compacted = self.revision
            self.events.clear()
            self.snapshots.clear()

    def put(self, resource: str, namespace: str, obj: Dict[str, Any]) -> Dict[str, Any]:
        """Create or replace an object as another client would (a new resourceVersion and a watch event)."""
        res = next(r for r in RESOURCES.values() if r.plural == resource)
        with self.lock:
            obj = copy.deepcopy(obj)
            obj.update(apiVersion=res.api_version, kind=res.kind)
            meta = obj.setdefault("metadata", {})
            current = self._store(res).get((namespace, meta["name"]))
            old_meta = (current or {}).get("metadata") or {}
            meta.update(
                namespace=namespace,
                uid=old_meta.get("uid") or str(uuid.uuid4()),
                creationTimestamp=old_meta.get("creationTimestamp") or _now(),
            )
            self._commit(res, namespace, obj, current)
            return copy.deepcopy(obj)

    def remove(self, resource: str, namespace: str, name: str) -> None:
        res = next(r for r in RESOURCES.values() if r.plural == resource)
        with self.lock:
            self._delete_stored(res, namespace, name)

    def add_application(self, namespace: str, name: str) -> None:
        self.put("applications", namespace, {"metadata": {"name": name}, "spec": {}})

    def add_service(
        self, namespace: str, name: str, port: int, labels: Dict[str, str], target: Optional[str] = None
    ) -> None:
        self.put(
            "services",
            namespace,
            {"metadata": {"name": name, "labels": labels}, "spec": {"ports": [{"port": port, "name": "http"}]}},
        )
        if target:
            self.proxy_targets[(namespace, name, port)] = target

    def add_pod(self, namespace: str, name: str, labels: Dict[str, str]) -> None:
        self.put(
            "pods",
            namespace,
            {"metadata": {"name": name, "labels": labels}, "spec": {"containers": [{"name": "main", "image": "x"}]}},
        )

    def add_deployment(self, namespace: str, name: str, labels: Dict[str, str], replicas: int, ready: int) -> None:
        self.put(
            "deployments",
            namespace,
            {
                "metadata": {"name": name, "labels": labels},
                "spec": {"replicas": replicas},
                "status": {"readyReplicas": ready},
            },
        )

    # -- storage ------------------------------------------------------------------------------------------------------
    def _store(self, res: Resource) -> Dict[Tuple[str, str], Dict[str, Any]]:
        return getattr(self, res.store)

    def _commit(self, res: Resource, namespace: str, obj: Dict[str, Any], old: Optional[Dict[str, Any]]) -> None:
        """Store a write under a new revision and tell the watches."""
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self._store(res)[(namespace, obj["metadata"]["name"])] = obj
        self._emit(res, namespace, "MODIFIED" if old is not None else "ADDED", obj, old)

    def _delete_stored(self, res: Resource, namespace: str, name: str) -> Dict[str, Any]:
        current = self._store(res).pop((namespace, name))
        self.revision += 1
        gone = copy.deepcopy(current)
        gone["metadata"]["resourceVersion"] = str(self.revision)
        self._emit(res, namespace, "DELETED", gone, None)
        return current

    def _emit(self, res: Resource, namespace: str, kind: str, obj: Dict[str, Any], old: Optional[Dict[str, Any]]):
        event = Event(
            self.revision,
            res.plural,
            namespace,
            kind,
            _with_kind(res, obj),
            _with_kind(res, old) if old is not None else None,
        )
        self.events.append(event)
        for watch in self.watches:
            if watch.res is res and watch.namespace == namespace:
                watch.offer(event.kind, event.obj, event.old)

    def _bookmark_object(self, res: Resource) -> Dict[str, Any]:
        return {
            "kind": res.kind,
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(self.revision), "creationTimestamp": None},
        }

    # -- authentication and authorization -----------------------------------------------------------------------------
    def _authenticate(self, authorization: str) -> str:
        if not authorization and self.anonymous is not None:
            return self.anonymous
        user = self.users.get(authorization[len("Bearer ") :]) if authorization.startswith("Bearer ") else None
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return user

    def _authorize(self, user: str, verb: str, res: Resource, namespace: str, name: str, sub: str = "") -> None:
        wanted = {
            "verb": verb,
            "resource": res.plural + (f"/{sub}" if sub else ""),
            "namespace": namespace or "",
            "user": user,
            "name": name or "",
        }
        for rule in self.denied:
            if all(rule[key] in ("*", wanted[key]) for key in wanted):
                raise forbidden(user, verb, res, namespace, name, sub)
        if namespace in self.forbidden:
            raise forbidden(user, verb, res, namespace, name, sub)
        if user in self.rbac_users and not self._granted(user, verb, res, namespace, name, sub):
            raise forbidden(user, verb, res, namespace, name, sub)

    def _granted(self, user: str, verb: str, res: Resource, namespace: str, name: str, sub: str) -> bool:
        """RBAC's namespaced decision: some RoleBinding in ``namespace`` binds ``user`` to a Role of that namespace
        with a rule for the API group, resource (and subresource), verb and, when the rule names any, the object's
        name (a rule with resourceNames never matches a request without a name: list, watch, create)."""
        resource = res.plural + (f"/{sub}" if sub else "")
        for (ns, _), binding in self.rolebindings.items():
            ref = binding.get("roleRef") or {}
            if ns != namespace or ref.get("kind") != "Role" or not _binds(binding, user):
                continue
            for rule in (self.roles.get((ns, ref.get("name"))) or {}).get("rules") or []:
                names = rule.get("resourceNames") or []
                if (
                    set(rule.get("apiGroups") or []) & {res.group, "*"}
                    and set(rule.get("resources") or []) & {resource, "*"}
                    and set(rule.get("verbs") or []) & {verb, "*"}
                    and (not names or (name and name.split(":")[0] in names))
                ):
                    return True
        return False

    # -- requests -----------------------------------------------------------------------------------------------------
    def respond(self, request: Request) -> Tuple[int, Any]:
        """The answer to one API request: (status, JSON-able body), or (200, Watch) for a watch."""
        with self.lock:
            request.user = self._authenticate(request.authorization)
            if request.method == "GET" and request.path == "/openapi/v2" and self.openapi_v2 is not None:
                return 200, Raw(self.openapi_v2, OPENAPI_V2_TYPE)
            if request.method == "GET" and discovery(request.path) is not None:
                return 200, discovery(request.path)
            match = _NAMESPACES.match(request.path)
            if match:
                return self._namespaces(request, match.group("name"))
            match = _NAMESPACED.match(request.path)
            res = RESOURCES.get((match.group("group") or "", match.group("plural"))) if match else None
            if res is None or match.group("sub") or (match.group("version") or "v1") != res.version:
                raise unknown_path()
            namespace, name = match.group("ns"), match.group("name") or ""
            verb = _verb(request, bool(name))
            self._authorize(request.user, verb, res, namespace, name)
            handler = getattr(self, f"_{verb}") if verb in _HANDLED else None
            if handler is None:
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
                )
            return handler(request, res, namespace, name)

    def _get(self, request: Request, res: Resource, namespace: str, name: str) -> Tuple[int, Any]:
        current = self._store(res).get((namespace, name))
        if current is None:
            raise not_found(res, name)
        return 200, _with_kind(res, current)

    def _list(self, request: Request, res: Resource, namespace: str, _name: str) -> Tuple[int, Any]:
        selector, fields = _selectors(request)
        limit = _limit(request)
        token = request.query.get("continue")
        current = sorted(
            (obj for (ns, _), obj in self._store(res).items() if ns == namespace), key=lambda o: o["metadata"]["name"]
        )
        objects, revision, start = current, self.revision, ""
        if token:
            if request.query.get("resourceVersion") not in (None, "", "0"):
                raise bad_request("specifying resource version is not allowed when using continue")
            revision, start = decode_continue(token)
            if revision == -1:
                revision = self.revision
            elif revision < self.compacted:
                raise ApiError(410, "Expired", CONTINUE_EXPIRED, {}, {"continue": encode_continue(-1, start)})
            else:
                objects = self.snapshots.get((res.plural, namespace, revision), current)
        matching = [o for o in objects if o["metadata"]["name"] >= start and _selected(o, selector, fields)]
        page = matching[:limit] if limit else matching
        meta: Dict[str, Any] = {"resourceVersion": str(revision)}
        if len(page) < len(matching):
            meta["continue"] = encode_continue(revision, page[-1]["metadata"]["name"] + "\x00")
            if not (selector or fields):
                meta["remainingItemCount"] = len(matching) - len(page)
            if not token:
                self.snapshots[(res.plural, namespace, revision)] = copy.deepcopy(current)
        items = [{k: v for k, v in copy.deepcopy(o).items() if k not in ("kind", "apiVersion")} for o in page]
        return 200, {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta, "items": items}

    def _watch(self, request: Request, res: Resource, namespace: str, _name: str) -> Tuple[int, Any]:
        selector, fields = _selectors(request)
        timeout = float(request.query["timeoutSeconds"]) if request.query.get("timeoutSeconds") else None
        watch = Watch(res, namespace, selector, fields, request.flag("allowWatchBookmarks"), timeout)
        since = request.query.get("resourceVersion") or ""
        if since in ("", "0"):
            for (ns, _), obj in sorted(self._store(res).items()):
                if ns == namespace and watch.selects(obj):
                    watch.send("ADDED", _with_kind(res, obj))
        elif not since.isdigit():
            raise bad_request(
                f'resourceVersion: Invalid value: "{since}": strconv.ParseUint: parsing "{since}": invalid syntax'
            )
        elif int(since) < self.compacted:
            watch.send(
                "ERROR", ApiError(410, "Expired", f"too old resource version: {since} ({self.compacted})").status()
            )
            watch.queue.put(_END)
            return 200, watch
        else:
            for event in self.events:
                if event.revision > int(since) and event.plural == res.plural and event.namespace == namespace:
                    watch.offer(event.kind, event.obj, event.old)
        self.watches.add(watch)
        return 200, watch

    def _create(self, request: Request, res: Resource, namespace: str, _name: str) -> Tuple[int, Any]:
        body = _object_body(request)
        if namespace not in self.namespaces:
            raise ApiError(
                404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
            )
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        _check_namespace(meta, namespace)
        obj = _with_kind(res, body)
        meta = obj["metadata"] = {k: v for k, v in meta.items() if k not in _SERVER_FIELDS}
        name = (body.get("metadata") or {}).get("name") or ""
        if not name and meta.get("generateName"):
            name = meta["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        meta.update(name=name, namespace=namespace)
        validate(res, obj)
        if (namespace, name) in self._store(res):
            raise ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', _details(res, name))
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now())
        record_update(None, obj, request.manager, res.api_version)
        if not request.dry_run:
            self._commit(res, namespace, obj, None)
        return 201, copy.deepcopy(obj)

    def _update(self, request: Request, res: Resource, namespace: str, name: str) -> Tuple[int, Any]:
        body = _object_body(request)
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        _check_name(meta, name)
        _check_namespace(meta, namespace)
        current = self._store(res).get((namespace, name))
        if current is None:
            raise not_found(res, name)
        if self.always_conflict:  # someone else wrote first, every time
            self._commit(res, namespace, copy.deepcopy(current), current)
            current = self._store(res)[(namespace, name)]
        if meta.get("resourceVersion") and meta["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise stale(res, name)
        obj = _with_kind(res, body)
        obj["metadata"] = dict(
            meta,
            **{
                k: current["metadata"][k] for k in ("namespace", "uid", "creationTimestamp") if k in current["metadata"]
            },
        )
        return self._save(request, res, namespace, current, obj, 200)

    def _patch(self, request: Request, res: Resource, namespace: str, name: str) -> Tuple[int, Any]:
        content_type = request.content_type.split(";")[0].strip()
        accepted = (
            ["application/json-patch+json", "application/merge-patch+json"]
            + (["application/strategic-merge-patch+json"] if res.strategic else [])
            + ["application/apply-patch+yaml"]
        )
        if content_type not in accepted:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted "
                f"media types include: {', '.join(accepted)}",
                {},
            )
        applying = content_type == "application/apply-patch+yaml"
        _check_patch_options(request, applying)
        body = _load_body(request)
        current = self._store(res).get((namespace, name))
        if applying:
            return self._apply(request, res, namespace, name, body, current)
        if current is None:
            raise not_found(res, name)
        patched = _patched(content_type, current, body)
        meta = patched.get("metadata") if isinstance(patched.get("metadata"), dict) else {}
        _check_name(meta, name)
        if meta.get("resourceVersion") and meta["resourceVersion"] != current["metadata"].get("resourceVersion"):
            raise stale(res, name)
        return self._save(request, res, namespace, current, _with_kind(res, patched), 200)

    def _apply(
        self, request: Request, res: Resource, namespace: str, name: str, config: Any, current: Optional[Dict[str, Any]]
    ) -> Tuple[int, Any]:
        """Server-side apply: the applier owns exactly the fields it applies; a field another manager owns with
        another value is a conflict unless forced."""
        if not isinstance(config, dict):
            raise bad_request("the body of the request could not be decoded: an object is required")
        meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
        _check_name(meta, name)
        _check_namespace(meta, namespace)
        if current is not None and meta.get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
            raise stale(res, name)
        base = current or {
            "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "creationTimestamp": _now()}
        }
        applied = {p for p in _leaves(config) if _owned(p)}
        managers = managers_of(base)
        mine = _mine(managers, request.manager, "Apply", res.api_version)
        clashes = [
            (path, other)
            for path in sorted(applied)
            for other in managers
            if other is not mine and path in other.paths and _lookup(base, path) != _lookup(config, path)
        ]
        if clashes and not request.flag("force"):
            raise _apply_conflict(clashes)
        obj = _with_kind(res, base)
        for path in applied:
            _assign(obj, path, _lookup(config, path))
        for path in mine.paths - applied:
            if not any(path in other.paths for other in managers if other is not mine):
                _drop(obj, path)
        for path, other in clashes:
            other.paths.discard(path)
        mine.paths, mine.time = applied, _now()
        _store_managers(obj, managers)
        return self._save(request, res, namespace, current, obj, 200 if current is not None else 201, managed=True)

    def _save(
        self,
        request: Request,
        res: Resource,
        namespace: str,
        current: Optional[Dict[str, Any]],
        obj: Dict[str, Any],
        code: int,
        managed: bool = False,
    ) -> Tuple[int, Any]:
        """Validate and store an update; an update that changes nothing is not a write."""
        validate(res, obj)
        if not managed:
            record_update(current, obj, request.manager, res.api_version)
        if current is not None:
            obj["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
            if obj == _with_kind(res, current):
                return code, copy.deepcopy(obj)
        if not request.dry_run:
            self._commit(res, namespace, obj, current)
        return code, copy.deepcopy(obj)

    def _delete(self, request: Request, res: Resource, namespace: str, name: str) -> Tuple[int, Any]:
        options = _load_body(request)
        options = options if isinstance(options, dict) else {}
        current = self._store(res).get((namespace, name))
        if current is None:
            raise not_found(res, name)
        pre = options.get("preconditions") or {}
        meta = current["metadata"]
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise _precondition(
                res,
                name,
                f"the UID in the precondition ({pre['uid']}) does not match the UID in "
                f"record ({meta.get('uid')}). The object might have been deleted and then recreated",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise _precondition(
                res,
                name,
                f"the ResourceVersion in the precondition ({pre['resourceVersion']}) does "
                f"not match the ResourceVersion in record ({meta.get('resourceVersion')}). The object "
                "might have been modified",
            )
        if not (request.dry_run or "All" in (options.get("dryRun") or [])):
            self._delete_stored(res, namespace, name)
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": _details(res, name, uid=meta.get("uid")),
        }

    def _namespaces(self, request: Request, name: Optional[str]) -> Tuple[int, Any]:
        if request.method == "GET" and name:
            self._authorize(request.user, "get", NAMESPACES, "", name)
            if name not in self.namespaces:
                raise not_found(NAMESPACES, name)
            return 200, copy.deepcopy(self.namespace_objects.get(("", name)) or _namespace_object(name))
        if request.method != "POST" or name:
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
            )
        self._authorize(request.user, "create", NAMESPACES, "", "")
        body = _object_body(request)
        obj = _namespace_object((body.get("metadata") or {}).get("name") or "", body)
        validate(NAMESPACES, obj)
        name = obj["metadata"]["name"]
        if name in self.namespaces:
            raise ApiError(409, "AlreadyExists", f'namespaces "{name}" already exists', _details(NAMESPACES, name))
        record_update(None, obj, request.manager, "v1")
        obj.update(spec={"finalizers": ["kubernetes"]}, status={"phase": "Active"})
        if not request.dry_run:
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)
            self.namespace_objects[("", name)] = obj
            self.namespaces.add(name)
        return 201, copy.deepcopy(obj)

    # -- the service proxy --------------------------------------------------------------------------------------------
    def proxy(self, request: Request) -> Tuple[int, bytes]:
        """The API server's service proxy: forward to the Service's endpoint (here: a local URL)."""
        match = _SVC_PROXY.match(request.path)
        namespace, name, port, rest = match.group(1), match.group(2), int(match.group(3) or 80), match.group(4) or "/"
        with self.lock:
            user = self._authenticate(request.authorization)
            verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
                request.method, request.method.lower()
            )
            self._authorize(user, verb, RESOURCES[("", "services")], namespace, f"{name}:{port}", "proxy")
            target = self.proxy_targets.get((namespace, name, port))
        if target is None:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        forwarded = urllib.request.Request(
            target.rstrip("/") + rest,
            data=request.raw or None,
            method=request.method,
            headers={"Content-Type": request.content_type or "application/json"},
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    # -- HTTP -----------------------------------------------------------------------------------------------------
    def _fault_for(self, method: str, path: str, answer: Optional[Tuple[int, Any]] = None) -> Optional[Fault]:
        """The first fault for this request; the list faults only where the answer is a list."""
        with self.lock:
            for fault in self.faults:
                listy = fault.kind in ("items-not-list", "items-null", "null-item")
                if listy != (answer is not None) or not fault.matches(method, path):
                    continue
                if listy and not (answer[0] == 200 and isinstance(answer[1], dict) and "items" in answer[1]):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def setup(self):
                super().setup()
                with fake.lock:
                    fake._connections.add(self.connection)

            def finish(self):
                try:
                    super().finish()
                except OSError:
                    pass
                with fake.lock:
                    fake._connections.discard(self.connection)

            def _serve(self):
                request = self._read()
                fault = fake._fault_for(request.method, request.path)
                if fault is not None:
                    return self._misbehave(fault)
                if _SVC_PROXY.match(request.path):  # forwarded without holding the store lock
                    try:
                        code, data = fake.proxy(request)
                    except ApiError as exc:
                        code, data = exc.code, json.dumps(exc.status()).encode()
                    return self._send(code, data)
                try:
                    code, payload = fake.respond(request)
                except ApiError as exc:
                    code, payload = exc.code, exc.status()
                except Exception as exc:  # a bug in the stand-in: answer as the server does, never hang
                    code, payload = 500, ApiError(500, "InternalError", f"{type(exc).__name__}: {exc}", {}).status()
                if isinstance(payload, Watch):
                    return self._stream(payload)
                fault = fake._fault_for(request.method, request.path, (code, payload))
                if fault is not None:
                    payload = fault.garble(payload)
                if isinstance(payload, Raw):
                    return self._send(code, payload.data, payload.content_type)
                self._send(code, json.dumps(payload).encode())

            def _read(self) -> Request:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                query = {k: v[0] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()}
                with fake.lock:
                    now = time.monotonic()
                    fake.requests.append((self.command, parsed.path, now))
                    fake.calls.append(Call(self.command, parsed.path, query, now))
                return Request(
                    self.command,
                    parsed.path,
                    query,
                    raw,
                    self.headers.get("Content-Type") or "",
                    self.headers.get("User-Agent") or "",
                    self.headers.get("Authorization") or "",
                )

            def _misbehave(self, fault: Fault) -> None:
                if fault.kind == "hang":
                    fake._down.wait()
                if fault.kind in ("hang", "disconnect"):
                    self.close_connection = True
                    return
                body = fault.body if fault.body is not None else NOT_JSON
                self._send(fault.status if fault.kind == "raw" else 200, body)

            def _send(self, code: int, data: bytes, content_type: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, watch: Watch) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    ended = self._pump(watch)
                    if ended:
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass
                finally:
                    with fake.lock:
                        fake.watches.discard(watch)
                    self.close_connection = True

            def _pump(self, watch: Watch) -> bool:
                """Write events until the stream ends (True) or the server goes down (False)."""
                deadline = time.monotonic() + watch.timeout if watch.timeout is not None else None
                while True:
                    left = deadline - time.monotonic() if deadline is not None else None
                    waits = [w for w in (fake.bookmark_interval, left) if w is not None]
                    try:
                        item = watch.queue.get(timeout=max(0.0, min(waits)) if waits else None)
                    except queue.Empty:
                        if deadline is not None and time.monotonic() >= deadline:
                            return True
                        if watch.bookmarks:
                            with fake.lock:
                                item = {"type": "BOOKMARK", "object": fake._bookmark_object(watch.res)}
                        else:
                            continue
                    if item in (_END, _ABORT):
                        return item == _END
                    line = json.dumps(item, separators=(",", ":")).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler


# -- helpers for the handlers -----------------------------------------------------------------------------------------
def _binds(binding: Dict[str, Any], user: str) -> bool:
    """Whether a RoleBinding's subjects include ``user`` (a ServiceAccount is system:serviceaccount:NS:NAME)."""
    for subject in binding.get("subjects") or []:
        if subject.get("kind") == "ServiceAccount" and user == (
            f"system:serviceaccount:{subject.get('namespace')}:{subject.get('name')}"
        ):
            return True
        if subject.get("kind") == "User" and user == subject.get("name"):
            return True
    return False


def _with_kind(res: Resource, obj: Dict[str, Any]) -> Dict[str, Any]:
    result = {"kind": res.kind, "apiVersion": res.api_version}
    result.update({k: copy.deepcopy(v) for k, v in obj.items() if k not in ("kind", "apiVersion")})
    result.setdefault("metadata", {})
    return result


def _verb(request: Request, named: bool) -> str:
    if request.method == "GET":
        return "get" if named else ("watch" if request.flag("watch") else "list")
    verbs = {
        "POST": None if named else "create",
        "PUT": "update" if named else None,
        "PATCH": "patch" if named else None,
        "DELETE": "delete" if named else "deletecollection",
    }
    return verbs.get(request.method) or request.method.lower()


def _selectors(request: Request) -> Tuple[List[Requirement], List[Tuple[str, str, str]]]:
    try:
        return (
            parse_selector(request.query.get("labelSelector", "")),
            parse_field_selector(request.query.get("fieldSelector", "")),
        )
    except SelectorError as exc:
        raise bad_request(str(exc)) from None


def _selected(obj: Dict[str, Any], selector: List[Requirement], fields: List[Tuple[str, str, str]]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in selector) and fields_match(fields, obj)


def _limit(request: Request) -> int:
    try:
        return max(0, int(request.query.get("limit") or 0))
    except ValueError:
        raise bad_request(f'limit: Invalid value: "{request.query["limit"]}": must be an integer') from None


def _object_body(request: Request) -> Dict[str, Any]:
    body = _load_body(request)
    if not isinstance(body, dict):
        raise bad_request("the body of the request could not be decoded: an object is required")
    return body


def _check_name(meta: Dict[str, Any], name: str) -> None:
    if meta.get("name") != name:
        raise bad_request(
            f"the name of the object ({meta.get('name') or ''}) does not match the name on the URL ({name})"
        )


def _check_namespace(meta: Dict[str, Any], namespace: str) -> None:
    if meta.get("namespace") not in (None, "", namespace):
        raise bad_request("the namespace of the provided object does not match the namespace sent on the request")


def _check_patch_options(request: Request, applying: bool) -> None:
    if applying and not request.query.get("fieldManager"):
        cause = Cause("FieldValueRequired", "fieldManager", "Required value: is required for apply patch")
    elif not applying and "force" in request.query:
        cause = Cause("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch")
    else:
        return
    raise invalid("PatchOptions", "", [cause], "meta.k8s.io")


def _patched(content_type: str, current: Dict[str, Any], body: Any) -> Dict[str, Any]:
    if content_type == "application/json-patch+json":
        if not isinstance(body, list):
            raise bad_request("the body of the request could not be decoded: a JSON patch is a list of operations")
        try:
            patched = jsonpatch.JsonPatch(body).apply(copy.deepcopy(current))
        except jsonpatch.InvalidJsonPatch as exc:
            raise bad_request(str(exc)) from None
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError, TypeError):
            raise ApiError(
                422, "Invalid", "the server rejected our request due to an error in our request", {}
            ) from None
    else:
        if not isinstance(body, dict):
            raise bad_request("the body of the request could not be decoded: a merge patch is an object")
        patched = merge_patch(current, body)
    if not isinstance(patched, dict):
        raise bad_request("the patched object is not an object")
    return patched


def _apply_conflict(clashes: List[Tuple[Path, Manager]]) -> ApiError:
    shown = [("." + ".".join(path), other.shown()) for path, other in clashes]
    if len(shown) == 1:
        message = f"Apply failed with 1 conflict: conflict with {shown[0][1]}: {shown[0][0]}"
    else:
        parts = []
        for who in sorted({who for _, who in shown}):
            parts.append(f"conflicts with {who}:")
            parts += [f"- {path}" for path, other in shown if other == who]
        message = f"Apply failed with {len(shown)} conflicts: " + "\n".join(parts)
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {who}", "field": path} for path, who in shown
    ]
    return ApiError(409, "Conflict", message, {"causes": causes})


def _precondition(res: Resource, name: str, why: str) -> ApiError:
    """A failed delete precondition names the Kind, not the resource, as the server's delete does."""
    kind = f"{res.kind}.{res.group}" if res.group else res.kind
    details = {"name": name, **({"group": res.group} if res.group else {}), "kind": res.kind}
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{name}": {why}', details)


def _namespace_object(name: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    meta = {k: v for k, v in ((body or {}).get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    labels = dict(meta.get("labels") or {}, **{"kubernetes.io/metadata.name": name})
    meta.update(name=name, uid=str(uuid.uuid4()), creationTimestamp=_now(), labels=labels)
    return {"kind": "Namespace", "apiVersion": "v1", "metadata": meta}
