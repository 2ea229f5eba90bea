"""The ``LocationPolicy`` document (apiVersion kubectl-dagster/v1alpha1): what the platform lets registry entries
run. Absent keys leave that aspect open; with no document at all, :data:`DEFAULT` applies (Pod Security baseline,
patches allowed, any image, Secret and ConfigMap). Pure: parsed YAML in, a :class:`Policy` or problems out.

    apiVersion: kubectl-dagster/v1alpha1
    kind: LocationPolicy
    podSecurity: restricted                 # privileged, baseline (the default) or restricted
    allowedImages: [ghcr.io/acme/]          # prefixes
    allowedSecrets: [dagster-pg, team-*]    # names; a trailing * makes a prefix
    allowedConfigMaps: [team-*]
    maxResources: {cpu: "2", memory: 4Gi}   # per location: the pod's requests and limits, summed
    maxLocations: 40                        # registry locations in one render
    patches:
      allowed: true
      paths: [{kind: Deployment, path: /spec/template/metadata/annotations}]
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Tuple

from ...base import constants, errors, k8s
from ..spec import schema
from . import podsecurity

KIND = constants.POLICY_KIND
KEYS = (
    "apiVersion",
    "kind",
    "metadata",
    "podSecurity",
    "allowedImages",
    "allowedSecrets",
    "allowedConfigMaps",
    "maxResources",
    "maxLocations",
    "patches",
)


class Policy(NamedTuple):
    """A parsed LocationPolicy; ``None`` for a list means "any"."""

    pod_security: str = "baseline"
    allowed_images: Optional[Tuple[str, ...]] = None
    allowed_secrets: Optional[Tuple[str, ...]] = None
    allowed_config_maps: Optional[Tuple[str, ...]] = None
    max_resources: Tuple[Tuple[str, str, Fraction], ...] = ()  # (resource, as written, amount)
    max_locations: Optional[int] = None
    patches_allowed: bool = True
    patch_paths: Optional[Tuple[Tuple[str, str], ...]] = None  # (kind, JSON pointer prefix)
    source: str = "the default policy"


DEFAULT = Policy()


def parse(data: Any, source: str) -> Policy:
    """The policy in ``data`` (one YAML document); an invalid one raises InputError naming the first problem."""
    problems = list(check(data))
    if problems:
        path, message = problems[0]
        where = ".".join(str(part) for part in path)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise errors.InputError(f"{source}: {where + ': ' if where else ''}{message}{more}", f"fix the {KIND} document")
    return _build(data, source)


def check(data: Any) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(data, dict) or data.get("apiVersion") != constants.API_VERSION or data.get("kind") != KIND:
        yield (), f"expected a mapping with apiVersion: {constants.API_VERSION} and kind: {KIND}"
        return
    for key in sorted(set(data) - set(KEYS), key=str):
        yield (key,), f"unknown key {errors.excerpt(key)} (expected {', '.join(KEYS[3:])})"
    if data.get("podSecurity", "baseline") not in podsecurity.LEVELS:
        yield ("podSecurity",), f"podSecurity must be one of {', '.join(podsecurity.LEVELS)}"
    for key in ("allowedImages", "allowedSecrets", "allowedConfigMaps"):
        value = data.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)):
            yield (key,), f"{key} must be a list of non-empty strings"
    yield from _check_resources(data.get("maxResources"))
    count = data.get("maxLocations")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        yield ("maxLocations",), "maxLocations must be a whole number, 0 or more"
    yield from _check_patches(data.get("patches"))


def _check_resources(value: Any) -> Iterable[Tuple[tuple, str]]:
    if value is None:
        return
    if not isinstance(value, dict):
        yield ("maxResources",), "maxResources must be a mapping such as {cpu: '2', memory: 4Gi}"
        return
    for name, amount in value.items():
        if k8s.resource_name_problem(name) or k8s.parse_quantity(amount) is None:
            yield ("maxResources", name), f"maxResources.{name} must be a resource name with a quantity (2, 500m, 4Gi)"


def _check_patches(value: Any) -> Iterable[Tuple[tuple, str]]:
    if value is None:
        return
    if not isinstance(value, dict) or set(value) - {"allowed", "paths"}:
        yield ("patches",), "patches must be a mapping with allowed and paths"
        return
    if not isinstance(value.get("allowed", True), bool):
        yield ("patches", "allowed"), "patches.allowed must be true or false"
    paths = value.get("paths")
    if paths is None:
        return
    if not isinstance(paths, list):
        yield ("patches", "paths"), "patches.paths must be a list of {kind, path}"
        return
    for position, item in enumerate(paths):
        if not _is_path(item):
            kinds = "|".join(schema.PATCH_KINDS)
            yield ("patches", "paths", position), f"each path is {{kind: {kinds}, path: /a/json/pointer}}"


def _is_path(item: Any) -> bool:
    if not isinstance(item, dict) or set(item) != {"kind", "path"}:
        return False
    return item["kind"] in schema.PATCH_KINDS and isinstance(item["path"], str) and item["path"].startswith("/")


def _build(data: Dict[str, Any], source: str) -> Policy:
    patches = data.get("patches") or {}
    paths = patches.get("paths")
    return Policy(
        pod_security=data.get("podSecurity", "baseline"),
        allowed_images=_tuple(data.get("allowedImages")),
        allowed_secrets=_tuple(data.get("allowedSecrets")),
        allowed_config_maps=_tuple(data.get("allowedConfigMaps")),
        max_resources=tuple(
            (str(name), str(amount), k8s.parse_quantity(amount))
            for name, amount in sorted((data.get("maxResources") or {}).items())
        ),
        max_locations=data.get("maxLocations"),
        patches_allowed=patches.get("allowed", True),
        patch_paths=None if paths is None else tuple((item["kind"], item["path"]) for item in paths),
        source=source,
    )


def _tuple(value: Optional[List[str]]) -> Optional[Tuple[str, ...]]:
    return None if value is None else tuple(value)


def name_allowed(name: str, patterns: Optional[Tuple[str, ...]]) -> bool:
    """``patterns`` None: any; else an exact name, or a prefix written with a trailing ``*``."""
    if patterns is None:
        return True
    return any(name == p or (p.endswith("*") and name.startswith(p[:-1])) for p in patterns)


def image_allowed(image: str, prefixes: Optional[Tuple[str, ...]]) -> bool:
    """``prefixes`` None: any. A prefix matches at a boundary of the reference: ``ghcr.io/acme`` allows
    ``ghcr.io/acme/x:1`` and ``ghcr.io/acme:1``, not ``ghcr.io/acme-other/x``; one ending in ``/``, ``:`` or
    ``@`` matches anything after it."""
    if prefixes is None:
        return True
    for prefix in prefixes:
        if image == prefix or (image.startswith(prefix) and (prefix[-1] in "/:@" or image[len(prefix)] in "/:@")):
            return True
    return False
