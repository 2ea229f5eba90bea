"""Which code-location images a Kustomize overlay's ``images:`` would move. Pure.

The recipe for ArgoCD Image Updater (docs/argocd.md) renders the merged release into a base and
lets Image Updater edit an overlay's ``images:``. Kustomize matches an ``images:`` entry to a
container by the image's name (the reference without tag and digest), so a location whose image
no entry names is one Image Updater would never move; ``check-images`` finds those in CI.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple

from ...base import constants, errors
from ..chart import manifests


class LocationImage(NamedTuple):
    location: str
    container: str
    image: str  # as rendered: name[:tag][@digest]

    @property
    def name(self) -> str:
        return image_name(self.image)


class Report(NamedTuple):
    matched: Dict[str, List[str]]  # images: entry name -> the locations it moves
    unmatched: List[LocationImage]


def image_name(reference: str) -> str:
    """The part Kustomize matches on: ``ghcr.io/acme/etl:1.0@sha256:…`` -> ``ghcr.io/acme/etl``."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name  # a ':' before the last '/' is a registry port


def location_images(text: str) -> List[LocationImage]:
    """Every container and init container image of the Deployments kubectl-dagster created."""
    found: List[LocationImage] = []
    for doc in manifests.split(text).documents:
        if doc.kind != "Deployment" or not isinstance(doc.data, dict):
            continue
        location = doc.labels().get(constants.LOCATION_LABEL)
        if not location:
            continue
        pod = ((doc.data.get("spec") or {}).get("template") or {}).get("spec") or {}
        for key in ("initContainers", "containers"):
            for container in pod.get(key) or []:
                if isinstance(container, dict) and isinstance(container.get("image"), str):
                    found.append(LocationImage(location, str(container.get("name")), container["image"]))
    return found


def overlay_names(kustomization: Any, where: str) -> List[str]:
    """The ``name`` of every ``images:`` entry of a kustomization."""
    if not isinstance(kustomization, dict):
        raise errors.InputError(
            f"{where} is not a kustomization (not a mapping)", "point at the overlay's kustomization.yaml"
        )
    entries = kustomization.get("images") or []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
    ):
        raise errors.InputError(
            f"{where}: images must be a list of entries with a name", "write images: [{name: REPOSITORY, newTag: TAG}]"
        )
    return [entry["name"] for entry in entries]


def check(images: List[LocationImage], names: List[str]) -> Report:
    wanted = set(names)
    matched: Dict[str, List[str]] = {}
    for item in images:
        if item.name in wanted:
            matched.setdefault(item.name, [])
            if item.location not in matched[item.name]:
                matched[item.name].append(item.location)
    unmatched = [item for item in images if item.name not in wanted]
    return Report(matched, unmatched)
