"""``status`` as data: one row per location from what each source says. Pure."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from . import reloadhook

HEADERS = ["NAME", "DECLARED", "WORKSPACE", "READY", "DAGSTER", "MESSAGE"]


def rows(declared: Set[str], in_workspace: Optional[Set[str]], ready: Optional[Dict[str, str]],
         dagster: Optional[Dict[str, Dict[str, Any]]], only: Optional[str] = None) -> List[Dict[str, Any]]:
    """``None`` for a source means it was not consulted; it shows as ``-``."""
    names = set(declared) | (in_workspace or set()) | set(ready or {}) | set(dagster or {})
    if only is not None:
        names &= {only}
    out = []
    for name in sorted(names):
        state = (dagster or {}).get(name)
        out.append({
            "name": name,
            "declared": name in declared,
            "workspace": None if in_workspace is None else name in in_workspace,
            "ready": None if ready is None else ready.get(name),
            "dagster": None if dagster is None else (state["status"] if state else reloadhook.MISSING),
            "message": (state or {}).get("message") or "",
            "stack": (state or {}).get("stack") or [],
            "causes": (state or {}).get("causes") or [],
        })
    return out


def cells(row: Dict[str, Any]) -> List[str]:
    def yes_no(value):
        return "-" if value is None else ("yes" if value else "no")

    return [row["name"], yes_no(row["declared"]), yes_no(row["workspace"]),
            "-" if row["ready"] is None and row["workspace"] is None else (row["ready"] or "<none>"),
            row["dagster"] or "-", reloadhook.root_cause(row)]
