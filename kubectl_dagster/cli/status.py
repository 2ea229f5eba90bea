"""``status``: per location, whether it is declared in the registry, in the live workspace
ConfigMap, its Deployment's readiness, and Dagster's load status with the innermost error."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

import click

from .. import errors, reloadhook
from ..core import assetdiff
from . import diff, options, output, stores, waiting

HEADERS = ["NAME", "DECLARED", "WORKSPACE", "READY", "DAGSTER", "MESSAGE"]


def rows(declared: Set[str], in_workspace: Optional[Set[str]], ready: Optional[Dict[str, str]],
         dagster: Optional[Dict[str, Dict[str, Any]]], only: Optional[str] = None) -> List[Dict[str, Any]]:
    """``None`` for a source means it was not consulted; it shows as ``-``."""
    names = set(declared) | (in_workspace or set()) | set(ready or {}) | set(dagster or {})
    if only is not None:
        names &= {only}
    out = []
    for name in sorted(names):
        state = (dagster or {}).get(name)
        out.append({
            "name": name,
            "declared": name in declared,
            "workspace": None if in_workspace is None else name in in_workspace,
            "ready": None if ready is None else ready.get(name),
            "dagster": None if dagster is None else (state["status"] if state else reloadhook.MISSING),
            "message": (state or {}).get("message") or "",
            "stack": (state or {}).get("stack") or [],
            "causes": (state or {}).get("causes") or [],
        })
    return out


def cells(row: Dict[str, Any]) -> List[str]:
    def yes_no(value):
        return "-" if value is None else ("yes" if value else "no")

    return [row["name"], yes_no(row["declared"]), yes_no(row["workspace"]),
            "-" if row["ready"] is None and row["workspace"] is None else (row["ready"] or "<none>"),
            row["dagster"] or "-", reloadhook.root_cause(row)]


def assets_cell(row: Dict[str, Any]) -> str:
    """The ASSETS column: ``3 new, 2 changed, 1 removed``, why there is no comparison, or ``-`` (not a branch)."""
    data = row.get("assets")
    return "-" if data is None else data["summary"]


@click.command("status")
@click.argument("name", required=False)
@click.option("--assets", is_flag=True,
              help="Per branch location, which assets it adds, changes or removes against its base "
                   "(see `kubectl dagster diff`), or why there is no comparison.")
@options.webserver
@options.registry
@options.output(("table", "json", "yaml"), "table")
def command(name, assets, **params):
    """Per location: declared, in the live workspace, Deployment ready, and Dagster's load status
    (with the error and stack when loading failed).

    \b
    Examples:
      kubectl dagster status --cluster
      kubectl dagster status feat-x --webserver-url http://localhost:3000 -o json
      kubectl dagster status --cluster --assets
    """
    on_cluster = params["cluster"] or params["kubeconfig"] or params["context"]
    registered = diff.registry_entries(params)
    declared = {e.name for e in registered}
    in_workspace = ready = None
    if on_cluster:
        from .. import kube, webserver

        connection = kube.Cluster(stores.kube_flags(params))
        in_workspace = webserver.live_workspace(connection) or set()
        ready = webserver.ready_replicas(connection)
    if assets and not (params["webserver_url"] or on_cluster):
        raise errors.InputError("--assets asks the webserver", "pass --webserver-url URL or --cluster")
    post, where = waiting.transport(params) if (params["webserver_url"] or on_cluster) else (None, "")
    dagster = waiting.call(reloadhook.status, post) if post else None
    found = rows(declared, in_workspace, ready, dagster, name)
    if name and not found:
        raise errors.RegistryError(f"location {name!r} is not declared, not in the workspace and unknown to Dagster",
                                   "check the name with list-locations")
    if assets:
        diffs = diff.for_status([r["name"] for r in found], registered, diff.Reader(post, where))
        for row in found:
            row["assets"] = assetdiff.as_data(diffs[row["name"]]) if row["name"] in diffs else None
    if params["output"] == "table":
        extra = ["ASSETS"] if assets else []
        output.table([cells(r) + [assets_cell(r) for _ in extra] for r in found], HEADERS + extra)
    else:
        output.data({"locations": found}, params["output"])
