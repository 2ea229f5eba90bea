"""Registry entries, as data: build and change them from command-line flags, the edits that
add-location, update-location, remove-location, import and gc apply, port picking, what ``gc``
removes, change descriptions, and tables. Pure: the stores in ``kubectl_dagster.registry`` read,
write and run the edits.
"""

from __future__ import annotations

import copy
import datetime
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from .. import constants, errors, naming
from . import k8s
from . import locations as locs

SOURCE_FLAGS = {"python_file": "pythonFile", "module_name": "moduleName", "package_name": "packageName"}
MODIFIER_FLAGS = {"working_directory": "workingDirectory", "attribute": "attribute"}
SOURCE_KEYS = ("pythonFile", "moduleName", "packageName", "dagsterApiGrpcArgs", "codeServerArgs")
CONTAINER_ARGS = "/spec/template/spec/containers/0/args"
_TTL = re.compile(r"^(\d+)([smhdw])$")
MAX_TTL_SECONDS = 100 * 366 * 86400
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class Entry:
    """One registered location as stored (``spec`` without directory or file defaults)."""

    name: str
    spec: Dict[str, Any]
    source: str  # "file:<path>" or "configmap/<name>"
    resolved: Dict[str, Any] = field(default_factory=dict)  # with defaults applied
    created: Optional[datetime.datetime] = None
    version: Optional[str] = None  # resourceVersion for the cluster store
    uid: Optional[str] = None


class Snapshot(NamedTuple):
    """What an edit sees: the entry as read (None: absent), every entry of the registry, the defaults
    a new spec is merged over, and where the entry lives (for messages and the written entry)."""

    old: Optional[Entry]
    current: List[Entry]
    defaults: Dict[str, Any]
    where: str  # a file path, or configmap/<name>
    source: str  # Entry.source of the written entry
    token: Any = None  # what the store needs to write this change back (opaque here)


class Outcome(NamedTuple):
    old: Optional[Entry]
    new: Optional[Entry]

    @property
    def verb(self) -> str:
        """kubectl's words: created, configured, unchanged, deleted; ``absent`` when nothing was there."""
        if self.new is None:
            return "absent" if self.old is None else "deleted"
        if self.old is None:
            return "created"
        return "unchanged" if self.old.spec == self.new.spec else "configured"


# An edit: the new raw spec from a snapshot; None deletes, the old spec keeps it; raising aborts.
Edit = Callable[[Snapshot], Optional[Dict[str, Any]]]


def adding(name: str, build: Callable[[], Dict[str, Any]], replace: bool, reserved: Set[int]) -> Edit:
    """add-location and import: a new entry (or, with ``replace``, one that replaces the old), with a free port."""

    def edit(snap: Snapshot) -> Optional[Dict[str, Any]]:
        if snap.old is not None and not replace:
            raise errors.ExistsError(
                f"location {name!r} already exists ({snap.old.source})", "pass --replace, or use update-location"
            )
        return with_port(build(), snap, name, reserved)

    return edit


def updating(name: str, flags: "Flags", now: datetime.datetime, where: str) -> Edit:
    def edit(snap: Snapshot) -> Optional[Dict[str, Any]]:
        if snap.old is None:
            raise errors.RegistryError(f"location {name!r} not found in {where}", "add it with add-location")
        return apply_flags(snap.old.spec, flags, now)

    return edit


def removing(snap: Snapshot) -> Optional[Dict[str, Any]]:
    return None


def removing_if(reason: Callable[[Entry], Optional[str]]) -> Edit:
    """gc: delete only while the reason still holds (the entry may have been renewed since the listing)."""

    def edit(snap: Snapshot) -> Optional[Dict[str, Any]]:
        if snap.old is None or reason(snap.old) is None:
            return snap.old.spec if snap.old is not None else None
        return None

    return edit


def with_port(spec: Dict[str, Any], snap: Snapshot, name: str, reserved: Set[int]) -> Dict[str, Any]:
    """``spec`` with the lowest free port when neither it nor the defaults name one."""
    if "port" in spec or "port" in snap.defaults:
        return spec
    others = [entry for entry in snap.current if entry.name != name]
    return {**spec, "port": pick_port(used_ports(others), reserved)}


def named_first(spec: Dict[str, Any], name: str) -> Dict[str, Any]:
    """Key order in files: name (or branch) first, as people write them."""
    head = {key: spec[key] for key in ("name", "branch") if key in spec}
    return {**head, **{k: v for k, v in spec.items() if k not in head}}


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
        spec["expiresAt"] = locs.format_time(now + parse_ttl(flags.ttl))
    if flags.port is not None:
        spec["port"] = flags.port
    if flags.base is not None:
        spec["base"] = flags.base
        if (spec.get("baseSnapshot") or {}).get("location") not in (None, flags.base):
            del spec["baseSnapshot"]  # a snapshot of the previous base is of no use any more
    if flags.base_snapshot is not None:
        spec["baseSnapshot"] = flags.base_snapshot
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


def entry_name(name: Optional[str], branch: Optional[str]) -> str:
    """The location name from NAME or --branch, checked as the render would check it."""
    if not name and not branch:
        raise errors.InputError("no location name", "pass NAME or --branch BRANCH")
    resolved = name or naming.location_slug(branch or "")
    if not resolved:
        raise errors.InputError(f"branch {branch!r} leaves no usable name", "pass an explicit NAME")
    if not k8s.is_dns1035_label(resolved):
        raise errors.InputError(
            f"name {resolved!r} is not a DNS-1035 label (lowercase letters, digits, '-', starting with "
            "a letter, at most 63 characters)",
            "choose another name",
        )
    return resolved


def validate(name: str, resolved: Dict[str, Any], source: str) -> None:
    problems = [errors.Problem(source, None, name, message) for _, message in locs.check(resolved)]
    if problems:
        raise errors.LocationError(problems)


def pick_port(used: Set[int], reserved: Iterable[int] = ()) -> int:
    """The lowest port from 3031 up that no registry entry and no chart location uses.

    3030 is the chart's default port, so the chart's own locations usually have it.
    """
    taken = set(used) | set(reserved)
    port = constants.FIRST_PORT + 1
    while port in taken:
        port += 1
    return port


def used_ports(entries: Iterable[Entry]) -> Set[int]:
    return {
        entry.resolved.get("port", constants.FIRST_PORT)
        for entry in entries
        if isinstance(entry.resolved.get("port", 0), int)
    }


def expired(entries: Iterable[Entry], now: datetime.datetime) -> List[Entry]:
    out = []
    for entry in entries:
        when = locs.parse_time(entry.resolved.get("expiresAt")) if entry.resolved.get("expiresAt") else None
        if when is not None and when <= now:
            out.append(entry)
    return out


def parse_branch_list(text: str) -> Set[str]:
    """Branch names, one per line, or ``git ls-remote --heads`` lines (``<sha>\\trefs/heads/<branch>``)."""
    branches = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ref = line.split("\t")[-1].split()[-1] if ("\t" in line or " " in line) else line
        for prefix in ("refs/heads/", "refs/remotes/origin/"):
            if ref.startswith(prefix):
                ref = ref[len(prefix) :]
        branches.add(ref)
    return branches


def gone_branches(entries: Iterable[Entry], keep: Set[str]) -> List[Entry]:
    """Entries with a branch that is not in ``keep`` (entries without a branch are permanent)."""
    return [
        entry
        for entry in entries
        if entry.resolved.get("branch") is not None and str(entry.resolved["branch"]) not in keep
    ]


def describe_change(old: Optional[Dict[str, Any]], new: Optional[Dict[str, Any]]) -> List[str]:
    """Key-level differences, for people: env shows names only (values can be sensitive)."""
    if old is None or new is None:
        return []
    out = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "env":
            names_before, names_after = _env_names(before), _env_names(after)
            changed = sorted(n for n in names_before & names_after if _env_value(before, n) != _env_value(after, n))
            parts = [f"+{n}" for n in sorted(names_after - names_before)] + [
                f"-{n}" for n in sorted(names_before - names_after)
            ]
            parts += [f"~{n}" for n in changed]
            out.append(f"env {' '.join(parts)}")
        elif key == "image":
            out.append(f"image {image_ref(old) or '<none>'} -> {image_ref(new) or '<none>'}")
        elif isinstance(before, (dict, list)) or isinstance(after, (dict, list)):
            out.append(
                f"{key} changed"
                if before is not None and after is not None
                else (f"+{key}" if after is not None else f"-{key}")
            )
        else:
            out.append(
                f"{key} {before if before is not None else '<none>'} -> {after if after is not None else '<none>'}"
            )
    return out


def _env_names(env: Any) -> Set[str]:
    if isinstance(env, dict):
        return set(env)
    return {item.get("name") for item in env or [] if isinstance(item, dict)}


def _env_value(env: Any, name: str) -> Any:
    if isinstance(env, dict):
        return env.get(name)
    return next((item for item in env or [] if isinstance(item, dict) and item.get("name") == name), None)


def age(then: Optional[datetime.datetime], now: datetime.datetime) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d; ``<unknown>`` when there is no time."""
    if then is None:
        return "<unknown>"
    return duration(now - then)


def duration(delta: datetime.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def expires(entry: Entry, now: datetime.datetime) -> str:
    value = entry.resolved.get("expiresAt")
    if not value:
        return "<never>"
    when = locs.parse_time(value)
    if when is None:
        return str(value)
    if when <= now:
        return "expired"
    return "in " + duration(when - now)


def row(entry: Entry, now: datetime.datetime, wide: bool) -> List[str]:
    spec = entry.resolved
    cells = [
        entry.name,
        str(spec.get("branch") or "<none>"),
        image_ref(spec),
        str(spec.get("port", constants.FIRST_PORT)),
        age(entry.created, now),
        expires(entry, now),
        entry.source,
    ]
    if wide:
        _, args = locs.code_args(spec)
        cells += [str(spec.get("pullRequest") or "<none>"), str(spec.get("commit") or "<none>"), " ".join(args)]
    return cells


HEADERS = ["NAME", "BRANCH", "IMAGE", "PORT", "AGE", "EXPIRES", "SOURCE"]
WIDE_HEADERS = HEADERS + ["PR", "COMMIT", "ARGS"]


def table(rows: List[List[str]], headers: List[str]) -> str:
    """kubectl's layout: upper-case headers, columns padded to the widest cell plus three spaces."""
    grid = [headers] + rows
    widths = [max(len(r[i]) for r in grid) for i in range(len(headers))]
    lines = ["   ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in grid]
    return "\n".join(lines) + "\n"


def expiring(
    found: Iterable[Entry],
    now: datetime.datetime,
    within: datetime.timedelta = datetime.timedelta(seconds=constants.EXPIRING_WITHIN_SECONDS),
) -> List[Entry]:
    """Entries that have not expired yet but will within ``within`` (list-locations flags them)."""
    out = []
    for entry in found:
        when = locs.parse_time(entry.resolved.get("expiresAt")) if entry.resolved.get("expiresAt") else None
        if when is not None and now < when <= now + within:
            out.append(entry)
    return out
