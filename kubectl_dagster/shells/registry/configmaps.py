"""The cluster registry: one ConfigMap per location, ``dagster-location-<name>``, labelled
``kubectl-dagster.io/registry=code-location``, the raw entry under ``data["location.yaml"]``.

Writes are optimistic: a create fails with 409 when the name exists; an update or delete carries
the resourceVersion (and uid) it read, so a concurrent change makes it fail, and ``store.mutate``
reads again. Adding different locations never touches the same object, so it never contends.
Registry ConfigMaps are untrusted input: their YAML is read with bounded size and expansion, and one that cannot
be read is an entry with a ``problem`` (shown, left out of renders), never an error for the whole registry.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from ... import __version__
from ...base import constants as c
from ...base import errors, yamlio
from ...core.chart import workspace
from ...core.registry import entries
from ...core.spec import schema
from .. import kube
from . import store

MAX_ENTRY_BYTES = 256 * 1024  # a location's YAML; a ConfigMap holds at most 1 MiB anyway


def configmap_name(location: str) -> str:
    return c.REGISTRY_CONFIGMAP_PREFIX + location


def to_configmap(name: str, spec: Dict[str, Any], namespace: str, version: Optional[str] = None) -> Dict[str, Any]:
    metadata: Dict[str, Any] = {
        "name": configmap_name(name),
        "namespace": namespace,
        "labels": {c.REGISTRY_LABEL: c.REGISTRY_VALUE, c.LOCATION_LABEL: name, c.LABEL_MANAGED_BY: c.MANAGED_BY},
        "annotations": {
            c.ENTRY_FORMAT_ANNOTATION: str(c.ENTRY_FORMAT),
            c.WRITTEN_BY_ANNOTATION: f"kubectl-dagster {__version__}",
        },
    }
    if version is not None:
        metadata["resourceVersion"] = version
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {c.REGISTRY_DATA_KEY: yamlio.dump(spec)},
    }


def from_configmap(obj: Dict[str, Any]) -> entries.Entry:
    """An entry from a ConfigMap as the API returns it. One that holds no usable location (no data, not YAML,
    a newer format) comes back with ``problem`` set (and what could be read of its spec): listed, and left out
    of renders."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    name = str(labels.get(c.LOCATION_LABEL) or str(metadata.get("name", ""))[len(c.REGISTRY_CONFIGMAP_PREFIX) :])
    stamp = metadata.get("creationTimestamp")
    where = f"configmap/{metadata.get('name')}"
    problem = entries.format_problem(annotations)  # a newer format is still read, for listing (never rendered)
    spec: Dict[str, Any] = {}
    try:
        spec = _load_spec(data.get(c.REGISTRY_DATA_KEY), where)
    except errors.Error as exc:
        problem = problem or exc.message
    return entries.Entry(
        name,
        spec,
        where,
        dict(spec),
        schema.parse_time(stamp) if stamp else None,
        metadata.get("resourceVersion"),
        metadata.get("uid"),
        problem,
    )


def _load_spec(text: Any, where: str) -> Dict[str, Any]:
    if not isinstance(text, str):
        raise errors.RegistryError(f"it has no data[{c.REGISTRY_DATA_KEY!r}]")
    if len(text) > MAX_ENTRY_BYTES:
        raise errors.RegistryError(f"its {c.REGISTRY_DATA_KEY} is larger than {MAX_ENTRY_BYTES} bytes")
    try:
        spec = yamlio.load_untrusted(text, f"{where} {c.REGISTRY_DATA_KEY}")
    except errors.Error as exc:
        raise errors.RegistryError(exc.message) from exc
    if not isinstance(spec, dict):
        raise errors.RegistryError(f"its {c.REGISTRY_DATA_KEY} does not hold a location mapping")
    return spec


class ConfigMapStore:
    kind = "cluster"
    attempts = 30  # per write, on 409 Conflict; each retry re-reads and recomputes

    def __init__(self, cluster: kube.Cluster, live_namespace: Optional[str] = None):
        self.cluster = cluster
        self.live_namespace = live_namespace  # the Dagster namespace, when the registry has one of its own

    def describe(self) -> str:
        return f"namespace {self.cluster.namespace}"

    def _path(self, name: Optional[str] = None) -> str:
        return kube.namespaced(self.cluster.namespace, "configmaps", configmap_name(name) if name else None)

    def entries(self) -> List[entries.Entry]:
        answer = self.cluster.request("list locations", "GET", self._path(), {"labelSelector": c.REGISTRY_SELECTOR})
        found = [from_configmap(item) for item in kube.items_of(answer, "list locations", self.cluster.server)]
        return sorted(found, key=lambda e: e.name)

    def configmaps(self, namespace: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every ConfigMap of the namespace (default: the registry's), as the API returns them."""
        path = kube.namespaced(namespace or self.cluster.namespace, "configmaps")
        answer = self.cluster.request("list configmaps", "GET", path)
        return kube.items_of(answer, "list configmaps", self.cluster.server)

    def reserved_ports(self) -> Set[int]:
        """3030 and the ports the live workspace ConfigMap(s) use (best effort: a writer with no rights in the
        Dagster namespace gets 3030 alone)."""
        ports = {c.FIRST_PORT}
        try:
            items = self.configmaps(self.live_namespace)
        except errors.UnreachableError:
            raise  # a server that does not answer is not asked again
        except errors.Error:
            return ports
        for item in items:
            text = (item.get("data") or {}).get(c.WORKSPACE_KEY) if isinstance(item.get("data"), dict) else None
            if isinstance(text, str):
                ports |= set(workspace.ports_of(text))
        return ports

    locked = staticmethod(store.no_lock)

    def snapshot(self, name: str) -> entries.Snapshot:
        raw = self.cluster.request(f"read location {name}", "GET", self._path(name), tolerate=(404,))
        old = None if isinstance(raw, kube.Refused) else from_configmap(raw)
        source = f"configmap/{configmap_name(name)}"
        return entries.Snapshot(old, self.entries(), {}, source, source, token=name)

    def write(self, snap: entries.Snapshot, spec: Optional[Dict[str, Any]], server_dry_run: bool) -> None:
        """One write. 409 (changed or created meanwhile) and a 404 on update or delete (deleted
        meanwhile) raise store.Retry, so mutate recomputes from a fresh read."""
        cluster, old, name = self.cluster, snap.old, snap.token
        query = {"dryRun": "All"} if server_dry_run else None
        if old is None:
            result = cluster.request(
                f"create location {name}",
                "POST",
                self._path(),
                query,
                to_configmap(name, spec, cluster.namespace),
                tolerate=(409,),
            )
        elif spec is None:
            body = {
                "kind": "DeleteOptions",
                "apiVersion": "v1",
                "preconditions": {"resourceVersion": old.version, "uid": old.uid},
            }
            if server_dry_run:
                body["dryRun"] = ["All"]
            result = cluster.request(
                f"delete location {name}", "DELETE", self._path(name), body=body, tolerate=(404, 409)
            )
        else:
            result = cluster.request(
                f"update location {name}",
                "PUT",
                self._path(name),
                query,
                to_configmap(name, spec, cluster.namespace, old.version),
                tolerate=(404, 409),
            )
        if isinstance(result, kube.Refused):
            raise store.Retry(result.message)
