"""``list-locations``: the registry as a kubectl-style table, names, or a CodeLocations document."""

from __future__ import annotations

import click

from ..core.registry import listing
from . import options, output, stores


@click.command("list-locations")
@options.registry
@options.policy
@options.output(("table", "wide", "yaml", "json", "name"), "table")
@click.option("--no-headers", is_flag=True, help="Leave out the header row (table output).")
def command(no_headers, **params):
    """List registered locations: name, branch, image, port, age, expires, source. Locations that
    expire within a day are marked "(soon)" and named on stderr; cluster entries that renders leave
    out show IMAGE <invalid>, with the reason on stderr.

    \b
    Examples:
      kubectl dagster list-locations --cluster -o wide
      kubectl dagster list-locations --locations deploy/locations/ -o yaml > all-locations.yaml
    """
    store = stores.open_store(params)
    found = sorted(store.entries(), key=lambda e: e.name)
    moment, style = stores.now(), params["output"]
    invalid = stores.invalid(params, store, found)
    if style in ("table", "wide"):
        if not found:
            output.echo(f"No locations found in {store.describe()}.", err=True)
            return
        headers = listing.WIDE_HEADERS if style == "wide" else listing.HEADERS
        soon = {e.name for e in listing.expiring(found, moment)}
        rows = [listing.row(e, moment, style == "wide") for e in found]
        for row in rows:
            if row[0] in soon:
                row[5] += " (soon)"  # EXPIRES
            if row[0] in invalid:
                row[2] = "<invalid>"  # IMAGE
        output.table(rows, headers, no_headers)
        stores.warn_invalid(invalid, found)
        if soon:
            listed = ", ".join(f"{e.name} ({listing.expires(e, moment)})" for e in found if e.name in soon)
            output.echo(
                f"warning: {len(soon)} location(s) expire within a day: {listed}; deploy again or "
                "update-location --ttl to keep them",
                err=True,
            )
    elif style == "name":
        for entry in found:
            output.echo(f"location/{entry.name}")
    else:  # a locations file: without the entries a render would leave out
        output.documents([output.document_item(e, resolved=True) for e in found if e.name not in invalid], style)
        stores.warn_invalid(invalid, found)
