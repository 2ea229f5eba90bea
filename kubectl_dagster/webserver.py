"""Reach the Dagster webserver: directly (``--webserver-url``, e.g. through a port-forward) or
through the API server's service proxy with the kubeconfig's credentials. And read the live state
``status`` shows: the workspace ConfigMap and the locations' Deployments."""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Optional, Tuple

from . import errors, reloadhook
from .core import workspace
from .cluster import json_body as cluster_json

WEBSERVER_SELECTOR = "component=dagster-webserver"  # the chart's writable webserver Service


def http(url: str) -> Callable[[str], Dict[str, Any]]:
    return reloadhook.http_transport(url)


def find_service(cluster, wanted: Optional[str]) -> Tuple[str, int]:
    """(name, port) of the webserver Service: ``NAME[:PORT]`` as given, or the one the chart labels."""
    if wanted:
        name, _, port = wanted.partition(":")
        return name, int(port) if port else 80
    c = cluster
    response = c.call("find the webserver Service", c.core.list_namespaced_service, c.namespace,
                      label_selector=WEBSERVER_SELECTOR, _preload_content=False)
    items = cluster_json(response).get("items") or []
    if len(items) != 1:
        found = ", ".join(i["metadata"]["name"] for i in items) or "none"
        raise errors.ClusterError(f"expected one webserver Service ({WEBSERVER_SELECTOR}) in namespace {c.namespace}, found {found}",
                                  "pass --webserver-service NAME[:PORT] or --webserver-url URL")
    ports = (items[0].get("spec") or {}).get("ports") or [{}]
    return items[0]["metadata"]["name"], int(ports[0].get("port") or 80)


def proxy(cluster, service: str, port: int, prefix: str = "") -> Callable[[str], Dict[str, Any]]:
    """POST GraphQL through ``/api/v1/namespaces/NS/services/NAME:PORT/proxy/graphql``."""
    path = f"/api/v1/namespaces/{cluster.namespace}/services/{service}:{port}/proxy{prefix.rstrip('/')}/graphql"
    api = cluster.api

    def post(document: str) -> Dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        body = {"query": document}
        try:
            if hasattr(api, "param_serialize"):  # kubernetes >= 34 (new generator)
                method, url, headers, body, post_params = api.param_serialize(
                    "POST", path, header_params=headers, body=body, auth_settings=["BearerToken"])
                response = api.call_api(method, url, headers, body, post_params, _request_timeout=(5, 60))
                response.read()
                status, data = response.status, response.data
            else:  # older clients
                response = api.call_api(path, "POST", header_params=headers, body=body, auth_settings=["BearerToken"],
                                        _preload_content=False, _return_http_data_only=True, _request_timeout=(5, 60))
                status, data = response.status, response.data
        except Exception as exc:  # the client raises ApiException, urllib3 errors, OSError
            status = getattr(exc, "status", None)
            raise reloadhook.WebserverError(f"service proxy to {service}:{port} failed"
                                            + (f" with HTTP {status}" if status else f": {type(exc).__name__}")) from exc
        if status != 200:
            raise reloadhook.WebserverError(f"service proxy to {service}:{port} answered HTTP {status}")
        return json.loads(data)

    return post


def live_workspace(cluster) -> Optional[set]:
    """Location names in the namespace's live workspace ConfigMap(s); None when there is none."""
    c = cluster
    response = c.call("read the workspace ConfigMap", c.core.list_namespaced_config_map, c.namespace, _preload_content=False)
    names = None
    for item in cluster_json(response).get("items") or []:
        text = (item.get("data") or {}).get("workspace.yaml")
        if text:
            chart, ours = workspace.split_entries(text)
            names = (names or set()) | {workspace.entry_name(e) for e in chart + ours}
    return names


def ready_replicas(cluster) -> Dict[str, str]:
    """``ready/desired`` per location, from the Deployments kubectl-dagster created."""
    from .constants import LOCATION_LABEL

    c = cluster
    response = c.call("list Deployments", c.apps.list_namespaced_deployment, c.namespace, label_selector=LOCATION_LABEL,
                      _preload_content=False)
    out = {}
    for item in cluster_json(response).get("items") or []:
        name = (item["metadata"].get("labels") or {}).get(LOCATION_LABEL)
        desired = (item.get("spec") or {}).get("replicas", 1)
        ready = (item.get("status") or {}).get("readyReplicas") or 0
        out[name] = f"{ready}/{desired}"
    return out
