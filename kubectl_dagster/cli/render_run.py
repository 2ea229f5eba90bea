"""What ``render`` does once its options are parsed, without click: the Helm post-renderer path
imports only this and the core (see ``fastpath``)."""
from __future__ import annotations

import sys

from .. import errors, run as execution
from ..core import render as core


def run(locations, release, namespace, rollout, on_conflict, mode, summary, from_cluster, kubeconfig, context) -> None:
    text = read_stdin()
    opts = core.Options(release=release, namespace=namespace, rollout=rollout, on_conflict=on_conflict, mode=mode)
    config = execution.Config(tuple(locations), from_cluster, kubeconfig, context, namespace, opts)
    result = execution.execute(text, config)
    sys.stdout.write(result.text)
    sys.stdout.flush()
    if summary:
        names = ", ".join(result.added) or "none"
        hook = f"; reload hook Job {result.hook}" if result.hook else ""
        _say(f"merged {len(result.added)} location(s) into release {result.release} ({result.mode}): {names}{hook}")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise errors.InputError("no input on stdin", "pipe in the output of `helm template`")
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.InputError(f"the input is not UTF-8 text: {exc}", "pipe in the output of `helm template`") from exc
