"""``config view``: the merged project config, each value with the layer it came from. Environment
values are never printed, only their names (they are often secrets)."""

from __future__ import annotations

import click

from ..core.branches import projectconfig
from . import commands, optable, options, output, project, projectopts

HEADERS = ["KEY", "VALUE", "SOURCE"]


@click.group("config", cls=commands.Group)
def group():
    """The project config (.kubectl-dagster.yaml, and Dagster's own project files) that deploy reads."""


@group.command("view")
@projectopts.project
@optable.decorate(
    projectopts.pick(
        "project",
        "image_tag",
        "pull_policy",
        "python_file",
        "module_name",
        "package_name",
        "working_directory",
        "attribute",
        "env",
        "env_secrets",
        "env_config_maps",
        "ttl",
        "max_branch_locations",
        "branch_env",
        "automation",
        "ui_url",
        "context",
        "namespace",
        "cluster",
        "locations_path",
        "webserver_url",
        "argocd_app",
        "debug",
    )
)
@options.output(("table", "yaml", "json"), "table")
def view(**params):
    """Print the merged config: Dagster's own files ([tool.dg.project], [tool.dagster], dagster_cloud.yaml),
    [tool.kubectl-dagster], defaults, the environment, KUBECTL_DAGSTER_* variables and flags, lowest
    first; each value with its source.

    \b
    Examples:
      kubectl dagster config view -e dev
      kubectl dagster config view -e prd -o json
    """
    loaded = project.load(params, project.given_on_command_line())
    merged = loaded.merged
    rows = projectconfig.rows(merged)
    if params["output"] == "table":
        head = f"# {merged.file or 'no project config file'}" + (
            f", environment {merged.environment}" if merged.environment else ", no environment (defaults only)"
        )
        output.echo(head)
        output.table([list(row) for row in rows], HEADERS)
    else:
        output.data(
            {
                "file": merged.file,
                "environment": merged.environment,
                "values": [{"key": k, "value": v, "source": s} for k, v, s in rows],
            },
            params["output"],
        )
