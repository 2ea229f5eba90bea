"""``import``: Dagster+ ``dagster_cloud.yaml`` locations as registry entries, or (``--from dagster-uc``)
a dagster-uc config as a project config on stdout."""

from __future__ import annotations

import click

from ..base import errors, yamlio
from ..core.branches import projectconfig, ucimport
from ..core.registry import entries, importer
from ..shells import sources
from ..shells.registry import store as store_mod
from . import options, output, stores


@click.command("import")
@click.argument("dagster_cloud_yaml", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "--from",
    "source",
    type=click.Choice(["dagster-cloud", "dagster-uc"]),
    default="dagster-cloud",
    show_default=True,
    help="dagster-cloud: a dagster_cloud.yaml, into the registry. dagster-uc: a "
    ".config_user_code_deployments.yaml, printed as a .kubectl-dagster.yaml.",
)
@click.option("--image", default=None, metavar="REPOSITORY[:TAG]", help="Image for locations that name none.")
@click.option("--replace", is_flag=True, help="Replace locations that already exist.")
@options.policy
@options.writes
@options.output(("table", "name"), "table")
def command(dagster_cloud_yaml, source, image, replace, **params):
    """Turn a Dagster+ dagster_cloud.yaml into registry entries, or a dagster-uc config into a project config.

    Keys without an equivalent are listed on stderr, one line each; nothing is dropped silently.

    \b
    Examples:
      kubectl dagster import dagster_cloud.yaml --locations deploy/locations/
      kubectl dagster import dagster_cloud.yaml --image ghcr.io/acme/code:1.0 --cluster --dry-run
      kubectl dagster import --from dagster-uc .config_user_code_deployments.yaml > .kubectl-dagster.yaml
    """
    if source == "dagster-uc":
        if params.get("cluster") or params.get("locations_path") or image or replace:
            raise errors.UsageError(
                "--from dagster-uc prints a project config and writes no registry",
                "leave out --cluster, --locations, --image and --replace",
            )
        return from_dagster_uc(dagster_cloud_yaml)
    docs = sources.load_docs(sources.read_text(dagster_cloud_yaml), dagster_cloud_yaml)
    found, notes = importer.translate(docs[0] if docs else None, image)
    for entry in found:
        if "image" not in entry:
            raise errors.InputError(
                f"location {entry['name']} in {dagster_cloud_yaml} has no image",
                "pass --image REPOSITORY:TAG (nothing was imported)",
            )
        entries.validate(entry["name"], entry, dagster_cloud_yaml)
    for note in notes:
        output.echo(f"warning: {note}", err=True)
    store = stores.open_store(params, params["dry_run"])
    admit = stores.admission(params, store)
    if admit is not None:  # every entry first: a refused one means nothing is written
        current = store.entries()
        for entry in found:
            admit(entry["name"], entry, current)
    reserved = store.reserved_ports()
    changed = False
    for entry in found:
        edit = entries.adding(entry["name"], lambda entry=entry: dict(entry), replace, reserved)
        outcome = store_mod.mutate(store, entry["name"], edit, params["dry_run"], admit)
        changed = changed or outcome.verb != "unchanged"
        details = stores.created_details(outcome.new) if outcome.verb == "created" else []
        output.change(outcome, params["output"], params["dry_run"], details)
    stores.refresh(params, store, changed)


def from_dagster_uc(path: str) -> None:
    docs = sources.load_docs(sources.read_text(path), path)
    document, notes = ucimport.translate(docs[0] if len(docs) == 1 else None)
    if document is None:
        raise errors.InputError(
            f"{path} is not a dagster-uc config (one mapping of environment sections)",
            "pass a .config_user_code_deployments.yaml",
        )
    problems = projectconfig.check_document(document)
    if problems:  # a bug of the translation, or values of the wrong type in the source
        where, message = problems[0]
        raise errors.InputError(
            f"{path} gives an invalid project config: {'.'.join(map(str, where))}: {message}",
            "fix that value in the dagster-uc config",
        )
    for note in notes:
        output.echo(f"warning: {note}", err=True)
    output.echo(f"# Converted from {path} by `kubectl dagster import --from dagster-uc`.")
    output.echo(yamlio.dump(document).rstrip("\n"))
