"""How registry entries are shown: the change a write made (names only, never values), ages and expiries, and
the rows of list-locations."""

from __future__ import annotations

import datetime
from typing import Any, Dict, Iterable, List, Optional, Set

from ...base import constants
from ..spec import schema
from . import entries, flagedits


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
            out.append(f"image {flagedits.image_ref(old) or '<none>'} -> {flagedits.image_ref(new) or '<none>'}")
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


def expires(entry: entries.Entry, now: datetime.datetime) -> str:
    value = entry.resolved.get("expiresAt")
    if not value:
        return "<never>"
    when = schema.parse_time(value)
    if when is None:
        return str(value)
    if when <= now:
        return "expired"
    return "in " + duration(when - now)


def row(entry: entries.Entry, now: datetime.datetime, wide: bool) -> List[str]:
    spec = entry.resolved
    cells = [
        entry.name,
        str(spec.get("branch") or "<none>"),
        flagedits.image_ref(spec),
        str(spec.get("port", constants.FIRST_PORT)),
        age(entry.created, now),
        expires(entry, now),
        entry.source,
    ]
    if wide:
        _, args = schema.code_args(spec)
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
    found: Iterable[entries.Entry],
    now: datetime.datetime,
    within: datetime.timedelta = datetime.timedelta(seconds=constants.EXPIRING_WITHIN_SECONDS),
) -> List[entries.Entry]:
    """Entries that have not expired yet but will within ``within`` (list-locations flags them)."""
    out = []
    for entry in found:
        when = schema.parse_time(entry.resolved.get("expiresAt")) if entry.resolved.get("expiresAt") else None
        if when is not None and now < when <= now + within:
            out.append(entry)
    return out
