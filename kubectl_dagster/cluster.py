"""The cluster registry: one ConfigMap per location, through the official ``kubernetes`` client.

The client costs about 0.3 s to import, so it is imported only when a command talks to the cluster.
Writes are optimistic: create fails with 409 when the name exists; update and delete carry the
resourceVersion (and uid) they read, and on 409 the change is recomputed on a fresh read, a bounded
number of times. Adding different locations never touches the same object, so never contends.
"""
from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from . import errors, yamlio
from .core import locations as locs, entries as registry, workspace

CONFIGMAP_PREFIX = "dagster-location-"
DATA_KEY = "location.yaml"
REGISTRY_LABEL = "kubectl-dagster.io/registry"
REGISTRY_VALUE = "code-location"
NAME_LABEL = "kubectl-dagster.io/location"
SELECTOR = f"{REGISTRY_LABEL}={REGISTRY_VALUE}"
MAX_ATTEMPTS = 30  # per write, on 409 Conflict; each retry re-reads and recomputes
TIMEOUT = (5, 30)  # connect, read seconds for every request
ARGOCD_REFRESH = "argocd.argoproj.io/refresh"
SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass
class KubeFlags:
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: Optional[str] = None


class Cluster:
    """A connected API client and the namespace commands act in."""

    def __init__(self, flags: KubeFlags):
        try:
            import kubernetes  # noqa: F401  (lazy: only commands that talk to the cluster pay for it)
            from kubernetes import client, config
        except ImportError as exc:  # pragma: no cover - a broken install
            raise errors.ClusterError("the kubernetes package is not installed", "pip install kubernetes") from exc
        self.client = client
        configuration = client.Configuration()
        default_namespace = None
        kubeconfig = flags.kubeconfig or os.environ.get("KUBECONFIG")
        home_config = os.path.expanduser("~/.kube/config")
        try:
            if kubeconfig or os.path.exists(home_config) or flags.context:
                files = (kubeconfig or home_config).split(os.pathsep)[0]
                if not os.path.exists(files):
                    raise errors.ClusterError(f"kubeconfig {files} does not exist", "check --kubeconfig or KUBECONFIG")
                config.load_kube_config(config_file=files, context=flags.context, client_configuration=configuration)
                contexts, active = config.list_kube_config_contexts(config_file=files)
                chosen = next((c for c in contexts if c["name"] == flags.context), None) if flags.context else active
                default_namespace = ((chosen or {}).get("context") or {}).get("namespace")
            elif os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(client_configuration=configuration)
                default_namespace = _read(SA_NAMESPACE)
            else:
                raise errors.ClusterError("no kubeconfig found and not running in a cluster",
                                          "pass --kubeconfig, set KUBECONFIG, or run inside a pod")
        except config.ConfigException as exc:
            raise errors.ClusterError(f"bad kubeconfig: {exc}".replace("\n", " "), "check --kubeconfig and --context") from exc
        configuration.retries = 1
        self.server = configuration.host
        self.api = client.ApiClient(configuration)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.namespace = flags.namespace or default_namespace or "default"

    def call(self, what: str, func, *args, tolerate: Tuple[int, ...] = (), **kwargs):
        """One API call; every failure becomes one ClusterError line (never a traceback).

        A status in ``tolerate`` comes back as a :class:`Refused` instead of raising.
        """
        from kubernetes.client.exceptions import ApiException
        import urllib3

        kwargs.setdefault("_request_timeout", TIMEOUT)
        try:
            return func(*args, **kwargs)
        except ApiException as exc:
            if exc.status in tolerate:
                return Refused(exc.status, _status_message(exc.body))
            raise api_error(what, exc.status, exc.body, self.namespace) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise errors.ClusterError(f"cannot reach the API server at {self.server} ({what}): {type(exc).__name__}",
                                      "check the cluster, --context and --kubeconfig") from exc


@dataclass
class Refused:
    status: int
    message: str


class Conflict(Exception):
    """A 409 on a write: the object changed (or appeared) since it was read."""


def api_error(what: str, status: int, body: Any, namespace: str) -> errors.Error:
    message = _status_message(body)
    if status == 401:
        return errors.ClusterError(f"unauthorized ({what}): {message}", "log in again or check the kubeconfig's credentials")
    if status == 403:
        return errors.ClusterError(f"forbidden ({what}): {message}",
                                   "grant the Roles printed by `kubectl dagster rbac` in namespace " + namespace)
    if status == 404 and message.startswith("namespaces ") and "not found" in message:
        return errors.ClusterError(f"namespace {namespace} not found ({what})", "pass -n/--namespace with the Dagster namespace")
    if status == 409:
        return errors.WriteConflictError(f"conflict ({what}): {message}", "retry the command")
    if status == 422:
        return errors.ClusterError(f"rejected by the API server ({what}): {message}", "fix the location spec")
    return errors.ClusterError(f"API server answered {status} ({what}): {message}", "check the cluster and retry")


def _status_message(body: Any) -> str:
    import json

    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else {}
    except ValueError:
        data = {}
    text = (data.get("message") if isinstance(data, dict) else None) or (body.decode() if isinstance(body, bytes) else str(body or ""))
    return " ".join(text.split())[:300]


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def configmap_name(location: str) -> str:
    return CONFIGMAP_PREFIX + location


def to_configmap(name: str, spec: Dict[str, Any], namespace: str, version: Optional[str] = None) -> Dict[str, Any]:
    metadata: Dict[str, Any] = {
        "name": configmap_name(name), "namespace": namespace,
        "labels": {REGISTRY_LABEL: REGISTRY_VALUE, NAME_LABEL: name, "app.kubernetes.io/managed-by": "kubectl-dagster"},
    }
    if version is not None:
        metadata["resourceVersion"] = version
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {DATA_KEY: yamlio.dump(spec)}}


def from_configmap(obj: Dict[str, Any]) -> Optional[registry.Entry]:
    """An entry from a ConfigMap as the API returns it (a plain dict); None when it holds no mapping."""
    metadata = obj.get("metadata") or {}
    text = (obj.get("data") or {}).get(DATA_KEY) or ""
    try:
        spec = yamlio.make_yaml("safe").load(text)
    except Exception:
        spec = None
    if not isinstance(spec, dict):
        return None
    name = (metadata.get("labels") or {}).get(NAME_LABEL) or str(metadata.get("name", ""))[len(CONFIGMAP_PREFIX):]
    created = locs.parse_time(metadata.get("creationTimestamp")) if metadata.get("creationTimestamp") else None
    return registry.Entry(name, spec, f"configmap/{metadata.get('name')}", dict(spec), created,
                          metadata.get("resourceVersion"), metadata.get("uid"))


class ClusterStore:
    kind = "cluster"

    def __init__(self, cluster: Cluster):
        self.cluster = cluster

    def describe(self) -> str:
        return f"namespace {self.cluster.namespace}"

    def _get_raw(self, name: str, what: str) -> Optional[Dict[str, Any]]:
        c = self.cluster
        response = c.call(what, c.core.read_namespaced_config_map, configmap_name(name), c.namespace,
                          tolerate=(404,), _preload_content=False)
        return None if isinstance(response, Refused) else json_body(response)

    def entries(self) -> List[registry.Entry]:
        c = self.cluster
        response = c.call("list locations", c.core.list_namespaced_config_map, c.namespace, label_selector=SELECTOR,
                          _preload_content=False)
        items = json_body(response).get("items") or []
        found = [from_configmap(item) for item in items]
        return sorted((e for e in found if e is not None), key=lambda e: e.name)

    def chart_ports(self) -> set:
        """Ports the live workspace ConfigMap(s) of the namespace use (best effort, for port picking)."""
        c = self.cluster
        try:
            response = c.call("list configmaps", c.core.list_namespaced_config_map, c.namespace, _preload_content=False)
        except errors.Error:
            return set()
        ports = set()
        for item in json_body(response).get("items") or []:
            text = (item.get("data") or {}).get("workspace.yaml")
            if text:
                ports |= set(workspace.ports_of(text))
        return ports

    def mutate(self, name: str, change, dry_run: str = "none") -> Tuple[Optional[registry.Entry], Optional[registry.Entry]]:
        c = self.cluster
        server_dry = {"dry_run": "All"} if dry_run == "server" else {}
        current: Optional[List[registry.Entry]] = None
        for attempt in range(MAX_ATTEMPTS):
            raw = self._get_raw(name, f"read location {name}")
            old = from_configmap(raw) if raw else None
            if current is None or old is None:
                current = self.entries()
            new_spec = change(old, current, {})
            if new_spec is None and old is None:
                return None, None
            new = None
            if new_spec is not None:
                registry.validate(name, new_spec, f"configmap/{configmap_name(name)}")
                new = registry.Entry(name, new_spec, f"configmap/{configmap_name(name)}", dict(new_spec),
                                     old.created if old else None)
                if old is not None and old.spec == new_spec:
                    return old, new
            if dry_run == "client":
                return old, new
            try:
                self._write(name, old, new_spec, server_dry)
                return old, new
            except Conflict:
                time.sleep(min(0.2, 0.01 * (attempt + 1)) * random.uniform(0.5, 1.5))  # jittered backoff
        raise errors.WriteConflictError(f"location {name} kept changing: {MAX_ATTEMPTS} attempts met a conflict",
                                   "retry the command; another writer is updating the same location")

    def _write(self, name: str, old: Optional[registry.Entry], spec: Optional[Dict[str, Any]], extra: Dict[str, Any]) -> None:
        """One write. 409 (changed or created meanwhile) and a 404 on update/delete (deleted
        meanwhile) raise Conflict, so the caller recomputes from a fresh read."""
        c = self.cluster
        if old is None:
            result = c.call(f"create location {name}", c.core.create_namespaced_config_map, c.namespace,
                            to_configmap(name, spec, c.namespace), tolerate=(409,), **extra)
        elif spec is None:
            options = c.client.V1DeleteOptions(preconditions=c.client.V1Preconditions(
                resource_version=old.version, uid=old.uid), dry_run=["All"] if extra else None)
            result = c.call(f"delete location {name}", c.core.delete_namespaced_config_map, configmap_name(name),
                            c.namespace, body=options, tolerate=(404, 409))
        else:
            result = c.call(f"update location {name}", c.core.replace_namespaced_config_map, configmap_name(name),
                            c.namespace, to_configmap(name, spec, c.namespace, old.version), tolerate=(404, 409), **extra)
        if isinstance(result, Refused):
            raise Conflict(result.message)


def json_body(response) -> Dict[str, Any]:
    import json

    data = response.data if hasattr(response, "data") else response
    return json.loads(data) if data else {}


def refresh_argocd_app(cluster: Cluster, app: str, namespace: str) -> None:
    """Ask ArgoCD for a hard refresh of one Application (it caches manifests per commit)."""
    body = {"metadata": {"annotations": {ARGOCD_REFRESH: "hard"}}}
    cluster.call(f"refresh Application {namespace}/{app}", cluster.custom.patch_namespaced_custom_object,
                 "argoproj.io", "v1alpha1", namespace, "applications", app, body,
                 _content_type="application/merge-patch+json")
