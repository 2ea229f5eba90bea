"""Registry commands: add-location, update-location, remove-location, list-locations, get-location,
gc, import, rbac. kubectl hands every argument to a plugin verbatim, so the kubectl flags
(--kubeconfig, --context, -n, --dry-run, -o) are parsed here, with kubectl's meanings.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Callable, Dict, List, Optional

import click

from .. import constants, errors, yamlio
from ..core import locations as locs, entries as registry
from . import observe, options
from .observe import webserver_options

OUTPUTS = ("table", "wide", "yaml", "json", "name")


# -- shared options ------------------------------------------------------------------------------
def store_options(func):
    func = click.option("--argocd-namespace", default="argocd", show_default=True, metavar="NS",
                        help="Namespace of the ArgoCD Application.")(func)
    func = click.option("--argocd-app", default=None, metavar="NAME",
                        help="After a successful write, ask ArgoCD for a hard refresh of this Application.")(func)
    return kube_options(func)


def kube_options(func):
    func = click.option("--cluster", is_flag=True, help="Use the cluster registry (one ConfigMap per location).")(func)
    func = click.option("--locations", "locations_path", default=None, metavar="PATH", envvar="KUBECTL_DAGSTER_LOCATIONS",
                        help="Use the git registry: a CodeLocations file, or a directory with one file per location.")(func)
    func = click.option("--kubeconfig", default=None, metavar="PATH", help="Path to the kubeconfig file.")(func)
    func = click.option("--context", default=None, metavar="NAME", help="The kubeconfig context to use.")(func)
    func = click.option("-n", "--namespace", default=None, metavar="NAMESPACE", envvar="KUBECTL_DAGSTER_NAMESPACE",
                        help="The Dagster namespace (default: the kubeconfig context's).")(func)
    return options.debug(func)


def dry_run_option(func):
    return click.option("--dry-run", type=click.Choice(["none", "client", "server"]), default="none", is_flag=False, flag_value="client",
                        show_default=True, help="client: show what would change; server: also have the API server check it.")(func)


def output_option(choices, default):
    return click.option("-o", "--output", type=click.Choice(choices), default=default, show_default=True,
                        help="Output format.")


def open_store(locations_path: Optional[str], cluster: bool, kube):
    if cluster and locations_path:
        raise click.UsageError("--locations and --cluster name two registries; pass one")
    if cluster:
        from .. import cluster as cluster_mod

        return cluster_mod.ClusterStore(cluster_mod.Cluster(kube))
    if locations_path:
        from .. import filestore

        return filestore.FileStore(locations_path)
    raise click.UsageError("no registry: pass --locations PATH (git) or --cluster")


def kube_flags(kubeconfig, context, namespace):
    from ..cluster import KubeFlags

    return KubeFlags(kubeconfig=kubeconfig, context=context, namespace=namespace)


def now():
    import datetime

    return datetime.datetime.now(datetime.timezone.utc)


def refresh(app: Optional[str], argocd_namespace: str, kube, store, changed: bool, dry_run: str) -> None:
    if not app or not changed or dry_run != "none":
        return
    from .. import cluster as cluster_mod

    connection = store.cluster if store.kind == "cluster" else cluster_mod.Cluster(kube)
    cluster_mod.refresh_argocd_app(connection, app, argocd_namespace)
    click.echo(f"application.argoproj.io/{app} refresh requested (hard)", err=True)


def report(verb: str, old, new, output: str, dry_run: str, details: List[str]) -> None:
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
    entry = new or old
    if output == "name":
        click.echo(f"location/{entry.name}")
    elif output in ("yaml", "json"):
        emit([_document_item(entry)] if new else [], output, single=True)
    else:
        tail = f" ({'; '.join(details)})" if details else ""
        click.echo(f"location/{entry.name} {verb}{suffix}{tail}")


def _document_item(entry: registry.Entry) -> Dict[str, Any]:
    spec = dict(entry.spec)
    spec.pop("name", None)
    return {"name": entry.name, **spec}


def emit(items: List[Dict[str, Any]], output: str, single: bool = False) -> None:
    if single:
        data: Any = items[0] if items else {}
    else:
        data = {"apiVersion": constants.API_VERSION, "kind": constants.KIND, "locations": items}
    if output == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        sys.stdout.write(yamlio.dump(data) if data else "{}\n")


def mutate_and_report(store, name: str, change, dry_run: str, output: str, argocd, kube, describe_new: Callable) -> None:
    old, new = store.mutate(name, change, dry_run)
    if new is None and old is None:
        raise errors.RegistryError(f"location {name!r} not found in {store.describe()}", "check the name with list-locations")
    if new is None:
        verb, details, changed = "deleted", [], True
    elif old is None:
        verb, details, changed = "created", describe_new(new), True
    elif old.spec == new.spec:
        verb, details, changed = "unchanged", [], False
    else:
        verb, details, changed = "configured", registry.describe_change(old.spec, new.spec), True
    report(verb, old, new, output, dry_run, details)
    refresh(argocd[0], argocd[1], kube, store, changed, dry_run)


def _created_details(entry: registry.Entry) -> List[str]:
    spec = entry.resolved
    where = entry.source[len("file:"):] if entry.source.startswith("file:") else entry.source
    return [f"image {registry.image_ref(spec)}", f"port {spec.get('port', constants.FIRST_PORT)}", f"in {where}"]


# -- add / update ------------------------------------------------------------------------------------
def location_flags(func):
    opts = [
        click.option("--image", default=None, metavar="REPOSITORY[:TAG]", help="The code server image (required to add)."),
        click.option("--pull-policy", type=click.Choice(locs.PULL_POLICIES), default=None, help="image.pullPolicy."),
        click.option("--branch", default=None, help="The git branch; gives the name when NAME is omitted."),
        click.option("-f", "--python-file", default=None, metavar="FILE", help="Code source: a Python file."),
        click.option("-m", "--module-name", default=None, metavar="MODULE", help="Code source: a module."),
        click.option("-p", "--package-name", default=None, metavar="PACKAGE", help="Code source: an installed package."),
        click.option("--working-directory", default=None, metavar="DIR", help="Working directory for the code source."),
        click.option("-a", "--attribute", default=None, metavar="NAME", help="The Definitions attribute to load."),
        click.option("--executable-path", default=None, metavar="PATH", help="Python to run `dagster api grpc` with."),
        click.option("--commit-hash", default=None, metavar="SHA", help="The commit the image was built from."),
        click.option("--git-url", default=None, metavar="URL", help="Link to the code (recorded as an annotation)."),
        click.option("--env", multiple=True, metavar="K=V", help="An environment variable (repeatable; K- removes on update)."),
        click.option("--env-secret", "env_secrets", multiple=True, metavar="NAME", help="A Secret to take env from (repeatable)."),
        click.option("--env-config-map", "env_config_maps", multiple=True, metavar="NAME", help="A ConfigMap to take env from (repeatable)."),
        click.option("--cpu", default=None, metavar="QTY", help="CPU request, e.g. 500m."),
        click.option("--memory", default=None, metavar="QTY", help="Memory request, e.g. 1Gi."),
        click.option("--cpu-limit", default=None, metavar="QTY", help="CPU limit."),
        click.option("--memory-limit", default=None, metavar="QTY", help="Memory limit."),
        click.option("--label", "labels", multiple=True, metavar="K=V", help="A pod label (repeatable; K- removes on update)."),
        click.option("--pull-request", type=int, default=None, metavar="N", help="The pull request number."),
        click.option("--ttl", default=None, metavar="DURATION", help="Expire after this long (e.g. 7d); `gc` removes it then."),
        click.option("--port", type=click.IntRange(1, 65535), default=None, help="gRPC port (default: a free one from 3031)."),
    ]
    for option in reversed(opts):
        func = option(func)
    return func


def _flags(kwargs: Dict[str, Any]) -> registry.Flags:
    names = registry.Flags.__dataclass_fields__
    return registry.Flags(**{key: value for key, value in kwargs.items() if key in names})


@click.command("add-location")
@click.argument("name", required=False)
@location_flags
@click.option("--location-file", default=None, type=click.Path(dir_okay=False), help="Take the whole entry from this YAML file.")
@click.option("--replace", is_flag=True, help="Replace a location of the same name instead of failing.")
@click.option("--wait", default=None, is_flag=False, flag_value="10m", metavar="[TIMEOUT]",
              help="After the write, wait until Dagster has LOADED the location (default bound 10m), or print its load error and fail.")
@webserver_options
@store_options
@dry_run_option
@output_option(("table", "yaml", "json", "name"), "table")
def add_location(name, location_file, replace, wait, webserver_url, webserver_service, locations_path, cluster, kubeconfig,
                 context, namespace, dry_run, output, argocd_app, argocd_namespace, debug, **kwargs):
    """Add a code location to the registry.

    \b
    Examples:
      kubectl dagster add-location --branch "$BRANCH" --image ghcr.io/acme/code:$SHA -f definitions.py --ttl 7d --cluster
      kubectl dagster add-location marketing --image ghcr.io/acme/marketing:2.4.0 -m marketing.defs --locations deploy/locations/
    """
    flags = _flags(kwargs)
    base = _read_location_file(location_file) if location_file else None
    explicit = name or (base or {}).get("name")
    name = registry.entry_name(explicit, flags.branch or (base or {}).get("branch"))
    kube = kube_flags(kubeconfig, context, namespace)
    store = open_store(locations_path, cluster, kube)
    moment = now()
    reserved = {constants.FIRST_PORT}
    if store.kind == "cluster" and flags.port is None and not (base or {}).get("port"):
        reserved |= store.chart_ports()

    def change(old, current, defaults):
        if old is not None and not replace:
            raise errors.ExistsError(f"location {name!r} already exists ({old.source})",
                                       "pass --replace, or use update-location")
        spec = registry.build_spec(explicit, flags, moment, base)
        spec = _named_first(spec, name)
        if "port" not in spec and "port" not in defaults:
            others = [entry for entry in current if entry.name != name]
            spec["port"] = registry.pick_port(registry.used_ports(others), reserved)
        return spec

    mutate_and_report(store, name, change, dry_run, output, (argocd_app, argocd_namespace), kube, _created_details)
    if wait is not None and dry_run == "none":
        post, _ = observe.transport(webserver_url, webserver_service, kube)
        observe.wait_for_location(name, post, observe.parse_duration(wait))


def _named_first(spec: Dict[str, Any], name: str) -> Dict[str, Any]:
    """Key order in files: name (or branch) first, as people write them."""
    head = {key: spec[key] for key in ("name", "branch") if key in spec}
    return {**head, **{k: v for k, v in spec.items() if k not in head}}


def _read_location_file(path: str) -> Dict[str, Any]:
    from .. import sources

    docs = sources.load_docs(sources.read_text(path), path)
    data = docs[0] if docs else None
    if locs.is_document(data):
        items = data.get("locations") or []
        if len(items) != 1:
            raise errors.InputError(f"{path} holds {len(items)} locations", "pass a file with exactly one location")
        data = locs.deep_merge(data.get("defaults") or {}, items[0])
    if not isinstance(data, dict):
        raise errors.InputError(f"{path} does not hold a location mapping", "pass a file with one location")
    return data


@click.command("update-location")
@click.argument("name", required=False)
@location_flags
@store_options
@dry_run_option
@output_option(("table", "yaml", "json", "name"), "table")
def update_location(name, locations_path, cluster, kubeconfig, context, namespace, dry_run, output, argocd_app,
                    argocd_namespace, debug, **kwargs):
    """Change a registered location; only what the flags give changes."""
    flags = _flags(kwargs)
    name = registry.entry_name(name, flags.branch)
    kube = kube_flags(kubeconfig, context, namespace)
    store = open_store(locations_path, cluster, kube)
    moment = now()

    def change(old, current, defaults):
        if old is None:
            raise errors.RegistryError(f"location {name!r} not found in {store.describe()}", "add it with add-location")
        return registry.apply_flags(old.spec, flags, moment)

    mutate_and_report(store, name, change, dry_run, output, (argocd_app, argocd_namespace), kube, _created_details)


@click.command("remove-location")
@click.argument("name", required=False)
@click.option("--branch", default=None, help="Remove the location of this branch.")
@click.option("--ignore-not-found", is_flag=True, help="Succeed when the location does not exist.")
@store_options
@dry_run_option
@output_option(("table", "name"), "table")
def remove_location(name, branch, ignore_not_found, locations_path, cluster, kubeconfig, context, namespace, dry_run,
                    output, argocd_app, argocd_namespace, debug):
    """Remove a location from the registry (the next render prunes its objects)."""
    name = registry.entry_name(name, branch)
    kube = kube_flags(kubeconfig, context, namespace)
    store = open_store(locations_path, cluster, kube)
    if ignore_not_found:
        old, _ = store.mutate(name, lambda old, current, defaults: None, dry_run)
        if old is None:
            return
        report("deleted", old, None, output, dry_run, [])
        refresh(argocd_app, argocd_namespace, kube, store, True, dry_run)
        return
    mutate_and_report(store, name, lambda old, current, defaults: None, dry_run, output,
                      (argocd_app, argocd_namespace), kube, _created_details)


# -- reading ----------------------------------------------------------------------------------------
@click.command("list-locations")
@kube_options
@output_option(OUTPUTS, "table")
@click.option("--no-headers", is_flag=True, help="Leave out the header row (table output).")
def list_locations(locations_path, cluster, kubeconfig, context, namespace, output, no_headers, debug):
    """List registered locations: name, branch, image, port, age, expires, source."""
    store = open_store(locations_path, cluster, kube_flags(kubeconfig, context, namespace))
    entries = sorted(store.entries(), key=lambda e: e.name)
    moment = now()
    if output in ("table", "wide"):
        if not entries:
            click.echo(f"No locations found in {store.describe()}.", err=True)
            return
        headers = registry.WIDE_HEADERS if output == "wide" else registry.HEADERS
        text = registry.table([registry.row(e, moment, output == "wide") for e in entries], headers)
        sys.stdout.write(text.split("\n", 1)[1] if no_headers else text)
    elif output == "name":
        for entry in entries:
            click.echo(f"location/{entry.name}")
    else:
        emit([_document_item(registry.Entry(e.name, e.resolved, e.source)) for e in entries], output)


@click.command("get-location")
@click.argument("name")
@kube_options
@output_option(("yaml", "json", "name"), "yaml")
def get_location(name, locations_path, cluster, kubeconfig, context, namespace, output, debug):
    """Print one location (with defaults applied)."""
    store = open_store(locations_path, cluster, kube_flags(kubeconfig, context, namespace))
    entry = next((e for e in store.entries() if e.name == name), None)
    if entry is None:
        raise errors.RegistryError(f"location {name!r} not found in {store.describe()}", "check the name with list-locations")
    if output == "name":
        click.echo(f"location/{entry.name}")
    else:
        emit([_document_item(registry.Entry(entry.name, entry.resolved, entry.source))], output, single=True)


# -- gc ---------------------------------------------------------------------------------------------
@click.command("gc")
@click.option("--keep-branches", default=None, metavar="FILE|-",
              help="Also remove locations whose branch is not listed (one per line, or `git ls-remote --heads` output).")
@store_options
@dry_run_option
@output_option(("table", "name"), "table")
def gc(keep_branches, locations_path, cluster, kubeconfig, context, namespace, dry_run, output, argocd_app,
       argocd_namespace, debug):
    """Remove expired locations (expiresAt in the past), and those of deleted branches.

    \b
    Example:
      git ls-remote --heads origin | kubectl dagster gc --keep-branches - --cluster
    """
    keep = registry.parse_branch_list(_read_keep(keep_branches)) if keep_branches else None
    if keep is not None and not keep:
        raise errors.InputError("--keep-branches lists no branch", "refusing to remove every branch location; check the list")
    kube = kube_flags(kubeconfig, context, namespace)
    store = open_store(locations_path, cluster, kube)
    moment = now()

    def reason(entry) -> Optional[str]:
        if registry.expired([entry], moment):
            return f"expired {locs.format_time(entry.resolved.get('expiresAt'))}"
        if keep is not None and registry.gone_branches([entry], keep):
            return f"branch {entry.resolved.get('branch')} is gone"
        return None

    victims = [(entry, reason(entry)) for entry in store.entries()]
    victims = [(entry, why) for entry, why in victims if why]
    removed = 0
    for entry, why in victims:
        def change(old, current, defaults, entry=entry):
            if old is None or reason(old) is None:  # gone or renewed since the listing
                return old.spec if old is not None else None
            return None

        old, new = store.mutate(entry.name, change, dry_run)
        if old is not None and new is None:
            removed += 1
            report("deleted", old, None, output, dry_run, [why])
    if not victims:
        click.echo(f"No locations to remove in {store.describe()}.", err=True)
    refresh(argocd_app, argocd_namespace, kube, store, removed > 0, dry_run)


def _read_keep(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    from .. import sources

    return sources.read_text(source)


# -- import, rbac -----------------------------------------------------------------------------------
@click.command("import")
@click.argument("dagster_cloud_yaml", type=click.Path(dir_okay=False))
@click.option("--image", default=None, metavar="REPOSITORY[:TAG]", help="Image for locations that name none.")
@click.option("--replace", is_flag=True, help="Replace locations that already exist.")
@store_options
@dry_run_option
@output_option(("table", "name"), "table")
def import_(dagster_cloud_yaml, image, replace, locations_path, cluster, kubeconfig, context, namespace, dry_run, output,
            argocd_app, argocd_namespace, debug):
    """Turn a Dagster+ dagster_cloud.yaml into registry entries.

    Keys without an equivalent are listed on stderr, one line each; nothing is dropped silently.
    """
    from ..core import importer
    from .. import sources

    docs = sources.load_docs(sources.read_text(dagster_cloud_yaml), dagster_cloud_yaml)
    entries, notes = importer.translate(docs[0] if docs else None, image)
    for entry in entries:
        if "image" not in entry:
            raise errors.InputError(f"location {entry['name']} in {dagster_cloud_yaml} has no image",
                                    "pass --image REPOSITORY:TAG (nothing was imported)")
        registry.validate(entry["name"], entry, dagster_cloud_yaml)
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    kube = kube_flags(kubeconfig, context, namespace)
    store = open_store(locations_path, cluster, kube)
    changed = False
    for entry in entries:
        def change(old, current, defaults, entry=entry):
            if old is not None and not replace:
                raise errors.ExistsError(f"location {entry['name']!r} already exists ({old.source})",
                                           "pass --replace to overwrite it")
            if "port" not in entry and "port" not in defaults:
                others = [e for e in current if e.name != entry["name"]]
                return {**entry, "port": registry.pick_port(registry.used_ports(others))}
            return entry

        old, new = store.mutate(entry["name"], change, dry_run)
        verb = "created" if old is None else ("unchanged" if old.spec == new.spec else "configured")
        changed = changed or verb != "unchanged"
        report(verb, old, new, output, dry_run, _created_details(new) if old is None else [])
    refresh(argocd_app, argocd_namespace, kube, store, changed, dry_run)


@click.command("rbac")
@click.option("-n", "--namespace", default="dagster", show_default=True, help="The Dagster namespace (where the ConfigMaps live).")
@click.option("--writer", default=None, metavar="[NS/]SERVICEACCOUNT",
              help="Who adds and removes locations (default: NAMESPACE/kubectl-dagster).")
@click.option("--reader", default="argocd/argocd-repo-server", show_default=True, metavar="[NS/]SERVICEACCOUNT",
              help="Who renders (e.g. the ArgoCD plugin sidecar's service account).")
@click.option("--argocd-app", default=None, metavar="NAME", help="Also let the writer request a refresh of this Application.")
@click.option("--argocd-namespace", default="argocd", show_default=True, metavar="NS")
@options.debug
def rbac(namespace, writer, reader, argocd_app, argocd_namespace, debug):
    """Print Roles and RoleBindings for the cluster registry (pipe to `kubectl apply -f -`)."""
    from ..core import rbac as rbac_mod

    sys.stdout.write(rbac_mod.manifests(namespace, rbac_mod.subject(writer or "kubectl-dagster", namespace),
                                        rbac_mod.subject(reader, namespace), argocd_app, argocd_namespace))


