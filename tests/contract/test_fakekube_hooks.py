"""The API-server stand-in (tests/fakekube.py) beyond the recordings: the semantics and fault hooks that the timeout,
garbage-answer and registry-watcher tests build on.

No kube-apiserver can run here. The recordings in ../shared/k8s-api/ (checked by test_fakekube_conformance.py) fix
the answers to single requests; these tests check what a client sees over several: paging to the end of a
consistent snapshot, the label-selector grammar, watches (history, bookmarks, selectors, the 410 and the official
client's retry of it), server-side apply ownership, dry run and writes that change nothing, RBAC denials, a server
that accepts a connection and never answers, garbage answers, and a server that goes down mid-watch and comes back
on the same port. They talk to the stand-in with the official kubernetes client (what kubectl-dagster uses), and with
raw HTTP where a client would hide the difference.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

import pytest
import urllib3

REGISTRY = {"kubectl-dagster.io/registry": "code-location"}


@pytest.fixture
def api(kube):
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kube.kubeconfig_path, client_configuration=configuration)
    configuration.retries = 0
    return client.CoreV1Api(client.ApiClient(configuration))


def configmap(name: str, labels: Optional[Dict[str, str]] = None, **data: str) -> Dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data or {"k": "v"},
    }


def names(listed) -> List[str]:
    return [item.metadata.name for item in listed.items]


def raw(
    kube,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    token: Optional[str] = None,
    user_agent: str = "Python-urllib/3.11",
) -> Tuple[int, Any]:
    """One request as bytes on the wire; the answer parsed as JSON when it is JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", kube.port, timeout=10)
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    try:
        connection.request(
            method,
            path,
            body=data,
            headers={
                "Authorization": f"Bearer {token or kube.token}",
                "Content-Type": content_type,
                "User-Agent": user_agent,
            },
        )
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(payload)
    except ValueError:
        return response.status, payload


class RawWatch:
    """A watch read line by line through urllib3: a clean end gives None, a dropped connection raises."""

    def __init__(self, kube, namespace: str = "dagster", **query: str):
        url = f"{kube.url}/api/v1/namespaces/{namespace}/configmaps?" + "&".join(
            f"{key}={value}" for key, value in dict(watch="true", **query).items()
        )
        self.response = urllib3.PoolManager().request(
            "GET",
            url,
            headers={"Authorization": f"Bearer {kube.token}"},
            preload_content=False,
            timeout=10.0,
            retries=False,
        )
        self.chunks = self.response.stream(None)
        self.buffer = b""

    def next(self) -> Optional[Dict[str, Any]]:
        while b"\n" not in self.buffer:
            chunk = next(self.chunks, None)
            if chunk is None:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        self.response.release_conn()


# -- paging -----------------------------------------------------------------------------------------------------------
def test_paging_reads_the_snapshot_of_its_first_page_to_the_end(kube, api):
    for i in range(5):
        api.create_namespaced_config_map("dagster", configmap(f"cm-{i}"))
    first = api.list_namespaced_config_map("dagster", limit=2)
    assert names(first) == ["cm-0", "cm-1"] and first.metadata.remaining_item_count == 3
    api.create_namespaced_config_map("dagster", configmap("cm-9"))  # after the first page: not in this list
    api.delete_namespaced_config_map("cm-3", "dagster")  # ditto: still in it
    second = api.list_namespaced_config_map("dagster", limit=2, _continue=first.metadata._continue)
    third = api.list_namespaced_config_map("dagster", limit=2, _continue=second.metadata._continue)
    assert names(second) + names(third) == ["cm-2", "cm-3", "cm-4"]
    assert third.metadata._continue is None
    assert first.metadata.resource_version == second.metadata.resource_version == third.metadata.resource_version


def test_a_continue_token_from_before_a_compaction_is_410_with_a_token_for_the_rest(kube, api):
    from kubernetes.client.exceptions import ApiException

    for i in range(4):
        api.create_namespaced_config_map("dagster", configmap(f"cm-{i}"))
    first = api.list_namespaced_config_map("dagster", limit=2, label_selector="!absent")
    assert first.metadata.remaining_item_count is None  # only counted without a selector
    api.delete_namespaced_config_map("cm-3", "dagster")
    kube.compact()
    with pytest.raises(ApiException) as expired:
        api.list_namespaced_config_map("dagster", limit=2, _continue=first.metadata._continue)
    status = json.loads(expired.value.body)
    assert (expired.value.status, status["reason"]) == (410, "Expired")
    rest = api.list_namespaced_config_map("dagster", _continue=status["metadata"]["continue"])
    assert names(rest) == ["cm-2"]  # the inconsistent remainder: what exists now


# -- selectors --------------------------------------------------------------------------------------------------------
@pytest.fixture
def labelled(kube, api):
    for name, labels in (
        ("a", {"env": "prod", "tier": "web", "n": "3"}),
        ("b", {"env": "dev", "tier": "web"}),
        ("c", {"env": "prod"}),
        ("d", {}),
    ):
        api.create_namespaced_config_map("dagster", configmap(name, labels))
    return api


@pytest.mark.parametrize(
    "selector, expected",
    [
        ("env=prod", "ac"),
        ("env==prod", "ac"),
        ("env!=prod", "bd"),
        ("env in (prod, dev)", "abc"),
        ("env notin (prod)", "bd"),
        ("tier", "ab"),
        ("!tier", "cd"),
        ("env=prod,tier", "a"),
        ("n>2", "a"),
        ("n<2", ""),
        ("", "abcd"),
        (" env = prod , !n ", "c"),
    ],
)
def test_label_selectors_select_as_the_server_does(labelled, selector, expected):
    assert "".join(names(labelled.list_namespaced_config_map("dagster", label_selector=selector))) == expected


@pytest.mark.parametrize(
    "selector", ["a=b=c", "env in prod", "=prod", "env=(", "tier,", "env in (a", "n>x", "bad key=x", "-env=prod"]
)
def test_a_malformed_label_selector_is_a_400(kube, selector):
    path = "/api/v1/namespaces/dagster/configmaps?labelSelector=" + urllib.parse.quote(selector)
    status, body = raw(kube, "GET", path)
    assert (status, body["kind"], body["reason"], "details" in body) == (400, "Status", "BadRequest", False)


def test_field_selectors_on_name(labelled, kube):
    assert names(labelled.list_namespaced_config_map("dagster", field_selector="metadata.name=b")) == ["b"]
    assert names(labelled.list_namespaced_config_map("dagster", field_selector="metadata.name!=b")) == ["a", "c", "d"]
    assert raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps?fieldSelector=data.k%3Dv")[0] == 400


# -- watches ----------------------------------------------------------------------------------------------------------
def test_the_official_client_watches_history_and_bookmarks(kube, api):
    from kubernetes import watch

    version = api.list_namespaced_config_map("dagster").metadata.resource_version
    api.create_namespaced_config_map("dagster", configmap("a", REGISTRY))
    api.patch_namespaced_config_map("a", "dagster", {"data": {"k": "w"}})
    api.delete_namespaced_config_map("a", "dagster")
    seen, stream = [], watch.Watch()
    for event in stream.stream(
        api.list_namespaced_config_map,
        "dagster",
        resource_version=version,
        allow_watch_bookmarks=True,
        timeout_seconds=30,
    ):
        seen.append((event["type"], event["raw_object"]["metadata"].get("name")))
        if event["type"] == "DELETED":
            kube.bookmark()
        if event["type"] == "BOOKMARK":
            stream.stop()
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a"), ("BOOKMARK", None)]
    assert stream.resource_version == str(kube.revision)  # a bookmark moves the client to the latest revision


@pytest.mark.parametrize("timeout, watches", [(None, 2), (30, 1)])
def test_the_official_client_raises_the_410_error_event(kube, api, timeout, watches):
    """Without timeout_seconds the client watches once more after a 410 ERROR event, then raises it."""
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException

    extra = {"timeout_seconds": timeout} if timeout else {}
    with pytest.raises(ApiException) as expired:
        for _ in watch.Watch().stream(
            api.list_namespaced_config_map, "dagster", resource_version="10", _request_timeout=10, **extra
        ):
            pass
    assert (expired.value.status, expired.value.reason.split(":")[0]) == (410, "Expired")
    sent = [c for c in kube.calls if c.query.get("watch") and c.query.get("resourceVersion") == "10"]
    assert len(sent) == watches


def test_a_watch_from_no_resource_version_starts_with_what_exists(kube, api):
    api.create_namespaced_config_map("dagster", configmap("b"))
    api.create_namespaced_config_map("dagster", configmap("a"))
    stream = RawWatch(kube)
    try:
        first, second = stream.next(), stream.next()
        api.create_namespaced_config_map("dagster", configmap("c"))
        third = stream.next()
    finally:
        stream.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in (first, second, third)] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("ADDED", "c"),
    ]


def test_objects_entering_and_leaving_a_watched_selector_are_added_and_deleted(kube, api):
    api.create_namespaced_config_map("dagster", configmap("in", {"env": "prod"}))
    api.create_namespaced_config_map("dagster", configmap("out", {"env": "dev"}))
    version = api.list_namespaced_config_map("dagster").metadata.resource_version
    stream = RawWatch(kube, labelSelector="env%3Dprod", resourceVersion=version)
    try:
        api.patch_namespaced_config_map("out", "dagster", {"metadata": {"labels": {"env": "prod"}}})
        api.patch_namespaced_config_map("in", "dagster", {"metadata": {"labels": {"env": "dev"}}})
        api.patch_namespaced_config_map("in", "dagster", {"data": {"k": "unseen"}})
        api.patch_namespaced_config_map("out", "dagster", {"data": {"k": "seen"}})
        events = [stream.next() for _ in range(3)]
    finally:
        stream.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "out"),
        ("DELETED", "in"),
        ("MODIFIED", "out"),
    ]
    assert events[1]["object"]["metadata"]["labels"] == {"env": "prod"}  # the last state it was selected in


def test_bookmarks_only_where_allowed_and_on_the_servers_own_timer(kube, api):
    version = api.list_namespaced_config_map("dagster").metadata.resource_version
    plain = RawWatch(kube, resourceVersion=version)
    try:
        kube.bookmark()
        api.create_namespaced_config_map("dagster", configmap("a"))
        assert plain.next()["type"] == "ADDED"  # no BOOKMARK before it
    finally:
        plain.close()
    kube.bookmark_interval = 0.05
    timed = RawWatch(kube, resourceVersion=str(kube.revision), allowWatchBookmarks="true")
    try:
        event = timed.next()
    finally:
        timed.close()
    assert event == {
        "type": "BOOKMARK",
        "object": {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(kube.revision), "creationTimestamp": None},
        },
    }


def test_a_watch_ends_cleanly_at_its_timeout_and_when_the_server_ends_it(kube):
    timed = RawWatch(kube, timeoutSeconds="1", resourceVersion=str(kube.revision))
    ended = RawWatch(kube, resourceVersion=str(kube.revision))
    kube.end_watches()
    try:
        assert timed.next() is None and ended.next() is None
    finally:
        timed.close()
        ended.close()


def test_a_server_that_goes_down_mid_watch_comes_back_on_the_same_port(kube, api):
    api.create_namespaced_config_map("dagster", configmap("a"))
    version = api.list_namespaced_config_map("dagster").metadata.resource_version
    stream = RawWatch(kube, resourceVersion=version)
    api.create_namespaced_config_map("dagster", configmap("b"))
    assert stream.next()["object"]["metadata"]["name"] == "b"
    url = kube.url
    kube.stop()
    with pytest.raises(urllib3.exceptions.ProtocolError):
        stream.next()  # the stream is cut, not ended
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", kube.port), timeout=5).close()
    kube.start()
    assert kube.url == url and names(api.list_namespaced_config_map("dagster")) == ["a", "b"]
    kube.restart()  # a restarted server's watch cache starts at the current revision
    too_old = RawWatch(kube, resourceVersion=version)
    try:
        error = too_old.next()
        assert too_old.next() is None
    finally:
        too_old.close()
    assert (error["type"], error["object"]["code"], error["object"]["reason"]) == ("ERROR", 410, "Expired")
    resumed = RawWatch(kube, resourceVersion=api.list_namespaced_config_map("dagster").metadata.resource_version)
    try:
        api.create_namespaced_config_map("dagster", configmap("c"))
        assert resumed.next()["object"]["metadata"]["name"] == "c"
    finally:
        resumed.close()


def test_a_restart_that_keeps_history_lets_a_watch_resume(kube, api):
    version = api.list_namespaced_config_map("dagster").metadata.resource_version
    api.create_namespaced_config_map("dagster", configmap("a"))
    kube.restart(keep_history=True)
    stream = RawWatch(kube, resourceVersion=version)
    try:
        assert stream.next()["object"]["metadata"]["name"] == "a"
    finally:
        stream.close()


# -- writes -----------------------------------------------------------------------------------------------------------
def _apply(kube, name: str, manager: Optional[str], data: Dict[str, str], force: bool = False) -> Tuple[int, Any]:
    query = "&".join(([f"fieldManager={manager}"] if manager else []) + (["force=true"] if force else []))
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
    return raw(
        kube, "PATCH", f"/api/v1/namespaces/dagster/configmaps/{name}?{query}", body, "application/apply-patch+yaml"
    )


def test_server_side_apply_owns_exactly_what_it_applies(kube):
    assert _apply(kube, "s", "one", {"a": "1", "b": "2"})[0] == 201
    status, obj = _apply(kube, "s", "one", {"a": "1"})
    assert status == 200 and obj["data"] == {"a": "1"}  # b: applied before, no longer, owned by no one else
    assert _apply(kube, "s", "two", {"a": "1"})[0] == 200  # the same value: shared, no conflict
    status, obj = _apply(kube, "s", "one", {"z": "0"})
    assert obj["data"] == {"a": "1", "z": "0"}  # "two" still owns a
    status, body = _apply(kube, "s", "two", {"a": "2", "z": "9"})
    assert (status, body["reason"]) == (409, "Conflict")
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "one": .data.z'


def test_server_side_apply_conflicts_with_an_updater_and_needs_a_field_manager(kube):
    assert raw(kube, "POST", "/api/v1/namespaces/dagster/configmaps", configmap("u", k="v"))[0] == 201
    status, body = _apply(kube, "u", "applier", {"k": "other"})
    assert status == 409
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "Python-urllib" using v1: .data.k'
    status, obj = _apply(kube, "u", "applier", {"k": "other"}, force=True)
    assert status == 200 and [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]] == [
        ("Python-urllib", "Update"),
        ("applier", "Apply"),
    ]  # the updater keeps its labels, loses data.k
    status, body = _apply(kube, "u", None, {"k": "x"})
    assert (status, body["reason"], body["details"]["kind"], body["details"]["causes"][0]["field"]) == (
        422,
        "Invalid",
        "PatchOptions",
        "fieldManager",
    )


def test_dry_runs_and_writes_that_change_nothing_are_not_writes(kube, api):
    api.create_namespaced_config_map("dagster", configmap("a", k="1"))
    version = api.list_namespaced_config_map("dagster").metadata.resource_version
    stream = RawWatch(kube, resourceVersion=version)
    try:
        dry = api.create_namespaced_config_map("dagster", configmap("b"), dry_run="All")
        assert dry.metadata.uid and dry.metadata.resource_version is None
        api.replace_namespaced_config_map("a", "dagster", configmap("a", k="2"), dry_run="All")
        api.delete_namespaced_config_map("a", "dagster", dry_run="All")
        same = api.replace_namespaced_config_map("a", "dagster", configmap("a", k="1"))
        assert same.metadata.resource_version == version
        assert names(api.list_namespaced_config_map("dagster")) == ["a"] and str(kube.revision) == version
        api.patch_namespaced_config_map("a", "dagster", {"data": {"k": "3"}})
        event = stream.next()
    finally:
        stream.close()
    assert (event["type"], event["object"]["data"]) == ("MODIFIED", {"k": "3"})  # the first write to stream


def test_rbac_denials_are_the_servers_403(kube, api):
    from kubernetes.client.exceptions import ApiException

    api.create_namespaced_config_map("dagster", configmap("a"))
    kube.deny(verb="delete", resource="configmaps")
    with pytest.raises(ApiException) as denied:
        api.delete_namespaced_config_map("a", "dagster")
    body = json.loads(denied.value.body)
    assert (denied.value.status, body["reason"]) == (403, "Forbidden")
    assert body["details"] == {"name": "a", "kind": "configmaps"}
    assert body["message"] == (
        'configmaps "a" is forbidden: User "system:serviceaccount:ci:ci" cannot delete resource '
        '"configmaps" in API group "" in the namespace "dagster"'
    )
    kube.add_user("other-token", "other")
    kube.deny(user="other", verb="watch")
    assert raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps", token="other-token")[0] == 200
    status, body = raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps?watch=true", token="other-token")
    assert (status, body["message"].split(":")[0]) == (403, "configmaps is forbidden")
    kube.add_application("argocd", "dagster")
    kube.deny(verb="patch", resource="applications")
    status, body = raw(
        kube,
        "PATCH",
        "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/dagster",
        {},
        "application/merge-patch+json",
    )
    assert (status, body["details"]) == (403, {"name": "dagster", "group": "argoproj.io", "kind": "applications"})
    assert body["message"].startswith(
        'applications.argoproj.io "dagster" is forbidden: User '
        '"system:serviceaccount:ci:ci" cannot patch resource "applications" in API '
        'group "argoproj.io"'
    )


# -- faults -----------------------------------------------------------------------------------------------------------
def test_a_hung_server_accepts_the_connection_and_never_answers(kube, api):
    kube.inject("hang", path=r"/configmaps$")
    with socket.create_connection(("127.0.0.1", kube.port), timeout=5) as sock:  # accepted
        sock.sendall(
            b"GET /api/v1/namespaces/dagster/configmaps HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + kube.token.encode() + b"\r\n\r\n"
        )
        sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            sock.recv(1)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as gave_up:
        api.list_namespaced_config_map("dagster", _request_timeout=(5, 0.5))
    assert isinstance(gave_up.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert [p for m, p, _ in kube.requests].count("/api/v1/namespaces/dagster/configmaps") == 2  # both were read
    kube.faults.clear()
    assert names(api.list_namespaced_config_map("dagster", _request_timeout=(5, 5))) == []


def test_a_dropped_connection_and_a_raw_answer(kube):
    kube.inject("disconnect", times=1)
    with pytest.raises(http.client.RemoteDisconnected):
        raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps")
    assert raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps")[0] == 200  # only once
    kube.inject("raw", status=503, body=b"upstream connect error")
    assert raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps") == (503, b"upstream connect error")


@pytest.mark.parametrize(
    "fault, check",
    [
        ("not-json", lambda body: isinstance(body, bytes) and body.startswith(b"<html>")),
        ("items-not-list", lambda body: body["items"].keys() == {"a", "b"}),
        ("items-null", lambda body: body["items"] is None),
        ("null-item", lambda body: body["items"][0] is None and len(body["items"]) == 3),
    ],
)
def test_garbage_answers_to_a_list(kube, api, fault, check):
    api.create_namespaced_config_map("dagster", configmap("a"))
    api.create_namespaced_config_map("dagster", configmap("b"))
    kube.inject(fault, method="GET", path=r"/configmaps$", times=1)
    assert raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps/a")[1]["metadata"]["name"] == "a"  # not a list
    status, body = raw(kube, "GET", "/api/v1/namespaces/dagster/configmaps")
    assert status == 200 and check(body)
    assert names(api.list_namespaced_config_map("dagster")) == ["a", "b"]  # times=1: answered normally again
