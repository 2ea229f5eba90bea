"""The Jobs of ``automation on --for`` in the cluster: find the ones of a location, create, replace and
delete them, and find what they need (the webserver's in-cluster URL and its Deployment: image, pull
secrets, security contexts). The Job objects themselves come from ``core/branches/automation.py``."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ..base import constants as c
from ..base import errors
from ..core.branches import automation
from ..core.chart import hook
from . import kube, run, webserver

JOBS = "batch/v1"


def expiries(cluster: kube.Cluster, location: str, needed: bool = True) -> Optional[List[automation.Expiry]]:
    """The pending Jobs that stop schedules or sensors of ``location``; None when not ``needed`` and RBAC
    does not allow listing Jobs (a read-only listing then shows no deadlines)."""
    what = "list the automation Jobs"
    path = kube.namespaced(cluster.namespace, "jobs", group=JOBS)
    selector = {"labelSelector": f"{c.EXPIRY_LABEL}={location}"}
    answer = cluster.request(what, "GET", path, selector, tolerate=() if needed else (403,))
    if isinstance(answer, kube.Refused):
        return None
    found = []
    for item in kube.items_of(answer, what, cluster.server):
        if _finished(item):
            continue
        expiry = automation.parse_expiry(item)
        if expiry is not None:
            found.append(expiry)
    return sorted(found, key=lambda e: (e.until, e.name))


def _finished(item: Dict[str, Any]) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []
    return any(x.get("type") in ("Complete", "Failed") and x.get("status") == "True" for x in conditions)


def target(cluster: kube.Cluster, service: Optional[str]) -> Tuple[str, Dict[str, Any]]:
    """(in-cluster URL of the writable webserver, its Deployment), for the Job to reach it from a pod."""
    name, port = webserver.find_service(cluster, service)
    what = "find the webserver Deployment"
    answer = cluster.request(
        what,
        "GET",
        kube.namespaced(cluster.namespace, "deployments", group="apps/v1"),
        {"labelSelector": webserver.WEBSERVER_SELECTOR},
    )
    items = kube.items_of(answer, what, cluster.server)
    chosen = next(
        (i for i in items if (i.get("metadata") or {}).get("name") == name), items[0] if len(items) == 1 else None
    )
    if chosen is None:
        raise errors.ClusterError(
            f"expected the webserver Deployment {name} ({webserver.WEBSERVER_SELECTOR}) in namespace "
            f"{cluster.namespace}",
            "pass --webserver-service NAME[:PORT] naming the writable webserver's Service",
        )
    container = ((((chosen.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [{}])[0]
    return f"http://{name}:{port}{hook.path_prefix(container)}", chosen


def create(cluster: kube.Cluster, location: str, expiry: automation.Expiry, url: str, deployment, now: float) -> str:
    """Create the Job for ``expiry``; its name."""
    body = automation.job(location, expiry, url, deployment, run.script("instigators.py"), now)
    cluster.request(
        "create the automation Job", "POST", kube.namespaced(cluster.namespace, "jobs", group=JOBS), body=body
    )
    return body["metadata"]["name"]


def delete(cluster: kube.Cluster, name: str) -> None:
    """Delete one Job and its pod (a Job already gone is fine)."""
    cluster.request(
        "delete the automation Job",
        "DELETE",
        kube.namespaced(cluster.namespace, "jobs", name, group=JOBS),
        body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        tolerate=(404,),
    )
