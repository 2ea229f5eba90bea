"""``rbac``: the Roles and RoleBindings the cluster registry needs, to pipe into kubectl apply."""

from __future__ import annotations

import sys

import click

from ..core.registry import rbac
from . import options


@click.command("rbac")
@click.option(
    "-n", "--namespace", default="dagster", show_default=True, help="The Dagster namespace (where the ConfigMaps live)."
)
@click.option(
    "--writer",
    default=None,
    metavar="[NS/]SERVICEACCOUNT",
    help="Who adds and removes locations (default: NAMESPACE/kubectl-dagster).",
)
@click.option(
    "--reader",
    default="argocd/argocd-repo-server",
    show_default=True,
    metavar="[NS/]SERVICEACCOUNT",
    help="Who renders (e.g. the ArgoCD plugin sidecar's service account).",
)
@click.option(
    "--argocd-app", default=None, metavar="NAME", help="Also let the writer request a refresh of this Application."
)
@click.option("--argocd-namespace", default="argocd", show_default=True, metavar="NS")
@click.option(
    "--registry-namespace",
    default=None,
    metavar="NS",
    help="The registry's own namespace (recommended): the writer's and reader's Roles go there, and the writer "
    "gets nothing in the Dagster namespace.",
)
@click.option(
    "--observer",
    default=None,
    metavar="[NS/]SERVICEACCOUNT",
    help="Who may read the webserver and Deployments (status, --wait); with --registry-namespace, nobody unless given.",
)
@options.debug
def command(namespace, writer, reader, argocd_app, argocd_namespace, registry_namespace, observer):
    """Print Roles and RoleBindings for the cluster registry (pipe to `kubectl apply -f -`).

    \b
    Examples:
      kubectl dagster rbac -n dagster --registry-namespace dagster-registry --writer ci/deployer | kubectl apply -f -
      kubectl dagster rbac -n dagster --writer ci/deployer --argocd-app dagster | kubectl apply -f -
    """
    home = registry_namespace or namespace
    sys.stdout.write(
        rbac.manifests(
            namespace,
            rbac.subject(writer or "kubectl-dagster", home),
            rbac.subject(reader, namespace),
            argocd_app,
            argocd_namespace,
            registry_namespace,
            rbac.subject(observer, namespace) if observer else None,
        )
    )
