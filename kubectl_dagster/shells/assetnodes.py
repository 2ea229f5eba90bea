"""Read one code location's asset definitions from the Dagster webserver over GraphQL, for
``kubectl dagster diff`` and base snapshots.

The fields were read off a running ``dagster-webserver``'s schema (introspection): per repository
of the location (``workspaceLocationEntryOrError(name)``), each ``AssetNode``'s ``assetKey``,
``opVersion`` (the asset's code version), ``dependencyKeys`` and ``dependencies`` (upstream keys with
their partition mapping), ``partitionDefinition``, ``tags`` and ``metadataEntries``. These are the
repository's own definitions, so a base and a branch location that define the same keys behind one
webserver are read apart. Every field asked for exists in Dagster 1.9.0's schema and in 1.13's; so
each metadata entry type of 1.9.0 gives its value, and a later type (e.g. a pool) compares by type.
"""

from __future__ import annotations

import json
from typing import Any, Dict, NamedTuple, Optional

from ..core.assets import assetdiff
from . import reloadhook

_SCHEMA = (
    "columns { name type description constraints { nullable unique other } tags { key value } } constraints { other }"
)
_METADATA = (
    "metadataEntries { __typename label "
    "... on TextMetadataEntry { text } ... on UrlMetadataEntry { url } ... on PathMetadataEntry { path } "
    "... on NotebookMetadataEntry { path } ... on JsonMetadataEntry { jsonString } "
    "... on MarkdownMetadataEntry { mdStr } ... on PythonArtifactMetadataEntry { module name } "
    "... on FloatMetadataEntry { floatValue } ... on IntMetadataEntry { intRepr } "
    "... on BoolMetadataEntry { boolValue } ... on PipelineRunMetadataEntry { runId } "
    "... on AssetMetadataEntry { assetKey { path } } "
    "... on JobMetadataEntry { jobName repositoryName locationName } "
    "... on TimestampMetadataEntry { timestamp } "
    "... on TableMetadataEntry { table { records schema { " + _SCHEMA + " } } } "
    "... on TableSchemaMetadataEntry { schema { " + _SCHEMA + " } } "
    "... on TableColumnLineageMetadataEntry { lineage { columnName columnDeps { assetKey { path } columnName } } } "
    "... on CodeReferencesMetadataEntry { codeReferences { __typename "
    "... on LocalFileCodeReference { filePath lineNumber label } ... on UrlCodeReference { url label } } } }"
)
ASSET_FIELDS = (
    "assetKey { path } opVersion dependencyKeys { path } "
    "dependencies { asset { assetKey { path } } partitionMapping { className description } } "
    "partitionDefinition { type description name fmt "
    "dimensionTypes { name type description isPrimaryDimension dynamicPartitionsDefinitionName } } "
    "tags { key value } " + _METADATA
)


def query(name: str) -> str:
    """The GraphQL document for location ``name`` (a JSON string literal is a GraphQL string literal)."""
    return (
        "query KubectlDagsterAssets { workspaceLocationEntryOrError(name: " + json.dumps(name) + ") { "
        "__typename ... on WorkspaceLocationEntry { name loadStatus locationOrLoadError { __typename "
        "... on RepositoryLocation { repositories { name assetNodes { " + ASSET_FIELDS + " } } } "
        "... on PythonError { message errorChain { error { message } } } } } "
        "... on PythonError { message } } }"
    )


class Served(NamedTuple):
    """What the webserver says about one location: its load status, the error's first line, its assets."""

    status: str  # reloadhook.LOADED, LOADING, FAILED (ERROR) or MISSING
    message: str = ""
    assets: Dict[assetdiff.AssetPath, assetdiff.Asset] = {}


def fetch(post, name: str) -> Served:
    return parse(post(query(name)))


def parse(answer: Any) -> Served:
    if not isinstance(answer, dict):
        raise reloadhook.WebserverError(f"the webserver answered {type(answer).__name__}, not a GraphQL result")
    if answer.get("errors"):
        raise reloadhook.WebserverError("GraphQL error: " + "; ".join(str(e.get("message")) for e in answer["errors"]))
    entry = (answer.get("data") or {}).get("workspaceLocationEntryOrError")
    if not entry:
        return Served(reloadhook.MISSING)
    if entry.get("__typename") == "PythonError":
        raise reloadhook.WebserverError(f"the webserver failed to read the location: {entry.get('message')}")
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
