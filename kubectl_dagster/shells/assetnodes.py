"""Read code locations' asset definitions from the Dagster webserver over GraphQL, for
``kubectl dagster diff``, ``status --assets`` and base snapshots.

Per repository of a location, each ``AssetNode``'s ``assetKey``, ``opVersion`` (the asset's code
version), ``dependencyKeys`` and ``dependencies`` (upstream keys with their partition mapping),
``partitionDefinition``, ``tags`` and ``metadataEntries``: the repository's own definitions, so a base
and a branch location that define the same keys behind one webserver are read apart. The document
asks only for what the webserver's schema has (``core.assets.assetquery``): one location by name where
the schema can (Dagster 1.7.16+), else the whole workspace at once; each metadata entry type gives its
value where the schema has it, and a later type (e.g. a pool) compares by type.
"""

from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional

from ..core.assets import assetdiff, assetquery
from . import reloadhook


class Served(NamedTuple):
    """What the webserver says about one location: its load status, the error's first line, its assets."""

    status: str  # reloadhook.LOADED, LOADING, FAILED (ERROR) or MISSING
    message: str = ""
    assets: Dict[assetdiff.AssetPath, assetdiff.Asset] = {}


def read_schema(post) -> assetquery.Schema:
    """The webserver's Dagster version and the fields of the types the asset query names."""
    return assetquery.parse_schema(post(assetquery.introspection()))


def fetch(post, name: str, schema: assetquery.Schema) -> Served:
    """Location ``name``, asked for by name where the schema can."""
    if not assetquery.per_location(schema):
        return fetch_all(post, schema).get(name, Served(reloadhook.MISSING))
    return parse(post(assetquery.document(schema, name)[0]))


def fetch_all(post, schema: assetquery.Schema) -> Dict[str, Served]:
    """Every location the webserver serves, in one query."""
    document, _ = assetquery.document(schema)
    workspace = _data(post(document)).get("workspaceOrError") or {}
    if workspace.get("__typename") == "PythonError":
        raise reloadhook.WebserverError(f"the webserver failed to read the workspace: {workspace.get('message')}")
    return {str(entry.get("name")): _served(entry) for entry in workspace.get("locationEntries") or []}


def _data(answer: Any) -> Dict[str, Any]:
    if not isinstance(answer, dict):
        raise reloadhook.WebserverError(f"the webserver answered {type(answer).__name__}, not a GraphQL result")
    if answer.get("errors"):
        raise reloadhook.WebserverError("GraphQL error: " + "; ".join(str(e.get("message")) for e in answer["errors"]))
    return answer.get("data") or {}


def parse(answer: Any) -> Served:
    """A ``workspaceLocationEntryOrError`` answer."""
    entry = _data(answer).get("workspaceLocationEntryOrError")
    if not entry:
        return Served(reloadhook.MISSING)
    if entry.get("__typename") == "PythonError":
        raise reloadhook.WebserverError(f"the webserver failed to read the location: {entry.get('message')}")
    return _served(entry)


def _served(entry: Dict[str, Any]) -> Served:
    location = entry.get("locationOrLoadError") or {}
    if location.get("__typename") == "PythonError":
        chain = [link.get("error") or {} for link in location.get("errorChain") or []]
        return Served(reloadhook.FAILED, reloadhook.root_cause({"message": location.get("message"), "causes": chain}))
    if location.get("__typename") != "RepositoryLocation" or entry.get("loadStatus") != reloadhook.LOADED:
        return Served(reloadhook.LOADING)
    assets: Dict[assetdiff.AssetPath, assetdiff.Asset] = {}
    for repository in sorted(location.get("repositories") or [], key=lambda r: str(r.get("name"))):
        for node in repository.get("assetNodes") or []:
            asset = asset_of(node)
            assets.setdefault(asset.path, asset)  # one location, several repositories: the first one's
    return Served(reloadhook.LOADED, "", assets)


def _path(key: Optional[Dict[str, Any]]) -> assetdiff.AssetPath:
    return tuple(str(part) for part in (key or {}).get("path") or [])


def asset_of(node: Dict[str, Any]) -> assetdiff.Asset:
    mappings = {}
    for dependency in node.get("dependencies") or []:
        mapping = dependency.get("partitionMapping")
        if mapping:
            mappings[_path((dependency.get("asset") or {}).get("assetKey"))] = (
                f"{mapping.get('className')}: {mapping.get('description')}"
            )
    upstream = sorted({_path(key) for key in node.get("dependencyKeys") or []})
    partitions = node.get("partitionDefinition")
    metadata = {}
    for item in node.get("metadataEntries") or []:
        metadata[str(item.get("label"))] = {k: v for k, v in item.items() if k not in ("label", "description")}
    return assetdiff.Asset(
        path=_path(node.get("assetKey")),
        code_version=node.get("opVersion"),
        dependencies=tuple((path, mappings.get(path)) for path in upstream),
        partitions=dict(partitions) if partitions else None,
        tags={str(t.get("key")): str(t.get("value")) for t in node.get("tags") or []},
        metadata=metadata,
    )
