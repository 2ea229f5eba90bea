"""Repositories as Dagster's own tools make them, understood by `deploy` and `config view` through the installed
command: `dagster project scaffold` (the test environment's Dagster writes `[tool.dagster]`), `create-dagster
project` (the real scaffolder from PyPI, installed by bin/fetch-tools, writes `[tool.dg.project]`), and a
`dagster_cloud.yaml` as Dagster+ documents it, first checked against dagster-cloud-cli's own schema (the
`DagsterCloudYaml` model its `ci` commands load). The PR plugin's side is in tests/contract/test_argocd_previews.py."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, tool
from test_deploy import clean_env, git, run

from kubectl_dagster.shells import sources

IMAGE = "ghcr.io/acme/etl:sha-1"
# docs.dagster.io, "dagster_cloud.yaml reference": several locations, a build section, a working directory.
CLOUD_YAML = """\
locations:
  - location_name: data-eng-pipeline
    code_source:
      package_name: example_etl
    build:
      directory: ./
      registry: localhost:5000/docker_image
  - location_name: ml-pipeline
    code_source:
      python_file: ml/definitions.py
    working_directory: ./ml
    build:
      directory: ./ml
      registry: localhost:5000/docker_image
"""


def scaffold(tmp_path, *argv, name):
    """Run a real scaffolder in tmp_path (HOME there too: the tools keep telemetry ids under it); the project."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    proc = subprocess.run(argv, cwd=tmp_path, env=clean_env(HOME=str(home)), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    project = tmp_path / name
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "scaffolded")
    git(project, "checkout", "-q", "-b", "feat/x")
    return project


@pytest.fixture
def scaffolded(tmp_path):
    """`dagster project scaffold --name acme_etl` (no PyPI look-up for the name)."""
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    return scaffold(
        tmp_path, dagster, "project", "scaffold", "--name", "acme_etl", "--ignore-package-conflict", name="acme_etl"
    )


@pytest.fixture
def dg_project(tmp_path):
    """`create-dagster project etl-pipeline` (no `uv sync`: nothing is installed)."""
    return scaffold(tmp_path, tool("create-dagster"), "project", "etl-pipeline", "--no-uv-sync", name="etl-pipeline")


def deploy(project, *args):
    return run(["deploy", "--image", IMAGE, "--locations", "registry/", *args], project)


def entry(project, name):
    (location,) = sources.load([str(project / "registry")])
    assert location.name == name
    return location.spec


def view(project, *args):
    code, out, err = run(["config", "view", "-o", "json", *args], project)
    assert code == 0, err
    return {row["key"]: (row["value"], row["source"]) for row in json.loads(out)["values"]}


def test_a_scaffolded_project_deploys_with_only_an_image(scaffolded):
    """Its pyproject.toml names the module and the location; the name is the project prefix, as for `project:`."""
    assert (
        '[tool.dagster]\nmodule_name = "acme_etl.definitions"\ncode_location_name = "acme_etl"'
        in (scaffolded / "pyproject.toml").read_text()
    )  # as Dagster writes it today
    code, out, err = deploy(scaffolded)
    assert code == 0, err
    assert out.startswith("location/acme-etl--feat-x created (image ghcr.io/acme/etl:sha-1; port 3031; in ")
    assert entry(scaffolded, "acme-etl--feat-x")["moduleName"] == "acme_etl.definitions"
    source = f"pyproject [tool.dagster] ({scaffolded / 'pyproject.toml'})"
    assert view(scaffolded) == {
        "codeSource": ('{"moduleName": "acme_etl.definitions"}', source),
        "project": ("acme_etl", source),
    }


def test_a_create_dagster_project_deploys_with_only_an_image(dg_project):
    """`[tool.dg.project] root_module`: Dagster loads <root_module>.definitions; no code_location_name, no prefix."""
    text = (dg_project / "pyproject.toml").read_text()
    assert '[tool.dg.project]\nroot_module = "etl_pipeline"' in text and "[tool.dagster]" not in text
    code, out, err = deploy(dg_project)
    assert code == 0, err
    assert entry(dg_project, "feat-x")["moduleName"] == "etl_pipeline.definitions"
    assert view(dg_project) == {
        "codeSource": (
            '{"moduleName": "etl_pipeline.definitions"}',
            f"pyproject [tool.dg.project] ({dg_project / 'pyproject.toml'})",
        )
    }


def test_the_projects_own_config_wins(scaffolded):
    (scaffolded / ".kubectl-dagster.yaml").write_text(
        "apiVersion: kubectl-dagster/v1alpha1\nkind: ProjectConfig\n"
        "defaults:\n  project: etl\n  codeSource: {pythonFile: acme_etl/definitions.py}\n"
    )
    code, _, err = deploy(scaffolded)
    assert code == 0, err
    spec = entry(scaffolded, "etl--feat-x")
    assert spec["pythonFile"] == "acme_etl/definitions.py" and "moduleName" not in spec
    rows = view(scaffolded)
    assert rows["codeSource"][1] == rows["project"][1] == f"defaults ({scaffolded / '.kubectl-dagster.yaml'})"


def cloud_schema_problems(path) -> str:
    """What Dagster+'s own loader (dagster-cloud-cli, beside create-dagster) says of the file; '' when valid."""
    python = ROOT / ".tools" / "create-dagster" / "bin" / "python"
    check = (
        "import sys; from dagster_cloud_cli.config.models import load_dagster_cloud_yaml; "
        "load_dagster_cloud_yaml(open(sys.argv[1]).read())"
    )
    proc = subprocess.run([str(python), "-c", check, str(path)], capture_output=True, timeout=60)
    return proc.stderr.decode()


def test_dagster_cloud_yaml_names_the_location_to_deploy(scaffolded):
    """Above pyproject.toml, below the project config; with several locations, the one the project names."""
    (scaffolded / "dagster_cloud.yaml").write_text(CLOUD_YAML)
    assert cloud_schema_problems(scaffolded / "dagster_cloud.yaml") == ""
    cloud = f"dagster_cloud.yaml ({scaffolded / 'dagster_cloud.yaml'})"
    assert view(scaffolded)["codeSource"][1] == f"pyproject [tool.dagster] ({scaffolded / 'pyproject.toml'})"
    rows = view(scaffolded, "--project", "ml-pipeline")
    assert rows["codeSource"] == ('{"pythonFile": "ml/definitions.py", "workingDirectory": "./ml"}', cloud)
    code, _, err = deploy(scaffolded, "--project", "ml-pipeline")
    assert code == 0, err
    spec = entry(scaffolded, "ml-pipeline--feat-x")
    assert (spec["pythonFile"], spec["workingDirectory"]) == ("ml/definitions.py", "./ml")


def test_a_single_dagster_cloud_location_is_read_without_a_pyproject(tmp_path):
    repo = tmp_path / "etl"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feat/x")
    (repo / "dagster_cloud.yaml").write_text(
        "locations:\n  - location_name: etl\n    code_source:\n      module_name: etl.defs\n"
    )
    assert cloud_schema_problems(repo / "dagster_cloud.yaml") == ""
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    code, out, err = deploy(repo)
    assert code == 0, err
    assert entry(repo, "etl--feat-x")["moduleName"] == "etl.defs"


def test_without_any_code_source_the_error_names_what_was_read(tmp_path):
    repo = tmp_path / "etl"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feat/x")
    (repo / "dagster_cloud.yaml").write_text(CLOUD_YAML)  # two locations, and no project to choose one
    code, out, err = deploy(repo)
    assert (code, out) == (1, "")
    assert err == (
        "error: no code source for the location (none in the project config, pyproject.toml's [tool.dagster] or "
        "[tool.dg.project], or dagster_cloud.yaml); pass -f/--python-file, -m/--module-name or -p/--package-name, "
        "or set codeSource in .kubectl-dagster.yaml\n"
    )


@pytest.mark.parametrize(
    "table, message",
    [
        ("[tool.dagster]\nmodule_name = 3\n", "[tool.dagster] module_name must be a non-empty string, got 3"),
        (
            '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nregistry_modules = []\n',
            "[tool.dg.project] has no root_module",
        ),
    ],
    ids=["wrong-type", "dg-without-root-module"],
)
def test_a_broken_dagster_table_is_one_error_naming_the_file(tmp_path, table, message):
    repo = tmp_path / "etl"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feat/x")
    (repo / "pyproject.toml").write_text(table)
    code, out, err = deploy(repo)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {repo / 'pyproject.toml'}: {message}; ") and err.count("\n") == 1
