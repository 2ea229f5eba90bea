"""``kubectl-dagster render``: stream in on stdin, merged stream out on stdout (written once)."""
from __future__ import annotations

import click

from . import options
from .render_run import run


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
    run(locations, release, namespace, rollout, on_conflict, mode, summary, from_cluster, kubeconfig, context)
