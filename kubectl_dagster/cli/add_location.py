"""``add-location``: register a new code location (or replace one with --replace), optionally wait
until Dagster has loaded it."""

from __future__ import annotations

from typing import Any, Dict, Optional

import click

from ..base import errors
from ..core.registry import entries, flagedits
from ..core.spec import locations as locs
from ..shells import sources
from . import diff, options, stores, waiting


@click.command("add-location")
@click.argument("name", required=False)
@options.location
@click.option(
    "--location-file", default=None, type=click.Path(dir_okay=False), help="Take the whole entry from this YAML file."
)
@click.option("--replace", is_flag=True, help="Replace a location of the same name instead of failing.")
@options.wait
@click.option(
    "--base-snapshot",
    is_flag=True,
    help="Record the base location's asset fingerprints now, so `diff` compares against the base as it "
    "was when the branch was deployed (asks the webserver).",
)
@options.webserver
@options.policy
@options.writes
@options.output(("table", "yaml", "json", "name"), "table")
def command(name, location_file, replace, wait, base_snapshot, **params):
    """Add a code location to the registry.

    \b
    Examples:
      kubectl dagster add-location --branch "$BRANCH" --image ghcr.io/acme/code:$SHA -f definitions.py \\
        --ttl 7d --cluster
      kubectl dagster add-location marketing --image ghcr.io/acme/marketing:2.4.0 -m marketing.defs \\
        --locations deploy/locations/
    """
    flags = options.location_flags(params)
    timeout = waiting.parse_duration(wait, "--wait") if wait is not None else None
    base = read_location_file(location_file) if location_file else None
    explicit = name or (base or {}).get("name")
    name = entries.entry_name(explicit, flags.branch or (base or {}).get("branch"))
    store = stores.open_store(params, params["dry_run"])
    moment = stores.now()
    reserved = store.reserved_ports() if flags.port is None and not (base or {}).get("port") else set()
    if base_snapshot:
        flags = diff.with_snapshot(name, flags, store.entries(), params)

    def build() -> Dict[str, Any]:
        return entries.named_first(flagedits.build_spec(explicit, flags, moment, base), name)

    edit = entries.adding(name, build, replace, reserved)
    stores.apply(store, name, edit, params, stores.created_details, admit=stores.admission(params, store))
    if timeout is not None and params["dry_run"] == "none":
        waiting.wait_for_location(name, waiting.transport(params), timeout)


def read_location_file(path: str) -> Dict[str, Any]:
    """One location from a file: a bare entry, or a CodeLocations document holding exactly one."""
    docs = sources.load_docs(sources.read_text(path), path)
    data: Optional[Any] = docs[0] if docs else None
    if locs.is_document(data):
        items = data.get("locations") or []
        if not isinstance(items, list) or len(items) != 1:
            count = len(items) if isinstance(items, list) else "no list of"
            raise errors.InputError(f"{path} holds {count} locations", "pass a file with exactly one location")
        data = locs.deep_merge(data.get("defaults") or {}, items[0])
    if not isinstance(data, dict):
        raise errors.InputError(f"{path} does not hold a location mapping", "pass a file with one location")
    return data
