"""``deploy`` and ``teardown``: the branch's location, in one command, in CI or on a laptop.

The git context comes from flags, the CI variables or the working tree (``gitinfo``); everything else
from the project config (``cli/project.py``). The write is ``add-location --replace``'s (the same edit,
store and output), limited to this branch's own location and to ``maxBranchLocations``; ``--wait``
is add-location's. ``deploy --close`` and ``teardown`` remove the location and succeed when it is gone.
"""

from __future__ import annotations

from typing import Any, Dict

import click

from ..core.branches import branchdeploy, gitctx
from ..shells import gitinfo
from . import diff, optable, options, output, project, projectopts, stores, waiting


def _common(func):
    for decorator in reversed((projectopts.project, optable.decorate(projectopts.GIT + projectopts.NAMING))):
        func = decorator(func)
    return func


@click.command("deploy")
@_common
@optable.decorate(projectopts.DEPLOY)
@click.option("--close", is_flag=True, help="Remove the branch's location instead (as teardown does).")
@click.option(
    "--base-snapshot",
    is_flag=True,
    help="Record the base location's asset fingerprints now, so `diff` compares against the base as it "
    "was when the branch was deployed (asks the webserver).",
)
@options.wait
@options.webserver
@options.policy
@options.writes
@options.output(("table", "yaml", "json", "name"), "table")
def command(close, wait, base_snapshot, **params):
    """Deploy the checked-out branch as a code location (as add-location --replace would).

    Branch, commit, pull request and repository URL come from the CI variables (GitHub Actions,
    GitLab CI, Buildkite, CircleCI, Jenkins, Azure Pipelines) or the git working tree; a flag wins.
    Image, code source, registry and the rest come from .kubectl-dagster.yaml (see `config view`).

    \b
    Examples:
      kubectl dagster deploy -e dev --wait
      kubectl dagster deploy --image ghcr.io/acme/etl:sha-$SHA -f defs.py --cluster --dry-run
      kubectl dagster deploy --close -e dev
    """
    given = project.given_on_command_line()
    if close:
        return teardown_run(None, params, given)
    timeout = waiting.parse_duration(wait, "--wait") if wait is not None else None
    loaded = project.load(params, given)
    merged = loaded.merged
    context, tree = _context(params)
    branch = gitctx.require_branch(context, tree)
    prefix = branchdeploy.project_prefix(merged, loaded.pyproject)
    name = (
        branchdeploy.explicit_name(params["name"])
        if params.get("name")
        else branchdeploy.location_name(branch, prefix, params.get("suffix"))
    )
    target = branchdeploy.Target(name, branch)
    fields = branchdeploy.template_fields(context, name, prefix)
    image = branchdeploy.image_ref(merged, params.get("image") if "image" in given else None, fields)
    flags = branchdeploy.flags_for(merged, context, image, [])
    extras = branchdeploy.base_spec(merged)
    moment = stores.now()
    branchdeploy.build(target, flags, extras, moment)  # every input problem before the registry is touched
    filled = project.fill(params, merged)
    store = stores.open_store(filled, filled["dry_run"])
    reserved = store.reserved_ports() if "port" not in extras else set()
    if base_snapshot:
        flags = diff.with_snapshot(name, flags, store.entries(), filled)
    edit = branchdeploy.deploying(
        target, lambda: branchdeploy.build(target, flags, extras, moment), reserved, merged.get("maxBranchLocations")
    )
    stores.apply(store, name, edit, filled, stores.created_details, admit=stores.admission(filled, store))
    _say_context(context, name)
    if timeout is not None and filled["dry_run"] == "none":
        waiting.wait_for_location(name, waiting.transport(filled), timeout)


@click.command("teardown")
@click.argument("location", required=False)
@_common
@options.writes
@options.output(("table", "name"), "table")
def teardown(location, **params):
    """Remove the branch's location (deploy --close); succeeds when it is already gone.

    Without LOCATION the name is derived as deploy derives it (project, branch, --suffix); a
    location of another branch, or a permanent one, is never removed this way.

    \b
    Examples:
      kubectl dagster teardown -e dev                 # in the pull request's "closed" job
      kubectl dagster teardown etl:feat-x --cluster   # by name
    """
    teardown_run(location, params, project.given_on_command_line())


def teardown_run(location, params: Dict[str, Any], given) -> None:
    loaded = project.load(params, given)
    if location or params.get("name"):
        target = branchdeploy.Target(branchdeploy.explicit_name(location or params["name"]), None)
    else:
        context, tree = _context(params)
        branch = gitctx.require_branch(context, tree)
        prefix = branchdeploy.project_prefix(loaded.merged, loaded.pyproject)
        target = branchdeploy.Target(branchdeploy.location_name(branch, prefix, params.get("suffix")), branch)
    filled = project.fill(params, loaded.merged)
    store = stores.open_store(filled, filled["dry_run"])
    outcome = stores.apply(
        store, target.name, branchdeploy.closing(target), filled, stores.created_details, missing_ok=True
    )
    if outcome.verb == "absent":
        output.echo(f"location/{target.name} not found in {store.describe()}: nothing to remove", err=True)


def _context(params):
    flags = gitctx.Context(
        params.get("branch"), params.get("commit"), params.get("pull_request"), params.get("repository_url")
    )
    return gitinfo.context(flags)


def _say_context(context: gitctx.Context, name: str) -> None:
    parts = [f"branch {context.branch!r} ({context.system})"]
    if context.commit:
        parts.append(f"commit {context.commit[:12]}")
    if context.pull_request is not None:
        parts.append(f"pull request #{context.pull_request}")
    output.echo(f"deploy: {', '.join(parts)} -> location {name}", err=True)
