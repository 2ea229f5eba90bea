"""``import``: a Dagster+ ``dagster_cloud.yaml`` as registry entries. Pure.

Everything that has a meaning in the chart's deployment item is translated; everything else is
returned by name with the reason, so the command can show it (nothing is dropped silently).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ...base import errors, k8s, naming
from ..spec import locations as locs
from . import flagedits

CODE_SOURCES = {"package_name": "packageName", "module_name": "moduleName", "python_file": "pythonFile"}
K8S_DIRECT = {
    "env_secrets": "envSecrets",
    "env_config_maps": "envConfigMaps",
    "resources": "resources",
    "labels": "labels",
    "volumes": "volumes",
    "volume_mounts": "volumeMounts",
}
RELEASE_WIDE = {"namespace", "service_account_name", "image_pull_secrets"}


def translate(data: Any, fallback_image: str = None) -> Tuple[List[Dict[str, Any]], List[str]]:
    """(entries, notes): one entry per location; one note per key that was not translated."""
    if not isinstance(data, dict) or not isinstance(data.get("locations"), list):
        raise errors.InputError(
            "not a dagster_cloud.yaml: no locations list", "pass the dagster_cloud.yaml of a code repository"
        )
    defaults = data.get("defaults") or {}
    entries, notes = [], []
    for position, item in enumerate(data["locations"]):
        if not isinstance(item, dict):
            raise errors.InputError(f"locations[{position}] is not a mapping", "fix dagster_cloud.yaml")
        entry, item_notes = _location(locs.deep_merge(defaults, item), position, fallback_image)
        entries.append(entry)
        notes += item_notes
    return entries, notes


def _mapping(value: Any, what: str) -> Dict[str, Any]:
    """A mapping of dagster_cloud.yaml, or {} when absent; anything else is the user's error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.InputError(f"{what} is a {type(value).__name__}, not a mapping", "fix dagster_cloud.yaml")
    return value


ITEM_KEYS = {"location_name", "image", "code_source", "working_directory", "attribute", "executable_path"}


def _location(item: Dict[str, Any], position: int, fallback_image: str) -> Tuple[Dict[str, Any], List[str]]:
    original = item.get("location_name")
    if not isinstance(original, str) or not original:
        raise errors.InputError(f"locations[{position}] has no location_name", "fix dagster_cloud.yaml")
    name = original if k8s.is_dns1035_label(original) else naming.location_slug(original)
    who = f"location {name}"
    notes = [] if name == original else [f"{who}: location_name {original!r} renamed to {name!r} (it names a Service)"]
    entry: Dict[str, Any] = {"name": name}
    image = item.get("image") or fallback_image
    if image:
        entry["image"] = flagedits.parse_image(str(image))
    notes += _code_source(entry, item, who)
    for key in sorted(set(item) - ITEM_KEYS - {"container_context"}):
        reason = "image builds are CI's job; pass the built image" if key == "build" else "no equivalent in the chart"
        notes.append(f"{who}: {key} not translated ({reason})")
    context = _mapping(item.get("container_context"), f"{who}: container_context")
    for key in sorted(set(context) - {"k8s"}):
        notes.append(f"{who}: container_context.{key} not translated (only k8s applies)")
    notes += _container_context(entry, _mapping(context.get("k8s"), f"{who}: container_context.k8s"), who)
    return entry, notes


def _code_source(entry: Dict[str, Any], item: Dict[str, Any], who: str) -> List[str]:
    """code_source, working_directory, attribute and executable_path into ``entry``; the notes."""
    source = _mapping(item.get("code_source"), f"{who}: code_source")
    notes = [
        f"{who}: code_source.{key} not translated (unknown code source)"
        for key in sorted(set(source) - set(CODE_SOURCES))
    ]
    for key, ours in CODE_SOURCES.items():
        if source.get(key) is not None:
            entry[ours] = source[key]
    for key, ours in (("working_directory", "workingDirectory"), ("attribute", "attribute")):
        if item.get(key) is not None:
            entry[ours] = item[key]
    if item.get("executable_path") is not None:
        flagedits.apply_executable(entry, item["executable_path"])
    return notes


def _container_context(entry: Dict[str, Any], kube: Dict[str, Any], who: str) -> List[str]:
    """container_context.k8s into ``entry``; the notes on what has no equivalent."""
    for key, ours in K8S_DIRECT.items():
        if kube.get(key) is not None:
            entry[ours] = kube[key]
    if kube.get("image_pull_policy") is not None:
        entry.setdefault("image", {})["pullPolicy"] = kube["image_pull_policy"]
    env_vars = kube.get("env_vars") or []
    if not isinstance(env_vars, list):
        raise errors.InputError(f"{who}: container_context.k8s.env_vars is not a list", "fix dagster_cloud.yaml")
    env, dropped = _env(env_vars)
    if env:
        entry["env"] = env
    notes = [
        f"{who}: container_context.k8s.env_vars {name_!r} not translated (it takes its value from the agent's "
        f"environment; set a value or use envSecrets)"
        for name_ in dropped
    ]
    for key in sorted(set(kube) - set(K8S_DIRECT) - {"image_pull_policy", "env_vars"}):
        reason = (
            "set it release-wide in the chart values"
            if key in RELEASE_WIDE
            else "no equivalent in the chart's item; use patches"
        )
        notes.append(f"{who}: container_context.k8s.{key} not translated ({reason})")
    return notes


def _env(items: List[Any]) -> Tuple[List[Dict[str, str]], List[str]]:
    env, dropped = [], []
    for item in items:
        text = str(item)
        if "=" in text:
            key, _, value = text.partition("=")
            env.append({"name": key, "value": value})
        else:
            dropped.append(text)
    return env, dropped
