"""Reach the Dagster webserver: directly (``--webserver-url``, e.g. through a port-forward) or
through the API server's service proxy with the kubeconfig's credentials. And read the live state
``status`` shows: the workspace ConfigMap and the locations' Deployments."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Callable, Dict, Optional, Tuple

from ..base import constants, errors
from ..core.chart import workspace
from . import kube, reloadhook

WEBSERVER_SELECTOR = (
    f"{constants.LABEL_COMPONENT}={constants.WEBSERVER_COMPONENT}"  # the chart's writable webserver Service
)
PROXY_TIMEOUT = (5.0, 60.0)  # a reload can take a while: the webserver loads every location


def http(url: str) -> Callable[..., Dict[str, Any]]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.InputError(
            f"--webserver-url {errors.excerpt(url)} is not an http(s) URL",
            "pass the webserver's address, e.g. http://localhost:3000",
        )
    return reloadhook.http_transport(url)


def find_service(cluster: kube.Cluster, wanted: Optional[str]) -> Tuple[str, int]:
    """(name, port) of the webserver Service: ``NAME[:PORT]`` as given, or the one the chart labels."""
    if wanted:
        name, _, port = wanted.partition(":")
        if port and not port.isdigit():
            raise errors.InputError(
                f"--webserver-service {wanted!r} has a port that is not a number", "use NAME[:PORT]"
            )
        return name, int(port) if port else 80
    what = "find the webserver Service"
    answer = cluster.request(
        what, "GET", kube.namespaced(cluster.namespace, "services"), {"labelSelector": WEBSERVER_SELECTOR}
    )
    items = kube.items_of(answer, what, cluster.server)
    if len(items) != 1:
        found = ", ".join(str((i.get("metadata") or {}).get("name")) for i in items) or "none"
        raise errors.ClusterError(
            f"expected one webserver Service ({WEBSERVER_SELECTOR}) in namespace {cluster.namespace}, found {found}",
            "pass --webserver-service NAME[:PORT] or --webserver-url URL",
        )
    ports = (items[0].get("spec") or {}).get("ports") or [{}]
    return items[0]["metadata"]["name"], int(ports[0].get("port") or 80)


def proxy(cluster: kube.Cluster, service: str, port: int, prefix: str = "") -> Callable[..., Dict[str, Any]]:
    """POST GraphQL through ``/api/v1/namespaces/NS/services/NAME:PORT/proxy/graphql``."""
    path = kube.namespaced(cluster.namespace, "services", f"{service}:{port}") + f"/proxy{prefix.rstrip('/')}/graphql"

    def post(document: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        what = "reach the webserver"
        body = {"query": document, **({"variables": variables} if variables else {})}
        try:
            limit = cluster.limit(what, PROXY_TIMEOUT)
            response = cluster.open(what, "POST", path, body=body, timeout=limit)
            try:
                data = response.read()
            except Exception as exc:  # urllib3 read errors and timeouts
                raise cluster.unreachable(what, exc, limit) from exc
        except errors.Error as exc:
            raise reloadhook.WebserverError(f"service proxy to {service}:{port} failed: {exc.message}") from exc
        try:
            answer = json.loads(data)
        except ValueError as exc:
            status = f"HTTP {response.status}" if response.status != 200 else "something that is not JSON"
            raise reloadhook.WebserverError(f"service proxy to {service}:{port} answered {status}") from exc
        if response.status != 200 and not (isinstance(answer, dict) and isinstance(answer.get("data"), dict)):
            raise reloadhook.WebserverError(f"service proxy to {service}:{port} answered HTTP {response.status}")
        return answer  # a GraphQL answer, also with Dagster's HTTP 500 for a mutation's PythonError

    return post


def live_workspace(cluster: kube.Cluster) -> Optional[set]:
    """Location names in the namespace's live workspace ConfigMap(s); None when there is none."""
    what = "read the workspace ConfigMap"
    answer = cluster.request(what, "GET", kube.namespaced(cluster.namespace, "configmaps"))
    names = None
    for item in kube.items_of(answer, what, cluster.server):
        data = item.get("data") if isinstance(item.get("data"), dict) else {}
        text = data.get(constants.WORKSPACE_KEY)
        if isinstance(text, str) and text:
            chart, ours = workspace.split_entries(text)
            names = (names or set()) | {workspace.entry_name(e) for e in chart + ours}
    return names


def ready_replicas(cluster: kube.Cluster) -> Dict[str, str]:
    """``ready/desired`` per location, from the Deployments kubectl-dagster created."""
    what = "list Deployments"
    answer = cluster.request(
        what,
        "GET",
        kube.namespaced(cluster.namespace, "deployments", group="apps/v1"),
        {"labelSelector": constants.LOCATION_LABEL},
    )
    out = {}
    for item in kube.items_of(answer, what, cluster.server):
        name = ((item.get("metadata") or {}).get("labels") or {}).get(constants.LOCATION_LABEL)
        desired = (item.get("spec") or {}).get("replicas", 1)
        ready = (item.get("status") or {}).get("readyReplicas") or 0
        out[name] = f"{ready}/{desired}"
    return out
