"""A registry entry from command-line flags: the Flags of add-location and update-location, image references and
TTLs, and how each flag sets or removes its part of an entry's spec."""

from __future__ import annotations

import copy
import datetime
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ...base import constants, errors
from ..spec import schema

SOURCE_FLAGS = {"python_file": "pythonFile", "module_name": "moduleName", "package_name": "packageName"}


MODIFIER_FLAGS = {"working_directory": "workingDirectory", "attribute": "attribute"}


SOURCE_KEYS = ("pythonFile", "moduleName", "packageName", "dagsterApiGrpcArgs", "codeServerArgs")


CONTAINER_ARGS = "/spec/template/spec/containers/0/args"


_TTL = re.compile(r"^(\d+)([smhdw])$")


MAX_TTL_SECONDS = 100 * 366 * 86400


_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class Flags:
    """What add-location / update-location were given; None (or empty) means not given."""

    image: Optional[str] = None
    pull_policy: Optional[str] = None
    branch: Optional[str] = None
    python_file: Optional[str] = None
    module_name: Optional[str] = None
    package_name: Optional[str] = None
    working_directory: Optional[str] = None
    attribute: Optional[str] = None
    executable_path: Optional[str] = None
    commit_hash: Optional[str] = None
    git_url: Optional[str] = None
    env: Sequence[str] = ()
    env_secrets: Sequence[str] = ()
    env_config_maps: Sequence[str] = ()
    cpu: Optional[str] = None
    memory: Optional[str] = None
    cpu_limit: Optional[str] = None
    memory_limit: Optional[str] = None
    labels: Sequence[str] = ()
    pull_request: Optional[int] = None
    ttl: Optional[str] = None
    port: Optional[int] = None
    base: Optional[str] = None
    base_snapshot: Optional[Dict[str, Any]] = None  # taken by the CLI (--base-snapshot), recorded as is
    automation: Optional[str] = None  # on|off: a branch location's schedules and sensors (core/chart/branchhold)


def parse_image(ref: str) -> Dict[str, str]:
    """``repo[:tag]`` or ``repo@sha256:…`` as the chart's image mapping.

    The chart renders ``repository:tag``; a digest is kept whole by splitting at the ``:`` of
    ``sha256:`` (repository ``repo@sha256``, tag the hex), which renders back to the same reference.
    """
    if not ref or any(ch.isspace() for ch in ref):
        raise errors.InputError(
            f"--image {ref!r} is not an image reference", "use REPOSITORY[:TAG] or REPOSITORY@sha256:DIGEST"
        )
    if "@" in ref:
        repository, _, tag = ref.rpartition(":")
        return {"repository": repository, "tag": tag}
    head, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:
        return {"repository": head, "tag": tag}
    return {"repository": ref}


def image_ref(spec: Dict[str, Any]) -> str:
    image = spec.get("image") or {}
    tag = image.get("tag")
    return f"{image.get('repository', '')}:{tag}" if tag not in (None, "") else str(image.get("repository", ""))


def parse_ttl(value: str) -> datetime.timedelta:
    match = _TTL.fullmatch(value.strip())
    if not match or int(match.group(1)) == 0:
        raise errors.InputError(
            f"--ttl {value!r} is not a duration", "use a number and a unit s, m, h, d or w, e.g. 7d"
        )
    seconds = int(match.group(1)) * _TTL_UNITS[match.group(2)]
    if seconds > MAX_TTL_SECONDS:
        raise errors.InputError(f"--ttl {value!r} is longer than 100 years", "use a shorter duration, or no --ttl")
    return datetime.timedelta(seconds=seconds)


def _pairs(items: Iterable[str], flag: str, allow_removal: bool) -> List[Tuple[str, Optional[str]]]:
    """``K=V`` items; ``K-`` (removal, update only) gives (K, None)."""
    out = []
    for item in items:
        if "=" in item:
            key, _, value = item.partition("=")
        elif allow_removal and item.endswith("-"):
            key, value = item[:-1], None
        else:
            hint = "K=V, or K- to remove" if allow_removal else "K=V"
            raise errors.InputError(f"{flag} {item!r} is not {hint}", f"write {flag} {hint}")
        if not key:
            raise errors.InputError(f"{flag} {item!r} has an empty name", f"write {flag} K=V")
        out.append((key, value))
    return out


def build_spec(
    name: Optional[str], flags: Flags, now: datetime.datetime, base: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """A new entry from add-location's flags (``base``: the entry given by --location-file)."""
    spec: Dict[str, Any] = copy.deepcopy(base) if base else {}
    if name:
        spec["name"] = name
    if flags.branch is not None:
        spec["branch"] = flags.branch
    if flags.image is None and "image" not in spec:
        raise errors.InputError("--image is required", "pass --image REPOSITORY:TAG (or --location-file with an image)")
    return apply_flags(spec, flags, now, allow_removal=False)


def apply_flags(
    spec: Dict[str, Any], flags: Flags, now: datetime.datetime, allow_removal: bool = True
) -> Dict[str, Any]:
    """``spec`` with what the flags say changed, and nothing else."""
    spec = copy.deepcopy(spec)
    if flags.image is not None:
        image = dict(spec.get("image") or {})
        image.pop("tag", None)
        image.update(parse_image(flags.image))
        spec["image"] = image
    if flags.pull_policy is not None:
        spec["image"] = {**(spec.get("image") or {}), "pullPolicy": flags.pull_policy}
    _apply_source(spec, flags)
    if flags.commit_hash is not None:
        spec["commit"] = flags.commit_hash
    if flags.pull_request is not None:
        spec["pullRequest"] = flags.pull_request
    if flags.git_url is not None:
        spec["annotations"] = {**(spec.get("annotations") or {}), constants.GIT_URL_ANNOTATION: flags.git_url}
    if flags.executable_path is not None:
        apply_executable(spec, flags.executable_path)
    _apply_env(spec, _pairs(flags.env, "--env", allow_removal))
    labels = dict(spec.get("labels") or {})
    for key, value in _pairs(flags.labels, "--label", allow_removal):
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value
    if labels or "labels" in spec:
        spec["labels"] = labels
    for flag_values, key in ((flags.env_secrets, "envSecrets"), (flags.env_config_maps, "envConfigMaps")):
        current = list(spec.get(key) or [])
        names = {item if isinstance(item, str) else item.get("name") for item in current}
        current += [value for value in flag_values if value not in names]
        if current:
            spec[key] = current
    _apply_resources(spec, flags)
    if flags.ttl is not None:
        spec["expiresAt"] = schema.format_time(now + parse_ttl(flags.ttl))
    if flags.port is not None:
        spec["port"] = flags.port
    if flags.base is not None:
        spec["base"] = flags.base
        if (spec.get("baseSnapshot") or {}).get("location") not in (None, flags.base):
            del spec["baseSnapshot"]  # a snapshot of the previous base is of no use any more
    if flags.base_snapshot is not None:
        spec["baseSnapshot"] = flags.base_snapshot
    if flags.automation is not None:
        spec["automation"] = flags.automation
    return spec


def _apply_source(spec: Dict[str, Any], flags: Flags) -> None:
    given = {key: getattr(flags, flag) for flag, key in SOURCE_FLAGS.items() if getattr(flags, flag) is not None}
    if len(given) > 1:
        raise errors.InputError(
            f"two code sources given ({', '.join(sorted(given))})",
            "pass one of --python-file, --module-name, --package-name",
        )
    if given:
        for key in SOURCE_KEYS:
            spec.pop(key, None)
        spec.update(given)
    for flag, key in MODIFIER_FLAGS.items():
        if getattr(flags, flag) is not None:
            spec[key] = getattr(flags, flag)


def apply_executable(spec: Dict[str, Any], executable: str) -> None:
    """The chart's container args start with ``dagster``; run it as ``<python> -m dagster`` instead."""
    patches = [p for p in (spec.get("patches") or []) if not _is_executable_patch(p)]
    patches.append(
        {
            "kind": "Deployment",
            "patch": [
                {"op": "replace", "path": f"{CONTAINER_ARGS}/0", "value": executable},
                {"op": "add", "path": f"{CONTAINER_ARGS}/1", "value": "-m"},
                {"op": "add", "path": f"{CONTAINER_ARGS}/2", "value": "dagster"},
            ],
        }
    )
    spec["patches"] = patches


def _is_executable_patch(patch: Any) -> bool:
    ops = patch.get("patch") if isinstance(patch, dict) else None
    return (
        isinstance(ops, list) and bool(ops) and isinstance(ops[0], dict) and ops[0].get("path") == f"{CONTAINER_ARGS}/0"
    )


def _apply_env(spec: Dict[str, Any], pairs: List[Tuple[str, Optional[str]]]) -> None:
    if not pairs:
        return
    env = spec.get("env")
    if isinstance(env, dict):
        env = dict(env)
        for key, value in pairs:
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
    else:
        items = [dict(item) for item in (env or [])]
        for key, value in pairs:
            items = [item for item in items if item.get("name") != key]
            if value is not None:
                items.append({"name": key, "value": value})
        env = items
    spec["env"] = env


def _apply_resources(spec: Dict[str, Any], flags: Flags) -> None:
    wanted = {
        ("requests", "cpu"): flags.cpu,
        ("requests", "memory"): flags.memory,
        ("limits", "cpu"): flags.cpu_limit,
        ("limits", "memory"): flags.memory_limit,
    }
    if all(value is None for value in wanted.values()):
        return
    resources = copy.deepcopy(spec.get("resources") or {})
    for (group, key), value in wanted.items():
        if value is not None:
            resources.setdefault(group, {})[key] = value
    spec["resources"] = resources
