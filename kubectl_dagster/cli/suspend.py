"""``suspend`` and ``resume``: take a location's code server down to no replicas and out of the
workspace, or back. The registry entry, its TTL included, stays; the next render applies it."""
from __future__ import annotations

import click

from ..core import branchdeploy, entries
from . import options, stores


def _run(name, branch, suspend: bool, params) -> None:
    name = entries.entry_name(name, branch)
    store = stores.open_store(params, params["dry_run"])
    stores.apply(store, name, branchdeploy.suspending(name, suspend), params, stores.created_details)


@click.command("suspend")
@click.argument("name", required=False)
@click.option("--branch", default=None, help="The location of this branch.")
@options.writes
@options.output(("table", "name"), "table")
def suspend(name, branch, **params):
    """Scale a location to zero and leave it out of the workspace; the entry and its TTL stay.

    \b
    Examples:
      kubectl dagster suspend feat-x --cluster
      kubectl dagster resume feat-x --cluster
    """
    _run(name, branch, True, params)


@click.command("resume")
@click.argument("name", required=False)
@click.option("--branch", default=None, help="The location of this branch.")
@options.writes
@options.output(("table", "name"), "table")
def resume(name, branch, **params):
    """Undo suspend: the location gets its replica and its workspace entry back at the next render."""
    _run(name, branch, False, params)
