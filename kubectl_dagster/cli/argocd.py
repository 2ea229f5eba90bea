"""``argocd-init`` and ``argocd-generate``: the commands plugin.yaml runs in the ArgoCD CMP sidecar;
``argocd-location``: what deploy/argocd/plugin-location.yaml runs for per-PR Applications (only the
PR's registry ConfigMap, see core/gitops/previews.py).

Both run in the Application's source directory (ArgoCD's cwd) and read ArgoCD's environment.
``argocd-generate`` runs ``helm template`` itself and then merges through the same ``render`` core
as every other entry point. On any failure stdout stays empty and the exit code is non-zero:
ArgoCD shows stderr, and never mistakes empty output for "delete everything".
"""

from __future__ import annotations

import os
import subprocess
import sys

import click

from ..base import errors, yamlio
from ..core.chart import manifests
from ..core.chart import render as core
from ..core.gitops import argocd
from ..shells import run as execution
from ..shells import sources
from . import options

HELM_ENV = "KUBECTL_DAGSTER_HELM"  # the helm binary (default: helm on PATH)


def _helm() -> str:
    return os.environ.get(HELM_ENV) or "helm"


def _run_helm(argv, what: str) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=300)
    except FileNotFoundError as exc:
        raise errors.InputError(f"{argv[0]} not found", f"install helm in the sidecar image or set {HELM_ENV}") from exc
    except subprocess.TimeoutExpired as exc:
        raise errors.InputError(f"{what} took longer than 300 s", "check the chart") from exc
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        raise errors.ReleaseError(
            f"{what} failed: {lines[-1] if lines else f'exit code {proc.returncode}'}",
            "fix the chart or its values in the repository",
        )
    return proc.stdout.decode("utf-8")


@click.command("argocd-generate")
@options.debug
def generate():
    """ArgoCD CMP `generate`: helm template + merge code locations, to stdout."""
    settings = argocd.settings(os.environ)
    root = os.getcwd()
    chart = safe_path(root, settings.chart, "chart")
    values = [safe_path(root, path, "values file") for path in settings.values_files]
    for path in values:
        if not os.path.isfile(path):
            raise errors.InputError(
                f"values file {os.path.relpath(path, root)} does not exist", "fix the values-files parameter"
            )
    paths = []
    if settings.locations:
        located = safe_path(root, settings.locations, "locations")
        if os.path.exists(located):
            paths.append(located)
        elif settings.locations_explicit:
            raise errors.InputError(f"locations {settings.locations} does not exist", "fix the locations parameter")
    text = _run_helm(argocd.helm_template(_helm(), settings, chart, values), "helm template")
    if not any(doc.kind for doc in manifests.split(text).documents):
        raise errors.ReleaseError(
            "helm template rendered no manifests",
            "refusing empty output: ArgoCD would prune every resource of the Application",
        )
    options = core.Options(namespace=settings.namespace, rollout=settings.rollout, reload_nudge=settings.reload_nudge)
    config = execution.Config(
        tuple(paths),
        settings.from_cluster,
        registry_namespace=settings.registry_namespace,
        options=options,
        allow_empty=settings.allow_empty,
        policy=safe_path(root, settings.policy, "policy") if settings.policy else None,
    )
    result = execution.execute(text, config)
    sys.stdout.write(result.text)
    sys.stdout.flush()
    for note in result.notes:
        click.echo(note, err=True)
    click.echo(f"kubectl-dagster: merged {len(result.added)} location(s) into release {result.release}", err=True)


@click.command("argocd-init")
@options.debug
def init():
    """ArgoCD CMP `init`: build local (file://) chart dependencies, offline."""
    params = argocd.parameters(os.environ)
    root = os.getcwd()
    chart = safe_path(root, params.get("chart") or ".", "chart")
    chart_yaml = os.path.join(chart, "Chart.yaml")
    if not os.path.isfile(chart_yaml):
        raise errors.InputError(
            f"no Chart.yaml in {os.path.relpath(chart, root)}", "set the chart parameter to the chart directory"
        )
    where = os.path.relpath(chart_yaml, root)
    try:
        data = yamlio.load(sources.read_text(chart_yaml))
    except yamlio.LoadError as exc:
        raise errors.InputError(f"{where} is {exc.what()}: {exc.message}", "fix Chart.yaml") from exc
    local = argocd.local_dependencies(data, where)
    if not local:
        click.echo("kubectl-dagster: no local chart dependencies to build", err=True)
        return
    _run_helm([_helm(), "dependency", "build", chart, "--skip-refresh"], "helm dependency build")
    click.echo(
        f"kubectl-dagster: built {len(local)} local chart dependenc{'y' if len(local) == 1 else 'ies'}", err=True
    )


def safe_path(root: str, relative: str, what: str) -> str:
    """``relative`` resolved inside ``root`` (the app's source directory); refuse anything else."""
    if not relative or os.path.isabs(relative):
        raise errors.InputError(
            f"{what} {relative!r} is an absolute path", "give a path relative to the app's source path"
        )
    base = os.path.realpath(root)
    resolved = os.path.realpath(os.path.join(base, relative))
    if resolved != base and not resolved.startswith(base + os.sep):
        raise errors.InputError(
            f"{what} {relative!r} leads outside the app's source path",
            "keep files inside the repository path of the Application",
        )
    return resolved


@click.command("argocd-location")
@options.debug
def location():
    """ArgoCD CMP `generate` for per-PR Applications: only this PR's registry ConfigMap, to stdout."""
    from ..core.gitops import previews
    from ..shells.registry import configmaps

    preview = previews.settings(os.environ)
    spec = _preview_spec(preview, os.getcwd())
    if preview.check_registry:
        _check_registry(preview)
    sys.stdout.write(yamlio.dump(configmaps.to_configmap(preview.name, spec, preview.namespace)))
    sys.stdout.flush()
    click.echo(
        f"kubectl-dagster: location {preview.name} (PR #{preview.number}, {preview.image}) for namespace "
        f"{preview.namespace}",
        err=True,
    )


def _preview_spec(preview, root: str) -> dict:
    """The PR's entry: the repository's project config and Dagster's own files (as deploy reads them), then
    the location file, then what the plugin decides."""
    from ..core.gitops import previews

    base = _location_file(preview, root)
    project_keys, described_by = _project_keys(preview, root)
    merged, left_out = previews.with_project(project_keys, base)
    if left_out:  # they can only come from the config's location: mapping
        keys = ", ".join(f"location.{key}" for key in left_out)
        click.echo(
            f"kubectl-dagster: the project config sets {keys}, which the pull-request plugin decides; left out",
            err=True,
        )
    where = ([preview.location_file] if base else []) + ([described_by] if project_keys else [])
    return previews.spec(preview, merged, " and ".join(where) or "the plugin parameters")


def _location_file(preview, root: str) -> dict:
    """The location file's keys; {} when it is absent and was not asked for."""
    from ..core.gitops import previews

    file = safe_path(root, preview.location_file, "location file")
    if os.path.isfile(file):
        text = sources.read_text(file)
        return previews.from_file(yamlio.load_untrusted(text, preview.location_file), preview.location_file)
    if preview.location_file_explicit:
        raise errors.InputError(
            f"location file {preview.location_file} does not exist in the repository",
            "add it, or drop the location-file parameter",
        )
    return {}


def _project_keys(preview, root: str):
    """(location keys, what they come from) of the repository's project config and Dagster's own files,
    found from the Application's path up to the repository's root, never outside it."""
    from ..core.branches import branchdeploy
    from . import project

    repository = repository_root(root, os.environ.get("ARGOCD_APP_SOURCE_PATH"))
    loaded = project.load({"environment": preview.environment}, set(), env={}, root=repository)
    labels = [label for label in loaded.merged.sources.values() if label.endswith(")")]  # "defaults (PATH)"
    files = sorted({os.path.relpath(label[label.rindex("(") + 1 : -1], repository) for label in labels})
    return branchdeploy.location_keys(loaded.merged), " and ".join(files) or "the project config"


def repository_root(cwd: str, source_path) -> str:
    """The repository checkout: ArgoCD runs the plugin in ``<checkout>/<spec.source.path>``."""
    path = os.path.normpath(source_path or ".")
    if path == "." or os.path.isabs(path) or path.split(os.sep)[0] == "..":
        return cwd
    root = os.path.normpath(cwd)
    for _ in path.split(os.sep):
        root = os.path.dirname(root)
    return root if os.path.join(root, path) == os.path.normpath(cwd) else cwd


def _check_registry(preview) -> None:
    """Refuse a name another PR, writer or the chart holds: one list of the namespace's ConfigMaps."""
    from ..base import constants
    from ..core.gitops import previews
    from ..shells import kube
    from ..shells.registry import configmaps

    cluster = kube.Cluster(kube.KubeFlags(namespace=preview.namespace))
    what = "list configmaps (check-registry)"
    items = kube.items_of(
        cluster.request(what, "GET", kube.namespaced(preview.namespace, "configmaps")), what, cluster.server
    )
    registered = [
        configmaps.from_configmap(item)
        for item in items
        if (item.get("metadata") or {}).get("name") == configmaps.configmap_name(preview.name)
        and ((item.get("metadata") or {}).get("labels") or {}).get(constants.REGISTRY_LABEL)
    ]
    previews.collision(preview, next((e for e in registered if e is not None), None), previews.workspace_names(items))
