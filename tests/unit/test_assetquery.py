"""The asset query fitted to a webserver's schema, on what real webservers answered to the introspection
query (tests/unit/dagster-schemas/, see its README): Dagster 1.6.14, 1.8.13 (not in the test matrix: its
only difference, no PartitionDefinition.fmt, is checked here), 1.10.4 and 1.13.28. That each fitted
document runs on its real webserver is tests/contract/test_asset_diff.py, on every release of the matrix."""

import json
import pathlib

import pytest

from kubectl_dagster.base import errors
from kubectl_dagster.core.assets import assetdiff, assetquery

SCHEMAS = pathlib.Path(__file__).resolve().parent / "dagster-schemas"
FMT = assetquery.Gap("partitions (date format)", "PartitionDefinition.fmt")
COLUMN_TAGS = assetquery.Gap("metadata (table column tags)", "TableColumn.tags")
# release: (asks for one location by name, what the document cannot read)
EXPECTED = {
    "1.6.14": (False, (FMT, COLUMN_TAGS)),
    "1.8.13": (True, (FMT,)),
    "1.10.4": (True, ()),
    "1.13.28": (True, ()),
}


def schema_of(version):
    return assetquery.parse_schema(json.loads((SCHEMAS / f"{version}.json").read_text()))


def test_the_recordings_answer_what_is_asked_now():
    """A recording made for another introspection query would test nothing: re-record (see the README)."""
    for version in EXPECTED:
        data = json.loads((SCHEMAS / f"{version}.json").read_text())["data"]
        assert data["version"] == version
        assert sorted(data) == sorted(["version"] + [f"t{i}" for i in range(len(assetquery.TYPES))])
        named = [data[f"t{i}"]["name"] for i, _ in enumerate(assetquery.TYPES) if data[f"t{i}"]]
        assert named == [t for t in assetquery.TYPES if t in named]


@pytest.mark.parametrize("version", EXPECTED)
def test_each_release_gets_what_its_schema_has(version):
    schema = schema_of(version)
    by_name, gaps = EXPECTED[version]
    document, found = assetquery.document(schema, "etl--feat-x")
    assert assetquery.per_location(schema) is by_name
    assert found == gaps
    assert ('workspaceLocationEntryOrError(name: "etl--feat-x")' in document) is by_name
    assert ("workspaceOrError" in document) is not by_name
    assert (" fmt " in document) is (FMT not in gaps)
    for kind in ("CodeReferencesMetadataEntry", "TableColumnLineageMetadataEntry"):  # 1.6 has neither type
        assert (f"... on {kind} " in document) is (kind in schema.types)


def test_the_newest_document_asks_for_every_field():
    document, gaps = assetquery.document(schema_of("1.13.28"), "x")
    assert gaps == ()
    for field in ("opVersion", "dependencyKeys", "partitionMapping", " fmt ", "dimensionTypes", "tags { key value }"):
        assert field in document
    assert document.count("{") == document.count("}")


def test_without_a_name_the_whole_workspace_is_read():
    document, _ = assetquery.document(schema_of("1.13.28"))
    assert document.startswith("query KubectlDagsterAssets { workspaceOrError { ")


def test_what_is_not_compared_is_one_line():
    assert assetquery.note(schema_of("1.13.28")) == ""
    assert assetquery.note(schema_of("1.8.13")) == (
        "not compared by this Dagster 1.8.13 webserver: partitions (date format); "
        "its GraphQL schema has no PartitionDefinition.fmt"
    )


@pytest.mark.parametrize(
    "type_name, field",
    [("AssetNode", "assetKey"), ("WorkspaceLocationEntry", "loadStatus"), ("Repository", "assetNodes")],
)
def test_a_needed_field_missing_is_one_error_line(type_name, field):
    schema = schema_of("1.6.14")
    older = schema._replace(version="1.5.1", types={**schema.types, type_name: schema.types[type_name] - {field}})
    with pytest.raises(errors.ClusterError) as raised:
        assetquery.document(older, "etl")
    assert raised.value.line() == (
        "reading asset definitions needs a Dagster 1.6+ webserver; this one is 1.5.1 "
        f"(its GraphQL schema has no {type_name}.{field}); upgrade the Dagster webserver (the chart's "
        "dagsterWebserver image)"
    )


def test_a_missing_kind_is_named_not_dropped():
    schema = schema_of("1.13.28")
    older = schema._replace(types={**schema.types, "AssetNode": schema.types["AssetNode"] - {"tags", "opVersion"}})
    document, gaps = assetquery.document(older, "etl")
    assert gaps == (assetquery.Gap("code_version", "AssetNode.opVersion"), assetquery.Gap("tags", "AssetNode.tags"))
    assert "opVersion" not in document and "tags { key value } metadataEntries" not in document


@pytest.mark.parametrize(
    "answer",
    [[], {"errors": [{"message": "introspection is disabled"}]}, {"data": None}],
    ids=["not-a-result", "graphql-error", "no-data"],
)
def test_a_webserver_that_cannot_answer_the_schema_query_is_one_line(answer):
    with pytest.raises(errors.ClusterError, match="did not answer the schema query"):
        assetquery.parse_schema(answer)


def test_the_comparison_says_what_it_could_not_compare():
    unseen = ("partitions (date format)",)
    diff = assetdiff.Diff("etl--x", "etl", "live", (assetdiff.Change(("a",), "new"),), unseen=unseen)
    assert assetdiff.as_data(diff)["notCompared"] == ["partitions (date format)"]
    assert "1 new, 0 changed, 0 removed; not compared by this webserver: partitions (date format)</summary>" in (
        assetdiff.markdown([diff])
    )
    assert assetdiff.as_data(diff._replace(unseen=()))["notCompared"] == []
