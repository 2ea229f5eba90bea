"""The GraphQL document that reads a location's asset definitions, fitted to what the webserver's
schema offers.

A webserver rejects a whole document that names one field its schema lacks (HTTP 400), and the
schema grows with Dagster: 1.6 has no ``Query.workspaceLocationEntryOrError`` (then the whole
workspace is read), no ``TableColumn.tags`` and no code-reference metadata; before 1.9 there is no
``PartitionDefinition.fmt``. So the document is a tree of the fields wanted, each tied to the type
that has it, and keeps what the schema has (read by one introspection query, ``__type`` per type).
A field left out is a :class:`Gap`: the change kind it would have shown, named in the output. A field
nothing can be compared without makes the command refuse, in one line. Pure.
"""

from __future__ import annotations

import json
from typing import Any, Dict, FrozenSet, List, NamedTuple, Optional, Tuple, Union

from ...base import errors

OLDEST = "1.6"  # the oldest Dagster webserver the real-Dagster tests run (tests/dagster-versions.txt)
PER_LOCATION = ("Query", "workspaceLocationEntryOrError")  # 1.7.16+: one location's entry, by name


class Field(NamedTuple):
    name: str  # with arguments, if any
    parent: str  # the GraphQL type that has it
    children: Tuple["Node", ...] = ()
    loses: str = ""  # what is not compared without it ("kind" or "kind (what)"); empty: it is needed


class On(NamedTuple):
    """An inline fragment: dropped, without loss, when the schema has no such type (it cannot occur)."""

    type: str
    children: Tuple["Node", ...]


Node = Union[Field, On]


class Gap(NamedTuple):
    """A field the webserver's schema lacks, and what a comparison does not see without it."""

    loses: str
    field: str  # Type.field


class Schema(NamedTuple):
    version: str
    types: Dict[str, FrozenSet[str]]  # type name -> its field names (none for a union)

    def has(self, parent: str, name: str) -> bool:
        return name.startswith("__") or name.split("(")[0] in self.types.get(parent, ())


def _scalars(parent: str, names: str, loses: str = "") -> Tuple[Field, ...]:
    return tuple(Field(name, parent, loses=loses) for name in names.split())


def _key(parent: str) -> Field:
    return Field("assetKey", parent, (Field("path", "AssetKey"),))


_TYPENAME = Field("__typename", "")
_COLUMN_TAGS = Field("tags", "TableColumn", _scalars("DefinitionTag", "key value"), "metadata (table column tags)")
_TABLE_SCHEMA = (
    Field(
        "columns",
        "TableSchema",
        _scalars("TableColumn", "name type description")
        + (Field("constraints", "TableColumn", _scalars("TableColumnConstraints", "nullable unique other")),)
        + (_COLUMN_TAGS,),
    ),
    Field("constraints", "TableSchema", _scalars("TableConstraints", "other")),
)
_LINEAGE = Field(
    "lineage",
    "TableColumnLineageMetadataEntry",
    (
        Field("columnName", "TableColumnLineageEntry"),
        Field("columnDeps", "TableColumnLineageEntry", (_key("TableColumnDep"), Field("columnName", "TableColumnDep"))),
    ),
)
_CODE_REFERENCES = Field(
    "codeReferences",
    "CodeReferencesMetadataEntry",
    (
        _TYPENAME,
        On("LocalFileCodeReference", _scalars("LocalFileCodeReference", "filePath lineNumber label")),
        On("UrlCodeReference", _scalars("UrlCodeReference", "url label")),
    ),
)
_VALUES = {  # metadata entry type -> the fields that hold its value
    "TextMetadataEntry": "text",
    "UrlMetadataEntry": "url",
    "PathMetadataEntry": "path",
    "NotebookMetadataEntry": "path",
    "JsonMetadataEntry": "jsonString",
    "MarkdownMetadataEntry": "mdStr",
    "PythonArtifactMetadataEntry": "module name",
    "FloatMetadataEntry": "floatValue",
    "IntMetadataEntry": "intRepr",
    "BoolMetadataEntry": "boolValue",
    "PipelineRunMetadataEntry": "runId",
    "JobMetadataEntry": "jobName repositoryName locationName",
    "TimestampMetadataEntry": "timestamp",
}
_METADATA = Field(
    "metadataEntries",
    "AssetNode",
    (_TYPENAME, Field("label", "MetadataEntry"))
    + tuple(On(kind, _scalars(kind, names)) for kind, names in _VALUES.items())
    + (
        On("AssetMetadataEntry", (_key("AssetMetadataEntry"),)),
        On(
            "TableMetadataEntry",
            (
                Field(
                    "table",
                    "TableMetadataEntry",
                    (Field("records", "Table"),) + (Field("schema", "Table", _TABLE_SCHEMA),),
                ),
            ),
        ),
        On("TableSchemaMetadataEntry", (Field("schema", "TableSchemaMetadataEntry", _TABLE_SCHEMA),)),
        On("TableColumnLineageMetadataEntry", (_LINEAGE,)),
        On("CodeReferencesMetadataEntry", (_CODE_REFERENCES,)),
    ),
    "metadata",
)
_DIMENSIONS = _scalars("DimensionDefinitionType", "name type description isPrimaryDimension")
_PARTITIONS = Field(
    "partitionDefinition",
    "AssetNode",
    _scalars("PartitionDefinition", "type description name")
    + (Field("fmt", "PartitionDefinition", loses="partitions (date format)"),)
    + (
        Field(
            "dimensionTypes",
            "PartitionDefinition",
            _DIMENSIONS + (Field("dynamicPartitionsDefinitionName", "DimensionDefinitionType"),),
        ),
    ),
    "partitions",
)
_DEPENDENCIES = Field(
    "dependencies",
    "AssetNode",
    (
        Field("asset", "AssetDependency", (_key("AssetNode"),)),
        Field("partitionMapping", "AssetDependency", _scalars("PartitionMapping", "className description")),
    ),
    "dependencies (partition mappings)",
)
ASSET_NODE = (
    _key("AssetNode"),
    Field("opVersion", "AssetNode", loses="code_version"),
    Field("dependencyKeys", "AssetNode", (Field("path", "AssetKey"),), "dependencies"),
    _DEPENDENCIES,
    _PARTITIONS,
    Field("tags", "AssetNode", _scalars("DefinitionTag", "key value"), "tags"),
    _METADATA,
)
_PYTHON_ERROR = Field("message", "PythonError")
LOCATION = (
    Field("name", "WorkspaceLocationEntry"),
    Field("loadStatus", "WorkspaceLocationEntry"),
    Field(
        "locationOrLoadError",
        "WorkspaceLocationEntry",
        (
            _TYPENAME,
            On(
                "RepositoryLocation",
                (
                    Field(
                        "repositories",
                        "RepositoryLocation",
                        (Field("name", "Repository"), Field("assetNodes", "Repository", ASSET_NODE)),
                    ),
                ),
            ),
            On(
                "PythonError",
                (
                    _PYTHON_ERROR,
                    Field("errorChain", "PythonError", (Field("error", "ErrorChainLink", (_PYTHON_ERROR,)),)),
                ),
            ),
        ),
    ),
)
WORKSPACE = Field(
    "workspaceOrError",
    "Query",
    (
        _TYPENAME,
        On("Workspace", (Field("locationEntries", "Workspace", LOCATION),)),
        On("PythonError", (_PYTHON_ERROR,)),
    ),
)


def entry(name: str) -> Field:
    """``workspaceLocationEntryOrError`` of location ``name`` (a JSON string literal is a GraphQL one)."""
    return Field(
        f"{PER_LOCATION[1]}(name: {json.dumps(name)})",
        PER_LOCATION[0],
        (_TYPENAME, On("WorkspaceLocationEntry", LOCATION), On("PythonError", (_PYTHON_ERROR,))),
    )


# -- the schema -------------------------------------------------------------------------------------------------------
def _types(nodes: Tuple[Node, ...], into: Dict[str, None]) -> Dict[str, None]:
    for node in nodes:
        named = node.type if isinstance(node, On) else node.parent
        if named:
            into.setdefault(named)
        _types(node.children, into)
    return into


TYPES = tuple(_types((entry(""), WORKSPACE), {}))


def introspection() -> str:
    """``version`` and, per type the documents name, its fields (null when the schema has no such type)."""
    asked = " ".join(f't{i}: __type(name: "{name}") {{ name fields {{ name }} }}' for i, name in enumerate(TYPES))
    return "query KubectlDagsterSchema { version " + asked + " }"


def parse_schema(answer: Any) -> Schema:
    """The introspection answer; a webserver that cannot answer it is one error line."""
    data = answer.get("data") if isinstance(answer, dict) and not answer.get("errors") else None
    if not isinstance(data, dict):
        raise errors.ClusterError(
            "the webserver did not answer the schema query (GraphQL introspection)",
            "check --webserver-url / --webserver-service and that it is a Dagster webserver",
        )
    found = {}
    for i, _ in enumerate(TYPES):
        item = data.get(f"t{i}")
        if isinstance(item, dict) and item.get("name"):
            found[item["name"]] = frozenset(str(f.get("name")) for f in item.get("fields") or [] if isinstance(f, dict))
    return Schema(str(data.get("version") or "unknown"), found)


# -- the document -----------------------------------------------------------------------------------------------------
def per_location(schema: Schema) -> bool:
    return schema.has(*PER_LOCATION)


def document(schema: Schema, name: Optional[str] = None) -> Tuple[str, Tuple[Gap, ...]]:
    """The query for location ``name`` (the whole workspace when None, or when the schema cannot pick
    one), and what it cannot read; a needed field the schema lacks raises a one-line error."""
    root = entry(name) if name is not None and per_location(schema) else WORKSPACE
    gaps: List[Gap] = []
    body = _fit((root,), schema, "", gaps)
    return "query KubectlDagsterAssets { " + " ".join(body) + " }", tuple(dict.fromkeys(gaps))


def _fit(nodes: Tuple[Node, ...], schema: Schema, loses: str, gaps: List[Gap]) -> List[str]:
    out = []
    for node in nodes:
        if isinstance(node, On):
            inner = _fit(node.children, schema, loses, gaps) if node.type in schema.types else []
            out += [f"... on {node.type} {{ {' '.join(inner)} }}"] if inner else []
            continue
        text = _fit_field(node, schema, node.loses or loses, gaps)
        out += [text] if text else []
    return out


def _fit_field(node: Field, schema: Schema, loses: str, gaps: List[Gap]) -> str:
    if not schema.has(node.parent, node.name):
        field = f"{node.parent}.{node.name.split('(')[0]}"
        if not loses:
            raise too_old(schema, field)
        gaps.append(Gap(loses, field))
        return ""
    if not node.children:
        return node.name
    inner = _fit(node.children, schema, loses, gaps)
    return f"{node.name} {{ {' '.join(inner)} }}" if inner else ""


def too_old(schema: Schema, field: str) -> errors.ClusterError:
    return errors.ClusterError(
        f"reading asset definitions needs a Dagster {OLDEST}+ webserver; this one is {schema.version} "
        f"(its GraphQL schema has no {field})",
        "upgrade the Dagster webserver (the chart's dagsterWebserver image)",
    )


def note(schema: Schema) -> str:
    """What the asset query cannot read from this webserver, in one line; empty when nothing."""
    gaps = document(schema)[1]
    if not gaps:
        return ""
    kinds = ", ".join(dict.fromkeys(gap.loses for gap in gaps))
    fields = ", ".join(dict.fromkeys(gap.field for gap in gaps))
    return f"not compared by this Dagster {schema.version} webserver: {kinds}; its GraphQL schema has no {fields}"
