"""``import``: Dagster+ ``dagster_cloud.yaml`` locations as registry entries."""
from __future__ import annotations

import click

from .. import errors, sources
from ..core import entries, importer
from ..registry import store as store_mod
from . import options, output, stores


@click.command("import")
@click.argument("dagster_cloud_yaml", type=click.Path(dir_okay=False))
@click.option("--image", default=None, metavar="REPOSITORY[:TAG]", help="Image for locations that name none.")
@click.option("--replace", is_flag=True, help="Replace locations that already exist.")
@options.writes
@options.output(("table", "name"), "table")
def command(dagster_cloud_yaml, image, replace, **params):
    """Turn a Dagster+ dagster_cloud.yaml into registry entries.

    Keys without an equivalent are listed on stderr, one line each; nothing is dropped silently.

    \b
    Examples:
      kubectl dagster import dagster_cloud.yaml --locations deploy/locations/
      kubectl dagster import dagster_cloud.yaml --image ghcr.io/acme/code:1.0 --cluster --dry-run
    """
    docs = sources.load_docs(sources.read_text(dagster_cloud_yaml), dagster_cloud_yaml)
    found, notes = importer.translate(docs[0] if docs else None, image)
    for entry in found:
        if "image" not in entry:
            raise errors.InputError(f"location {entry['name']} in {dagster_cloud_yaml} has no image",
                                    "pass --image REPOSITORY:TAG (nothing was imported)")
        entries.validate(entry["name"], entry, dagster_cloud_yaml)
    for note in notes:
        output.echo(f"warning: {note}", err=True)
    store = stores.open_store(params, params["dry_run"])
    reserved = store.reserved_ports()
    changed = False
    for entry in found:
        edit = entries.adding(entry["name"], lambda entry=entry: dict(entry), replace, reserved)
        outcome = store_mod.mutate(store, entry["name"], edit, params["dry_run"])
        changed = changed or outcome.verb != "unchanged"
        details = stores.created_details(outcome.new) if outcome.verb == "created" else []
        output.change(outcome, params["output"], params["dry_run"], details)
    stores.refresh(params, store, changed)
