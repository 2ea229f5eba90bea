"""The cluster registry is a trust boundary. A render takes its entries one by one: an entry that cannot be used
(unreadable, a newer format, invalid, named unlike its ConfigMap, also in the platform's files, past the policy's
count) is left out with its reason, and the release and every other location render as before. Writers get the
same checks before they write (:func:`refuse`), against the chart's defaults; the render's check is the one that
counts. Pure: entries in, locations and reasons out.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from ...base import constants, errors
from ..chart import isolation, objects
from ..policy import document, rules
from ..spec import locations as locs
from . import entries


class LeftOut(NamedTuple):
    name: str
    source: str  # configmap/<name>
    reason: str


def registry_locations(
    found: Sequence[entries.Entry], platform: Set[str], policy: Optional[document.Policy]
) -> Tuple[List[locs.Location], List[LeftOut]]:
    """The entries a render may take (oldest first), and the ones it leaves out with why."""
    taken: List[locs.Location] = []
    left: List[LeftOut] = []
    for entry in sorted(found, key=_age):
        location, why = _location(entry, platform)
        if why is None:
            taken.append(location)
        else:
            left.append(LeftOut(entry.name, entry.source, why))
    chosen = policy or document.DEFAULT
    extra = set(rules.over_limit([loc.name for loc in taken], chosen))
    left += [_past_limit(location, chosen) for location in taken if location.name in extra]
    return [loc for loc in taken if loc.name not in extra], sorted(left)


def _past_limit(location: locs.Location, policy: document.Policy) -> LeftOut:
    why = f"{policy.source} allows {policy.max_locations} registry locations (maxLocations)"
    return LeftOut(location.name, location.file, why + "; this entry is one of the newer ones")


def _age(entry: entries.Entry) -> Tuple[bool, datetime.datetime, str]:
    created = entry.created or datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)
    return entry.created is None, created, entry.name


def _location(entry: entries.Entry, platform: Set[str]) -> Tuple[Any, Optional[str]]:
    if entry.problem:
        return None, entry.problem
    parsed = locs.parse_documents([entry.spec], entry.source)
    if parsed.problems:
        return None, isolation.reason([_problem(p) for p in parsed.problems])
    location = parsed.locations[0]
    expected = constants.REGISTRY_CONFIGMAP_PREFIX + location.name
    if location.name != entry.name or entry.source != f"configmap/{expected}":
        return None, f"it holds location {location.name!r}, which belongs in configmap/{expected}"
    if location.name in platform:
        return None, f"location {location.name} is also in the platform's --locations, which wins"
    return location, None


def _problem(problem: errors.Problem) -> str:
    """A validation problem as a reason: the field first (the message names it), never the value's expansion."""
    path = ".".join(str(part) for part in problem.path[1:])
    return f"{path}: {problem.message}" if path and not problem.message.startswith(path) else problem.message


def judge(
    found: Sequence[entries.Entry], policy: Optional[document.Policy], namespace: Optional[str] = None
) -> Dict[str, str]:
    """Why each entry a render would leave out is left out, as far as the registry alone tells (``status`` and
    ``list-locations``): its own problems, the policy's count, and its objects against the chart's defaults."""
    taken, left = registry_locations(found, set(), policy)
    reasons = {item.name: item.reason for item in left}
    for location in taken:
        why = _findings(location.name, location.spec, policy or document.DEFAULT, namespace)
        if why:
            reasons[location.name] = isolation.reason(why)
    return reasons


def _findings(name: str, resolved: Dict[str, Any], policy: document.Policy, namespace: Optional[str]) -> List[str]:
    location = locs.Location(name, resolved, "the entry")
    base = isolation.neutral_base(namespace)
    before = objects.build(location, base, "")
    after, problems = objects.apply_patches(location, list(before))
    if problems:
        return [p.message for p in problems]
    return isolation.findings(location, before, after, policy, isolation.release_refs(base, name))


def _count(name: str, current: Sequence[entries.Entry], policy: document.Policy) -> List[str]:
    """A new entry past ``maxLocations`` (an entry replacing itself does not count twice)."""
    others = [entry for entry in current if entry.name != name and not entry.problem]
    if policy.max_locations is None or len(others) < policy.max_locations:
        return []
    return [f"the registry holds {len(others)} locations and {policy.source} allows {policy.max_locations}"]


def refuse(
    name: str,
    resolved: Dict[str, Any],
    policy: Optional[document.Policy],
    current: Sequence[entries.Entry],
    namespace: Optional[str] = None,
) -> None:
    """Raise PolicyError when the render would leave this entry out for its objects or the policy's count,
    as far as a write can tell without the chart (checked against the chart's defaults)."""
    policy = policy or document.DEFAULT
    found = _findings(name, resolved, policy, namespace) or _count(name, current, policy)
    if found:
        raise errors.PolicyError(
            f"location {name}: {isolation.reason(found)}",
            "nothing was written; change the entry, or ask the platform team about the policy",
        )
