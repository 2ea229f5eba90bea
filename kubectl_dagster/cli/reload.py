"""``reload``: Dagster's "Reload all", without restarting anything; optionally until named locations are served."""

from __future__ import annotations

import click

from ..base import errors
from ..shells import kube, reloadhook
from . import options, output, waiting


@click.command("reload")
@options.webserver
@options.kube
@click.option(
    "--wait-for",
    "expect",
    multiple=True,
    metavar="NAME",
    help="Keep reloading until these locations are served (repeatable).",
)
@click.option("--timeout", default="5m", show_default=True, help="Bound of --wait-for.")
def command(expect, timeout, **params):
    """Reload the webserver's workspace (Dagster's "Reload all"), without restarting anything.

    \b
    Examples:
      kubectl dagster reload -n dagster
      kubectl dagster reload --webserver-url http://localhost:3000 --wait-for feat-x --timeout 2m
    """
    seconds = waiting.parse_duration(timeout)
    post, where = waiting.transport(params)
    kube.BUDGET.lift()  # a reload takes as long as the webserver needs to load every location (60s a call at most)
    if not expect:
        found = waiting.call(reloadhook.reload, post)
        output.echo(f"workspace reloaded at {where}: {reloadhook.summary(found)}")
        return
    progress = output.Progress("reload")
    wanted = set(expect)
    outcome, found = waiting.call(
        lambda _: reloadhook.wait(
            lambda: reloadhook.reload(post),
            lambda found: True if wanted <= set(found) else None,
            seconds,
            2.0,
            progress.line,
            on_poll=progress.tick,
        ),
        post,
    )
    progress.done()
    if not outcome:
        raise errors.ClusterError(
            f"after {timeout} the webserver serves {reloadhook.summary(found)}; "
            f"missing: {', '.join(sorted(wanted - set(found)))}",
            "check the release was applied",
        )
    output.echo(f"workspace reloaded at {where}: {reloadhook.summary(found)}")
