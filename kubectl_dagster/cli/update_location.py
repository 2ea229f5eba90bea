"""``update-location``: change a registered location; only what the flags give changes."""

from __future__ import annotations

import click

from ..core.registry import entries
from . import diff, options, stores


@click.command("update-location")
@click.argument("name", required=False)
@options.location
@click.option(
    "--base-snapshot",
    is_flag=True,
    help="Take the base location's asset fingerprints again (e.g. after rebasing the branch).",
)
@options.webserver
@options.policy
@options.writes
@options.output(("table", "yaml", "json", "name"), "table")
def command(name, base_snapshot, **params):
    """Change a registered location; only what the flags give changes.

    \b
    Examples:
      kubectl dagster update-location feat-x --image ghcr.io/acme/code:$NEW_SHA --env MODE=preview --cluster
      kubectl dagster update-location feat-x --env MODE- --label team- --locations deploy/locations/
    """
    flags = options.location_flags(params)
    name = entries.entry_name(name, flags.branch)
    store = stores.open_store(params, params["dry_run"])
    if base_snapshot:
        flags = diff.with_snapshot(name, flags, store.entries(), params)
    edit = entries.updating(name, flags, stores.now(), store.describe())
    stores.apply(store, name, edit, params, stores.created_details, admit=stores.admission(params, store))
