"""Registry entries are untrusted: what the render checks of each one beyond what every location gets, and how
it says why an entry was left out. The checks (``core.policy``) run on the objects generated for the entry, after
its patches, against the release's own references (which every location may use).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from ..policy import document, rules
from ..spec import locations
from . import objects, releasebase

REASON_LIMIT = 220  # characters of a reason; the stderr line around it stays within 300
LINE_LIMIT = 300


def release_refs(base: releasebase.Base, name: str) -> Set[rules.Ref]:
    """The Secrets and ConfigMaps the release gives location ``name`` whatever its entry says."""
    bare = locations.Location(
        name, {"name": name, "image": {"repository": "bare"}, "dagsterApiGrpcArgs": [], "includeInstance": True}
    )
    deployment = objects.build(bare, base, "")[-1]
    return {ref for _, ref in rules.references(deployment["spec"]["template"]["spec"])}


def findings(
    location: locations.Location,
    before: List[Dict[str, Any]],
    after: List[Dict[str, Any]],
    policy: Optional[document.Policy],
    refs: Set[rules.Ref],
) -> List[str]:
    return rules.check(before, after, location.spec.get("patches"), policy or document.DEFAULT, refs)


def reason(messages: List[str]) -> str:
    """The first message, clipped, and how many more there are."""
    more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
    first = messages[0]
    room = REASON_LIMIT - len(more)
    return (first if len(first) <= room else first[: room - 3] + "...") + more


def line(name: str, source: str, why: str) -> str:
    """The stderr line for an entry left out of the render (at most 300 characters)."""
    text = f"warning: location {name} ({source}) left out of the render: {why}"
    return text if len(text) <= LINE_LIMIT else text[: LINE_LIMIT - 3] + "..."


def neutral_base(namespace: Optional[str]) -> releasebase.Base:
    """The release-wide settings of a release seen nowhere (a registry write, ``status``): the chart's defaults."""
    return releasebase.Base(
        release="dagster",
        fullname="dagster",
        chart_version="1.11.10",
        app_version="1.11.10",
        namespace=namespace or "dagster",
        service_account="dagster-user-deployments-user-deployments",
        shared_env="dagster-user-deployments-shared-env",
    )
