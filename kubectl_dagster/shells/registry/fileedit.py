"""Edit a CodeLocations file as text, so that everything outside the edited entry keeps its bytes.

ruamel's round-trip loader says where each entry starts; the edit replaces, removes or appends the
lines of one entry; the result is parsed again and checked to hold exactly the intended entries
before anyone writes it. Pure: text in, text out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ...base import constants, errors, yamlio
from ...core.spec import locations as locs
from ...core.spec import schema

_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s|$)")


@dataclass
class Slot:
    """Where one entry sits: document ``doc``, item ``item`` of its ``locations`` (None: a bare document)."""

    name: str
    doc: int
    item: Optional[int]
    raw: Dict[str, Any]  # the entry as written
    resolved: Dict[str, Any]  # with the document's defaults (and the directory's) applied


def header(comment: str = "") -> str:
    lead = f"# {comment}\n" if comment else ""
    return f"{lead}apiVersion: {constants.API_VERSION}\nkind: {constants.KIND}\nlocations:\n"


def load_docs(text: str, filename: str) -> List[Any]:
    """The documents of a registry file, bounded as every input is (``yamlio.load_all``)."""
    try:
        return yamlio.load_all(text)
    except yamlio.LoadError as exc:
        where = f"{filename}:{exc.line}" if exc.line else filename
        raise errors.RegistryError(f"{where} is {exc.what()}: {exc.message}", "fix the file first") from exc


def slots(text: str, filename: str, dir_defaults: Optional[dict] = None) -> List[Slot]:
    """Every entry of one file, in order (read as ``core.locations.walk`` reads it, leniently)."""
    return [
        Slot(schema.resolve_name(item.raw), item.doc, item.position, item.raw, item.spec)
        for item in locs.walk(load_docs(text, filename), dir_defaults)
    ]


def file_defaults(text: str, filename: str) -> Dict[str, Any]:
    """The defaults of the file's CodeLocations document (what a new entry added here inherits)."""
    for data in load_docs(text, filename):
        if locs.is_document(data) and "locations" in data:
            return data.get("defaults") or {}
    return {}


def add(text: str, spec: Dict[str, Any], filename: str) -> str:
    """``text`` with ``spec`` appended to the first CodeLocations document (one is created if none)."""
    if not text.strip():
        return _checked(header() + _item_text(spec, 2), filename, _expect(text, filename, add=spec))
    lines = text.splitlines(keepends=True)
    docs = _rt(text, filename)
    target = next((i for i, d in enumerate(docs) if locs.is_document(d) and "locations" in d), None)
    if target is None:
        new = text + ("" if text.endswith("\n") else "\n") + "---\n" + header() + _item_text(spec, 2)
        return _checked(new, filename, _expect(text, filename, add=spec))
    doc = docs[target]
    seq = doc["locations"]
    key_line, key_col = doc.lc.key("locations")
    if not seq:  # `locations:` or `locations: []`: rewrite that one line
        lines[key_line] = " " * key_col + "locations:\n"
        lines.insert(key_line + 1, _item_text(spec, key_col + 2))
    else:
        dash, _, end = _item_span(lines, seq, len(seq) - 1, filename)
        lines.insert(end, _item_text(spec, dash))
    return _checked("".join(lines), filename, _expect(text, filename, add=spec))


def replace(text: str, slot: Slot, spec: Dict[str, Any], filename: str) -> str:
    lines = text.splitlines(keepends=True)
    docs = _rt(text, filename)
    if slot.item is None:  # a bare location: its comments above the first key stay
        _, end = _doc_span(lines, docs[slot.doc])
        lines[docs[slot.doc].lc.line : end] = [yamlio.dump(spec)]
    else:
        dash, start, end = _item_span(lines, docs[slot.doc]["locations"], slot.item, filename)
        lines[start:end] = [_item_text(spec, dash)]
    return _checked("".join(lines), filename, _expect(text, filename, replace=(slot, spec)))


def remove(text: str, slot: Slot, filename: str, drop_empty: bool = False) -> str:
    """``text`` without the entry. With ``drop_empty``, '' when nothing but a header would be left
    (a directory's one-location file is then deleted rather than left empty)."""
    lines = text.splitlines(keepends=True)
    docs = _rt(text, filename)
    if slot.item is None:
        start, end = _doc_span(lines, docs[slot.doc])
        if len([d for d in docs if d is not None]) == 1:
            if drop_empty:
                return ""
            return header()
        if start > 0 and _SEPARATOR.match(lines[start - 1]):
            start -= 1
        elif end < len(lines) and _SEPARATOR.match(lines[end]):
            end += 1
        del lines[start:end]
    else:
        seq = docs[slot.doc]["locations"]
        dash, start, end = _item_span(lines, seq, slot.item, filename)
        while start > 0 and lines[start - 1].strip().startswith("#") and _indent(lines[start - 1]) == dash:
            start -= 1  # the comment right above an entry goes with it
        del lines[start:end]
        if len(seq) == 1 and drop_empty and _only_header(docs, slot.doc):
            return ""
        if len(seq) == 1:
            key_line, key_col = docs[slot.doc].lc.key("locations")
            lines[key_line] = " " * key_col + "locations: []\n"
    return _checked("".join(lines), filename, _expect(text, filename, remove=slot))


def _item_span(lines: List[str], seq: Any, index: int, filename: str) -> Tuple[int, int, int]:
    """(dash column, first line, line after) of item ``index`` of a block list."""
    if _flow(seq):
        raise errors.RegistryError(
            f"{filename}: locations is written in flow style ([...])",
            "write it as a block list (one '- ' item per entry) so it can be edited",
        )
    dash = _dash_col(lines, seq, index)
    start = seq.lc.item(index)[0]
    return dash, start, _item_end(lines, start, dash)


def _only_header(docs: List[Any], index: int) -> bool:
    """A one-document file whose document holds nothing but apiVersion, kind and this one entry."""
    return len([d for d in docs if d is not None]) == 1 and set(docs[index]) <= {"apiVersion", "kind", "locations"}


def _rt(text: str, filename: str) -> List[Any]:
    load_docs(text, filename)  # the bounded parse first: the round-trip loader expands aliases unchecked
    try:
        return list(yamlio.make_yaml("rt").load_all(text))
    except Exception as exc:  # ruamel's round-trip errors on text the safe loader accepted
        raise errors.RegistryError(f"{filename} is not valid YAML: {type(exc).__name__}", "fix the file first") from exc


def _flow(seq: Any) -> bool:
    return bool(getattr(seq, "fa", None) and seq.fa.flow_style())


def _dash_col(lines: List[str], seq: Any, index: int) -> int:
    line, col = seq.lc.item(index)
    head = lines[line][:col].rstrip()
    if not head.endswith("-"):
        raise errors.RegistryError("cannot find the '- ' of a locations item", "write each entry as a block list item")
    return len(head) - 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _item_end(lines: List[str], start: int, dash: int) -> int:
    """The line after an item: the next line at the item's dash column or left of it, not counting
    the blank lines and comments just before it (those belong to what follows)."""
    end = start + 1
    while end < len(lines) and (_blank_or_comment(lines[end]) or _indent(lines[end]) > dash):
        end += 1
    while end - 1 > start and _blank_or_comment(lines[end - 1]) and _indent(lines[end - 1]) <= dash:
        end -= 1
    return end


def _doc_span(lines: List[str], doc: Any) -> Tuple[int, int]:
    first = doc.lc.line
    start = first
    while start > 0 and not _SEPARATOR.match(lines[start - 1]):
        start -= 1
    end = first + 1
    while end < len(lines) and not _SEPARATOR.match(lines[end]):
        end += 1
    return start, end


def _item_text(spec: Dict[str, Any], dash: int) -> str:
    """One list item at column ``dash``, in the Kubernetes style ("- key: value")."""
    body = yamlio.dump(spec).splitlines()
    pad = " " * dash
    return "".join((pad + ("- " if i == 0 else "  ") + line + "\n") for i, line in enumerate(body))


def _expect(
    text: str, filename: str, add: Optional[dict] = None, replace=None, remove: Optional[Slot] = None
) -> List[Tuple[int, Optional[int], Dict[str, Any]]]:
    """The entries the edited text must hold, as (doc, item, raw) — from the original parse."""
    current = [(s.doc, s.item, s.raw) for s in slots(text, filename)] if text.strip() else []
    if replace is not None:
        slot, spec = replace
        current = [(d, i, spec if (d, i) == (slot.doc, slot.item) else raw) for d, i, raw in current]
    if remove is not None:
        current = [(d, i, raw) for d, i, raw in current if (d, i) != (remove.doc, remove.item)]
    raws = [raw for _, _, raw in current]
    if add is not None:
        raws.append(add)
    return raws


def _checked(new: str, filename: str, expected_raws: List[Dict[str, Any]]) -> str:
    """Refuse an edit whose result does not parse to exactly the intended entries."""
    got = [s.raw for s in slots(new, filename)] if new.strip() else []
    if _canonical(got) != _canonical([_plain(raw) for raw in expected_raws]):
        raise errors.RegistryError(
            f"editing {filename} would not give the intended entries (unusual layout?)",
            "edit the file by hand; nothing was written",
        )
    return new


def _canonical(raws: List[Dict[str, Any]]) -> List[str]:
    return sorted(json.dumps(raw, sort_keys=True, default=str) for raw in raws)


def _plain(value: Any) -> Any:
    """What the safe loader reads back from what the emitter wrote (tuples become lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
