"""Find and read the project's files: ``.kubectl-dagster.yaml`` (looked up as git looks up ``.git``:
the current directory, then each parent), the nearest ``pyproject.toml`` and the nearest
``dagster_cloud.yaml``. Validation is ``core.branches``' (``projectconfig``, ``dagsterfiles``); this
module adds the file and line to every problem. ``root`` stops the search: the ArgoCD plugin looks
only inside the repository it was given, and follows no link out of it."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional

from ..base import constants, errors, yamlio
from ..core.branches import dagsterfiles, projectconfig
from . import sources


class ProjectFile(NamedTuple):
    path: str
    data: Dict[str, Any]


def _inside(path: str, root: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base + os.sep)


def _upwards(start: str, names, root: Optional[str] = None) -> Optional[str]:
    directory = os.path.abspath(start)
    while True:
        for name in names:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and (root is None or _inside(candidate, root)):
                return candidate
        parent = os.path.dirname(directory)
        if parent == directory or (root is not None and os.path.abspath(directory) == os.path.abspath(root)):
            return None
        directory = parent


def find_config(
    explicit: Optional[str], env: Mapping[str, str], cwd: Optional[str] = None, root: Optional[str] = None
) -> Optional[str]:
    """``--config``, else $KUBECTL_DAGSTER_CONFIG, else the nearest .kubectl-dagster.yaml; None when there is none.
    A path that was named but does not exist is an error."""
    named = explicit or env.get(constants.CONFIG_ENV)
    if named:
        if not os.path.isfile(named):
            how = "--config" if explicit else f"${constants.CONFIG_ENV}"
            raise errors.InputError(f"project config {named} does not exist ({how})", f"fix {how}")
        return named
    return _upwards(cwd or os.getcwd(), constants.PROJECT_CONFIG_FILES, root)


def read_config(path: str) -> ProjectFile:
    """The checked ProjectConfig document; every problem at once, each with file and line."""
    text = sources.read_text(path)
    docs = [doc for doc in sources.load_docs(text, path) if doc is not None]
    if len(docs) != 1:
        raise errors.InputError(f"{path} holds {len(docs)} YAML documents", "keep exactly one ProjectConfig document")
    found = projectconfig.check_document(docs[0])
    if found:
        problems = [errors.Problem(path, None, None, message, (0,) + tuple(where)) for where, message in found]
        raise errors.ConfigError(sources.with_lines(problems, {path: text}))
    return ProjectFile(path, docs[0])


def read_pyproject(cwd: Optional[str] = None, root: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The nearest pyproject.toml, parsed; None when there is none."""
    path = _upwards(cwd or os.getcwd(), ("pyproject.toml",), root)
    if path is None:
        return None
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.9/3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError) as exc:
        raise errors.InputError(f"cannot read {path}: {exc}", "fix pyproject.toml") from exc
    return dict(data, __path__=path)


def pyproject_layer(pyproject: Optional[Dict[str, Any]]) -> List[projectconfig.Layer]:
    """``[tool.kubectl-dagster] project = "etl"``: the lowest layer, the project prefix only."""
    table = ((pyproject or {}).get("tool") or {}).get(constants.PYPROJECT_TABLE)
    if not isinstance(table, dict):
        return []
    path = pyproject["__path__"]
    unknown = sorted(set(table) - {"project"})
    if unknown or not isinstance(table.get("project", ""), str):
        what = f"unknown key {unknown[0]!r}" if unknown else "project must be a string"
        raise errors.InputError(
            f"{path}: [tool.{constants.PYPROJECT_TABLE}] {what}", '[tool.kubectl-dagster] takes only project = "NAME"'
        )
    label = f"pyproject [tool.{constants.PYPROJECT_TABLE}] ({path})"
    return [projectconfig.Layer(label, {"project": table["project"]})] if "project" in table else []


def cloud_layers(project: Optional[str], cwd: Optional[str] = None, root: Optional[str] = None):
    """The nearest dagster_cloud.yaml as a layer (``dagsterfiles.cloud_layer``); [] when there is none."""
    path = _upwards(cwd or os.getcwd(), (dagsterfiles.CLOUD_FILE,), root)
    if path is None:
        return []
    data = yamlio.load_untrusted(sources.read_text(path), path)
    layer = dagsterfiles.cloud_layer(data, path, project)
    return [layer] if layer is not None else []
