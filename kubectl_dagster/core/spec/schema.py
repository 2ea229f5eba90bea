"""The CodeLocations format's vocabulary: which keys a location may have, its name, its times, its code's arguments.
Pure data and small functions that the parser, the checks and the renderer share."""

from __future__ import annotations

import datetime
import re
from typing import Any, List, Optional, Tuple

from ...base import constants, naming

# Keys of one dagster-user-deployments.deployments[] item, as the chart reads them.
CHART_KEYS = {
    "name",
    "image",
    "dagsterApiGrpcArgs",
    "codeServerArgs",
    "port",
    "env",
    "envConfigMaps",
    "envSecrets",
    "resources",
    "labels",
    "annotations",
    "nodeSelector",
    "affinity",
    "tolerations",
    "podSecurityContext",
    "securityContext",
    "volumes",
    "volumeMounts",
    "initContainers",
    "sidecarContainers",
    "readinessProbe",
    "livenessProbe",
    "startupProbe",
    "includeConfigInLaunchedRuns",
    "service",
    "schedulerName",
    "deploymentStrategy",
}


BRANCH_KEYS = {"branch", "pullRequest", "commit"}


SOURCE_SHORTCUTS = {"pythonFile": "-f", "moduleName": "-m", "packageName": "--package-name"}


SOURCE_MODIFIERS = {"workingDirectory": "-d", "attribute": "-a"}


BASE_KEYS = {"base", "baseSnapshot"}  # change tracking: the location a branch derives from, and its snapshot


# kubectl dagster suspend/resume; which branch env vars (chart/branchenv); a branch's automation (chart/branchhold)
LIFECYCLE_KEYS = {"suspended", "branchEnv", "automation"}


EXTRA_KEYS = (
    BRANCH_KEYS
    | BASE_KEYS
    | LIFECYCLE_KEYS
    | {"expiresAt", "patches", "includeInstance"}
    | set(SOURCE_SHORTCUTS)
    | set(SOURCE_MODIFIERS)
)


LOCATION_KEYS = CHART_KEYS | EXTRA_KEYS


SUBKEYS = {
    "image": {"repository", "tag", "digest", "pullPolicy"},
    "includeConfigInLaunchedRuns": {"enabled"},
    "service": {"annotations"},
}


PULL_POLICIES = constants.PULL_POLICIES


DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")  # OCI image-spec digest


PATCH_KINDS = ("Deployment", "Service", "ConfigMap")


MAPPING_KEYS = (
    "resources",
    "nodeSelector",
    "affinity",
    "podSecurityContext",
    "securityContext",
    "deploymentStrategy",
    "readinessProbe",
    "livenessProbe",
    "startupProbe",
)


ENV_ITEM_KEYS = {"name", "value", "valueFrom"}


LIST_KEYS = ("tolerations", "volumes", "volumeMounts", "initContainers", "sidecarContainers")


def resolve_name(spec: dict) -> str:
    """The explicit ``name``, else the slug of ``branch``."""
    name = spec.get("name")
    if name is None and isinstance(spec.get("branch"), str):
        return naming.location_slug(spec["branch"])
    return name if isinstance(name, str) else ""


def is_suspended(spec: dict) -> bool:
    """``kubectl dagster suspend``: no replicas and out of the workspace; the entry and its TTL stay."""
    return spec.get("suspended") is True


def parse_time(value: Any) -> Optional[datetime.datetime]:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def format_time(value: Any) -> str:
    parsed = parse_time(value)
    return parsed.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else str(value)


def code_args(spec: dict) -> Tuple[str, List[str]]:
    """('dagsterApiGrpcArgs' | 'codeServerArgs', args), the shortcuts turned into dagster CLI flags."""
    for key in ("dagsterApiGrpcArgs", "codeServerArgs"):
        if spec.get(key):
            return key, list(spec[key])
    args: List[str] = []
    for key, flag in {**SOURCE_SHORTCUTS, **SOURCE_MODIFIERS}.items():
        if spec.get(key) is not None:
            args += [flag, spec[key]]
    return "dagsterApiGrpcArgs", args
