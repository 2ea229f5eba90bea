"""What every location's objects take from the release (Base): read off a user-code Deployment the chart rendered
(service account, pull secrets, shared env, instance mounts, container context), else the chart's defaults."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ...base import constants as c
from ...base import errors
from . import release as rel

RELEASE_ENV = ("DAGSTER_PG_PASSWORD",)


RELEASE_VOLUMES = ("dagster-instance",)


CONTEXT_RELEASE_KEYS = ("namespace", "service_account_name", "image_pull_secrets", "run_k8s_config")


AUTOMOUNT_SINCE = (1, 7)  # run_k8s_config mounts the service account token: dagster PR #19716


class Base(NamedTuple):
    """Release-wide settings every generated location shares (read, never modified)."""

    release: str
    fullname: str  # the user-code chart's fullname, prefix of Deployment and ConfigMap names
    chart_version: str
    app_version: str
    namespace: Optional[str]
    service_account: str
    image_pull_secrets: List[Any] = []
    release_env: List[Dict[str, Any]] = []
    shared_env: Optional[str] = None
    trailing_env_from: List[Dict[str, Any]] = []  # celery secret (optional)
    volumes: List[Dict[str, Any]] = []
    volume_mounts: List[Dict[str, Any]] = []
    context: Dict[str, Any] = {}  # release-wide keys of the container context (never modified)
    source_prefix: str = c.USER_CHART_NAME  # "<chart path>" for the filename annotation
    app_name: str = c.USER_CHART_NAME  # the chart's dagster.name: its name, or its nameOverride
    instance_volume: Optional[Dict[str, Any]] = None  # the system chart's instance ConfigMap volume and mount
    instance_mount: Optional[Dict[str, Any]] = None

    @property
    def chart_label(self) -> str:
        return f"{c.USER_CHART_NAME}-{self.chart_version}"

    def version_at_least(self, *wanted: int) -> bool:
        parts = []
        for piece in self.chart_version.split("."):
            digits = "".join(ch for ch in piece if ch.isdigit())
            parts.append(int(digits) if digits else 0)
        return tuple(parts[: len(wanted)]) >= wanted


def base_from(release: rel.Release, namespace: Optional[str]) -> Base:
    """The release-wide settings: off a chart-rendered user-code Deployment, else the chart's defaults."""
    version = release.chart_version or "0.0.0"
    fullname = rel.user_fullname(release)
    template = release.template()
    if template is not None:
        return _base_from_template(release, template, fullname, version, namespace)
    return _base_from_defaults(release, fullname, version, namespace)


def _pod(doc) -> Dict[str, Any]:
    return ((doc.data.get("spec") or {}).get("template") or {}).get("spec") or {}


def _instance(release: rel.Release) -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """The instance ConfigMap volume and its mount, as the webserver (or the daemon) has them."""
    for doc in (release.webserver, release.daemon):
        if doc is None:
            continue
        pod = _pod(doc)
        volume = next((v for v in pod.get("volumes") or [] if v.get("name") in RELEASE_VOLUMES), None)
        for container in pod.get("containers") or []:
            mount = next((m for m in container.get("volumeMounts") or [] if m.get("name") in RELEASE_VOLUMES), None)
            if volume is not None and mount is not None:
                return copy.deepcopy(volume), copy.deepcopy(mount)
    return None, None


def _base_from_template(release, template, fullname, version, namespace) -> Base:
    pod = _pod(template)
    container = (pod.get("containers") or [{}])[0]
    k8s = _release_context(container)
    env_from = container.get("envFrom") or []
    shared = [e for e in env_from if str((e.get("configMapRef") or {}).get("name", "")).endswith(rel.SHARED_ENV_SUFFIX)]
    source = template.annotations().get(c.HELM4_FILENAME_ANNOTATION) or template.source or ""
    instance_volume, instance_mount = _instance(release)
    return Base(
        release=release.name,
        fullname=fullname,
        chart_version=version,
        app_version=str(template.labels().get(c.LABEL_VERSION, version)),
        namespace=namespace or k8s.get("namespace"),
        service_account=str(pod.get("serviceAccountName") or f"{fullname}-user-deployments"),
        image_pull_secrets=copy.deepcopy(pod.get("imagePullSecrets") or []),
        release_env=[copy.deepcopy(e) for e in container.get("env") or [] if e.get("name") in RELEASE_ENV],
        shared_env=shared[0]["configMapRef"]["name"] if shared else f"{fullname}{rel.SHARED_ENV_SUFFIX}",
        trailing_env_from=[copy.deepcopy(e) for e in env_from if (e.get("secretRef") or {}).get("optional") is True],
        volumes=[copy.deepcopy(v) for v in pod.get("volumes") or [] if v.get("name") in RELEASE_VOLUMES],
        volume_mounts=[
            copy.deepcopy(m) for m in container.get("volumeMounts") or [] if m.get("name") in RELEASE_VOLUMES
        ],
        context=k8s,
        source_prefix=_chart_path(source, c.USER_CHART_NAME),
        app_name=release.user.app_name,
        instance_volume=instance_volume,
        instance_mount=instance_mount,
    )


def _release_context(container: Dict[str, Any]) -> Dict[str, Any]:
    """The release-wide part of a chart-rendered location's container context (its own parts dropped)."""
    context = rel.context_env(container) or {}
    k8s = {k: copy.deepcopy(v) for k, v in (context.get("k8s") or {}).items() if k in CONTEXT_RELEASE_KEYS}
    run_config = k8s.get("run_k8s_config")
    if isinstance(run_config, dict):
        run_config.pop("pod_template_spec_metadata", None)  # that location's own annotations
        pod_config = run_config.get("pod_spec_config")
        if isinstance(pod_config, dict):
            for key in ("containers", "init_containers"):
                pod_config.pop(key, None)  # that location's own sidecars and init containers
    return k8s


def _base_from_defaults(release, fullname, version, namespace) -> Base:
    """No user-code Deployment in the stream. The user-code chart may still be part of the release
    (``deployments: []``: its shared env ConfigMap, ServiceAccount, Role and RoleBinding show its names
    and labels), or the release is the system chart alone. Either way the chart's defaults apply,
    completed with what the webserver runs with: pull secrets and the PostgreSQL password secret."""
    pod = _pod(release.webserver) if release.webserver is not None else {}
    container = (pod.get("containers") or [{}])[0]
    ns = namespace or release.namespace_hint
    if ns is None:
        raise errors.InputError(
            "cannot tell the release namespace from the input (no user-code objects in it)",
            "pass --namespace NAMESPACE",
        )
    user = release.user
    service_account = _default_account(release, fullname, pod)
    pull_secrets = copy.deepcopy(pod.get("imagePullSecrets") or [])
    context = _default_context(ns, service_account, pull_secrets, version)
    source = (
        _source_of(user.documents() if user is not None else [])
        or release.workspace.annotations().get(c.HELM4_FILENAME_ANNOTATION)
        or release.workspace.source
        or ""
    )
    shared = user.shared_env.name if user is not None and user.shared_env is not None else None
    instance_volume, instance_mount = _instance(release)
    return Base(
        release=release.name,
        fullname=fullname,
        chart_version=version,
        app_version=(user.label(c.LABEL_VERSION) if user is not None else None) or version,
        namespace=ns,
        service_account=service_account,
        image_pull_secrets=pull_secrets,
        release_env=[copy.deepcopy(e) for e in container.get("env") or [] if e.get("name") in RELEASE_ENV],
        shared_env=str(shared or f"{fullname}{rel.SHARED_ENV_SUFFIX}"),
        trailing_env_from=[{"secretRef": {"name": c.DEFAULT_CELERY_SECRET, "optional": True}}],
        context=context,
        source_prefix=_chart_path(source, "dagster"),
        app_name=user.app_name if user is not None else c.USER_CHART_NAME,
        instance_volume=instance_volume,
        instance_mount=instance_mount,
    )


def _default_account(release, fullname: str, pod: Dict[str, Any]) -> str:
    """The subchart's default account name; with the system chart alone, the account the webserver runs as."""
    user = release.user
    account = user.service_account if user is not None else None
    if account is None:
        account = f"{fullname}-user-deployments" if user is not None else pod.get("serviceAccountName")
    return str(account or f"{fullname}-user-deployments")


def _default_context(namespace: str, account: str, pull_secrets: List[Any], version: str) -> Dict[str, Any]:
    context: Dict[str, Any] = {"namespace": namespace, "service_account_name": account}
    if pull_secrets:
        context["image_pull_secrets"] = copy.deepcopy(pull_secrets)
    if _at_least(version, *AUTOMOUNT_SINCE):
        context["run_k8s_config"] = {"pod_spec_config": {"automount_service_account_token": True}}
    return context


def _source_of(docs) -> str:
    for doc in docs:
        source = doc.annotations().get(c.HELM4_FILENAME_ANNOTATION) or doc.source
        if source:
            return str(source)
    return ""


def _chart_path(source: str, default: str) -> str:
    """``dagster/charts/dagster-user-deployments`` from ``…/templates/<file>``: where our documents claim
    to come from."""
    return source.split("/templates/")[0] if "/templates/" in source else default


def _at_least(version: str, *wanted: int) -> bool:
    return Base("", "", version, version, None, "").version_at_least(*wanted)
