"""Find the Dagster release in a rendered stream and read the release-wide settings off it.

Nothing here assumes a release name or namespace: the workspace ConfigMap is the ConfigMap with a
``workspace.yaml`` key, the chart's user code is whatever carries the dagster-user-deployments
labels, and both are grouped by the Helm release they name in their labels.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from ...base import constants as c
from ...base import errors, naming, yamlio
from . import manifests

_KINDS = ("ConfigMap", "Deployment", "Service", "Job", "ServiceAccount", "Role", "RoleBinding")
HOOK_LABEL = c.RELOAD_HOOK_LABEL  # our reload hook Job and its RBAC (see hook.py)
SHARED_ENV_SUFFIX = "-user-deployments-shared-env"
NAME_SUFFIXES = {"Role": "-role", "RoleBinding": "-rolebinding", "ServiceAccount": "-user-deployments"}


class UserCode:
    """The chart's own dagster-user-deployments objects of one release (subchart or standalone).

    With ``deployments: []`` the chart still renders the shared env ConfigMap and, by default, a
    ServiceAccount, Role and RoleBinding: they are enough to tell that the user-code chart is part of
    the release and how it names and labels its objects (``nameOverride``, ``fullnameOverride``).
    """

    def __init__(self) -> None:
        self.deployments: Dict[str, manifests.Document] = {}  # by location name
        self.services: Dict[str, manifests.Document] = {}
        self.env_maps: Dict[str, manifests.Document] = {}  # by object name
        self.shared_env: Optional[manifests.Document] = None
        self.others: Dict[str, List[manifests.Document]] = {}  # ServiceAccount, Role, RoleBinding by kind

    def add(self, doc: manifests.Document) -> None:
        labels = doc.labels()
        location = labels.get(c.LABEL_DEPLOYMENT) if labels.get(c.LABEL_COMPONENT) == c.USER_COMPONENT else None
        if doc.kind in ("Deployment", "Service") and location:
            target = self.deployments if doc.kind == "Deployment" else self.services
            target[str(labels[c.LABEL_DEPLOYMENT])] = doc
        elif doc.kind == "ConfigMap" and str(doc.name).endswith(SHARED_ENV_SUFFIX):
            self.shared_env = doc
        elif doc.kind == "ConfigMap":
            self.env_maps[str(doc.name)] = doc
        elif doc.kind in NAME_SUFFIXES:
            self.others.setdefault(doc.kind, []).append(doc)

    def documents(self) -> List[manifests.Document]:
        """Every object of the chart's, the Deployments first (their labels are the most complete)."""
        docs = [self.deployments[name] for name in sorted(self.deployments)]
        docs += [self.services[name] for name in sorted(self.services)]
        for kind in ("ServiceAccount", "Role", "RoleBinding"):
            docs += self.others.get(kind, [])
        return docs + ([self.shared_env] if self.shared_env is not None else []) + list(self.env_maps.values())

    def label(self, *keys: str) -> Optional[str]:
        """The first of ``keys`` found on the chart's objects (new-style labels before old-style ones)."""
        for key in keys:
            for doc in self.documents():
                value = doc.labels().get(key)
                if value not in (None, ""):
                    return str(value)
        return None

    @property
    def app_name(self) -> str:
        """``dagster.name`` of the user-code chart: its chart name, or the ``nameOverride`` given to it."""
        return self.label(c.LABEL_NAME, c.LABEL_APP) or c.USER_CHART_NAME

    @property
    def service_account(self) -> Optional[str]:
        """The service account the chart gives its code servers, as its RoleBinding or ServiceAccount names it."""
        for binding in self.others.get("RoleBinding", []):
            for subject in (binding.data.get("subjects") or []) if isinstance(binding.data, dict) else []:
                if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount" and subject.get("name"):
                    return str(subject["name"])
        for account in self.others.get("ServiceAccount", []):
            return str(account.name)
        return None


def is_user_chart(labels: Dict[str, Any]) -> bool:
    """An object of the dagster-user-deployments chart: its chart label names it (name overrides leave it)."""
    chart = str(labels.get(c.LABEL_CHART) or labels.get(c.LABEL_CHART_SHORT) or "")
    return chart.startswith(c.USER_CHART_NAME + "-") or labels.get(c.LABEL_APP) == c.USER_CHART_NAME


class Release:
    """One Helm release's Dagster objects, as found in the stream."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.workspace: Optional[manifests.Document] = None
        self.rollout_targets: List[manifests.Document] = []  # mount the workspace ConfigMap
        self.user: Optional[UserCode] = None
        self.ours: List[manifests.Document] = []  # created by an earlier render
        self.system_chart: Optional[str] = None  # "dagster-1.11.10", from the workspace ConfigMap
        self.webserver: Optional[manifests.Document] = None
        self.namespace_hint: Optional[str] = None

    def describe(self) -> str:
        parts = []
        if self.workspace is not None:
            parts.append(f"ConfigMap {self.workspace.name}")
        if self.user is not None:
            parts.append(f"{len(self.user.deployments)} user-code Deployment(s)")
        return f"{self.name} ({', '.join(parts) or 'no Dagster objects'})"

    @property
    def chart_version(self) -> Optional[str]:
        label = self.user.label(c.LABEL_CHART, c.LABEL_CHART_SHORT) if self.user is not None else None
        label = label or self.system_chart
        return label.rsplit("-", 1)[-1] if label and "-" in label else None

    @property
    def daemon(self) -> Optional[manifests.Document]:
        for doc in self.rollout_targets:
            if (
                doc.labels().get(c.LABEL_COMPONENT) == c.DAEMON_COMPONENT
                or doc.labels().get(c.LABEL_DEPLOYMENT) == "daemon"
            ):
                return doc
        return None

    def template(self) -> Optional[manifests.Document]:
        """A user-code Deployment rendered by the chart, to derive release-wide settings from."""
        if self.user is None:
            return None
        for name in sorted(self.user.deployments):
            return self.user.deployments[name]
        return None


def _relevant(doc: manifests.Document) -> bool:
    return doc.kind in _KINDS and ("dagster" in doc.text or c.LOCATION_LABEL in doc.text)


def find(stream: manifests.Stream, wanted: Optional[str] = None) -> Release:
    releases: Dict[str, Release] = {}

    def get(name: str) -> Release:
        return releases.setdefault(name, Release(name))

    deployments = []
    for doc in stream.documents:
        if _relevant(doc) and isinstance(doc.data, dict):
            _sort(doc, get, deployments)
    candidates = {name: rel for name, rel in releases.items() if rel.workspace is not None or rel.user is not None}
    release = _choose(candidates, wanted)
    _attach_system(release, deployments)
    return release


def _sort(doc: manifests.Document, get, deployments: List[manifests.Document]) -> None:
    """Put one document where it belongs: our own objects, the workspace, the user-code chart, or a Deployment."""
    labels = doc.labels()
    release_name = str(labels.get(c.LABEL_INSTANCE) or labels.get(c.LABEL_RELEASE) or "")
    payload = doc.data.get("data")
    if doc.kind == "ConfigMap" and isinstance(payload, dict) and payload.get("DAGSTER_K8S_PIPELINE_RUN_NAMESPACE"):
        get(release_name).namespace_hint = str(payload["DAGSTER_K8S_PIPELINE_RUN_NAMESPACE"])
    if labels.get(c.LOCATION_LABEL) or labels.get(HOOK_LABEL):
        get(release_name).ours.append(doc)
    elif doc.kind == "ConfigMap" and c.WORKSPACE_KEY in (doc.data.get("data") or {}):
        release = get(release_name)
        if release.workspace is not None:
            raise errors.ReleaseError(
                f"release {release_name!r} has two workspace ConfigMaps ({release.workspace.name}, {doc.name})",
                "render one Dagster release at a time",
            )
        release.workspace, release.system_chart = doc, labels.get(c.LABEL_CHART_SHORT)
    elif is_user_chart(labels) or (
        labels.get(c.LABEL_COMPONENT) == c.USER_COMPONENT and labels.get(c.LABEL_DEPLOYMENT)
    ):
        if doc.kind != "Job":
            release = get(release_name)
            release.user = release.user or UserCode()
            release.user.add(doc)
    elif doc.kind == "Deployment":
        deployments.append(doc)


def _choose(candidates: Dict[str, Release], wanted: Optional[str]) -> Release:
    if wanted is not None:
        if wanted not in candidates:
            found = ", ".join(r.describe() for r in candidates.values()) or "none"
            raise errors.ReleaseError(
                f"no Dagster release named {wanted!r} in the input (found: {found})",
                "check --release against the release name given to helm",
            )
        return candidates[wanted]
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    if not candidates:
        raise errors.ReleaseError(
            "no Dagster release found in the input: no ConfigMap with workspace.yaml and no "
            "dagster-user-deployments objects",
            "pipe in the output of `helm template` for the dagster or dagster-user-deployments chart",
        )
    found = "; ".join(candidates[name].describe() for name in sorted(candidates))
    raise errors.ReleaseError(
        f"found {len(candidates)} Dagster releases in the input: {found}", "use --release NAME to choose one"
    )


def _attach_system(release: Release, deployments: List[manifests.Document]) -> None:
    """Webserver, read-only webserver and daemon: the Deployments that mount the workspace ConfigMap."""
    if release.workspace is None:
        return
    for doc in deployments:
        spec = ((doc.data.get("spec") or {}).get("template") or {}).get("spec") or {}
        mounts = {((v or {}).get("configMap") or {}).get("name") for v in spec.get("volumes") or []}
        if release.workspace.name in mounts:
            release.rollout_targets.append(doc)
            if doc.labels().get(c.LABEL_COMPONENT) == c.WEBSERVER_COMPONENT and release.webserver is None:
                release.webserver = doc


def context_env(container: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The container-context JSON the chart puts on a user-code container, parsed; an error when it
    is not a JSON object (the chart always writes ``{"k8s": {...}}``)."""
    for env in container.get("env") or []:
        if env.get("name") in (c.GRPC_CONTEXT_ENV, c.CODE_SERVER_CONTEXT_ENV) and env.get("value"):
            return _context(env["name"], env["value"])
    return None


def _context(name: str, text: str) -> Dict[str, Any]:
    try:
        data = json.loads(text)
        yamlio.check_bounds(data, len(text))
    except (ValueError, RecursionError) as exc:  # LoadError is a ValueError
        raise errors.InputError(
            f"{name} of a user-code container is not usable JSON: "
            f"{str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__}",
            "pass the output of `helm template` unchanged",
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("k8s", {}), dict):
        raise errors.InputError(
            f"{name} of a user-code container is not a JSON object with a k8s mapping",
            "pass the output of `helm template` unchanged",
        )
    return data


def user_fullname(release: Release) -> str:
    """The user-code chart's fullname (``<release>-dagster-user-deployments`` unless overridden), as the
    names of its objects show it: a Deployment, the shared env ConfigMap, the Role or RoleBinding."""
    template = release.template()
    if template is not None:
        location = template.labels().get(c.LABEL_DEPLOYMENT)
        suffix = f"-{location}"
        if str(template.name).endswith(suffix):
            return str(template.name)[: -len(suffix)]
    user = release.user
    if user is not None and user.shared_env is not None:
        return str(user.shared_env.name)[: -len(SHARED_ENV_SUFFIX)]
    for kind in ("Role", "RoleBinding"):
        for doc in user.others.get(kind, []) if user is not None else []:
            if str(doc.name).endswith(NAME_SUFFIXES[kind]):
                return str(doc.name)[: -len(NAME_SUFFIXES[kind])]
    return naming.chart_fullname(release.name, c.USER_CHART_NAME)
