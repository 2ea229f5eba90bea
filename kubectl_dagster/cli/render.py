"""``kubectl-dagster render``: stream in on stdin, merged stream out on stdout (written once)."""
from __future__ import annotations

import sys

import click

from .. import errors, render as core, sources
from . import options


@click.command("render")
@options.locations
@options.release
@options.namespace
@options.render_choices
@click.option("--summary", is_flag=True, help="Say on stderr which locations were merged.")
@click.option("--from-cluster", is_flag=True, help="Also read the cluster registry (ConfigMaps in -n/--namespace).")
@click.option("--kubeconfig", default=None, metavar="PATH", help="With --from-cluster: the kubeconfig file.")
@click.option("--context", default=None, metavar="NAME", help="With --from-cluster: the kubeconfig context.")
@options.debug
def command(locations, release, namespace, rollout, on_conflict, mode, summary, from_cluster, kubeconfig, context, debug):
    """Merge code locations into a rendered Dagster release.

    Reads `helm template` output (or a Helm 3 / Helm 4 post-renderer stream) on stdin and writes
    the merged stream on stdout. On any error nothing is written to stdout.

    \b
    Examples:
      helm template dagster dagster/dagster -f values.yaml | kubectl-dagster render --locations dagster-locations.yaml
      helm upgrade dagster dagster/dagster -f values.yaml --post-renderer kubectl-dagster \\
        --post-renderer-args render --post-renderer-args --locations=dagster-locations.yaml
    """
    text = read_stdin()
    found = load_locations(locations, from_cluster, kubeconfig, context, namespace)
    opts = core.Options(release=release, namespace=namespace, rollout=rollout, on_conflict=on_conflict, mode=mode)
    try:
        result = core.render(text, found, opts)
    except errors.LocationError as exc:
        raise errors.LocationError(sources.with_lines(exc.problems, {p.file: _maybe_read(p.file) for p in exc.problems})) from exc
    sys.stdout.write(result.text)
    sys.stdout.flush()
    if summary:
        names = ", ".join(result.added) or "none"
        hook = f"; reload hook Job {result.hook}" if result.hook else ""
        click.echo(f"merged {len(result.added)} location(s) into release {result.release} ({result.mode}): {names}{hook}",
                   err=True)


def load_locations(paths, from_cluster: bool, kubeconfig=None, context=None, namespace=None):
    """Locations from files and, when asked, the cluster registry; one name in both is an error."""
    if not from_cluster:
        return sources.load(paths)
    from .. import cluster

    store = cluster.ClusterStore(cluster.Cluster(cluster.KubeFlags(kubeconfig, context, namespace)))
    return sources.load(paths, extra=[(entry.source, entry.spec) for entry in store.entries()])


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise errors.InputError("no input on stdin", "pipe in the output of `helm template`")
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.InputError(f"the input is not UTF-8 text: {exc}", "pipe in the output of `helm template`") from exc


def _maybe_read(path: str) -> str:
    try:
        return sources.read_text(path)
    except errors.DagsterError:
        return ""
