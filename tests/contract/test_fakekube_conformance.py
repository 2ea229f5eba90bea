"""The API-server stand-in (tests/fakekube.py) against what a real kube-apiserver answered.

No kube-apiserver can run here, so every cluster test talks to the stand-in. ../shared/k8s-api/ holds what a real
kube-apiserver (v1.24, RBAC on) answered to the requests kubectl-dagster makes: 30 request/response pairs and two raw
watch streams. This test replays each recorded request, as raw HTTP, against the stand-in, after replaying the
exchanges recorded before it (the state the recording built), and compares what a client depends on:

- the HTTP status code, ``kind`` and ``apiVersion``;
- for a ``Status``: ``status``, ``reason``, ``code``, whether ``details`` is there, and its ``name``, ``group``,
  ``kind``, whether it names a ``uid``, and its causes' ``reason``, ``field`` and ``message``; the ``message`` too
  (clients read it), with uids and numbers blanked;
- for objects and list items: name, namespace, labels, annotations, data, spec, status, which of ``kind``,
  ``apiVersion``, ``uid``, ``resourceVersion`` and ``creationTimestamp`` are present, and the field managers
  (manager, operation, fieldsV1) that server-side apply depends on;
- for lists: the presence of ``metadata.resourceVersion``, ``metadata.continue`` and ``remainingItemCount``, and the
  items in order;
- for watches: the HTTP status, the event types in order, each event's object as above, whether a resourceVersion
  repeats the one before it (a bookmark carries the last event's), and that the stream ends after an ``ERROR``.

Names of namespaces and objects are the recorded ones. Uids, timestamps and resourceVersion values differ from run
to run and are not compared: where a request sends back a value the recording got earlier (a resourceVersion to
update with), the stand-in's value for the same object is sent instead. What the recording leaves implicit is set up
on the stand-in: the token the "bad token" request carried is one it does not know, and the RBAC requests come from
a user that no Role grants anything.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

import pytest
from conftest import SHARED
from fakekube import FakeKube

RECORDED = SHARED / "k8s-api"
EXCHANGES = json.loads((RECORDED / "exchanges.json").read_text())
USER_AGENT = "Python-urllib/3.11"  # the recording's client: its writes are managed by "Python-urllib"
LIMITED_TOKEN = "token-of-a-user-without-roles"
UNKNOWN_TOKEN = "a-token-the-server-does-not-know"
REGISTRY_SELECTOR = "kubectl-dagster.io/registry=code-location"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _token_for(title: str, fake: FakeKube) -> str:
    if title == "bad token":
        return UNKNOWN_TOKEN
    if "(RBAC)" in title:
        return LIMITED_TOKEN
    return fake.token


# -- what a client depends on -----------------------------------------------------------------------------------------
def _details_view(details: Any) -> Any:
    if not isinstance(details, dict):
        return details
    causes = [(c.get("reason"), c.get("field"), _wording(c.get("message"))) for c in details.get("causes") or []]
    return {
        "name": details.get("name"),
        "group": details.get("group"),
        "kind": details.get("kind"),
        "has_uid": "uid" in details,
        "causes": causes,
    }


def _wording(message: Any) -> Any:
    """A message with its uids and numbers (resourceVersions) blanked: they differ from run to run."""
    if not isinstance(message, str):
        return message
    return re.sub(r"\d+", "N", re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UID", message))


def _managers(meta: Dict[str, Any]) -> List[Tuple[str, str, str]]:
    return sorted(
        (m.get("manager"), m.get("operation"), json.dumps(m.get("fieldsV1"), sort_keys=True))
        for m in meta.get("managedFields") or []
    )


def _object_view(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata") or {}
    view = {key: obj.get(key) for key in ("data", "spec", "status") if key in obj}
    view.update(
        {
            "has": sorted(k for k in ("kind", "apiVersion") if k in obj)
            + sorted(k for k in ("uid", "resourceVersion", "creationTimestamp") if meta.get(k)),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "labels": meta.get("labels"),
            "annotations": meta.get("annotations"),
            "managers": _managers(meta),
        }
    )
    return view


def view(status: int, body: Any) -> Dict[str, Any]:
    """The parts of one answer a client depends on."""
    if not isinstance(body, dict):
        return {"http": status, "body": body}
    result: Dict[str, Any] = {"http": status, "kind": body.get("kind"), "apiVersion": body.get("apiVersion")}
    meta = body.get("metadata") or {}
    if body.get("kind") == "Status":
        result.update(
            {
                "status": body.get("status"),
                "reason": body.get("reason"),
                "code": body.get("code"),
                "has_details": "details" in body,
                "details": _details_view(body.get("details")),
                "message": _wording(body.get("message")),
            }
        )
    elif "items" in body:
        result.update(
            {
                "list_meta": sorted(
                    k for k in ("resourceVersion", "continue", "remainingItemCount") if meta.get(k) is not None
                ),
                "items": [_object_view(item) for item in body["items"]],
            }
        )
    else:
        result.update(_object_view(body))
    return result


# -- replaying requests -----------------------------------------------------------------------------------------------
class Ids:
    """Recorded uids and resourceVersions mapped to the stand-in's, learnt from answers to the same requests."""

    def __init__(self) -> None:
        self.known: Dict[str, str] = {}

    def learn(self, recorded: Any, answered: Any) -> None:
        if not (isinstance(recorded, dict) and isinstance(answered, dict)):
            return
        for key in ("uid", "resourceVersion"):
            theirs, ours = (recorded.get("metadata") or {}).get(key), (answered.get("metadata") or {}).get(key)
            if theirs and ours:
                self.known[theirs] = ours
        ours_by_name = {
            (i.get("metadata") or {}).get("name"): i for i in answered.get("items") or [] if isinstance(i, dict)
        }
        for item in recorded.get("items") or []:
            self.learn(item, ours_by_name.get((item.get("metadata") or {}).get("name")))

    def translate(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.translate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.translate(v) for v in value]
        return self.known.get(value, value) if isinstance(value, str) else value


def _connection(fake: FakeKube) -> http.client.HTTPConnection:
    parsed = urllib.parse.urlparse(fake.url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)


def _headers(token: str, content_type: Optional[str]) -> Dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, "Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def send(fake: FakeKube, request: Dict[str, Any], token: str) -> Tuple[int, Any]:
    query = urllib.parse.urlencode(request.get("query") or {})
    body = request.get("body")
    raw = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    connection = _connection(fake)
    try:
        connection.request(
            request["method"],
            request["path"] + ("?" + query if query else ""),
            body=raw,
            headers=_headers(token, request.get("contentType")),
        )
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode("utf-8", "replace")


def replay(fake: FakeKube, ids: Ids, exchange: Dict[str, Any]) -> Tuple[int, Any]:
    request = dict(
        exchange["request"],
        query=ids.translate(exchange["request"].get("query") or {}),
        body=ids.translate(exchange["request"].get("body")),
    )
    status, body = send(fake, request, _token_for(exchange["title"], fake))
    ids.learn(exchange["response"]["body"], body)
    return status, body


def _prepare(fake: FakeKube) -> None:
    """What the recording implies but does not show: a user no Role grants anything."""
    fake.add_user(LIMITED_TOKEN, "limited-user")
    fake.deny(user="limited-user")


@pytest.mark.parametrize(
    "index", range(len(EXCHANGES)), ids=[f"{i:02d}-{_slug(e['title'])}" for i, e in enumerate(EXCHANGES)]
)
def test_exchange_answers_as_recorded(index):
    exchange = EXCHANGES[index]
    with FakeKube() as fake:
        _prepare(fake)
        ids = Ids()
        for earlier in EXCHANGES[:index]:
            replay(fake, ids, earlier)
        status, body = replay(fake, ids, exchange)
    recorded = exchange["response"]
    assert view(status, body) == view(recorded["status"], recorded["body"])


# -- watch streams ----------------------------------------------------------------------------------------------------
def _recorded_events(name: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in (RECORDED / name).read_text().splitlines() if line.strip()]


def _events_view(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    views, previous = [], None
    for event in events:
        obj = event.get("object") or {}
        version = (obj.get("metadata") or {}).get("resourceVersion")
        shown = view(200, obj) if obj.get("kind") == "Status" else _object_view(obj)
        entry = {
            "type": event.get("type"),
            "object": shown,
            "metadata_keys": sorted(obj.get("metadata") or {}),
            "same_version_as_before": version == previous,
        }
        views.append(entry)
        previous = version
    return views


class Stream:
    """One raw watch request: the HTTP status, then events a line at a time."""

    def __init__(self, fake: FakeKube, namespace: str, query: Dict[str, str]):
        self.connection = _connection(fake)
        self.connection.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/configmaps?" + urllib.parse.urlencode(query),
            headers=_headers(fake.token, None),
        )
        self.response = self.connection.getresponse()

    def next_events(self, count: int) -> List[Dict[str, Any]]:
        return [json.loads(self.response.readline()) for _ in range(count)]

    def ended(self) -> bool:
        return self.response.readline() == b""

    def close(self) -> None:
        self.connection.close()


def _write(fake: FakeKube, method: str, path: str, body: Any, content_type: str = "application/json") -> Any:
    status, answer = send(fake, {"method": method, "path": path, "body": body, "contentType": content_type}, fake.token)
    assert status in (200, 201), answer
    return answer


def test_watch_from_a_list_with_bookmarks_streams_as_recorded():
    """A watch from a list's resourceVersion with allowWatchBookmarks while a ConfigMap is created, patched and
    deleted; then the server's bookmarks (the stand-in sends one when asked, the real one on its own timer)."""
    recorded = _recorded_events("watch-from-list.txt")
    namespace = recorded[0]["object"]["metadata"]["namespace"]
    collection = f"/api/v1/namespaces/{namespace}/configmaps"
    with FakeKube() as fake:
        _write(
            fake,
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        status, listed = send(
            fake, {"method": "GET", "path": collection, "query": {"labelSelector": REGISTRY_SELECTOR}}, fake.token
        )
        assert status == 200
        stream = Stream(
            fake,
            namespace,
            {
                "watch": "true",
                "allowWatchBookmarks": "true",
                "labelSelector": REGISTRY_SELECTOR,
                "resourceVersion": listed["metadata"]["resourceVersion"],
            },
        )
        try:
            created = {key: recorded[0]["object"][key] for key in ("apiVersion", "kind", "data")}
            created["metadata"] = {key: recorded[0]["object"]["metadata"][key] for key in ("name", "labels")}
            _write(fake, "POST", collection, created)
            _write(
                fake,
                "PATCH",
                f"{collection}/{created['metadata']['name']}",
                {"data": {"k": recorded[1]["object"]["data"]["k"]}},
                "application/merge-patch+json",
            )
            _write(fake, "DELETE", f"{collection}/{created['metadata']['name']}", None)
            fake.bookmark()
            fake.bookmark()
            events = stream.next_events(len(recorded))
        finally:
            stream.close()
    assert stream.response.status == 200
    assert _events_view(events) == _events_view(recorded)


def test_watch_from_a_too_old_resource_version_is_an_error_event_in_a_200_stream():
    recorded = _recorded_events("watch-too-old.txt")
    old = re.search(r"too old resource version: (\d+)", recorded[0]["object"]["message"]).group(1)
    with FakeKube() as fake:
        stream = Stream(fake, "default", {"watch": "true", "resourceVersion": old})
        try:
            events = stream.next_events(len(recorded))
            ended = stream.ended()
        finally:
            stream.close()
    assert stream.response.status == 200
    assert _events_view(events) == _events_view(recorded)
    assert ended, "the server closes the stream after the ERROR event"
