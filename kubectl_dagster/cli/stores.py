"""What the registry commands share: the kube flags, the store they name, running one edit and
printing its outcome, and the ArgoCD refresh after a write."""

from __future__ import annotations

import datetime
from typing import Callable, Dict, List, Optional

from ..base import constants, errors
from ..core.registry import admission as registry_admission
from ..core.registry import entries, flagedits, listing
from ..shells import kube, policyfile, registry
from ..shells.registry import store as store_mod
from . import output


def kube_flags(params) -> kube.KubeFlags:
    return kube.KubeFlags(
        params.get("kubeconfig"), params.get("context"), params.get("namespace"), params.get("request_timeout")
    )


def registry_flags(params) -> kube.KubeFlags:
    """The kube flags of the cluster registry: --registry-namespace, else the Dagster namespace (-n)."""
    return kube_flags({**params, "namespace": params.get("registry_namespace") or params.get("namespace")})


def open_store(params, dry_run: str = "none"):
    return registry.open_store(
        params.get("locations_path"),
        params.get("cluster", False),
        registry_flags(params),
        dry_run,
        live_namespace=params.get("namespace") if params.get("registry_namespace") else None,
    )


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def apply(
    store,
    name: str,
    edit: entries.Edit,
    params,
    describe_new: Callable[[entries.Entry], List[str]],
    missing_ok: bool = False,
    admit: Optional[store_mod.Admit] = None,
) -> entries.Outcome:
    """Run ``edit`` on ``name``, print the outcome as kubectl would, refresh ArgoCD when something changed."""
    dry_run = params["dry_run"]
    outcome = store_mod.mutate(store, name, edit, dry_run, admit)
    if outcome.verb == "absent":
        if missing_ok:
            return outcome
        raise errors.RegistryError(
            f"location {name!r} not found in {store.describe()}", "check the name with list-locations"
        )
    details = {
        "created": lambda: describe_new(outcome.new),
        "configured": lambda: listing.describe_change(outcome.old.spec, outcome.new.spec),
    }.get(outcome.verb)
    output.change(outcome, params["output"], dry_run, details() if details else [])
    refresh(params, store, outcome.verb != "unchanged")
    return outcome


def admission(params, store) -> Optional[store_mod.Admit]:
    """add-location, update-location, deploy and import: the render's checks of a cluster registry entry (the
    default rules, or --policy / the project config's policy), before the write. Git files are the platform's
    own and are not checked, as render does not check them."""
    if store.kind != "cluster":
        return None
    chosen = policyfile.load(params["policy"]) if params.get("policy") else None
    namespace = getattr(store, "live_namespace", None) or store.cluster.namespace

    def admit(name, resolved, current) -> None:
        registry_admission.refuse(name, resolved, chosen, current, namespace)

    return admit


def invalid(params, store, found: List[entries.Entry]) -> Dict[str, str]:
    """list-locations and status: the cluster registry's entries a render leaves out, with the reason (as far as
    the registry and the policy from --policy or the project config tell)."""
    if store.kind != "cluster":
        return {}
    chosen = policyfile.load(params["policy"]) if params.get("policy") else None
    namespace = getattr(store, "live_namespace", None) or store.cluster.namespace
    return registry_admission.judge(found, chosen, namespace)


def warn_invalid(reasons: Dict[str, str], found: List[entries.Entry]) -> None:
    sources = {entry.name: entry.source for entry in found}
    for name, why in sorted(reasons.items()):
        line = f"warning: location {name} ({sources.get(name, '?')}) is invalid, renders leave it out: {why}"
        output.echo(line if len(line) <= 300 else line[:297] + "...", err=True)


def created_details(entry: entries.Entry) -> List[str]:
    spec = entry.resolved
    where = entry.source[len("file:") :] if entry.source.startswith("file:") else entry.source
    return [f"image {flagedits.image_ref(spec)}", f"port {spec.get('port', constants.FIRST_PORT)}", f"in {where}"]


def refresh(params, store, changed: bool) -> None:
    """Ask ArgoCD for a hard refresh of --argocd-app after a real write."""
    app: Optional[str] = params.get("argocd_app")
    if not app or not changed or params.get("dry_run", "none") != "none":
        return
    connection = getattr(store, "cluster", None) or kube.Cluster(kube_flags(params))
    kube.refresh_argocd_app(connection, app, params["argocd_namespace"])
    output.echo(f"application.argoproj.io/{app} refresh requested (hard)", err=True)
