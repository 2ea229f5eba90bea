"""Registry entries, as data: build and change them from command-line flags, the edits that
add-location, update-location, remove-location, import and gc apply, port picking, what ``gc``
removes, change descriptions, and tables. Pure: the stores in ``kubectl_dagster.registry`` read,
write and run the edits.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Set

from ...base import constants, errors, k8s, naming
from ..spec import checks, schema
from . import flagedits


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
    problem: Optional[str] = None  # why the entry cannot be used at all (unreadable: spec {}; a newer format)


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


def updating(name: str, flags: "flagedits.Flags", now: datetime.datetime, where: str) -> Edit:
    def edit(snap: Snapshot) -> Optional[Dict[str, Any]]:
        if snap.old is None:
            raise errors.RegistryError(f"location {name!r} not found in {where}", "add it with add-location")
        if snap.old.problem:  # unreadable, or a newer format: an edit would drop what this version cannot see
            raise errors.RegistryError(
                f"location {name!r} ({snap.old.source}): {snap.old.problem}",
                "replace it with add-location --replace, or remove it",
            )
        return flagedits.apply_flags(snap.old.spec, flags, now)

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


def format_problem(annotations: Dict[str, Any]) -> Optional[str]:
    """Why an entry with these ConfigMap annotations cannot be read by this version; None when it can."""
    written = annotations.get(constants.ENTRY_FORMAT_ANNOTATION)
    if written is None:
        return None  # written before formats were recorded: format 1
    if not str(written).isdigit() or int(written) < 1:
        return f"annotation {constants.ENTRY_FORMAT_ANNOTATION} is {errors.excerpt(written)}, not a format number"
    if int(written) > constants.ENTRY_FORMAT:
        by = errors.excerpt(str(annotations.get(constants.WRITTEN_BY_ANNOTATION) or "an unknown version"))
        return (
            f"written by a newer kubectl-dagster ({by.strip(chr(39))}, entry format {int(written)}; this one reads "
            f"format {constants.ENTRY_FORMAT}); upgrade the renderer"
        )
    return None


def validate(name: str, resolved: Dict[str, Any], source: str) -> None:
    problems = [errors.Problem(source, None, name, message) for _, message in checks.check(resolved)]
    if problems:
        raise errors.LocationError(problems)


def pick_port(used: Set[int], reserved: Iterable[int] = ()) -> int:
    """The lowest port from 3031 up (3030 is the chart's default) that no entry and no chart location uses."""
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
        when = schema.parse_time(entry.resolved.get("expiresAt")) if entry.resolved.get("expiresAt") else None
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
