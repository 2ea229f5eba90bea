"""The CodeLocations format: parse, apply defaults, validate, and convert to the chart's item.

Validation applies the API server's own rules (``k8s``) to everything that ends up in an object:
a location that passes renders into objects the API server accepts. ``entries.validate`` runs the
same ``check`` before a registry write, so nothing invalid is stored either.

A location is a superset of one item of the Dagster chart's ``dagster-user-deployments.deployments``
list. ``chart_item`` turns it back into exactly such an item, so everything downstream (objects,
checksum) follows the chart. Pure: text in, data and problems out.
"""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .. import constants, errors, naming
from . import assetdiff, k8s

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
LIFECYCLE_KEYS = {"suspended", "branchEnv"}  # kubectl dagster suspend/resume; which branch env vars (core/branchenv)
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


class Item(NamedTuple):
    """One entry as a file holds it: document ``doc``, item ``position`` of its ``locations``
    (None: a bare document), the entry as written, and with the document's (or directory's) defaults."""

    doc: int
    position: Optional[int]
    raw: dict
    spec: dict

    @property
    def path(self) -> tuple:
        return () if self.position is None else ("locations", self.position)


def walk(docs: Sequence[Any], dir_defaults: Optional[dict] = None, problem=None) -> Iterable[Item]:
    """Every entry of one file's documents: the one reading of the CodeLocations format, shared by
    render (``parse_documents``, strict) and the registry's text edits (``registry.fileedit``).
    ``problem(doc, path, message)`` hears about malformed structure; without it, malformed parts are
    skipped, so that a registry with one broken entry can still be listed and edited."""
    report = problem or (lambda doc, path, message: None)
    for index, data in enumerate(docs):
        if data is None:
            continue
        if is_document(data):
            yield from _walk_document(data, index, report, strict=problem is not None)
        elif isinstance(data, dict):  # a bare location, one per file in a directory
            yield Item(index, None, data, deep_merge(dir_defaults or {}, data))
        else:
            report(
                index, (), f"expected a mapping (kind: {constants.KIND}, or one location), got {type(data).__name__}"
            )


def _walk_document(data: dict, index: int, report, strict: bool) -> Iterable[Item]:
    if data.get("apiVersion") != constants.API_VERSION or data.get("kind") != constants.KIND:
        report(
            index,
            ("apiVersion",),
            f"expected apiVersion: {constants.API_VERSION} and kind: {constants.KIND}, "
            f"got {errors.excerpt(data.get('apiVersion'))}/{errors.excerpt(data.get('kind'))}",
        )
        if strict:
            return
    for key in sorted(set(data) - {"apiVersion", "kind", "metadata", "defaults", "locations"}):
        report(index, (key,), f"unknown key {errors.excerpt(key)} (expected defaults, locations)")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        report(index, ("defaults",), "defaults must be a mapping")
        defaults = {}
    for key in sorted({"name", "branch"} & set(defaults)):
        report(index, ("defaults", key), f"{errors.excerpt(key)} cannot be a default: it must differ per location")
    items = data.get("locations") or []
    if not isinstance(items, list):
        report(index, ("locations",), "locations must be a list")
        return
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            report(index, ("locations", position), "a location must be a mapping")
            continue
        yield Item(index, position, item, deep_merge(defaults, item))


def parse_documents(docs: Sequence[Any], filename: str, dir_defaults: Optional[dict] = None) -> Parsed:
    """Turn the YAML documents of one file into validated locations (``docs`` as a safe loader loads them)."""
    out = Parsed()

    def problem(doc: int, path: tuple, message: str, location: Optional[str] = None) -> None:
        out.problems.append(errors.Problem(filename, None, location, message, (doc,) + tuple(path)))

    for item in walk(docs, dir_defaults, problem):
        name = resolve_name(item.spec)
        before = len(out.problems)
        for sub_path, message in check(item.spec):
            problem(item.doc, item.path + sub_path, message, name or None)
        if len(out.problems) == before and name:
            out.locations.append(Location(name, item.spec, filename, item.path, item.doc))
    return out


def resolve_name(spec: dict) -> str:
    """The explicit ``name``, else the slug of ``branch``."""
    name = spec.get("name")
    if name is None and isinstance(spec.get("branch"), str):
        return naming.location_slug(spec["branch"])
    return name if isinstance(name, str) else ""


def check(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """Every problem of one location, as (key path, message)."""
    for key in sorted(set(spec) - LOCATION_KEYS):
        yield (key,), f"unknown key {errors.excerpt(key)}"
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
        yield ("port",), f"port must be an integer from 1 to 65535, got {errors.excerpt(port)}"
    yield from _check_env(spec)
    yield from _check_metadata(spec)
    yield from _check_resources(spec.get("resources"), ("resources",))
    yield from _check_containers(spec)
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
    yield from _check_lifecycle(spec)
    for key in BRANCH_KEYS:
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
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


def _check_lifecycle(spec: dict) -> Iterable[Tuple[tuple, str]]:
    if spec.get("suspended") is not None and not isinstance(spec["suspended"], bool):
        yield ("suspended",), "suspended must be true or false"
    if spec.get("branchEnv") is not None and spec["branchEnv"] not in constants.BRANCH_ENV_MODES:
        yield (
            ("branchEnv",),
            (f"branchEnv must be one of {', '.join(constants.BRANCH_ENV_MODES)}, got {spec['branchEnv']!r}"),
        )


def is_suspended(spec: dict) -> bool:
    """``kubectl dagster suspend``: no replicas and out of the workspace; the entry and its TTL stay."""
    return spec.get("suspended") is True


def _check_name(spec: dict) -> Iterable[Tuple[tuple, str]]:
    name = spec.get("name")
    if name is None and spec.get("branch") is None:
        yield (), "a location needs a name or a branch"
    elif name is not None and not k8s.is_dns1035_label(name):
        yield (
            ("name",),
            (
                f"name {errors.excerpt(name)} is not a DNS-1035 label (lowercase letters, digits and '-', "
                "starting with a letter, at most 63 characters): the chart names the Service after it"
            ),
        )
    elif name is None and not resolve_name(spec):
        yield ("branch",), f"branch {errors.excerpt(spec['branch'])} leaves no usable name; set name"


def _check_image(image: Any) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(image, dict) or not image.get("repository"):
        yield ("image",), "image.repository is required"
        return
    if not isinstance(image["repository"], str):
        yield ("image", "repository"), "image.repository must be a string"
    elif k8s.image_problem(image["repository"]):
        yield (
            ("image", "repository"),
            (f"image.repository {errors.excerpt(image['repository'])}: {k8s.image_problem(image['repository'])}"),
        )
    tag = image.get("tag")
    if tag not in (None, "") and (isinstance(tag, (bool, float)) or not isinstance(tag, (str, int))):
        yield (
            ("image", "tag"),
            (f'image.tag {errors.excerpt(tag)} is not a string after YAML parsing; quote it as written (tag: "1.10")'),
        )
    elif isinstance(tag, str) and tag and k8s.image_problem(tag):
        yield ("image", "tag"), f"image.tag {errors.excerpt(tag)}: {k8s.image_problem(tag)}"
    digest = image.get("digest")
    if digest is not None and (not isinstance(digest, str) or not DIGEST.fullmatch(digest)):
        yield ("image", "digest"), f"image.digest must look like sha256:<64 hex digits>, got {errors.excerpt(digest)}"
    policy = image.get("pullPolicy")
    if policy is not None and policy not in PULL_POLICIES:
        yield (
            ("image", "pullPolicy"),
            (f"image.pullPolicy must be one of {', '.join(PULL_POLICIES)}, got {errors.excerpt(policy)}"),
        )


def _check_source(spec: dict) -> Iterable[Tuple[tuple, str]]:
    sources = [key for key in ("dagsterApiGrpcArgs", "codeServerArgs", *SOURCE_SHORTCUTS) if spec.get(key)]
    if len(sources) > 1:
        yield (sources[1],), f"two code sources ({' and '.join(sources)}); keep one"
    elif not sources:
        yield (), "no code source: set one of pythonFile, moduleName, packageName, dagsterApiGrpcArgs, codeServerArgs"
    modifiers = [key for key in SOURCE_MODIFIERS if spec.get(key) is not None]
    if modifiers and sources and sources[0] not in SOURCE_SHORTCUTS:
        yield (
            (modifiers[0],),
            f"{modifiers[0]} only goes with pythonFile, moduleName or packageName; put it in {sources[0]}",
        )
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
        yield from _check_env_list(env, ("env",))
    elif isinstance(env, dict):
        for name, value in env.items():  # the chart quotes these into the env ConfigMap: a decimal integer is fine
            yield from _check_env_name(name, ("env", name))
            if not isinstance(value, str) and type(value) is not int:
                yield (
                    ("env", name),
                    (
                        f"env {errors.excerpt(name)}: {errors.excerpt(value)} is not a string after "
                        "YAML parsing; quote the value as written"
                    ),
                )
    elif env is not None:
        yield ("env",), "env must be a list of {name, value} or a mapping of names to values"
    for key in ("envConfigMaps", "envSecrets"):
        value = spec.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            yield (key,), f"{key} must be a list"
            continue
        for position, item in enumerate(value):
            yield from _check_env_source(key, item, (key, position))


def _check_env_name(name: Any, path: tuple) -> Iterable[Tuple[tuple, str]]:
    problem = k8s.env_name_problem(name)
    if problem:
        yield path, f"env var name {errors.excerpt(name)} is refused by Kubernetes: {problem}"


def _check_env_list(env: list, path: tuple) -> Iterable[Tuple[tuple, str]]:
    """A container's env: ``[{name, value}]`` or ``[{name, valueFrom}]``, values strings."""
    for position, item in enumerate(env):
        here = path + (position,)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            yield here, "each env item needs a name (as in a container's env)"
            continue
        yield from _check_env_name(item["name"], here + ("name",))
        for key in sorted(set(item) - ENV_ITEM_KEYS, key=str):
            yield (
                here + (key,),
                (
                    f"unknown key {errors.excerpt(key)} in env item {errors.excerpt(item['name'])} "
                    "(expected name, value, valueFrom)"
                ),
            )
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            yield (
                here + ("value",),
                (
                    f"env {errors.excerpt(item['name'])}: {errors.excerpt(value)} is not a string "
                    "after YAML parsing (the API server refuses it); quote the value as written"
                ),
            )
        if item.get("valueFrom") is not None and (not isinstance(item["valueFrom"], dict) or value not in (None, "")):
            yield (
                here + ("valueFrom",),
                (f"env {errors.excerpt(item['name'])}: valueFrom must be a mapping, and without a value"),
            )


def _check_env_source(key: str, item: Any, path: tuple) -> Iterable[Tuple[tuple, str]]:
    """One envConfigMaps/envSecrets item: a name (a DNS subdomain, as the object's name is) or
    ``{name, optional}``."""
    name = item.get("name") if isinstance(item, dict) else item
    if not isinstance(name, str):
        yield path, f"each {key} item needs a name"
    elif not k8s.is_dns1123_subdomain(name):
        yield (
            path,
            (
                f"{key} name {errors.excerpt(name)} is not a DNS subdomain (lowercase letters, digits, "
                "'-' and '.'), so no such object can exist"
            ),
        )
    if isinstance(item, dict):
        for extra in sorted(set(item) - {"name", "optional"}, key=str):
            yield path + (extra,), f"unknown key {errors.excerpt(extra)} in a {key} item (expected name, optional)"
        if not isinstance(item.get("optional", False), bool):
            yield path + ("optional",), f"{key} optional must be true or false"


def _check_metadata(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """labels (on the Deployment and its pods), annotations, service.annotations, nodeSelector."""
    labels = spec.get("labels")
    yield from _check_strings(labels, ("labels",), "label", k8s.is_label_key, k8s.is_label_value)
    for key in sorted(set(labels) & set(constants.SELECTOR_LABELS), key=str) if isinstance(labels, dict) else ():
        yield (
            ("labels", key),
            (
                f"label {errors.excerpt(key)} is a label the chart selects pods by: it would replace "
                "the selector's value and the Deployment would not select its pods; rename it"
            ),
        )
    yield from _check_strings(
        spec.get("nodeSelector"), ("nodeSelector",), "nodeSelector", k8s.is_label_key, k8s.is_label_value
    )
    service = spec.get("service") if isinstance(spec.get("service"), dict) else {}
    for path, value in (
        (("annotations",), spec.get("annotations")),
        (("service", "annotations"), service.get("annotations")),
    ):
        yield from _check_strings(value, path, "annotation", k8s.is_annotation_key, None)
        if isinstance(value, dict) and k8s.annotations_size(value) > k8s.ANNOTATIONS_TOTAL_MAX:
            yield path, f"{'.'.join(path)} exceed the API server's total of {k8s.ANNOTATIONS_TOTAL_MAX} bytes"


def _check_strings(value: Any, path: tuple, what: str, key_ok, value_ok) -> Iterable[Tuple[tuple, str]]:
    if value is None:
        return
    if not isinstance(value, dict):
        yield path, f"{'.'.join(path)} must be a mapping"
        return
    for key, item in value.items():
        if not key_ok(key):
            yield (
                path + (key,),
                (
                    f"{what} key {errors.excerpt(key)} is refused by Kubernetes: "
                    "[prefix/]name, name at most 63 letters, digits, '-', '_', '.'"
                ),
            )
        elif not isinstance(item, str):
            yield (
                path + (key,),
                (
                    f"{what} {key}: {errors.excerpt(item)} is not a string after YAML parsing; "
                    "quote the value as written"
                ),
            )
        elif value_ok is not None and not value_ok(item):
            yield (
                path + (key,),
                (
                    f"{what} {key}: {errors.excerpt(item)} is refused by Kubernetes: at most 63 "
                    "letters, digits, '-', '_', '.', starting and ending with a letter or digit"
                ),
            )


def _check_resources(value: Any, path: tuple) -> Iterable[Tuple[tuple, str]]:
    """requests and limits: resource names and quantities the API server takes; requests <= limits."""
    if not isinstance(value, dict):
        return  # not a mapping: reported with the other mapping keys
    for key in sorted(set(value) - {"requests", "limits", "claims"}, key=str):
        yield path + (key,), f"unknown key {errors.excerpt(key)} in resources (expected requests, limits)"
    amounts: Dict[str, Dict[str, Any]] = {}
    for kind in ("requests", "limits"):
        items = value.get(kind)
        if items is None:
            continue
        if not isinstance(items, dict):
            yield path + (kind,), f"resources.{kind} must be a mapping"
            continue
        for name, amount in items.items():
            where = path + (kind, name)
            problem = k8s.resource_name_problem(name)
            quantity = k8s.parse_quantity(amount)
            if problem:
                yield where, f"resource {errors.excerpt(name)}: {problem}"
            elif quantity is None:
                yield (
                    where,
                    (
                        f"resources.{kind}.{name} {errors.excerpt(amount)} is not a Kubernetes quantity "
                        "(such as 500m, 1.5, 512Mi, 2Gi, 1e3)"
                    ),
                )
            elif quantity < 0:
                yield where, f"resources.{kind}.{name} must not be negative"
            else:
                amounts.setdefault(kind, {})[name] = quantity
    for name, request in (amounts.get("requests") or {}).items():
        limit = (amounts.get("limits") or {}).get(name)
        if limit is not None and request > limit:
            yield path + ("requests", name), f"resources.requests.{name} is more than resources.limits.{name}"


def _check_containers(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """initContainers and sidecarContainers: each a container the API server accepts, names unique
    in the pod (the chart's own container is named ``dagster-user-deployments``)."""
    names = {constants.CONTAINER_NAME}
    for key in ("sidecarContainers", "initContainers"):
        items = spec.get(key)
        if not isinstance(items, list):
            continue
        for position, item in enumerate(items):
            path = (key, position)
            if not isinstance(item, dict):
                yield path, f"each {key} item must be a mapping (a Kubernetes container)"
                continue
            name = item.get("name")
            if not k8s.is_dns1123_label(name):
                yield (
                    path + ("name",),
                    (
                        f"{key} name {errors.excerpt(name)} is not a DNS label (lowercase letters, "
                        "digits and '-', at most 63)"
                    ),
                )
            elif name in names:
                yield path + ("name",), f"{key} name {errors.excerpt(name)} is used by another container of the pod"
            names.add(name)
            yield from _check_container_image(item.get("image"), path + ("image",), key)
            if item.get("env") is not None and not isinstance(item["env"], list):
                yield path + ("env",), f"{key} env must be a list of {{name, value}}"
            elif item.get("env") is not None:
                yield from _check_env_list(item["env"], path + ("env",))
            for sub in ("envFrom", "volumeMounts", "ports", "command", "args"):
                if item.get(sub) is not None and not isinstance(item[sub], list):
                    yield path + (sub,), f"{key} {sub} must be a list"
            if item.get("resources") is not None and not isinstance(item["resources"], dict):
                yield path + ("resources",), f"{key} resources must be a mapping"
            yield from _check_resources(item.get("resources"), path + ("resources",))


def _check_container_image(image: Any, path: tuple, key: str) -> Iterable[Tuple[tuple, str]]:
    """A string, or (chart 1.12 and later) ``{repository, tag}``."""
    if isinstance(image, dict):
        repository, tag = image.get("repository"), image.get("tag")
        problem = k8s.image_problem(repository) or (k8s.image_problem(str(tag)) if tag not in (None, "") else None)
    else:
        problem = k8s.image_problem(image)
    if problem:
        yield path, f"{key} image {errors.excerpt(image)}: {problem}"


def _check_expiry(spec: dict) -> Iterable[Tuple[tuple, str]]:
    value = spec.get("expiresAt")
    if value is None or isinstance(value, datetime.datetime):
        return
    if not isinstance(value, str) or parse_time(value) is None:
        yield (
            ("expiresAt",),
            (f"expiresAt must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got {errors.excerpt(value)}"),
        )


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
            yield (
                ("patches", position, "kind"),
                (f"patch kind must be one of {', '.join(PATCH_KINDS)}, got {errors.excerpt(item.get('kind'))}"),
            )
        elif not isinstance(item.get("patch"), list) or not all(
            isinstance(op, dict) and "op" in op for op in item["patch"]
        ):
            yield ("patches", position, "patch"), "patch must be a list of RFC 6902 operations ({op, path, value})"


def check_unique(locations: Sequence[Location]) -> List[errors.Problem]:
    """Two entries with one name (from two files, or two branches with one slug) are an error."""
    seen: Dict[str, Location] = {}
    problems = []
    for location in locations:
        first = seen.setdefault(location.name, location)
        if first is not location:
            origin = f" (from branch {errors.excerpt(location.branch)})" if location.branch else ""
            first_origin = f" from branch {errors.excerpt(first.branch)}" if first.branch else ""
            problems.append(
                errors.Problem(
                    location.file,
                    None,
                    location.name,
                    f"duplicate name{origin}: already defined in {first.file}{first_origin}; set a distinct name",
                    (location.doc,) + location.path,
                )
            )
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
