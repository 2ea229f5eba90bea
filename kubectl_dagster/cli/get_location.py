"""``get-location``: one registered location, with its defaults applied."""

from __future__ import annotations

import click

from ..base import errors
from . import options, output, stores


@click.command("get-location")
@click.argument("name")
@options.registry
@options.output(("yaml", "json", "name"), "yaml")
def command(name, **params):
    """Print one location (with defaults applied).

    \b
    Examples:
      kubectl dagster get-location feat-x -o yaml --locations deploy/dagster-locations.yaml
      kubectl dagster get-location feat-x -o json --cluster
    """
    store = stores.open_store(params)
    entry = next((e for e in store.entries() if e.name == name), None)
    if entry is None:
        raise errors.RegistryError(
            f"location {name!r} not found in {store.describe()}", "check the name with list-locations"
        )
    if params["output"] == "name":
        output.echo(f"location/{entry.name}")
    else:
        output.documents([output.document_item(entry, resolved=True)], params["output"], single=True)
