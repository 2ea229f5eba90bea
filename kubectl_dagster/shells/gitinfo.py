"""The thin shell around ``core.gitctx``: ask ``git`` about the working tree, read the CI
variables and GitHub's event payload. Everything it finds is handed to the pure core."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, Mapping, Optional, Tuple

from ..base import errors
from ..core.branches import gitctx

GIT_TIMEOUT = 10  # seconds per git call


def _git(*args: str, cwd: Optional[str] = None) -> Optional[str]:
    """One line of ``git`` output, or None when git fails, is missing, or says nothing."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stdout.decode("utf-8", "replace").strip()
    return text if proc.returncode == 0 and text else None


def working_tree(cwd: Optional[str] = None) -> gitctx.WorkingTree:
    """Branch (None when HEAD is detached), commit and remote URL of the checkout at ``cwd``."""
    if _git("rev-parse", "--is-inside-work-tree", cwd=cwd) != "true":
        return gitctx.WorkingTree(is_repository=False)
    commit = _git("rev-parse", "HEAD", cwd=cwd)
    branch = _git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=cwd)
    return gitctx.WorkingTree(branch, commit, _remote_url(branch, cwd), True)


def _remote_url(branch: Optional[str], cwd: Optional[str]) -> Optional[str]:
    """The URL of the branch's upstream remote, else ``origin``, else the only remote."""
    remote = _git("config", "--get", f"branch.{branch}.remote", cwd=cwd) if branch else None
    if not remote or remote == ".":
        names = (_git("remote", cwd=cwd) or "").split()
        remote = "origin" if "origin" in names else (names[0] if len(names) == 1 else None)
    return _git("remote", "get-url", remote, cwd=cwd) if remote else None


def github_event(env: Mapping[str, str]) -> Optional[Dict[str, Any]]:
    """GitHub Actions' event payload (GITHUB_EVENT_PATH), or None outside GitHub Actions."""
    path = env.get("GITHUB_EVENT_PATH")
    if env.get("GITHUB_ACTIONS") != "true" or not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise errors.InputError(
            f"cannot read the GitHub event payload {path}: {exc}",
            "run inside GitHub Actions, or pass --branch/--commit/--pull-request",
        ) from exc
    return data if isinstance(data, dict) else None


def context(
    flags: gitctx.Context, env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None
) -> Tuple[gitctx.Context, gitctx.WorkingTree]:
    """The combined context (flag, else CI, else working tree) and the working tree it looked at."""
    env = os.environ if env is None else env
    tree = working_tree(cwd)
    ci = gitctx.from_ci(env, github_event(env))
    return gitctx.combine(flags, ci, gitctx.from_tree(tree) if tree.is_repository else None), tree
