"""The project config file (``.kubectl-dagster.yaml``, kind ProjectConfig): what ``deploy`` needs
besides the git context, per environment.

Layers, lowest first: ``[tool.kubectl-dagster]`` in pyproject.toml (the project prefix only), the
file's ``defaults``, the chosen environment, ``KUBECTL_DAGSTER_*`` environment variables, flags.
Mappings merge key by key (``image``, ``resources``, ``env``, ``location``); everything else, lists and
``registry`` and ``codeSource`` included, is replaced whole. Every merged value remembers the layer
it came from, for ``config view``. Validated as strictly as CodeLocations: unknown keys and wrong
types are problems with a key path (the shell turns it into file:line). Pure: data in, data out.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple

from ...base import constants as c
from ...base import errors, k8s
from ..spec import locations as locs
from ..spec import schema

TOP_KEYS = ("apiVersion", "kind", "metadata", "defaultEnvironment", "defaults", "environments")
SCALAR_KEYS = {  # key: (python types, what to say)
    "namespace": (str, "a string"),
    "context": (str, "a string"),
    "project": (str, "a string"),
    "useProjectName": (bool, "true or false"),
    "ttl": (str, "a duration such as 7d"),
    "maxBranchLocations": (int, "a positive integer"),
    "branchEnv": (str, "one of " + ", ".join(c.BRANCH_ENV_MODES)),
    "automation": (str, "on or off"),  # a branch location's schedules and sensors (core/chart/branchhold.py)
    "webserverUrl": (str, "a URL"),
    "uiUrl": (str, "a URL"),
    "argocdApp": (str, "a string"),
    "base": (str, "the name of a location"),  # the permanent location a branch derives from (`diff`)
    "policy": (str, "the path of a LocationPolicy file"),  # what writes to the cluster registry are checked against
}
MAPPING_KEYS = {
    "registry": {"locations", "cluster", "namespace"},
    "image": {"repository", "tag", "pullPolicy"},
    "codeSource": {"pythonFile", "moduleName", "packageName", "workingDirectory", "attribute"},
    "resources": {"requests", "limits"},
    "env": None,  # any names
    "location": None,  # CodeLocations keys, checked against PASSTHROUGH
}
LIST_KEYS = ("envSecrets", "envConfigMaps")
KEYS = tuple(SCALAR_KEYS) + tuple(MAPPING_KEYS) + LIST_KEYS
MERGED = ("image", "resources", "env", "location")  # merged key by key; the rest is replaced whole
# CodeLocations keys ``location`` may carry: what the dedicated keys above, the git context and the
# lifecycle commands do not already set.
PASSTHROUGH = schema.LOCATION_KEYS - {
    "name",
    "branch",
    "pullRequest",
    "commit",
    "expiresAt",
    "image",
    "env",
    "resources",
    "envSecrets",
    "envConfigMaps",
    *schema.SOURCE_SHORTCUTS,
    *schema.SOURCE_MODIFIERS,
    "suspended",
    "branchEnv",
    "automation",
}
_DURATION = re.compile(r"^[1-9][0-9]*[smhdw]$")

# KUBECTL_DAGSTER_* variables (and the webserver URL the other commands already read) -> key path
ENV_KEYS = {
    c.NAMESPACE_ENV: ("namespace",),
    c.CONTEXT_ENV: ("context",),
    c.LOCATIONS_ENV: ("registry", "locations"),
    c.CLUSTER_ENV: ("registry", "cluster"),
    c.PROJECT_ENV: ("project",),
    c.IMAGE_REPOSITORY_ENV: ("image", "repository"),
    c.IMAGE_TAG_ENV: ("image", "tag"),
    c.TTL_ENV: ("ttl",),
    c.MAX_BRANCH_LOCATIONS_ENV: ("maxBranchLocations",),
    c.BRANCH_ENV_MODE_ENV: ("branchEnv",),
    c.AUTOMATION_ENV: ("automation",),
    c.UI_URL_ENV: ("uiUrl",),
    c.ARGOCD_APP_ENV: ("argocdApp",),
    c.WEBSERVER_URL_ENV: ("webserverUrl",),
    c.BASE_ENV: ("base",),
}


class Layer(NamedTuple):
    label: str  # "defaults (.kubectl-dagster.yaml)", "env KUBECTL_DAGSTER_TTL", "flag --ttl"
    values: Dict[str, Any]


class Merged(NamedTuple):
    values: Dict[str, Any]
    sources: Dict[Tuple[str, ...], str]  # key path of every leaf (or replaced-whole value) -> layer label
    environment: Optional[str] = None
    file: Optional[str] = None

    def get(self, *path: str) -> Any:
        node: Any = self.values
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node


# -- the file ----------------------------------------------------------------------------------
def check_document(data: Any) -> List[Tuple[tuple, str]]:
    """Every problem of a whole ProjectConfig document, as (key path, message)."""
    if not isinstance(data, dict):
        return [((), f"expected a mapping with apiVersion: {c.API_VERSION} and kind: {c.PROJECT_KIND}")]
    if data.get("apiVersion") != c.API_VERSION or data.get("kind") != c.PROJECT_KIND:
        return [
            (
                ("apiVersion",),
                f"expected apiVersion: {c.API_VERSION} and kind: {c.PROJECT_KIND}, "
                f"got {data.get('apiVersion')!r}/{data.get('kind')!r}",
            )
        ]
    problems = [
        ((key,), f"unknown key {key!r} (expected {', '.join(TOP_KEYS[2:])})")
        for key in sorted(set(data) - set(TOP_KEYS), key=str)
    ]
    if data.get("defaults") is not None:
        problems += list(check_layer(data["defaults"], ("defaults",)))
    environments = data.get("environments")
    if environments is not None and not isinstance(environments, dict):
        problems.append((("environments",), "environments must be a mapping of names to settings"))
    for name, values in (environments or {}).items() if isinstance(environments, dict) else ():
        if not isinstance(name, str) or not name:
            problems.append((("environments",), f"environment name {name!r} must be a non-empty string"))
        problems += list(check_layer(values, ("environments", name)))
    default = data.get("defaultEnvironment")
    if default is not None and (not isinstance(default, str) or default not in (environments or {})):
        problems.append((("defaultEnvironment",), f"defaultEnvironment {default!r} is not one of the environments"))
    return problems


def check_layer(values: Any, where: tuple) -> Iterable[Tuple[tuple, str]]:
    """The problems of one layer's settings (``defaults``, an environment, or what flags give)."""
    if values is None:
        return
    if not isinstance(values, dict):
        yield where, "settings must be a mapping"
        return
    for key in sorted(set(values) - set(KEYS), key=str):
        yield where + (key,), f"unknown key {key!r}"
    for key, (kinds, what) in SCALAR_KEYS.items():
        value = values.get(key)
        if value is None:
            continue
        if isinstance(value, bool) and kinds is not bool or not isinstance(value, kinds):
            yield where + (key,), f"{key} must be {what}, got {value!r}"
        elif key == "ttl" and not _DURATION.fullmatch(value):
            yield where + (key,), f"ttl must be a duration such as 7d (a number and s, m, h, d or w), got {value!r}"
        elif key == "maxBranchLocations" and value < 1:
            yield where + (key,), f"maxBranchLocations must be a positive integer, got {value!r}"
        elif key == "branchEnv" and value not in c.BRANCH_ENV_MODES:
            yield where + (key,), f"branchEnv must be one of {', '.join(c.BRANCH_ENV_MODES)}, got {value!r}"
        elif key == "automation" and value not in c.AUTOMATION_MODES:
            yield where + (key,), f"automation must be on or off, got {value!r}"
    for key, allowed in MAPPING_KEYS.items():
        value = values.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            yield where + (key,), f"{key} must be a mapping"
            continue
        if allowed is not None:
            for sub in sorted(set(value) - allowed, key=str):
                yield where + (key, sub), f"unknown key {key}.{sub} (expected {', '.join(sorted(allowed))})"
    yield from _check_registry(values.get("registry"), where)
    yield from _check_strings(values.get("image"), where + ("image",), ("repository", "tag"))
    yield from _check_strings(values.get("codeSource"), where + ("codeSource",), MAPPING_KEYS["codeSource"])
    policy = (values.get("image") or {}).get("pullPolicy") if isinstance(values.get("image"), dict) else None
    if policy is not None and policy not in c.PULL_POLICIES:
        yield where + ("image", "pullPolicy"), f"image.pullPolicy must be one of {', '.join(c.PULL_POLICIES)}"
    yield from _check_resources(values.get("resources"), where)
    yield from _check_env(values.get("env"), where)
    yield from _check_location(values.get("location"), where)
    for key in LIST_KEYS:
        value = values.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)):
            yield where + (key,), f"{key} must be a list of names"


def _check_registry(registry: Any, where: tuple) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(registry, dict):
        return
    given = [key for key in ("locations", "cluster") if registry.get(key) not in (None, False)]
    if len(given) != 1:
        yield where + ("registry",), "registry needs exactly one of locations: PATH or cluster: true"
    if registry.get("locations") is not None and not isinstance(registry["locations"], str):
        yield where + ("registry", "locations"), "registry.locations must be a path"
    if registry.get("cluster") is not None and not isinstance(registry["cluster"], bool):
        yield where + ("registry", "cluster"), "registry.cluster must be true or false"
    if registry.get("namespace") is not None and not isinstance(registry["namespace"], str):
        yield where + ("registry", "namespace"), "registry.namespace must be a namespace name"


def _check_strings(mapping: Any, where: tuple, keys: Iterable[str]) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(mapping, dict):
        return
    for key in sorted(keys):
        if mapping.get(key) is not None and not isinstance(mapping[key], str):
            yield where + (key,), f"{where[-1]}.{key} must be a string"


def _check_resources(resources: Any, where: tuple) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(resources, dict):
        return
    for group in ("requests", "limits"):
        value = resources.get(group)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(k8s.is_quantity(v) for v in value.values()):
            yield (
                where + ("resources", group),
                f"resources.{group} must map resource names to quantities (such as 500m or 1Gi)",
            )


def _check_env(env: Any, where: tuple) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(env, dict):
        return
    for name, value in env.items():
        if not k8s.is_env_name(name):
            yield where + ("env",), f"env name {name!r} is not valid: {k8s.env_name_problem(name)}"
        elif isinstance(value, (dict, list)):
            yield where + ("env", name), f"env {name} must be a plain value (a string, number or boolean)"


def _check_location(location: Any, where: tuple) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(location, dict):
        return
    for key in sorted(set(location) - PASSTHROUGH, key=str):
        hint = " (it has its own key in the project config)" if key in schema.LOCATION_KEYS else ""
        yield where + ("location", key), f"location.{key} is not allowed here{hint}"


# -- layers ------------------------------------------------------------------------------------
def environment_names(data: Dict[str, Any]) -> List[str]:
    return sorted(str(name) for name in (data.get("environments") or {}))


def file_layers(data: Dict[str, Any], file: str, environment: Optional[str]) -> Tuple[List[Layer], Optional[str]]:
    """``defaults``, then the chosen environment (``-e``, else ``defaultEnvironment``), from a checked document."""
    layers = [Layer(f"defaults ({file})", data.get("defaults") or {})]
    chosen = environment or data.get("defaultEnvironment")
    if chosen is None:
        return layers, None
    environments = data.get("environments") or {}
    if chosen not in environments:
        defined = ", ".join(environment_names(data)) or "none"
        raise errors.InputError(
            f"environment {chosen!r} is not defined in {file} (defined: {defined})",
            "pass one of them with -e/--environment, or add it under environments:",
        )
    return layers + [Layer(f"environment {chosen} ({file})", environments[chosen] or {})], chosen


def env_layers(env: Mapping[str, str]) -> Tuple[List[Layer], List[str]]:
    """One layer per ``KUBECTL_DAGSTER_*`` variable that sets a config key (others are left alone),
    and a problem line per unusable value."""
    layers: List[Layer] = []
    problems: List[str] = []
    for name, path in ENV_KEYS.items():
        raw = env.get(name)
        if raw in (None, ""):
            continue
        value: Any = raw
        if path == ("maxBranchLocations",):
            value = int(raw) if raw.isdigit() else raw
        elif path == ("registry", "cluster"):
            value = raw.lower() in ("1", "true", "yes")
        values: Dict[str, Any] = {}
        _put(values, path, value)
        problems += [f"${name}: {message}" for _, message in check_layer(values, ()) if path[0] != "registry"]
        layers.append(Layer(f"env {name}", values))
    if env.get(c.LOCATIONS_ENV) and (env.get(c.CLUSTER_ENV) or "").lower() in ("1", "true", "yes"):
        problems.append(f"${c.LOCATIONS_ENV} and ${c.CLUSTER_ENV} name two registries")
    return layers, problems


def _put(target: Dict[str, Any], path: Tuple[str, ...], value: Any) -> None:
    node = target
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def merge(layers: List[Layer], environment: Optional[str] = None, file: Optional[str] = None) -> Merged:
    """The layers merged, lowest first, with the source of every value."""
    values: Dict[str, Any] = {}
    sources: Dict[Tuple[str, ...], str] = {}
    for layer in layers:
        for key, value in (layer.values or {}).items():
            if value is None:
                continue
            if key in MERGED and isinstance(value, dict):
                values[key] = locs.deep_merge(values.get(key) or {}, value)
                for path in _leaves(value, (key,)):
                    sources[path] = layer.label
            else:
                values[key] = copy.deepcopy(value)
                for path in [p for p in sources if p[:1] == (key,)]:
                    del sources[path]
                sources[(key,)] = layer.label
    return Merged(values, sources, environment, file)


def _leaves(value: Any, path: Tuple[str, ...]) -> Iterable[Tuple[str, ...]]:
    if isinstance(value, dict) and value and path[0] in MERGED and not (path[0] == "location" and len(path) > 1):
        for key, sub in value.items():
            yield from _leaves(sub, path + (str(key),))
    else:
        yield path


def check_merged(merged: Merged) -> List[Tuple[tuple, str]]:
    """What only the merged result can get wrong: two code sources."""
    source = merged.get("codeSource") or {}
    given = [key for key in schema.SOURCE_SHORTCUTS if source.get(key)]
    if len(given) > 1:
        return [(("codeSource",), f"two code sources ({' and '.join(given)}); keep one")]
    return []


# -- showing it --------------------------------------------------------------------------------
def rows(merged: Merged) -> List[Tuple[str, str, str]]:
    """(key, value, source) per merged value, sorted by key. Env values are never shown: only names."""
    out = []
    for path in sorted(merged.sources):
        value = merged.get(*path)
        shown = "<hidden>" if path[0] == "env" else _show(value)
        out.append((".".join(path), shown, merged.sources[path]))
    return out


def _show(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (dict, list)):  # a replaced-whole value, on one line
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)
