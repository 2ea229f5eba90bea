"""What Dagster's own project files give the project config (core/branches/dagsterfiles.py), key by key, as the
loader in Dagster (dagster/_core/workspace/load_target.py, get_target_from_toml_data) and dg
(dagster_dg_core/context.py, code_location_target_module_name) read them."""

import pytest

from kubectl_dagster.base import errors
from kubectl_dagster.core.branches import dagsterfiles

P = "/repo/pyproject.toml"


def values(tool):
    return [(layer.label, layer.values) for layer in dagsterfiles.pyproject_layers({"tool": tool, "__path__": P})]


DG = f"pyproject [tool.dg.project] ({P})"
DAGSTER = f"pyproject [tool.dagster] ({P})"


@pytest.mark.parametrize(
    "tool, expected",
    [
        (
            {"dg": {"directory_type": "project", "project": {"root_module": "etl"}}},
            [(DG, {"codeSource": {"moduleName": "etl.definitions"}})],
        ),
        (
            {
                "dg": {
                    "project": {
                        "root_module": "etl",
                        "code_location_target_module": "etl.defs_root",
                        "code_location_name": "etl",
                    }
                }
            },
            [(DG, {"codeSource": {"moduleName": "etl.defs_root"}, "project": "etl"})],
        ),
        (
            {"dg": {"project": {"root_module": "etl", "autoload_defs": True, "code_location_name": "etl"}}},
            [(DG, {"project": "etl"})],
        ),
        (
            {"dagster": {"module_name": "etl.definitions", "code_location_name": "etl"}},
            [(DAGSTER, {"codeSource": {"moduleName": "etl.definitions"}, "project": "etl"})],
        ),
        (
            {"dagster": {"modules": [{"type": "module", "name": "etl.a"}]}},
            [(DAGSTER, {"codeSource": {"moduleName": "etl.a"}})],
        ),
        ({"dagster": {"modules": [{"type": "module", "name": "a"}, {"type": "module", "name": "b"}]}}, []),
        (
            {"dg": {"project": {"root_module": "new"}}, "dagster": {"module_name": "old.definitions"}},
            [
                (DG, {"codeSource": {"moduleName": "new.definitions"}}),
                (DAGSTER, {"codeSource": {"moduleName": "old.definitions"}}),
            ],
        ),
        ({"ruff": {"line-length": 120}}, []),
    ],
    ids=[
        "dg",
        "dg-target-and-name",
        "dg-autoload",
        "dagster",
        "dagster-one-module",
        "dagster-several-modules",
        "both-dagster-above",
        "neither",
    ],
)
def test_pyproject_tables(tool, expected):
    assert values(tool) == expected


CLOUD = {
    "defaults": {"working_directory": "./src"},
    "locations": [
        {"location_name": "data_eng", "code_source": {"package_name": "data_eng"}},
        {"location_name": "ml", "code_source": {"python_file": "ml/defs.py"}, "attribute": "defs"},
    ],
}


@pytest.mark.parametrize(
    "data, project, expected",
    [
        (
            CLOUD,
            "ml",
            {
                "project": "ml",
                "codeSource": {"pythonFile": "ml/defs.py", "workingDirectory": "./src", "attribute": "defs"},
            },
        ),
        (
            CLOUD,
            "data_eng",
            {"project": "data-eng", "codeSource": {"packageName": "data_eng", "workingDirectory": "./src"}},
        ),
        (CLOUD, None, None),
        (CLOUD, "other", None),
        (
            {"locations": [CLOUD["locations"][1]]},
            "other",
            {"project": "ml", "codeSource": {"pythonFile": "ml/defs.py", "attribute": "defs"}},
        ),
    ],
    ids=["named", "named-by-slug", "several-unnamed", "several-none-named", "only-one"],
)
def test_dagster_cloud_yaml(data, project, expected):
    layer = dagsterfiles.cloud_layer(data, "/repo/dagster_cloud.yaml", project)
    assert (layer.values if layer else None) == expected


def test_a_file_that_is_not_dagster_cloud_yaml_names_itself():
    with pytest.raises(
        errors.InputError, match=r"^/repo/dagster_cloud.yaml: not a dagster_cloud.yaml: no locations list"
    ):
        dagsterfiles.cloud_layer({"build": {}}, "/repo/dagster_cloud.yaml", None)
