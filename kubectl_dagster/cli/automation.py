"""``automation``: the schedules and sensors of one location, with their state; turn them on (for a
while), off, or evaluate one once. A branch location's start stopped (see core/chart/branchhold.py)."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

import click

from ..base import errors
from ..core.branches import automation
from ..shells import instigators, reloadhook, webserver
from . import options, output, stores, waiting

HEADERS = ["NAME", "STATUS", "DEFAULT", "TYPE", "UNTIL"]


@click.command("automation")
@click.argument("location")
@click.argument("action", required=False, type=click.Choice(["on", "off", "tick"]))
@click.argument("names", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every schedule and sensor of the location (on, off).")
@click.option(
    "--for",
    "duration",
    default=None,
    metavar="DURATION",
    help="With on: stop them again after this long (e.g. 2h), even if nobody runs kubectl then "
    "(a Job in the namespace does it).",
)
@options.webserver
@options.kube
@options.output(("table", "json", "yaml", "name"), "table")
def command(location, action, names, every, duration, **params):
    """List a location's schedules and sensors with their state; turn them on (for a while) or off; or
    evaluate one once and launch what it requests.

    NAME is a schedule's or sensor's name, or schedule/NAME, sensor/NAME when both kinds share it.

    \b
    Examples:
      kubectl dagster automation feat-x
      kubectl dagster automation feat-x on --all --for 2h
      kubectl dagster automation feat-x on sensor/new_files
      kubectl dagster automation feat-x off --all
      kubectl dagster automation feat-x tick new_files
    """
    _check_usage(action, names, every, duration)
    seconds = waiting.parse_duration(duration, "--for") if duration else None
    post, where = _transport(params)
    items = _items(post, location, where)
    jobs = Jobs(params, location, needed=action is not None) if _uses_kube(params, seconds) else None
    if action is None:
        _show(items, jobs, params["output"])
    elif action == "tick":
        _tick(post, automation.select(items, names, False, location))
    else:
        chosen = automation.select(items, names, every, location)
        (_on if action == "on" else _off)(post, chosen, jobs, seconds)


def _check_usage(action, names, every, duration) -> None:
    if action is None and (names or every or duration):
        raise errors.UsageError("names, --all and --for go with an action", "use on, off or tick")
    if duration and action != "on":
        raise errors.UsageError("--for goes with on", "e.g. `automation LOCATION on --all --for 2h`")
    if action in ("on", "off") and every == bool(names):
        raise errors.UsageError(
            "name the schedules and sensors, or pass --all (not both)", "e.g. `on sensor/my_sensor`"
        )
    if action == "tick" and (every or len(names) != 1):
        raise errors.UsageError("tick evaluates one schedule or sensor", "name exactly one, without --all")


def _uses_kube(params, seconds: Optional[float]) -> bool:
    """The Jobs of --for live in the cluster: looked at unless only --webserver-url was given (and no --for)."""
    return bool(seconds or not params["webserver_url"] or params["kubeconfig"] or params["context"])


def _transport(params):
    """(post, where), as the other commands reach the webserver; a direct URL through instigators' own transport,
    which reads the GraphQL answer Dagster sends with HTTP 500 (a mutation's PythonError) instead of dropping it."""
    if not params["webserver_url"]:
        return waiting.transport(params)
    webserver.http(params["webserver_url"])  # the URL's checks
    return instigators.http_transport(params["webserver_url"]), params["webserver_url"]


def call(func: Callable[[], Any]) -> Any:
    """One exchange with the webserver; its refusals and failures are one error line."""
    try:
        return func()
    except (reloadhook.WebserverError, instigators.AutomationError) as exc:
        raise errors.ClusterError(str(exc), "check the webserver (kubectl dagster status) and try again") from exc


def _items(post, location: str, where: str) -> List[Dict[str, Any]]:
    found = call(lambda: instigators.listing(post))
    if location not in found:
        raise errors.ClusterError(
            f"location {location} is not loaded in the webserver at {where}",
            f"check it with `kubectl dagster status {location}`",
        )
    return found[location]


class Jobs:
    """The location's pending Jobs of --for, read once."""

    def __init__(self, params, location: str, needed: bool):
        from ..shells import expiry, kube

        self.params, self.location, self.expiry = params, location, expiry
        self.cluster = kube.Cluster(stores.kube_flags(params))
        self.pending = expiry.expiries(self.cluster, location, needed)  # None: not allowed to list them (a listing)

    def create(self, wanted: List[Dict[str, Any]], seconds: float) -> automation.Expiry:
        now = time.time()
        url, deployment = self.expiry.target(self.cluster, self.params.get("webserver_service"))
        planned = automation.Expiry("", now + seconds, [automation.identity(i) for i in wanted])
        name = self.expiry.create(self.cluster, self.location, planned, url, deployment, now)
        return planned._replace(name=name)

    def release(self, items: List[Dict[str, Any]], keep: str = "") -> None:
        """Take ``items`` out of the Jobs that would stop them (not out of ``keep``, the one just made)."""
        pending = [e for e in self.pending if e.name != keep]
        for old, rest in automation.release(pending, items):
            if rest is not None:
                url, deployment = self.expiry.target(self.cluster, self.params.get("webserver_service"))
                self.expiry.create(self.cluster, self.location, rest, url, deployment, time.time())
            self.expiry.delete(self.cluster, old.name)

    def covers(self, item: Dict[str, Any]) -> bool:
        return automation.stops_at(self.pending, item) is not None


def _show(items, jobs: Optional[Jobs], fmt: str) -> None:
    found = automation.rows(items, jobs.pending if jobs else None)
    if fmt == "name":
        output.echo("\n".join(automation.label(row) for row in found))
    elif fmt == "table":
        cells = [[automation.label(r), r["status"], r["default"], str(r["type"]), r["until"] or "-"] for r in found]
        output.table(cells, HEADERS)
    else:
        output.data({"items": found}, fmt)


def _on(post, chosen, jobs: Optional[Jobs], seconds: Optional[float]) -> None:
    """Start what is stopped; with --for, a Job stops them again (and what an earlier --for would stop)."""
    mine = [i for i in chosen if i["status"] != "RUNNING" or (jobs and jobs.covers(i))]
    made = jobs.create(mine, seconds) if (seconds and jobs and mine) else None
    try:
        for item in chosen:
            if item["status"] == "RUNNING":
                output.echo(f"{automation.label(item)} unchanged (running)" + _until(made, item, mine))
                continue
            call(lambda item=item: instigators.start(post, item))
            output.echo(f"{automation.label(item)} started" + _until(made, item, mine))
    except errors.Error:
        if made is not None:  # nothing was started for it: the Job goes, the earlier ones stay as they were
            jobs.expiry.delete(jobs.cluster, made.name)
        raise
    if jobs:
        jobs.release(chosen, keep=made.name if made else "")


def _until(made: Optional[automation.Expiry], item, mine) -> str:
    return f" (until {automation.rfc3339(made.until)})" if made is not None and item in mine else ""


def _off(post, chosen, jobs: Optional[Jobs], seconds: Optional[float]) -> None:
    for item in chosen:
        if item["status"] != "RUNNING":
            output.echo(f"{automation.label(item)} unchanged (stopped)")
            continue
        call(lambda item=item: instigators.stop(post, item))
        output.echo(f"{automation.label(item)} stopped")
    if jobs:
        jobs.release(chosen)


def _tick(post, chosen) -> None:
    (item,) = chosen
    launched = call(lambda: instigators.tick(post, item, time.time(), lambda line: output.echo(line, err=True)))
    for run_id in launched:
        output.echo(f"run/{run_id} launched by {automation.label(item)}")
    if not launched:
        output.echo(f"{automation.label(item)} requested no run", err=True)
