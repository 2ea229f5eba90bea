"""``version``."""

from __future__ import annotations

import click

from .. import __version__
from . import output


@click.command("version")
def command():
    """Print the kubectl-dagster version."""
    output.echo(f"kubectl-dagster {__version__}")
