"""Options shared by several commands, as decorators."""
from __future__ import annotations

import click

from .. import constants


def debug(func):
    return click.option("--debug", is_flag=True, help="Print the traceback of an error.")(func)


def locations(func):
    return click.option(
        "--locations", "locations", multiple=True, metavar="PATH",
        help="A CodeLocations file, or a directory of them (repeatable).")(func)


def namespace(func):
    return click.option("-n", "--namespace", default=None, metavar="NAMESPACE", envvar="KUBECTL_DAGSTER_NAMESPACE",
                        help="The release namespace (read from the input when it can be).")(func)


def release(func):
    return click.option("--release", default=None, metavar="NAME",
                        help="The Helm release to merge into, when the input holds several.")(func)


def render_choices(func):
    func = click.option("--rollout", type=click.Choice(constants.ROLLOUTS), default=None,
                        help="reload (default): add a hook Job that reloads the webserver's workspace, no restart; "
                             "restart: roll the webserver and daemon by changing their workspace checksum; "
                             "none: leave them (the daemon re-reads the workspace every 60 s).")(func)
    func = click.option("--on-conflict", type=click.Choice(constants.ON_CONFLICT), default="error", show_default=True,
                        help="What to do when the chart already renders a location of the same name.")(func)
    func = click.option("--mode", type=click.Choice(constants.MODES), default="auto", show_default=True,
                        help="full: objects and workspace entries; workspace: entries only (user code is another "
                             "release); objects: Deployments/Services only (standalone user-code chart).")(func)
    return func
