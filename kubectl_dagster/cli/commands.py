"""The command group: each command lives in its own module."""
from __future__ import annotations

import click

from . import argocd, misc, observe, registry, render


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, hidden=True)
def cli(debug):
    """Add, update and remove Dagster code locations on a Dagster Helm release.

    Code locations are merged into the rendered manifests (helm template, Helm 3 and Helm 4
    post-renderers, ArgoCD), so one Helm or ArgoCD apply rolls them out atomically.
    """


cli.add_command(render.command)
cli.add_command(misc.version)
cli.add_command(misc.last_error)
for _command in registry.COMMANDS:
    cli.add_command(_command)
cli.add_command(argocd.generate)
cli.add_command(argocd.init)
cli.add_command(observe.reload_command)
cli.add_command(observe.status_command)
