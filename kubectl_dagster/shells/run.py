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
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, NamedTuple, Optional, Sequence, Tuple

from ..base import errors
from ..core.chart import render as core
from . import sources


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


def say(line: str) -> None:
    sys.stderr.write(f"kubectl-dagster: {line}\n")


def execute(text: str, config: Config, note: Callable[[str], None] = say) -> core.Result:
    """Render ``text`` with the configured locations; every problem carries its file and line."""
    found = load_locations(config, text, note)
    options = config.options._replace(
        hook_script=hook_script(), locations_given=bool(config.locations) or config.from_cluster
    )
    try:
        return core.render(text, found, options)
    except errors.LocationError as exc:
        texts = {p.file: _maybe_read(p.file) for p in exc.problems}
        raise errors.LocationError(sources.with_lines(exc.problems, texts)) from exc


def load_locations(config: Config, text: str = "", note: Callable[[str], None] = say):
    """Locations from files and, when asked, the cluster registry; one name in both is an error."""
    if not config.from_cluster:
        return sources.load(config.locations, extra=config.inline)
    inspected = core.inspect(text, config.options.release)
    namespace = config.registry_namespace or inspected.namespace
    if not namespace:
        raise errors.InputError(
            f"cannot tell the namespace of release {inspected.release} from the input, so not "
            "which cluster registry to read",
            "pass -n/--namespace NAMESPACE",
        )
    store = _store(config, namespace)
    entries = store.entries()
    note(f"read {len(entries)} location(s) from the cluster registry in namespace {namespace}")
    found = sources.load(
        config.locations, extra=list(config.inline) + [(entry.source, entry.spec) for entry in entries]
    )
    if not entries and not config.allow_empty:
        live = inspected.namespace or namespace  # where Helm applies the release, whatever registry was read
        _refuse_to_prune(
            store if live == namespace else _store(config, live),
            inspected,
            {location.name for location in found},
            namespace,
        )
    return found


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
    global _HOOK_SCRIPT
    if _HOOK_SCRIPT is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reloadhook.py")
        with open(path, encoding="utf-8") as handle:
            _HOOK_SCRIPT = handle.read()
    return _HOOK_SCRIPT


_HOOK_SCRIPT: Optional[str] = None


def _maybe_read(path: str) -> str:
    try:
        return sources.read_text(path)
    except errors.Error:
        return ""
