"""What ``render`` does once its options are parsed, without click: the Helm post-renderer path
imports only this and the core (see ``fastpath``)."""
from __future__ import annotations

import sys

from .. import errors, render as core, sources


def run(locations, release, namespace, rollout, on_conflict, mode, summary, from_cluster, kubeconfig, context) -> None:
    text = read_stdin()
    found = load_locations(locations, from_cluster, kubeconfig, context, namespace)
    opts = core.Options(release=release, namespace=namespace, rollout=rollout, on_conflict=on_conflict, mode=mode)
    try:
        result = core.render(text, found, opts)
    except errors.LocationError as exc:
        raise errors.LocationError(sources.with_lines(exc.problems, {p.file: _maybe_read(p.file) for p in exc.problems})) from exc
    sys.stdout.write(result.text)
    sys.stdout.flush()
    if summary:
        names = ", ".join(result.added) or "none"
        hook = f"; reload hook Job {result.hook}" if result.hook else ""
        _say(f"merged {len(result.added)} location(s) into release {result.release} ({result.mode}): {names}{hook}")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def load_locations(paths, from_cluster: bool, kubeconfig=None, context=None, namespace=None):
    """Locations from files and, when asked, the cluster registry; one name in both is an error."""
    if not from_cluster:
        return sources.load(paths)
    from .. import cluster

    store = cluster.ClusterStore(cluster.Cluster(cluster.KubeFlags(kubeconfig, context, namespace)))
    return sources.load(paths, extra=[(entry.source, entry.spec) for entry in store.entries()])


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise errors.InputError("no input on stdin", "pipe in the output of `helm template`")
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.InputError(f"the input is not UTF-8 text: {exc}", "pipe in the output of `helm template`") from exc


def _maybe_read(path: str) -> str:
    try:
        return sources.read_text(path)
    except errors.DagsterError:
        return ""
