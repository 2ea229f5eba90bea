"""Reaching the webserver and waiting on it: the transport ``reload``, ``status`` and
``add-location --wait`` share, and the bounded wait until a location is LOADED."""

from __future__ import annotations

from ..base import errors
from ..core.registry import flagedits
from ..shells import reloadhook, webserver
from . import output, stores


def transport(params):
    """(post, where): post a GraphQL document to the webserver, directly or through the API server."""
    url, service = params.get("webserver_url"), params.get("webserver_service")
    if url:
        return webserver.http(url), url
    from ..shells import kube

    connection = kube.Cluster(stores.kube_flags(params))
    name, port = webserver.find_service(connection, service)
    return webserver.proxy(connection, name, port), f"service/{name}:{port} (via the API server)"


def call(func, post):
    """One GraphQL exchange; a webserver that cannot be reached is one error line."""
    try:
        return func(post)
    except reloadhook.WebserverError as exc:
        raise errors.ClusterError(
            str(exc), "check --webserver-url / --webserver-service and that the webserver is running"
        ) from exc


def parse_duration(text: str, flag: str = "--timeout") -> float:
    """Seconds from ``90``, ``90s``, ``10m``, ``1h``; checked before anything is written."""
    text = text.strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    try:
        return flagedits.parse_ttl(text).total_seconds()
    except errors.InputError as exc:
        raise errors.InputError(
            f"{flag} {text!r} is not a duration", "use a number and a unit s, m, h or d, e.g. 10m"
        ) from exc


def wait_for_location(name: str, connection, timeout: float, interval: float = 3.0) -> None:
    """Until ``name`` is LOADED (exit 0), or Dagster reports its load error (exit 1, error printed).
    ``timeout`` bounds the wait instead of the command's budget for the API server."""
    from ..shells import kube

    kube.BUDGET.lift()
    post, _ = connection
    progress = output.Progress(f"location {name}")

    def fetch():
        try:
            return reloadhook.reload(post)
        except reloadhook.ReadOnlyError:
            return reloadhook.status(post)  # a read-only webserver: only watch

    def done(found):
        state = found.get(name, {}).get("status")
        return True if state == reloadhook.LOADED else False if state == reloadhook.FAILED else None

    outcome, found = call(
        lambda _: reloadhook.wait(fetch, done, timeout, interval, progress.line, on_poll=progress.tick), post
    )
    progress.done()
    if outcome:
        output.echo(f"location/{name} loaded", err=True)
        return
    if outcome is False:
        _print_load_error(found[name])
        raise errors.LocationError(
            [errors.Problem("dagster", None, name, "failed to load: " + reloadhook.root_cause(found[name]))]
        )
    last = (found.get(name) or {}).get("status", reloadhook.MISSING)
    raise errors.ClusterError(
        f"location {name} is not loaded after {timeout:g}s (Dagster says: {last})",
        "check the sync of the release and `kubectl dagster status`",
    )


def _print_load_error(state) -> None:
    text = state["message"].rstrip() + "\n" + "".join(state["stack"])
    for cause in state.get("causes") or []:
        text += "\nThe above exception was caused by:\n" + cause["message"].rstrip() + "\n" + "".join(cause["stack"])
    for line in text.rstrip().splitlines():
        output.echo(f"  {line}", err=True)
