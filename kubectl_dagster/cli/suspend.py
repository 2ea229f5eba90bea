"""``suspend`` and ``resume``: take a location's code server down to no replicas and out of the
workspace, or back. The registry entry, its TTL included, stays; the next render applies it."""

from __future__ import annotations

import click

from ..base import errors
from ..core.branches import branchdeploy
from . import options, stores


def _run(name, branch, suspend: bool, params) -> None:
    store = stores.open_store(params, params["dry_run"])
    name = branchdeploy.explicit_name(name) if name else _by_branch(store, branch)
    stores.apply(store, name, branchdeploy.suspending(name, suspend), params, stores.created_details)


def _by_branch(store, branch) -> str:
    """The registry's one location of this branch (its name may carry a project prefix or a suffix)."""
    if not branch:
        raise errors.UsageError("no location given", "pass NAME or --branch BRANCH")
    names = sorted(e.name for e in store.entries() if str(e.resolved.get("branch")) == branch)
    if len(names) != 1:
        found = f"{len(names)} locations ({', '.join(names)})" if names else "no location"
        raise errors.RegistryError(f"{store.describe()} holds {found} of branch {branch!r}", "pass the NAME")
    return names[0]


@click.command("suspend")
@click.argument("name", required=False)
@click.option("--branch", default=None, help="The registry's one location of this branch.")
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
@click.option("--branch", default=None, help="The registry's one location of this branch.")
@options.writes
@options.output(("table", "name"), "table")
def resume(name, branch, **params):
    """Undo suspend: the location gets its replica and its workspace entry back at the next render."""
    _run(name, branch, False, params)
