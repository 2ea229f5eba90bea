"""``diff``: which assets a branch location adds, changes or removes against its base, as Dagster+
marks them for a branch deployment. Also what ``add-location``/``update-location --base-snapshot``
and ``status --assets`` take from it: finding the base, reading both locations from the webserver
(through the API server or --webserver-url, as ``status`` does) and the bounded markdown summary.
The comparison itself is ``core.assets.assetdiff``; the GraphQL is ``shells.assetnodes``, fitted to the
webserver's schema by ``core.assets.assetquery``: what an older webserver cannot give is named on stderr."""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Optional, Tuple

import click

from ..base import errors
from ..core.assets import assetdiff, assetquery
from ..core.registry import entries, flagedits
from ..core.spec import schema
from ..shells import assetnodes, reloadhook
from . import options, output, stores, waiting


@click.command("diff")
@click.argument("location")
@click.option(
    "--base",
    default=None,
    metavar="NAME",
    help="Compare against this location (default: the base recorded in the registry entry, else the "
    "location named after the project prefix: etl for etl--feat-x).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Compare against the base as it is now, even when the registry entry "
    "holds a snapshot of it (add-location --base-snapshot).",
)
@options.webserver
@options.registry
@options.output(("table", "json", "markdown"), "table")
def command(location, base, live, **params):
    """Which assets LOCATION adds, changes (code version, dependencies, partitions, tags, metadata) or
    removes against its base location.

    \b
    Examples:
      kubectl dagster diff etl--feat-x --cluster
      kubectl dagster diff feat-x --base etl --webserver-url http://localhost:3000 -o markdown
    """
    registered = registry_entries(params)
    reader = Reader(*waiting.transport(params))
    entry = next((e for e in registered if e.name == location), None)
    spec = entry.resolved if entry is not None else {}
    found = find_base(location, base, spec.get("base"), [e.name for e in registered], reader)
    if found is None:
        raise errors.InputError(
            f"location {location!r} has no base location (none recorded, and no location named after a project prefix)",
            "pass --base NAME, or record one with update-location --base",
        )
    result = compare(location, found, None if live else spec.get("baseSnapshot"), reader)
    show(result, params["output"])
    reader.tell()


def show(result: assetdiff.Diff, form: str) -> None:
    if form == "json":
        output.data(assetdiff.as_data(result), "json")
    elif form == "markdown":
        click.echo(assetdiff.markdown([result]), nl=False)
    else:
        if result.changes:
            output.table(assetdiff.rows(result), assetdiff.HEADERS)
        compared = f"{result.location} against {result.base} ({result.against})"
        output.echo(f"{compared}: {assetdiff.summary(result)}", err=True)


def registry_entries(params) -> List[entries.Entry]:
    """The registry's entries when one is named (--cluster, --locations), else none."""
    if params.get("cluster") or params.get("locations_path"):
        return stores.open_store(params).entries()
    return []


class Reader:
    """Asks the webserver for its schema once, then for a location's assets once per location (for every
    location at once where the schema cannot name one: Dagster before 1.7.16)."""

    def __init__(self, post, where: str):
        self.post, self.where = post, where
        self.cache: Dict[str, assetnodes.Served] = {}
        self.schema_read: Optional[assetquery.Schema] = None
        self.whole = False  # the cache holds every location served

    @property
    def schema(self) -> assetquery.Schema:
        if self.schema_read is None:
            self.schema_read = waiting.call(assetnodes.read_schema, self.post)
        return self.schema_read

    def served(self, name: str) -> assetnodes.Served:
        if name not in self.cache and not self.whole:
            if assetquery.per_location(self.schema):
                self.cache[name] = waiting.call(lambda post: assetnodes.fetch(post, name, self.schema), self.post)
            else:
                self.cache.update(waiting.call(lambda post: assetnodes.fetch_all(post, self.schema), self.post))
                self.whole = True
        return self.cache.get(name, assetnodes.Served(reloadhook.MISSING))

    def unseen(self) -> Tuple[str, ...]:
        """The change kinds (or parts of one) this webserver cannot give."""
        return tuple(dict.fromkeys(gap.loses for gap in assetquery.document(self.schema)[1]))

    def tell(self) -> None:
        """One ``warning:`` line on stderr when the webserver could not give everything compared."""
        said = assetquery.note(self.schema) if self.schema_read is not None else ""
        if said:
            output.echo(f"warning: {said}", err=True)


def find_base(
    name: str, given: Optional[str], recorded: Optional[str], registered: Iterable[str], reader: Optional[Reader]
) -> Optional[str]:
    """--base, the recorded base, or the location named after the project prefix when it is
    registered or (asking the webserver) served."""
    known = set(registered)
    prefix = assetdiff.project_prefix(name)
    if (
        not given
        and not recorded
        and prefix
        and prefix not in known
        and reader is not None
        and reader.served(prefix).status != reloadhook.MISSING
    ):
        known.add(prefix)
    base = assetdiff.resolve_base(name, given, recorded, known)
    if base is not None:
        assetdiff.check_base(name, base)
    return base


def loaded(reader: Reader, name: str, base: bool) -> assetnodes.Served:
    """The location's assets; anything but LOADED is one error line."""
    served = reader.served(name)
    if served.status == reloadhook.LOADED:
        return served
    what = f"base location {name!r}" if base else f"location {name!r}"
    if served.status == reloadhook.MISSING:
        fix = (
            "pass --base NAME of a location the webserver serves (`kubectl dagster status` lists them)"
            if base
            else "check the name with `kubectl dagster status` and that the release was synced"
        )
        raise errors.InputError(f"{what} is not served by the webserver at {reader.where}", fix)
    said = served.status + (f": {served.message}" if served.message else "")
    fix = (
        "fix the base location, or pass --base NAME"
        if base
        else f"fix its load error (`kubectl dagster status {name} -o json` shows it) and run again"
        if served.status == reloadhook.FAILED
        else "wait until it is loaded (add-location --wait) and run again"
    )
    raise errors.ClusterError(f"{what} is not loaded (Dagster says {said})", fix)


def compare(location: str, base: str, snapshot: Optional[dict], reader: Reader) -> assetdiff.Diff:
    """The branch against the snapshot of ``base`` when one of it was recorded, else against ``base`` live."""
    branch = loaded(reader, location, base=False)
    if _of(snapshot, base):
        changes = assetdiff.compare(assetdiff.snapshot_assets(snapshot), branch.assets)
        return assetdiff.Diff(location, base, assetdiff.SNAPSHOT, changes, unseen=reader.unseen())
    changes = assetdiff.compare(loaded(reader, base, base=True).assets, branch.assets)
    return assetdiff.Diff(location, base, assetdiff.LIVE, changes, unseen=reader.unseen())


def _of(snapshot: Optional[dict], base: str) -> bool:
    """A recorded snapshot is used only while it is of the base compared with."""
    return isinstance(snapshot, dict) and snapshot.get("location") == base


def with_snapshot(name: str, flags: flagedits.Flags, registered: List[entries.Entry], params) -> flagedits.Flags:
    """--base-snapshot: the flags with the base named and its fingerprints taken, before anything is written."""
    reader = Reader(*waiting.transport(params))
    recorded = next((e.resolved.get("base") for e in registered if e.name == name), None)
    base = find_base(name, flags.base, recorded, [e.name for e in registered], reader)
    if base is None:
        raise errors.InputError(f"--base-snapshot needs a base location for {name!r}", "pass --base NAME")
    served = loaded(reader, base, base=True)
    taken = assetdiff.take_snapshot(base, served.assets, schema.format_time(stores.now()))
    reader.tell()
    return dataclasses.replace(flags, base=base, base_snapshot=taken)


def is_branch(name: str, spec: dict) -> bool:
    """A location that has a base to compare with: it records one, or a branch, or has a project prefix."""
    return bool(spec.get("base") or spec.get("branch") or spec.get("pullRequest") or assetdiff.project_prefix(name))


def for_status(names: Iterable[str], registered: List[entries.Entry], reader: Reader) -> Dict[str, assetdiff.Diff]:
    """One diff (or the reason there is none) per branch location among ``names``, for ``status``."""
    by_name = {e.name: e.resolved for e in registered}
    out = {}
    for name in names:
        spec = by_name.get(name, {})
        if not is_branch(name, spec):
            continue
        try:
            base = find_base(name, None, spec.get("base"), by_name, reader)
        except errors.InputError as exc:
            out[name] = assetdiff.Diff(name, None, note=exc.message)
            continue
        note = "no base" if base is None else _not_loaded(reader, name, base, spec.get("baseSnapshot"))
        out[name] = (
            assetdiff.Diff(name, base, note=note) if note else compare(name, base, spec.get("baseSnapshot"), reader)
        )
    return out


def _not_loaded(reader: Reader, name: str, base: str, snapshot: Optional[dict]) -> str:
    """Why ``compare`` would fail, in a few words; empty when it would not."""
    mine = reader.served(name).status
    if mine != reloadhook.LOADED:
        return f"not loaded ({mine})"
    if _of(snapshot, base):
        return ""
    theirs = reader.served(base).status
    return "" if theirs == reloadhook.LOADED else f"base {base} not loaded ({theirs})"
