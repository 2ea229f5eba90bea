"""The CodeLocations format: parse, apply defaults, validate, and convert to the chart's item.

A location is a superset of one item of the Dagster chart's ``dagster-user-deployments.deployments``
list. ``chart_item`` turns it back into exactly such an item, so everything downstream (objects,
checksum) follows the chart. Pure: text in, data and problems out.
"""
from __future__ import annotations

import copy
import datetime
import re
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .. import constants, errors, naming, yamlio
from . import assetdiff

# Keys of one dagster-user-deployments.deployments[] item, as the chart reads them.
CHART_KEYS = {
    "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "port", "env", "envConfigMaps", "envSecrets",
    "resources", "labels", "annotations", "nodeSelector", "affinity", "tolerations", "podSecurityContext",
    "securityContext", "volumes", "volumeMounts", "initContainers", "sidecarContainers", "readinessProbe",
    "livenessProbe", "startupProbe", "includeConfigInLaunchedRuns", "service", "schedulerName",
    "deploymentStrategy",
}
BRANCH_KEYS = {"branch", "pullRequest", "commit"}
SOURCE_SHORTCUTS = {"pythonFile": "-f", "moduleName": "-m", "packageName": "--package-name"}
SOURCE_MODIFIERS = {"workingDirectory": "-d", "attribute": "-a"}
BASE_KEYS = {"base", "baseSnapshot"}  # change tracking: the location a branch derives from, and its snapshot
EXTRA_KEYS = (BRANCH_KEYS | BASE_KEYS | {"expiresAt", "patches", "includeInstance"} | set(SOURCE_SHORTCUTS)
              | set(SOURCE_MODIFIERS))
LOCATION_KEYS = CHART_KEYS | EXTRA_KEYS
SUBKEYS = {
    "image": {"repository", "tag", "digest", "pullPolicy"},
    "includeConfigInLaunchedRuns": {"enabled"},
    "service": {"annotations"},
}
PULL_POLICIES = constants.PULL_POLICIES
DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")  # OCI image-spec digest
PATCH_KINDS = ("Deployment", "Service", "ConfigMap")
MAPPING_KEYS = ("resources", "nodeSelector", "affinity", "podSecurityContext", "securityContext",
                "deploymentStrategy", "readinessProbe", "livenessProbe", "startupProbe")
LIST_KEYS = ("tolerations", "volumes", "volumeMounts", "initContainers", "sidecarContainers")


class Location(NamedTuple):
    """One validated location: ``spec`` has defaults applied and ``name`` resolved."""

    name: str
    spec: Dict[str, Any]
    file: str = "<input>"
    path: Tuple[Any, ...] = ()  # where the entry sits in its file, for line numbers
    doc: int = 0

    @property
    def branch(self) -> Optional[str]:
        return self.spec.get("branch")


class Parsed:
    __slots__ = ("locations", "problems")

    def __init__(self) -> None:
        self.locations: List[Location] = []
        self.problems: List[errors.Problem] = []


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else (lists included) in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def is_document(data: Any) -> bool:
    return isinstance(data, dict) and ("apiVersion" in data or "kind" in data)


def parse_documents(docs: Sequence[Any], filename: str, dir_defaults: Optional[dict] = None) -> Parsed:
    """Turn the YAML documents of one file into locations (``docs`` as loaded by a safe loader)."""
    out = Parsed()
    for index, data in enumerate(docs):
        if data is None:
            continue
        problem = _problem_factory(filename, index, out.problems)
        if is_document(data):
            _parse_codelocations(data, problem, out, filename, index)
        elif isinstance(data, dict):  # a bare location, one per file in a directory
            spec = deep_merge(dir_defaults or {}, data)
            _add(out, spec, filename, (), index, problem)
        else:
            problem((), None, f"expected a mapping (kind: {constants.KIND}, or one location), got {type(data).__name__}")
    return out


def _problem_factory(filename: str, doc: int, sink: List[errors.Problem]):
    def problem(path: tuple, location: Optional[str], message: str) -> None:
        sink.append(errors.Problem(filename, None, location, message, (doc,) + tuple(path)))
    return problem


def _parse_codelocations(data: dict, problem, out: Parsed, filename: str, index: int) -> None:
    if data.get("apiVersion") != constants.API_VERSION or data.get("kind") != constants.KIND:
        problem(("apiVersion",), None, f"expected apiVersion: {constants.API_VERSION} and kind: {constants.KIND}, "
                f"got {data.get('apiVersion')!r}/{data.get('kind')!r}")
        return
    for key in sorted(set(data) - {"apiVersion", "kind", "metadata", "defaults", "locations"}):
        problem((key,), None, f"unknown key {key!r} (expected defaults, locations)")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problem(("defaults",), None, "defaults must be a mapping")
        defaults = {}
    for key in sorted({"name", "branch"} & set(defaults)):
        problem(("defaults", key), None, f"{key!r} cannot be a default: it must differ per location")
    items = data.get("locations") or []
    if not isinstance(items, list):
        problem(("locations",), None, "locations must be a list")
        return
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            problem(("locations", position), None, "a location must be a mapping")
            continue
        _add(out, deep_merge(defaults, item), filename, ("locations", position), index, problem)


def _add(out: Parsed, spec: dict, filename: str, path: tuple, index: int, problem) -> None:
    name = resolve_name(spec)
    before = len(out.problems)
    for sub_path, message in check(spec):
        problem(path + sub_path, name or None, message)
    if len(out.problems) == before and name:
        out.locations.append(Location(name, spec, filename, path, index))


def resolve_name(spec: dict) -> str:
    """The explicit ``name``, else the slug of ``branch``."""
    name = spec.get("name")
    if name is None and isinstance(spec.get("branch"), str):
        return naming.location_slug(spec["branch"])
    return name if isinstance(name, str) else ""


def check(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """Every problem of one location, as (key path, message)."""
    for key in sorted(set(spec) - LOCATION_KEYS):
        yield (key,), f"unknown key {key!r}"
    for key, allowed in SUBKEYS.items():
        value = spec.get(key)
        if value is not None and not isinstance(value, dict):
            yield (key,), f"{key} must be a mapping"
        elif isinstance(value, dict):
            for sub in sorted(set(value) - allowed):
                yield (key, sub), f"unknown key {key}.{sub} (expected {', '.join(sorted(allowed))})"
    yield from _check_name(spec)
    yield from _check_image(spec.get("image"))
    yield from _check_source(spec)
    port = spec.get("port", constants.FIRST_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        yield ("port",), f"port must be an integer from 1 to 65535, got {port!r}"
    yield from _check_env(spec)
    for key in ("labels", "annotations"):
        value = spec.get(key)
        if value is not None and not isinstance(value, dict):
            yield (key,), f"{key} must be a mapping"
    for key, value in (spec.get("labels") or {}).items() if isinstance(spec.get("labels"), dict) else ():
        if not naming.is_label_key(key) or not naming.is_label_value(value):
            yield ("labels", key), f"label {key}: {value!r} is not a valid Kubernetes label"
    for key in MAPPING_KEYS:
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            yield (key,), f"{key} must be a mapping"
    for key in LIST_KEYS:
        if spec.get(key) is not None and not isinstance(spec[key], list):
            yield (key,), f"{key} must be a list"
    if spec.get("includeInstance") is not None and not isinstance(spec["includeInstance"], bool):
        yield ("includeInstance",), "includeInstance must be true or false"
    yield from _check_expiry(spec)
    yield from _check_patches(spec.get("patches"))
    for key in BRANCH_KEYS:
        value = spec.get(key)
        if value is not None and not isinstance(value, (str, int)):
            yield (key,), f"{key} must be a string"
    yield from _check_base(spec)


def _check_base(spec: dict) -> Iterable[Tuple[tuple, str]]:
    base = spec.get("base")
    if base is not None and (not isinstance(base, str) or not base):
        yield ("base",), "base must be the name of a location"
    elif base is not None and base == resolve_name(spec):
        yield ("base",), f"base {base!r} is the location itself; name the permanent location it derives from"
    if spec.get("baseSnapshot") is not None:
        yield from assetdiff.check_snapshot(spec["baseSnapshot"])


def _check_name(spec: dict) -> Iterable[Tuple[tuple, str]]:
    name = spec.get("name")
    if name is None and spec.get("branch") is None:
        yield (), "a location needs a name or a branch"
    elif name is not None and not naming.is_dns1035(name):
        yield ("name",), (f"name {name!r} is not a DNS-1035 label (lowercase letters, digits and '-', starting "
                          f"with a letter, at most 63 characters): the chart names the Service after it")
    elif name is None and not resolve_name(spec):
        yield ("branch",), f"branch {spec['branch']!r} leaves no usable name; set name"


def _check_image(image: Any) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(image, dict) or not image.get("repository"):
        yield ("image",), "image.repository is required"
        return
    if not isinstance(image["repository"], str):
        yield ("image", "repository"), "image.repository must be a string"
    digest = image.get("digest")
    if digest is not None and (not isinstance(digest, str) or not DIGEST.fullmatch(digest)):
        yield ("image", "digest"), f"image.digest must look like sha256:<64 hex digits>, got {digest!r}"
    policy = image.get("pullPolicy")
    if policy is not None and policy not in PULL_POLICIES:
        yield ("image", "pullPolicy"), f"image.pullPolicy must be one of {', '.join(PULL_POLICIES)}, got {policy!r}"


def _check_source(spec: dict) -> Iterable[Tuple[tuple, str]]:
    sources = [key for key in ("dagsterApiGrpcArgs", "codeServerArgs", *SOURCE_SHORTCUTS) if spec.get(key)]
    if len(sources) > 1:
        yield (sources[1],), f"two code sources ({' and '.join(sources)}); keep one"
    elif not sources:
        yield (), "no code source: set one of pythonFile, moduleName, packageName, dagsterApiGrpcArgs, codeServerArgs"
    modifiers = [key for key in SOURCE_MODIFIERS if spec.get(key) is not None]
    if modifiers and sources and sources[0] not in SOURCE_SHORTCUTS:
        yield (modifiers[0],), f"{modifiers[0]} only goes with pythonFile, moduleName or packageName; put it in {sources[0]}"
    for key in ("dagsterApiGrpcArgs", "codeServerArgs"):
        args = spec.get(key)
        if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
            yield (key,), f"{key} must be a list of strings"
    for key in (*SOURCE_SHORTCUTS, *SOURCE_MODIFIERS):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            yield (key,), f"{key} must be a string"


def _check_env(spec: dict) -> Iterable[Tuple[tuple, str]]:
    env = spec.get("env")
    if isinstance(env, list):
        for position, item in enumerate(env):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                yield ("env", position), "each env item needs a name (as in a container's env)"
    elif env is not None and not isinstance(env, dict):
        yield ("env",), "env must be a list of {name, value} or a mapping of names to values"
    for key in ("envConfigMaps", "envSecrets"):
        value = spec.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            yield (key,), f"{key} must be a list"
            continue
        for position, item in enumerate(value):
            if not (isinstance(item, str) or (isinstance(item, dict) and isinstance(item.get("name"), str))):
                yield (key, position), f"each {key} item needs a name"


def _check_expiry(spec: dict) -> Iterable[Tuple[tuple, str]]:
    value = spec.get("expiresAt")
    if value is None or isinstance(value, datetime.datetime):
        return
    if not isinstance(value, str) or parse_time(value) is None:
        yield ("expiresAt",), f"expiresAt must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got {value!r}"


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


def _check_patches(patches: Any) -> Iterable[Tuple[tuple, str]]:
    if patches is None:
        return
    if not isinstance(patches, list):
        yield ("patches",), "patches must be a list of {kind, patch}"
        return
    for position, item in enumerate(patches):
        if not isinstance(item, dict) or set(item) - {"kind", "patch"}:
            yield ("patches", position), "each patch needs exactly kind and patch"
        elif item.get("kind") not in PATCH_KINDS:
            yield ("patches", position, "kind"), f"patch kind must be one of {', '.join(PATCH_KINDS)}, got {item.get('kind')!r}"
        elif not isinstance(item.get("patch"), list) or not all(isinstance(op, dict) and "op" in op for op in item["patch"]):
            yield ("patches", position, "patch"), "patch must be a list of RFC 6902 operations ({op, path, value})"


def check_unique(locations: Sequence[Location]) -> List[errors.Problem]:
    """Two entries with one name (from two files, or two branches with one slug) are an error."""
    seen: Dict[str, Location] = {}
    problems = []
    for location in locations:
        first = seen.setdefault(location.name, location)
        if first is not location:
            origin = f" (from branch {location.branch!r})" if location.branch else ""
            first_origin = f" from branch {first.branch!r}" if first.branch else ""
            problems.append(errors.Problem(
                location.file, None, location.name,
                f"duplicate name{origin}: already defined in {first.file}{first_origin}; set a distinct name",
                (location.doc,) + location.path))
    return problems


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


def chart_item(location: Location) -> Dict[str, Any]:
    """The location as a dagster-user-deployments.deployments[] item (what the chart would be given)."""
    spec = location.spec
    item = {key: copy.deepcopy(value) for key, value in spec.items() if key in CHART_KEYS}
    for key in ("dagsterApiGrpcArgs", "codeServerArgs"):
        item.pop(key, None)
    key, args = code_args(spec)
    item[key] = args
    item["name"] = location.name
    item.setdefault("port", constants.FIRST_PORT)
    for key in ("envConfigMaps", "envSecrets"):
        if key in item:
            item[key] = [{"name": entry} if isinstance(entry, str) else entry for entry in item[key]]
    return item
