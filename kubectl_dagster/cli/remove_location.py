"""``remove-location``: take a location out of the registry; the next render prunes its objects."""

from __future__ import annotations

import click

from ..core.registry import entries
from . import options, stores


@click.command("remove-location")
@click.argument("name", required=False)
@click.option("--branch", default=None, help="Remove the location of this branch.")
@click.option("--ignore-not-found", is_flag=True, help="Succeed when the location does not exist.")
@options.writes
@options.output(("table", "name"), "table")
def command(name, branch, ignore_not_found, **params):
    """Remove a location from the registry (the next render prunes its objects).

    \b
    Examples:
      kubectl dagster remove-location --branch "$BRANCH" --cluster --ignore-not-found
      kubectl dagster remove-location feat-x --locations deploy/locations/
    """
    name = entries.entry_name(name, branch)
    store = stores.open_store(params, params["dry_run"])
    stores.apply(store, name, entries.removing, params, stores.created_details, missing_ok=ignore_not_found)
