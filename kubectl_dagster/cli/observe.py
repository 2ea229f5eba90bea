"""``reload``, ``status`` and the wait behind ``add-location --wait``: what the webserver serves."""
from __future__ import annotations

import json
import sys
import time
from typing import Optional

import click

from .. import errors, reloadhook, status as status_mod, yamlio
from ..core import entries as registry
from . import options


def webserver_options(func):
    func = click.option("--webserver-service", default=None, metavar="NAME[:PORT]",
                        help="Reach the webserver through the API server's service proxy (default: the Service "
                             "labelled component=dagster-webserver in the namespace).")(func)
    func = click.option("--webserver-url", default=None, metavar="URL", envvar="DAGSTER_WEBSERVER_URL",
                        help="The webserver's URL, e.g. http://localhost:3000 through a port-forward.")(func)
    return func


def transport(url: Optional[str], service: Optional[str], kube, path_prefix: str = ""):
    if url:
        from .. import webserver

        return webserver.http(url), url
    from .. import cluster, webserver

    connection = cluster.Cluster(kube)
    name, port = webserver.find_service(connection, service)
    return webserver.proxy(connection, name, port, path_prefix), f"service/{name}:{port} (via the API server)"


def _call(func, post):
    try:
        return func(post)
    except reloadhook.WebserverError as exc:
        raise errors.ClusterError(str(exc), "check --webserver-url / --webserver-service and that the webserver is running") from exc


def parse_duration(text: str) -> float:
    text = text.strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    return registry.parse_ttl(text).total_seconds()


class Progress:
    """One line per state change. On a terminal they carry the elapsed time and a live ticker; in CI, plain lines."""

    def __init__(self, what: str):
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.what = what
        self.ticking = False

    def line(self, text: str) -> None:
        elapsed = time.monotonic() - self.start
        if self.tty:
            if self.ticking:
                sys.stderr.write("\r\033[K")
                self.ticking = False
            sys.stderr.write(f"[{elapsed:5.0f}s] {text}\n")
        else:
            sys.stderr.write(f"{self.what}: {text}\n")
        sys.stderr.flush()

    def tick(self, elapsed: float) -> None:
        if self.tty:
            sys.stderr.write(f"\r\033[Kwaiting for {self.what} … {elapsed:.0f}s")
            sys.stderr.flush()
            self.ticking = True

    def done(self) -> None:
        if self.tty and self.ticking:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def wait_for_location(name: str, post, timeout: float, interval: float = 3.0) -> None:
    """Until ``name`` is LOADED (exit 0), or Dagster reports its load error (exit 1, error printed)."""
    progress = Progress(f"location {name}")

    def fetch():
        try:
            return reloadhook.reload(post)
        except reloadhook.WebserverError as exc:
            if "refuses" not in str(exc):
                raise
            return reloadhook.status(post)  # a read-only webserver: only watch

    def done(found):
        state = found.get(name, {}).get("status")
        return True if state == reloadhook.LOADED else False if state == reloadhook.FAILED else None

    outcome, found = reloadhook.wait(fetch, done, timeout, interval, progress.line, on_poll=progress.tick)
    progress.done()
    if outcome:
        click.echo(f"location/{name} loaded", err=True)
        return
    if outcome is False:
        state = found[name]
        text = state["message"].rstrip() + "\n" + "".join(state["stack"])
        for cause in state.get("causes") or []:
            text += "\nThe above exception was caused by:\n" + cause["message"].rstrip() + "\n" + "".join(cause["stack"])
        for line in text.rstrip().splitlines():
            click.echo(f"  {line}", err=True)
        raise errors.LocationError([errors.Problem("dagster", None, name, "failed to load: " + reloadhook.root_cause(state))])
    last = (found.get(name) or {}).get("status", reloadhook.MISSING)
    raise errors.ClusterError(f"location {name} is not loaded after {timeout:g}s (Dagster says: {last})",
                              "check the sync of the release and `kubectl dagster status`")


@click.command("reload")
@webserver_options
@click.option("--kubeconfig", default=None, metavar="PATH")
@click.option("--context", default=None, metavar="NAME")
@click.option("-n", "--namespace", default=None, metavar="NAMESPACE", envvar="KUBECTL_DAGSTER_NAMESPACE")
@click.option("--wait-for", "expect", multiple=True, metavar="NAME",
              help="Keep reloading until these locations are served (repeatable).")
@click.option("--timeout", default="5m", show_default=True, help="Bound of --wait-for.")
@options.debug
def reload_command(webserver_url, webserver_service, kubeconfig, context, namespace, expect, timeout, debug):
    """Reload the webserver's workspace (Dagster's "Reload all"), without restarting anything."""
    from .registry import kube_flags

    post, where = transport(webserver_url, webserver_service, kube_flags(kubeconfig, context, namespace))
    if not expect:
        found = _call(reloadhook.reload, post)
        click.echo(f"workspace reloaded at {where}: {reloadhook.summary(found)}")
        return
    progress = Progress("reload")
    wanted = set(expect)
    outcome, found = reloadhook.wait(lambda: reloadhook.reload(post),
                                     lambda found: True if wanted <= set(found) else None,
                                     parse_duration(timeout), 2.0, progress.line, on_poll=progress.tick)
    progress.done()
    if not outcome:
        raise errors.ClusterError(f"after {timeout} the webserver serves {reloadhook.summary(found)}; "
                                  f"missing: {', '.join(sorted(wanted - set(found)))}", "check the release was applied")
    click.echo(f"workspace reloaded at {where}: {reloadhook.summary(found)}")


@click.command("status")
@click.argument("name", required=False)
@webserver_options
@click.option("--cluster", is_flag=True, help="Declared = the cluster registry; also read the live workspace and Deployments.")
@click.option("--locations", "locations_path", default=None, metavar="PATH", envvar="KUBECTL_DAGSTER_LOCATIONS",
              help="Declared = this git registry.")
@click.option("--kubeconfig", default=None, metavar="PATH")
@click.option("--context", default=None, metavar="NAME")
@click.option("-n", "--namespace", default=None, metavar="NAMESPACE", envvar="KUBECTL_DAGSTER_NAMESPACE")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True)
@options.debug
def status_command(name, webserver_url, webserver_service, cluster, locations_path, kubeconfig, context, namespace,
                   output, debug):
    """Per location: declared, in the live workspace, Deployment ready, and Dagster's load status
    (with the error and stack when loading failed)."""
    from .registry import kube_flags, open_store

    kube = kube_flags(kubeconfig, context, namespace)
    declared = {e.name for e in open_store(locations_path, cluster, kube).entries()} if (cluster or locations_path) else set()
    in_workspace = ready = None
    if cluster or kubeconfig or context:
        from .. import cluster as cluster_mod, webserver

        connection = cluster_mod.Cluster(kube)
        in_workspace = webserver.live_workspace(connection) or set()
        ready = webserver.ready_replicas(connection)
    post, _ = transport(webserver_url, webserver_service, kube) if (webserver_url or cluster or kubeconfig or context) else (None, None)
    dagster = _call(reloadhook.status, post) if post else None
    rows = status_mod.rows(declared, in_workspace, ready, dagster, name)
    if name and not rows:
        raise errors.RegistryError(f"location {name!r} is not declared, not in the workspace and unknown to Dagster",
                                   "check the name with list-locations")
    if output == "json":
        click.echo(json.dumps({"locations": rows}, indent=2))
    elif output == "yaml":
        sys.stdout.write(yamlio.dump({"locations": rows}))
    else:
        sys.stdout.write(registry.table([status_mod.cells(r) for r in rows], status_mod.HEADERS))
