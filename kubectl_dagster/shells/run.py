"""The one execute step behind every entry point that renders: ``render`` (pipe, Helm 3, Helm 4),
``argocd-generate`` and the KRM function. It gathers the locations (files, and the cluster registry
when asked), runs the pure core, and turns validation problems into ones that carry line numbers.
Callers differ only in how they collect the stream and the configuration, and where they write.

With ``from_cluster`` the registry is read in the release's namespace as the stream shows it (unless
the caller names one), and stderr says which namespace and how many locations. A read that fails is
an error, never an empty registry. An empty registry is refused while the live release still runs
locations that an earlier render added (the live workspace ConfigMap lists them after our marker, or
their env ConfigMaps carry our label) and that this render would remove: a wrong namespace, context or
kubeconfig would otherwise prune every location. ``allow_empty`` lets that removal go ahead.

The cluster registry is untrusted (docs/security.md): its entries are taken one by one, and one that cannot be
rendered (unreadable, a newer format, invalid, in conflict, a patch that does not apply, past the policy) is left
out with one ``warning:`` line on stderr, while the release and every other location render. Files
(``--locations``) are the platform's own and fail closed.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..base import errors
from ..core.chart import isolation
from ..core.chart import render as core
from ..core.policy import document
from ..core.registry import admission
from ..core.spec import locations as locs
from . import policyfile, sources


class Config(NamedTuple):
    """What a render needs besides the stream."""

    locations: Sequence[str] = ()  # CodeLocations files or directories
    from_cluster: bool = False  # also read the cluster registry
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    registry_namespace: Optional[str] = None  # where the cluster registry lives (None: the release's namespace)
    options: core.Options = core.Options()
    request_timeout: Optional[str] = None  # kubectl's --request-timeout, for the cluster registry
    allow_empty: bool = False  # let an empty registry remove the locations an earlier render added
    inline: Sequence[Tuple[str, Any]] = ()  # (source, parsed document): locations given as data (KRM functionConfig)
    policy: Optional[str] = None  # a LocationPolicy file the cluster registry's entries must satisfy


def say(line: str) -> None:
    sys.stderr.write(f"kubectl-dagster: {line}\n")


def execute(text: str, config: Config, note: Callable[[str], None] = say) -> core.Result:
    """Render ``text`` with the configured locations; every problem carries its file and line."""
    policy = _policy(config)
    found, registry, left = load_locations(config, text, note, policy)
    options = config.options._replace(
        hook_script=hook_script(),
        branch_hook=script("branchhook.py"),
        locations_given=bool(config.locations) or config.from_cluster,
        isolated=frozenset(location.name for location in registry),
        policy=policy,
    )
    try:
        result = core.render(text, found + registry, options)
    except errors.LocationError as exc:
        texts = {p.file: _maybe_read(p.file) for p in exc.problems}
        raise errors.LocationError(sources.with_lines(exc.problems, texts)) from exc
    sources_of = {location.name: location.file for location in registry}
    lines = [isolation.line(item.name, item.source, item.reason) for item in left]
    lines += [isolation.line(name, sources_of[name], why) for name, why in result.left_out]
    return result._replace(notes=result.notes + tuple(lines))


def _policy(config: Config) -> Optional[document.Policy]:
    if not config.policy:
        return None
    if not config.from_cluster:
        raise errors.UsageError(
            "a LocationPolicy applies to the cluster registry's entries, and this render reads none",
            "pass --from-cluster (ArgoCD: from-cluster), or drop --policy",
        )
    return policyfile.load(config.policy)


def load_locations(
    config: Config, text: str = "", note: Callable[[str], None] = say, policy: Optional[document.Policy] = None
) -> Tuple[List[locs.Location], List[locs.Location], List[admission.LeftOut]]:
    """Locations from files (the platform's), and, when asked, the cluster registry's that a render may take,
    and the ones it leaves out; a registry entry named like a file's location is left out."""
    if not config.from_cluster:
        return sources.load(config.locations, extra=config.inline), [], []
    inspected = core.inspect(text, config.options.release)
    namespace = config.registry_namespace or inspected.namespace
    if not namespace:
        raise errors.InputError(
            f"cannot tell the namespace of release {inspected.release} from the input, so not "
            "which cluster registry to read",
            "pass -n/--namespace NAMESPACE or --registry-namespace NAMESPACE",
        )
    store = _store(config, namespace)
    entries = store.entries()
    note(f"read {len(entries)} location(s) from the cluster registry in namespace {namespace}")
    found = sources.load(config.locations, extra=config.inline)
    registry, left = admission.registry_locations(entries, {location.name for location in found}, policy)
    if not entries and not config.allow_empty:
        live = inspected.namespace or namespace  # where Helm applies the release, whatever registry was read
        _refuse_to_prune(
            store if live == namespace else _store(config, live),
            inspected,
            {location.name for location in found},
            namespace,
        )
    return found, registry, left


def _store(config: Config, namespace: str):
    from . import kube
    from .registry import configmaps

    flags = kube.KubeFlags(config.kubeconfig, config.context, namespace, config.request_timeout)
    return configmaps.ConfigMapStore(kube.Cluster(flags))


def _refuse_to_prune(store, inspected: core.Inspected, kept, namespace: str) -> None:
    """The API server lists nothing, without an error, in a namespace that does not exist: an empty
    read proves nothing, so look at what the live release runs."""
    removed = sorted(core.live_locations(store.configmaps(), inspected) - kept)
    if removed:
        shown = ", ".join(removed[:5]) + (f" and {len(removed) - 5} more" if len(removed) > 5 else "")
        raise errors.RegistryError(
            f"the cluster registry in namespace {namespace} has no locations, but release {inspected.release} "
            f"runs {len(removed)} that an earlier render added ({shown}); this render would remove them all",
            "check -n/--namespace, --context and --kubeconfig; to remove them, pass --allow-empty "
            "(ArgoCD: the allow-empty parameter)",
        )


def hook_script() -> str:
    """The reload hook's script: the text of ``reloadhook.py`` as installed (read once)."""
    return script("reloadhook.py")


def script(name: str) -> str:
    """The text of one of the package's standalone scripts (``reloadhook.py``, ``branchhook.py``,
    ``instigators.py``) as installed, read once."""
    if name not in _SCRIPTS:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
        with open(path, encoding="utf-8") as handle:
            _SCRIPTS[name] = handle.read()
    return _SCRIPTS[name]


_SCRIPTS: Dict[str, str] = {}


def _maybe_read(path: str) -> str:
    try:
        return sources.read_text(path)
    except errors.Error:
        return ""
