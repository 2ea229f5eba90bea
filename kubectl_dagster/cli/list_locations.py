"""``list-locations``: the registry as a kubectl-style table, names, or a CodeLocations document."""
from __future__ import annotations

import click

from ..core import entries
from . import options, output, stores


@click.command("list-locations")
@options.registry
@options.output(("table", "wide", "yaml", "json", "name"), "table")
@click.option("--no-headers", is_flag=True, help="Leave out the header row (table output).")
def command(no_headers, **params):
    """List registered locations: name, branch, image, port, age, expires, source.

    \b
    Examples:
      kubectl dagster list-locations --cluster -o wide
      kubectl dagster list-locations --locations deploy/locations/ -o yaml > all-locations.yaml
    """
    store = stores.open_store(params)
    found = sorted(store.entries(), key=lambda e: e.name)
    moment, style = stores.now(), params["output"]
    if style in ("table", "wide"):
        if not found:
            output.echo(f"No locations found in {store.describe()}.", err=True)
            return
        headers = entries.WIDE_HEADERS if style == "wide" else entries.HEADERS
        output.table([entries.row(e, moment, style == "wide") for e in found], headers, no_headers)
    elif style == "name":
        for entry in found:
            output.echo(f"location/{entry.name}")
    else:
        output.documents([output.document_item(e, resolved=True) for e in found], style)
