"""``krm``: kubectl-dagster as a KRM function, for ``kpt fn eval --exec``, a Kptfile ``exec:`` step,
and kustomize exec transformers (through ``bin/dagster-krm-fn``, as kustomize passes no arguments).

A ResourceList comes in on stdin; the merged ResourceList goes out on stdout, rendered by
``run.execute`` like every other entry point. On failure stdout gets a ResourceList with
``results`` (severity error) and no items, stderr the usual ``error:`` line, and the exit code is
non-zero, as the KRM functions specification asks.
"""

from __future__ import annotations

import sys

import click

from ..base import constants
from ..core.chart import render as core
from ..core.gitops import krm
from ..shells import run as execution
from . import options
from .render import read_stdin


@click.command("krm")
@options.debug
def command():
    """KRM function: a ResourceList (the rendered release as items) in, the merged ResourceList out.

    \b
    The functionConfig is a CodeLocations document (render options as kubectl-dagster.io/<option>
    annotations), or a ConfigMap whose data names CodeLocations files (locations: a,b) and options
    (release, namespace, mode, on-conflict, rollout).

    \b
    Examples:
      kpt fn eval pkg/ --exec "kubectl-dagster krm" --fn-config dagster-locations.yaml
      helm template dagster dagster/dagster -f values.yaml \\
        | kpt fn eval - --exec "kubectl-dagster krm" --fn-config dagster-locations.yaml > merged.yaml
    """
    api_version, ref = constants.KRM_API_VERSION, None
    try:
        request = krm.parse(read_stdin())
        api_version = request.api_version
        config = krm.function_config(request.function_config)
        ref = config.ref
        result = execution.execute(
            request.stream, execution.Config(config.paths, options=_options(config), inline=config.inline)
        )
        text = krm.response(api_version, result.text, request.tracks_files)
    except Exception as exc:  # every failure is reported in the list too; cli.main prints it and sets the exit code
        sys.stdout.write(krm.failure(api_version, krm.results(exc, ref)))
        sys.stdout.flush()
        raise
    sys.stdout.write(text)
    sys.stdout.flush()
    names = ", ".join(result.added) or "none"
    click.echo(
        f"kubectl-dagster: merged {len(result.added)} location(s) into release {result.release}: {names}", err=True
    )


def _options(config: krm.FnConfig) -> core.Options:
    given = config.options
    return core.Options(
        release=given.get("release"),
        namespace=given.get("namespace"),
        rollout=given.get("rollout"),
        on_conflict=given.get("on-conflict", "error"),
        mode=given.get("mode", "auto"),
    )
