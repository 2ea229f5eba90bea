"""``update-location``: change a registered location; only what the flags give changes."""
from __future__ import annotations

import click

from ..core import entries
from . import options, stores


@click.command("update-location")
@click.argument("name", required=False)
@options.location
@options.writes
@options.output(("table", "yaml", "json", "name"), "table")
def command(name, **params):
    """Change a registered location; only what the flags give changes.

    \b
    Examples:
      kubectl dagster update-location feat-x --image ghcr.io/acme/code:$NEW_SHA --env MODE=preview --cluster
      kubectl dagster update-location feat-x --env MODE- --label team- --locations deploy/locations/
    """
    flags = options.location_flags(params)
    name = entries.entry_name(name, flags.branch)
    store = stores.open_store(params, params["dry_run"])
    edit = entries.updating(name, flags, stores.now(), store.describe())
    stores.apply(store, name, edit, params, stores.created_details)
