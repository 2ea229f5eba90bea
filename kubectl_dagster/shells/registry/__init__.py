"""Where locations are registered: a git file or directory (files), or one ConfigMap per location
(configmaps); store.mutate is the one write loop both share. May import: base, core, shells."""

from __future__ import annotations

from typing import Optional

from ...base import errors
from .. import kube


def open_store(
    locations_path: Optional[str],
    cluster: bool,
    flags: kube.KubeFlags,
    dry_run: str = "none",
    live_namespace: Optional[str] = None,
):
    """The registry the flags name: ``--locations PATH`` (git) or ``--cluster`` (in ``flags.namespace``; the
    live release in ``live_namespace`` when the registry has a namespace of its own)."""
    if cluster and locations_path:
        raise errors.UsageError("--locations and --cluster name two registries", "pass one")
    if dry_run == "server" and not cluster:
        raise errors.InputError("--dry-run=server needs the cluster registry", "use --dry-run=client with --locations")
    if cluster:
        from . import configmaps

        return configmaps.ConfigMapStore(kube.Cluster(flags), live_namespace)
    if locations_path:
        from . import files

        return files.FileStore(locations_path)
    raise errors.UsageError("no registry: pass --locations PATH (git) or --cluster")
