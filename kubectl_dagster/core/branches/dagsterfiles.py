"""What Dagster's own project files say about the code location: the code source, and the location's
name (which becomes the project prefix, ``my-proj--feat-x``). They are the lowest layers of the project
config (``projectconfig``), so anything written for kubectl-dagster wins. Lowest first:

1. ``[tool.dg.project]`` in pyproject.toml (``create-dagster project``, ``dg``): the module
   ``code_location_target_module``, else ``<root_module>.definitions``, as Dagster loads it;
   ``code_location_name``. With ``autoload_defs`` there is no module to name: no code source.
2. ``[tool.dagster]`` in pyproject.toml (``dagster project scaffold``): ``module_name``, or the one
   module of ``modules``; ``code_location_name``. Dagster itself prefers it to ``[tool.dg.project]``.
3. ``dagster_cloud.yaml`` (Dagster+): the location's ``code_source``, ``working_directory``, ``attribute``
   and ``location_name``, translated as ``import`` translates them. With several locations, only the one
   named like the project (``project`` set anywhere else) is read.

Only values that are there are read; a wrong type is one error naming the file. Pure.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ...base import errors, naming
from ..registry import importer
from . import projectconfig

DEFAULT_TARGET = "definitions"  # Dagster's module under root_module when code_location_target_module is unset
CODE_KEYS = ("pythonFile", "moduleName", "packageName", "workingDirectory", "attribute")
CLOUD_FILE = "dagster_cloud.yaml"


def pyproject_layers(pyproject: Optional[Dict[str, Any]]) -> List[projectconfig.Layer]:
    """``[tool.dg.project]``, then ``[tool.dagster]``, of a parsed pyproject.toml (``__path__`` is its path)."""
    if not pyproject:
        return []
    tool = pyproject.get("tool") if isinstance(pyproject.get("tool"), dict) else {}
    path = pyproject["__path__"]
    dg = tool.get("dg") if isinstance(tool.get("dg"), dict) else {}
    found = [_dg_layer(dg.get("project"), path), _dagster_layer(tool.get("dagster"), path)]
    return [layer for layer in found if layer is not None]


def _string(table: Dict[str, Any], key: str, where: str) -> Optional[str]:
    value = table.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise errors.InputError(f"{where} {key} must be a non-empty string, got {value!r}", "fix pyproject.toml")
    return value


def _layer(label: str, module: Optional[str], name: Optional[str]) -> Optional[projectconfig.Layer]:
    values: Dict[str, Any] = {}
    if module:
        values["codeSource"] = {"moduleName": module}
    if name:
        values["project"] = name
    return projectconfig.Layer(label, values) if values else None


def _dg_layer(table: Any, path: str) -> Optional[projectconfig.Layer]:
    if not isinstance(table, dict) or not table:
        return None
    where = f"{path}: [tool.dg.project]"
    root = _string(table, "root_module", where)
    if root is None:
        raise errors.InputError(f"{where} has no root_module", "set root_module, as create-dagster writes it")
    module = _string(table, "code_location_target_module", where) or f"{root}.{DEFAULT_TARGET}"
    autoload = table.get("autoload_defs") is True
    name = _string(table, "code_location_name", where)
    return _layer(f"pyproject [tool.dg.project] ({path})", None if autoload else module, name)


def _dagster_layer(table: Any, path: str) -> Optional[projectconfig.Layer]:
    if not isinstance(table, dict) or not table:
        return None
    where = f"{path}: [tool.dagster]"
    module = _string(table, "module_name", where)
    modules = table.get("modules")
    if module is None and isinstance(modules, list):
        named = [m.get("name") for m in modules if isinstance(m, dict) and m.get("type") == "module"]
        module = named[0] if len(named) == 1 and isinstance(named[0], str) else None  # several: several locations
    return _layer(f"pyproject [tool.dagster] ({path})", module, _string(table, "code_location_name", where))


def cloud_layer(data: Any, path: str, project: Optional[str]) -> Optional[projectconfig.Layer]:
    """The location of a parsed dagster_cloud.yaml: its only one, else the one named like ``project``."""
    try:
        entries, _ = importer.translate(data)
    except errors.InputError as exc:
        raise errors.InputError(f"{path}: {exc.message}", exc.fix) from exc
    wanted = naming.location_slug(project) if project else None
    picked = entries if len(entries) == 1 else [e for e in entries if e["name"] == wanted]
    if not picked:
        return None
    values: Dict[str, Any] = {"project": picked[0]["name"]}
    source = {key: picked[0][key] for key in CODE_KEYS if key in picked[0]}
    if any(key in source for key in CODE_KEYS[:3]):
        values["codeSource"] = source
    return projectconfig.Layer(f"{CLOUD_FILE} ({path})", values)
