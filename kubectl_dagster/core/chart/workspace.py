"""workspace.yaml: keep the chart's entries, add one grpc_server per location, splice it back.

Our entries follow a marker comment, so a second render finds and replaces exactly them. The new
value is spliced into the ConfigMap's text in place of the old one, so the rest of the document
(labels, Helm 4's filename annotation, comments) is untouched.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Dict, List, Sequence, Tuple

from ...base import constants as c
from ...base import errors, yamlio
from . import manifests

_KEY = re.compile(r"^(?P<indent>[ \t]*)(?P<quote>['\"]?)workspace\.yaml(?P=quote):(?P<rest>[^\n]*)\n?", re.M)


def split_entries(text: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(the chart's entries, the entries of an earlier render) of a workspace.yaml text."""
    chart_text, _, ours_text = text.partition(c.WORKSPACE_MARKER)
    chart = _entries(chart_text)
    ours = _entries("load_from:\n" + ours_text) if ours_text.strip() else []
    return chart, ours


def _entries(text: str) -> List[Dict[str, Any]]:
    """The ``load_from`` entries; an error unless workspace.yaml is a mapping whose ``load_from`` is
    a list of mappings (what the chart writes, and what Dagster loads)."""
    fix = "check the dagster chart values that build the workspace"
    try:
        data = yamlio.load(text)
    except yamlio.LoadError as exc:
        raise errors.InputError(f"workspace.yaml in the input is {exc.what()}: {exc.message}", fix) from exc
    if data is None:
        return []
    entries = data.get("load_from") if isinstance(data, dict) else None
    if not isinstance(data, dict) or "load_from" not in data:
        raise errors.InputError(
            f"workspace.yaml in the input's workspace ConfigMap is {errors.excerpt(data)}, "
            "not a mapping with load_from",
            fix,
        )
    if not isinstance(entries, (list, type(None))):
        raise errors.InputError(
            f"load_from in the input's workspace ConfigMap is {errors.excerpt(entries)}, not a list of entries", fix
        )
    for entry in entries or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("grpc_server", {}), dict):
            raise errors.InputError(
                f"an entry of load_from in the input's workspace ConfigMap is "
                f"{errors.excerpt(entry)}, not a mapping such as grpc_server: {{...}}",
                fix,
            )
    return list(entries or [])


def entry_name(entry: Dict[str, Any]) -> str:
    """The location name of a workspace entry (the chart falls back to the host)."""
    server = entry.get("grpc_server") or {}
    return str(server.get("location_name") or server.get("host") or "")


def grpc_entry(name: str, host: str, port: int) -> Dict[str, Any]:
    return {"grpc_server": {"host": host, "port": port, "location_name": name}}


def build_text(chart_entries: Sequence[Dict[str, Any]], ours: Sequence[Dict[str, Any]]) -> str:
    """A workspace.yaml with the chart's entries, then the marker, then ours."""
    if not chart_entries and not ours:
        return "load_from: []\n"
    lines = ["load_from:"]
    lines += _items(chart_entries)
    if ours:
        lines.append("  " + c.WORKSPACE_MARKER)
        lines += _items(ours)
    return "\n".join(lines) + "\n"


def _items(entries: Sequence[Dict[str, Any]]) -> List[str]:
    return yamlio.dump({"x": list(entries)}).rstrip("\n").split("\n")[1:] if entries else []


def splice(doc: manifests.Document, value: str) -> str:
    """The ConfigMap document's text with ``data["workspace.yaml"]`` replaced by ``value``."""
    text = doc.text
    match = _KEY.search(text)
    if match is None:
        raise errors.InputError(
            f"cannot find the workspace.yaml key in ConfigMap {doc.name}", "pass the ConfigMap as the chart renders it"
        )
    indent = match.group("indent")
    end = match.end()
    lines = text[end:].split("\n")
    consumed = 0
    for line in lines:  # the old value: every following line that is blank or indented deeper
        if line.strip() and not (line.startswith(indent) and len(line) > len(indent) and line[len(indent)] in " \t"):
            break
        consumed += 1
    old = "\n".join(lines[:consumed])
    trailing_blank = old[len(old.rstrip(" \t\n")) :].count("\n") if consumed < len(lines) else 0
    if yamlio.literal_ok(value):
        new = f"{indent}workspace.yaml: |\n" + yamlio.literal_block(value, len(indent) + 2)
    else:
        new = f"{indent}workspace.yaml: {yamlio.scalar(value)}\n"
    rest = "\n".join(lines[consumed:])
    result = text[: match.start()] + new + "\n" * trailing_blank + rest
    check = manifests.Document("", result, "ConfigMap")
    if ((check.data or {}).get("data") or {}).get(c.WORKSPACE_KEY) != value:
        raise errors.InputError(
            f"could not rewrite workspace.yaml in ConfigMap {doc.name} safely",
            "report this with the input that caused it",
        )
    return result


def checksum(text: str) -> str:
    """The rollout checksum of a workspace ConfigMap document (its body, without head comments)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_CHECKSUM_LINE = re.compile(
    r"(?P<head>" + re.escape(c.WORKSPACE_CHECKSUM) + r"[\"']?:[ \t]*[\"']?)(?P<sum>[0-9a-f]{64})"
)


def set_checksum(doc: manifests.Document, value: str) -> bool:
    """Replace the workspace checksum on a pod template, in place in the text. False if it has none."""
    new, count = _CHECKSUM_LINE.subn(lambda m: m.group("head") + value, doc.text)
    if count:
        doc.replace_text(new)
    return bool(count)


def ports_of(text: str) -> List[int]:
    """The gRPC ports a workspace.yaml lists (all entries, the chart's and ours)."""
    chart, ours = split_entries(text)
    ports = [(entry.get("grpc_server") or {}).get("port") for entry in chart + ours if isinstance(entry, dict)]
    return [port for port in ports if isinstance(port, int)]
