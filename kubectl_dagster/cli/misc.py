"""Small commands: version and last-error."""
from __future__ import annotations

import os

import click

from .. import __version__


@click.command("version")
def version():
    """Print the kubectl-dagster version."""
    click.echo(f"kubectl-dagster {__version__}")


@click.command("last-error")
def last_error():
    """Print the last error of a render run by Helm 4 (which hides plugin stderr).

    \b
    Examples:
      helm upgrade dagster dagster/dagster --post-renderer dagster-postrenderer ... || kubectl-dagster last-error
    """
    from . import error_file

    path = error_file()
    if not os.path.exists(path):
        click.echo("no error recorded")
        return
    with open(path, encoding="utf-8") as handle:
        click.echo(handle.read().rstrip("\n"))
