"""``last-error``: what the last failed render under Helm 4 said (Helm 4 discards a plugin's stderr)."""

from __future__ import annotations

import click

from . import errorfile, output


@click.command("last-error")
def command():
    """Print the last error of a render run by Helm 4 (which hides plugin stderr).

    \b
    Examples:
      helm upgrade dagster dagster/dagster --post-renderer dagster-postrenderer ... || kubectl-dagster last-error
    """
    output.echo(errorfile.read() or "no error recorded")
