"""``render``: a rendered release on stdin, the merged release on stdout, written once on success.

Helm runs this on every upgrade, so the module does not import click: ``cli.main`` parses plainly
valid arguments with ``options.fast_parse`` and calls :func:`run`; the click command (for --help and
usage errors) is built only when the command group asks for it.
"""

from __future__ import annotations

import sys

from ..base import constants, errors
from ..core.chart import render as core
from ..shells import run as execution
from ..shells import sources
from . import optable, options


def run(params) -> None:
    text = read_stdin()
    opts = core.Options(
        release=params["release"],
        namespace=params["namespace"],
        rollout=params["rollout"],
        on_conflict=params["on_conflict"],
        mode=params["mode"],
        reload_nudge=params["reload_nudge"] == "true",
    )
    config = execution.Config(
        tuple(params["locations"]),
        params["from_cluster"],
        params["kubeconfig"],
        params["context"],
        params["registry_namespace"] or params["namespace"],
        opts,
        params["request_timeout"],
        params["allow_empty"],
        policy=params["policy"],
    )
    result = execution.execute(text, config)
    sys.stdout.write(result.text)
    sys.stdout.flush()
    for note in result.notes:
        sys.stderr.write(note + "\n")
    if params["summary"] and not result.release:
        sys.stderr.write("passed a stream of Helm hooks alone through unchanged\n")
    elif params["summary"]:
        names = ", ".join(result.added) or "none"
        hook = f"; reload hook Job {result.hook}" if result.hook else ""
        sys.stderr.write(
            f"merged {len(result.added)} location(s) into release {result.release} ({result.mode}): {names}{hook}\n"
        )


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise errors.InputError("no input on stdin", "pipe in the output of `helm template`")
    return sources.read_stream(
        sys.stdin.buffer, "the input on stdin", constants.MAX_STREAM_BYTES, "pipe in the output of `helm template`"
    )


def _build():
    import click

    @click.command("render")
    @optable.decorate(options.RENDER)
    def command(**params):
        """Merge code locations into a rendered Dagster release.

        Reads `helm template` output (or a Helm 3 / Helm 4 post-renderer stream) on stdin and writes
        the merged stream on stdout. On any error nothing is written to stdout.

        \b
        Examples:
          helm template dagster dagster/dagster -f values.yaml \\
            | kubectl-dagster render --locations dagster-locations.yaml
          helm upgrade dagster dagster/dagster -f values.yaml --post-renderer kubectl-dagster \\
            --post-renderer-args render --post-renderer-args --locations=dagster-locations.yaml
        """
        run(params)

    return command


def __getattr__(name: str):  # the click command, built on first access (PEP 562)
    if name == "command":
        return _build()
    raise AttributeError(name)
