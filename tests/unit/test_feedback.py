"""The pull-request comment's table and the version skew, as data (the real webserver's answers are
in tests/contract/test_dagster_branch_env.py)."""

from kubectl_dagster.core.branches import feedback


def test_markdown_table():
    rows = [
        {"name": "etl--feat-x", "dagster": "ERROR", "cause": "ModuleNotFoundError: No module named 'etl' | x"},
        {
            "name": "etl--feat-y",
            "dagster": "LOADED",
            "cause": "",
            "updated": "2026-11-23 12:00 UTC",
            "skew": "Dagster version skew: code server 1.9.0, webserver 1.11.10",
        },
        {"name": "etl--feat-z", "dagster": "SUSPENDED", "cause": ""},
    ]
    text = feedback.markdown(rows, "https://dagster.acme.test/", "2026-11-23 12:05 UTC", "Dagster code locations")
    assert text == (
        "<!-- kubectl-dagster:status -->\n### Dagster code locations\n\n"
        "| Location | Status | Link | Updated |\n| --- | --- | --- | --- |\n"
        "| `etl--feat-x` | ❌ ERROR: ModuleNotFoundError: No module named 'etl' \\| x | "
        "[Open in Dagster](https://dagster.acme.test/locations/__repository__@etl--feat-x) | 2026-11-23 12:05 UTC |\n"
        "| `etl--feat-y` | ✅ LOADED | [Open in Dagster](https://dagster.acme.test/locations/__repository__@etl--feat-y)"
        " | 2026-11-23 12:00 UTC |\n"
        "| `etl--feat-z` | ⏸️ SUSPENDED | [Open in Dagster](https://dagster.acme.test/locations/__repository__@"
        "etl--feat-z) | 2026-11-23 12:05 UTC |\n"
        "\n- `etl--feat-y`: Dagster version skew: code server 1.9.0, webserver 1.11.10\n"
    )
    assert "—" in feedback.markdown(rows[:1], None, "t", "T")  # no UI URL: no link
    assert feedback.markdown([], None, "t", "T").endswith("No code locations found (t).\n")


def test_long_errors_are_cut_in_the_table():
    text = feedback.markdown([{"name": "x", "dagster": "ERROR", "cause": "E" * 500}], None, "t", "T")
    assert "E" * feedback.MAX_MESSAGE + " …" in text and "E" * (feedback.MAX_MESSAGE + 1) not in text


def test_skew_only_when_both_versions_are_known_and_differ():
    assert feedback.skew("1.9.0", "1.11.10") == "Dagster version skew: code server 1.9.0, webserver 1.11.10"
    assert feedback.skew("1.11.10", "1.11.10") is None
    assert feedback.skew(None, "1.11.10") is None and feedback.skew("1.9.0", None) is None


def test_details_from_a_graphql_answer():
    answer = {
        "data": {
            "version": "1.11.10",
            "workspaceOrError": {
                "__typename": "Workspace",
                "locationEntries": [
                    {
                        "name": "a",
                        "updatedTimestamp": 1795435200.5,
                        "locationOrLoadError": {
                            "__typename": "RepositoryLocation",
                            "dagsterLibraryVersions": [{"name": "dagster", "version": "1.9.0"}],
                        },
                    },
                    {
                        "name": "b",
                        "updatedTimestamp": 1795435200.0,
                        "locationOrLoadError": {"__typename": "PythonError"},
                    },
                ],
            },
        }
    }
    details = feedback.parse_details(answer)
    assert details.webserver_version == "1.11.10"
    assert details.locations == {
        "a": {"dagster_version": "1.9.0", "updated": 1795435200.5},
        "b": {"dagster_version": None, "updated": 1795435200.0},
    }
    assert feedback.updated_text(1795435200.5) == "2026-11-23 12:00 UTC"
    assert feedback.parse_details({"errors": [{"message": "Cannot query field"}]}) is None


def test_an_assets_column_when_rows_carry_the_diff():
    rows = [
        {"name": "etl--feat-x", "dagster": "LOADED", "cause": "", "assets": {"summary": "1 new, 2 changed"}},
        {"name": "etl", "dagster": "LOADED", "cause": "", "assets": None},
    ]
    lines = feedback.markdown(rows, None, "t", "T").splitlines()
    assert lines[3:7] == [
        "| Location | Status | Link | Updated | Assets |",
        "| --- | --- | --- | --- | --- |",
        "| `etl--feat-x` | ✅ LOADED | — | t | 1 new, 2 changed |",
        "| `etl` | ✅ LOADED | — | t | — |",
    ]
