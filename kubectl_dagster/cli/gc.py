"""``gc``: remove expired locations, and those whose branch is gone."""

from __future__ import annotations

import sys
from typing import Optional

import click

from ..base import errors
from ..core.registry import entries
from ..core.spec import schema
from ..shells import sources
from ..shells.registry import store as store_mod
from . import options, output, stores


@click.command("gc")
@click.option(
    "--keep-branches",
    default=None,
    metavar="FILE|-",
    help="Also remove locations whose branch is not listed (one per line, or `git ls-remote --heads` output).",
)
@options.writes
@options.output(("table", "name"), "table")
def command(keep_branches, **params):
    """Remove expired locations (expiresAt in the past), and those of deleted branches.

    \b
    Examples:
      git ls-remote --heads origin | kubectl dagster gc --keep-branches - --cluster
      kubectl dagster gc --locations deploy/locations/ --dry-run
    """
    keep = entries.parse_branch_list(_read_keep(keep_branches)) if keep_branches else None
    if keep is not None and not keep:
        raise errors.InputError(
            "--keep-branches lists no branch", "refusing to remove every branch location; check the list"
        )
    store = stores.open_store(params, params["dry_run"])
    moment = stores.now()

    def reason(entry: entries.Entry) -> Optional[str]:
        if entries.expired([entry], moment):
            return f"expired {schema.format_time(entry.resolved.get('expiresAt'))}"
        if keep is not None and entries.gone_branches([entry], keep):
            return f"branch {entry.resolved.get('branch')} is gone"
        return None

    victims = [(entry, why) for entry, why in ((e, reason(e)) for e in store.entries()) if why]
    removed = 0
    for entry, why in victims:
        outcome = store_mod.mutate(store, entry.name, entries.removing_if(reason), params["dry_run"])
        if outcome.verb == "deleted":
            removed += 1
            output.change(outcome, params["output"], params["dry_run"], [why])
    if not victims:
        output.echo(f"No locations to remove in {store.describe()}.", err=True)
    stores.refresh(params, store, removed > 0)


def _read_keep(source: str) -> str:
    if source == "-":
        return sources.read_stream(sys.stdin.buffer, "stdin")
    return sources.read_text(source)
