"""The one execute step behind every entry point that renders: ``render`` (pipe, Helm 3, Helm 4),
``argocd-generate`` and the KRM function. It gathers the locations (files, and the cluster registry
when asked), runs the pure core, and turns validation problems into ones that carry line numbers.
Callers differ only in how they collect the stream and the configuration, and where they write.
"""
from __future__ import annotations

import os
from typing import Any, NamedTuple, Optional, Sequence, Tuple

from . import errors, sources
from .core import render as core


class Config(NamedTuple):
    """What a render needs besides the stream."""

    locations: Sequence[str] = ()  # CodeLocations files or directories
    from_cluster: bool = False  # also read the cluster registry
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    registry_namespace: Optional[str] = None  # where the cluster registry lives
    options: core.Options = core.Options()
    request_timeout: Optional[str] = None  # kubectl's --request-timeout, for the cluster registry
    inline: Sequence[Tuple[str, Any]] = ()  # (source, parsed document): locations given as data (KRM functionConfig)


def execute(text: str, config: Config) -> core.Result:
    """Render ``text`` with the configured locations; every problem carries its file and line."""
    found = load_locations(config)
    options = config.options._replace(hook_script=hook_script())
    try:
        return core.render(text, found, options)
    except errors.LocationError as exc:
        texts = {p.file: _maybe_read(p.file) for p in exc.problems}
        raise errors.LocationError(sources.with_lines(exc.problems, texts)) from exc


def load_locations(config: Config):
    """Locations from files, inline documents and, when asked, the cluster registry; one name twice is an error."""
    if not config.from_cluster:
        return sources.load(config.locations, extra=config.inline)
    from . import kube
    from .registry import configmaps

    flags = kube.KubeFlags(config.kubeconfig, config.context, config.registry_namespace, config.request_timeout)
    store = configmaps.ConfigMapStore(kube.Cluster(flags))
    registered = [(entry.source, entry.spec) for entry in store.entries()]
    return sources.load(config.locations, extra=list(config.inline) + registered)


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
