"""``watch``: run the registry watcher (kubectl_dagster/shells/watcher.py) until SIGTERM or Ctrl-C.

Shipped as a Deployment with its RBAC in deploy/argocd/watcher.yaml."""

from __future__ import annotations

import signal
import threading

import click

from ..shells import kube, watcher
from . import optable, options, stores, waiting

ROWS = (
    optable.Opt(
        ("--argocd-app",),
        "argocd_apps",
        "Application to hard-refresh when the registry changes: NAME or NAMESPACE/NAME (repeatable; required).",
        multiple=True,
        metavar="[NS/]NAME",
    ),
    optable.Opt(
        ("--argocd-namespace",),
        "argocd_namespace",
        "Namespace of Applications given without one.",
        default="argocd",
        show_default=True,
        metavar="NS",
    ),
    optable.Opt(
        ("--debounce",),
        "debounce",
        "Refresh once the registry has been quiet this long.",
        default="2s",
        show_default=True,
        metavar="DURATION",
    ),
    optable.Opt(
        ("--max-delay",),
        "max_delay",
        "Refresh at the latest this long after the first change of a burst.",
        default="30s",
        show_default=True,
        metavar="DURATION",
    ),
)


@click.command("watch")
@optable.decorate(ROWS + options.KUBE + (options.REGISTRY_NAMESPACE, options.DEBUG))
def command(**params):
    """Watch the registry ConfigMaps; hard-refresh ArgoCD Application(s) when they change.

    Runs until stopped (SIGTERM or Ctrl-C), resumes after the API server goes away, and logs one line
    per refresh. A burst of changes gives one refresh.

    \b
    Examples:
      kubectl dagster watch -n dagster --argocd-app dagster
      kubectl dagster watch --registry-namespace dagster-registry --argocd-app dagster
      kubectl dagster watch -n dagster --argocd-app argocd/dagster-staging --argocd-app argocd/dagster-prod
    """
    if not params["argocd_apps"]:
        from ..base import errors

        raise errors.UsageError("no Application to refresh", "pass --argocd-app NAME (repeatable)")
    apps = [watcher.parse_app(app, params["argocd_namespace"]) for app in params["argocd_apps"]]
    quiet = waiting.parse_duration(params["debounce"], "--debounce")
    longest = waiting.parse_duration(params["max_delay"], "--max-delay")
    kube.BUDGET.lift()  # runs until stopped; each request keeps its own timeout
    cluster = kube.Cluster(stores.kube_flags(params))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    namespace = params["registry_namespace"] or cluster.namespace
    watcher.Watcher(cluster, namespace, apps, quiet, max(quiet, longest), stop).run()
