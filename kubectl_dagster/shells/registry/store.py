"""What every registry does, and the one write loop they share.

A store (``files.FileStore``: a git file or directory; ``configmaps.ConfigMapStore``: one ConfigMap
per location) only reads a :class:`~kubectl_dagster.core.entries.Snapshot` and writes one change.
:func:`mutate` does everything else the same way for both: ask the edit for the new spec, validate
it, skip a no-op, honour ``--dry-run=client``, write, and on a lost race re-read and try again.

The edit's contract (``core.entries.Edit``): given the snapshot, return the new raw spec, ``None`` to
delete, the old spec unchanged for no change, or raise an ``errors.Error`` to abort.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any, Callable, ContextManager, Dict, List, Optional, Protocol, Set

from ...base import errors
from ...core.registry import entries
from ...core.spec import locations as locs

DRY_RUNS = ("none", "client", "server")


class Retry(Exception):
    """The store lost a race (the object changed or appeared since it was read): read again."""


class Store(Protocol):
    kind: str  # "file" or "cluster"
    attempts: int  # how many times mutate tries before giving up on races

    def describe(self) -> str: ...
    def entries(self) -> List[entries.Entry]: ...
    def locked(self) -> ContextManager[None]: ...
    def snapshot(self, name: str) -> entries.Snapshot: ...
    def write(self, snap: entries.Snapshot, spec: Optional[Dict[str, Any]], server_dry_run: bool) -> None: ...
    def reserved_ports(self) -> Set[int]: ...


# The render's checks of a cluster registry entry, run before it is written: (name, resolved spec, every entry).
Admit = Callable[[str, Dict[str, Any], List[entries.Entry]], None]


def mutate(
    store: Store, name: str, edit: entries.Edit, dry_run: str = "none", admit: Optional[Admit] = None
) -> entries.Outcome:
    """Apply ``edit`` to location ``name``: (old, new) entries, None for absent. ``admit`` refuses (raises)
    a new entry the render would leave out, before anything is written."""
    for attempt in range(store.attempts):
        with store.locked():
            snap = store.snapshot(name)
            spec = edit(snap)
            outcome = _outcome(name, snap, spec, admit)
            if outcome.verb in ("absent", "unchanged") or dry_run == "client":
                return outcome
            try:
                store.write(snap, spec, server_dry_run=dry_run == "server")
                return outcome
            except Retry:
                pass
        time.sleep(min(0.2, 0.01 * (attempt + 1)) * random.uniform(0.5, 1.5))  # jittered backoff
    raise errors.WriteConflictError(
        f"location {name} kept changing: {store.attempts} attempts met a conflict",
        "retry the command; another writer is updating the same location",
    )


def _outcome(
    name: str, snap: entries.Snapshot, spec: Optional[Dict[str, Any]], admit: Optional[Admit] = None
) -> entries.Outcome:
    if spec is None:
        return entries.Outcome(snap.old, None)
    resolved = locs.deep_merge(snap.defaults, spec)
    entries.validate(name, resolved, snap.where)
    if admit is not None and (snap.old is None or snap.old.spec != spec):
        admit(name, resolved, snap.current)
    created = snap.old.created if snap.old is not None else None
    return entries.Outcome(snap.old, entries.Entry(name, spec, snap.source, resolved, created))


def no_lock() -> ContextManager[None]:
    """For stores whose writes are guarded by preconditions instead of a lock."""
    return contextlib.nullcontext()
