"""``status``: per location, whether it is declared in the registry, in the live workspace
ConfigMap, its Deployment's readiness, and Dagster's load status with the innermost error; the
Dagster version skew between a code server and the webserver; ``-o markdown`` for a sticky
pull-request comment."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

import click

from ..base import constants as c
from ..base import errors
from ..core.assets import assetdiff
from ..core.branches import automation, feedback
from ..core.spec import schema
from ..shells import instigators, reloadhook
from . import diff, optable, options, output, project, projectopts, stores, waiting

HEADERS = ["NAME", "DECLARED", "WORKSPACE", "READY", "DAGSTER", "AUTOMATION", "MESSAGE"]


def rows(
    declared: Set[str],
    in_workspace: Optional[Set[str]],
    ready: Optional[Dict[str, str]],
    dagster: Optional[Dict[str, Dict[str, Any]]],
    only: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """``None`` for a source means it was not consulted; it shows as ``-``."""
    names = set(declared) | (in_workspace or set()) | set(ready or {}) | set(dagster or {})
    if only is not None:
        names &= {only}
    out = []
    for name in sorted(names):
        state = (dagster or {}).get(name)
        out.append(
            {
                "name": name,
                "declared": name in declared,
                "workspace": None if in_workspace is None else name in in_workspace,
                "ready": None if ready is None else ready.get(name),
                "dagster": None if dagster is None else (state["status"] if state else reloadhook.MISSING),
                "message": (state or {}).get("message") or "",
                "stack": (state or {}).get("stack") or [],
                "causes": (state or {}).get("causes") or [],
            }
        )
    return out


def cells(row: Dict[str, Any]) -> List[str]:
    def yes_no(value):
        return "-" if value is None else ("yes" if value else "no")

    return [
        row["name"],
        yes_no(row["declared"]),
        yes_no(row["workspace"]),
        "-" if row["ready"] is None and row["workspace"] is None else (row["ready"] or "<none>"),
        row["dagster"] or "-",
        automation.fraction(row.get("automation")),
        reloadhook.root_cause(row) or row.get("skew") or "",
    ]


def assets_cell(row: Dict[str, Any]) -> str:
    """The ASSETS column: ``3 new, 2 changed, 1 removed``, why there is no comparison, or ``-`` (not a branch)."""
    data = row.get("assets")
    return "-" if data is None else data["summary"]


@click.command("status")
@click.argument("name", required=False)
@click.option(
    "--assets",
    is_flag=True,
    help="Per branch location, which assets it adds, changes or removes against its base "
    "(see `kubectl dagster diff`), or why there is no comparison.",
)
@click.option(
    "--branch",
    default=None,
    help="Only the registry's locations of this branch (as a pull-request comment shows them).",
)
@options.webserver
@options.registry
@options.policy
@projectopts.project
@optable.decorate(projectopts.UI)
@options.output(("table", "json", "yaml", "markdown"), "table")
def command(name, assets, branch, **params):
    """Per location: declared, in the live workspace, Deployment ready, Dagster's load status
    (with the error and stack when loading failed), its schedules and sensors (AUTOMATION: running
    of all), and a Dagster version skew between the code server and the webserver. -o markdown
    prints the table of a sticky pull-request comment.

    \b
    Examples:
      kubectl dagster status --cluster
      kubectl dagster status feat-x --webserver-url http://localhost:3000 -o json
      kubectl dagster status --cluster --assets
      kubectl dagster status -e dev --branch "$BRANCH" --assets -o markdown > comment.md
    """
    merged = project.load(params, project.given_on_command_line()).merged
    params = project.fill(params, merged)
    ui_url = params.get("ui_url") or merged.get("uiUrl")
    on_cluster = params["cluster"] or params["kubeconfig"] or params["context"]
    registered = diff.registry_entries(params)
    if branch is not None and not (params["cluster"] or params["locations_path"]):
        raise errors.UsageError(
            "--branch needs the registry", "pass --cluster or --locations PATH (or set registry in the project config)"
        )
    invalid = stores.invalid(params, stores.open_store(params), registered) if params["cluster"] else {}
    declared = {e.name for e in registered}
    in_workspace = ready = None
    if on_cluster:
        from ..shells import kube, webserver

        connection = kube.Cluster(stores.kube_flags(params))
        in_workspace = webserver.live_workspace(connection) or set()
        ready = webserver.ready_replicas(connection)
    if assets and not (params["webserver_url"] or on_cluster):
        raise errors.InputError("--assets asks the webserver", "pass --webserver-url URL or --cluster")
    post, where = waiting.transport(params) if (params["webserver_url"] or on_cluster) else (None, "")
    dagster = waiting.call(reloadhook.status, post) if post else None
    found = rows(declared, in_workspace, ready, dagster, name)
    if branch is not None:
        mine = {e.name for e in registered if str(e.resolved.get("branch")) == branch}
        found = [row for row in found if row["name"] in mine]
    elif name and not found:
        raise errors.RegistryError(
            f"location {name!r} is not declared, not in the workspace and unknown to Dagster",
            "check the name with list-locations",
        )
    reader = diff.Reader(post, where) if assets else None
    diffs = _asset_diffs(found, registered, reader) if reader else {}
    annotate(found, registered, _details(post) if post else None)
    for row in found:
        if row["name"] in invalid:  # the render leaves it out: say why, whatever Dagster still serves
            row.update(dagster="INVALID", message=invalid[row["name"]], cause=invalid[row["name"]], stack=[], causes=[])
    _automation(found, post)
    if params["output"] == "table":
        extra = ["ASSETS"] if assets else []
        output.table([cells(r) + [assets_cell(r) for _ in extra] for r in found], HEADERS + extra)
    elif params["output"] == "markdown":
        title = f"Dagster code locations of `{branch}`" if branch else "Dagster code locations"
        taken = feedback.updated_text(stores.now().timestamp())
        table = feedback.markdown(found, ui_url, taken, title)
        changed = [diffs[r["name"]] for r in found if r["name"] in diffs] if assets else []
        room = c.GITHUB_COMMENT_LIMIT - len(table.encode("utf-8")) - 1
        output.echo((table + ("\n" + assetdiff.markdown(changed, room) if changed else "")).rstrip("\n"))
    else:
        output.data({"locations": found}, params["output"])
    if reader:
        reader.tell()


def _asset_diffs(found: List[Dict[str, Any]], registered, reader) -> Dict[str, assetdiff.Diff]:
    """--assets: each branch location's diff (or why there is none), also kept in its row."""
    diffs = diff.for_status([r["name"] for r in found], registered, reader)
    for row in found:
        row["assets"] = assetdiff.as_data(diffs[row["name"]]) if row["name"] in diffs else None
    return diffs


def _details(post) -> Optional[feedback.Details]:
    """Versions and update times; None when the webserver cannot say (an older Dagster, say): not fatal."""
    try:
        return feedback.parse_details(post(feedback.DETAILS))
    except reloadhook.WebserverError:
        return None


def _automation(found: List[Dict[str, Any]], post) -> None:
    """Per row, how many schedules and sensors the location has and how many run (None: unknown)."""
    try:
        listed = instigators.listing(post) if post else None
    except (reloadhook.WebserverError, instigators.AutomationError):
        listed = None  # the load status above already says what is wrong with the webserver
    for row in found:
        items = None if listed is None else listed.get(row["name"])
        row["automation"] = None if items is None else automation.counts(items)


def annotate(found: List[Dict[str, Any]], registry, details: Optional[feedback.Details]) -> None:
    """Suspended (from the registry), versions, skew and the update time (from Dagster), per row."""
    suspended = {e.name for e in registry if schema.is_suspended(e.resolved)}
    for row in found:
        known = (details.locations.get(row["name"]) if details else None) or {}
        row["suspended"] = row["name"] in suspended
        if row["suspended"] and row["dagster"] in (None, reloadhook.MISSING):
            row["dagster"] = "SUSPENDED"  # out of the workspace on purpose
        row["cause"] = reloadhook.root_cause(row)
        row["dagster_version"] = known.get("dagster_version")
        row["webserver_version"] = details.webserver_version if details else None
        row["skew"] = feedback.skew(row["dagster_version"], row["webserver_version"])
        row["updated"] = feedback.updated_text(known.get("updated"))
