"""YAML in and out.

Reading goes through one factory of ruamel.yaml instances, and ``load``/``load_all`` bound what a
document may expand to (depth, alias expansion, recursion) before any code walks it: a few lines
of aliases can stand for billions of nodes, and a value nested thousands deep breaks recursive code.
Plain ``yes``/``no``/``on``/``off`` read as booleans, as Go's YAML (Helm, kubectl) reads
them, so a value that only looks like a string to a YAML 1.2 reader is caught, and the round-trip
dumper quotes such strings. Writing the documents we create goes
through a small block-style emitter of our own: it handles exactly the plain data we build (dicts,
lists, str, int, float, bool, None), is deterministic, and is an order of magnitude faster than
ruamel's pure-Python emitter, which matters at a thousand locations. Every scalar it cannot print
plainly is printed as a JSON string, which is also a valid YAML double-quoted scalar.
"""

from __future__ import annotations

import json
import re
from typing import Any, List, Optional

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.resolver import VersionedResolver

from . import errors

MAX_DEPTH = 100  # containers inside containers; Kubernetes objects stay far below
MAX_EXPANSION = 1_000_000  # the size (in characters, roughly) aliases may add to what the text holds
# YAML 1.1's boolean words but the one-letter y/n (a location named "y" stays a name).
_YAML11_BOOL = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")


class LoadError(ValueError):
    """The text is not YAML, or not YAML kubectl-dagster will walk. The message quotes no input."""

    def __init__(self, message: str, line: Optional[int] = None, syntax: bool = False):
        super().__init__(message)
        self.message, self.line, self.syntax = message, line, syntax

    def what(self) -> str:
        """What is wrong in a few words: not YAML, or YAML past the bounds."""
        return "not valid YAML" if self.syntax else "YAML past kubectl-dagster's bounds"


class NonDecimalInt(int):
    """An integer the YAML text wrote otherwise than in plain decimal (``0o17``, ``0x1F``, ``1_000``,
    ``+3``): its value as text differs from what was written, so a string field must not take it."""


_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")


class _Constructor(SafeConstructor):
    def construct_yaml_int(self, node: Any) -> Any:
        value = super().construct_yaml_int(node)
        return value if _DECIMAL.fullmatch(str(node.value)) else NonDecimalInt(value)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)


class _Resolver(VersionedResolver):
    """YAML 1.2 resolution plus YAML 1.1's boolean words (per instance: ruamel's class-level hook
    would change every YAML instance in the process)."""

    @property
    def versioned_resolver(self) -> Any:
        table = super().versioned_resolver
        if not getattr(self, "_go_bools", False):
            for first in "yYnNoO":  # the first letters of the words
                table.setdefault(first, []).insert(0, ("tag:yaml.org,2002:bool", _YAML11_BOOL))
            self._go_bools = True
        return table


_SAFE: List[YAML] = []


def make_yaml(kind: str = "safe") -> YAML:
    """The one place ruamel instances are made.

    - ``safe``: the C loader (ruamel.yaml.clib) when present; plain Python data; used for manifests.
      One instance serves every load (making one costs about 0.3 ms, and a render loads dozens).
    - ``rt``: round-trip; keeps comments, order and line numbers; used for the files users edit.
    """
    if kind == "safe" and _SAFE:
        return _SAFE[0]
    if kind == "safe":
        yaml = YAML(typ="safe", pure=False)  # C parser: 5-10x faster on Helm output
    else:
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True  # an edit must not requote what the user wrote
        yaml.width = 4096  # never fold long strings (image refs, JSON env values) onto two lines
        yaml.indent(mapping=2, sequence=4, offset=2)  # the Kubernetes/Helm list style: "  - item"
    yaml.Resolver = _Resolver
    if kind == "safe":
        yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False  # a duplicated key in a location is an error, not a silent overwrite
    if kind == "safe":
        _SAFE.append(yaml)
    return yaml


def load(text: str) -> Any:
    """One document, parsed with the safe loader and bounded (see :func:`check_bounds`)."""
    try:
        data = make_yaml("safe").load(text)
    except Exception as exc:  # ruamel raises many types; all mean "not YAML"
        raise _load_error(exc) from exc
    check_bounds(data, len(text))
    return data


def load_all(text: str) -> List[Any]:
    """Every document of ``text``, parsed with the safe loader and bounded."""
    try:
        docs = list(make_yaml("safe").load_all(text))
    except Exception as exc:
        raise _load_error(exc) from exc
    for doc in docs:
        check_bounds(doc, len(text))
    return docs


def _load_error(exc: Exception) -> LoadError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    line = mark.line + 1 if mark is not None else None
    return LoadError(" ".join(str(problem).split())[:200], line, syntax=True)


def check_bounds(data: Any, text_length: int) -> None:
    """Refuse data nested deeper than MAX_DEPTH, holding itself (a recursive alias), or whose aliases
    expand it to far more than its text holds (a "billion laughs"). Iterative, and linear in the
    number of distinct containers."""
    limit = 2 * text_length + MAX_EXPANSION
    sizes: dict = {}
    stack = [(data, 1, False)]
    open_ids: set = set()
    while stack:
        node, depth, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        if done:
            open_ids.discard(key)
            children = node.items() if isinstance(node, dict) else enumerate(node)
            sizes[key] = 1 + sum(_size(k, sizes) + _size(v, sizes) for k, v in children)
            if sizes[key] > limit:
                raise LoadError(f"the YAML aliases expand to more than {limit} characters")
            continue
        if key in sizes:
            continue
        if key in open_ids:
            raise LoadError("a YAML alias refers to a node that contains it (recursive data)")
        if depth > MAX_DEPTH:
            raise LoadError(f"the YAML is nested more than {MAX_DEPTH} levels deep")
        open_ids.add(key)
        stack.append((node, depth, True))
        values = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1, False) for child in values)


def _size(value: Any, sizes: dict) -> int:
    if isinstance(value, (dict, list)):
        return sizes.get(id(value), 1)
    return len(value) + 1 if isinstance(value, str) else 1


# Plain scalars we print unquoted: start with a letter, '/', or '_', no YAML indicators, and not a
# word some YAML 1.1 reader (Go's yaml.v2, kubectl) would turn into a bool or null.
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@+-]*(?: [A-Za-z0-9_./@+()-]+)*$")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)


def literal_ok(text: str) -> bool:
    """A multi-line string prints as a ``|`` block only when that block reads back identically."""
    if not text.endswith("\n") or text.endswith("\n\n") or "\n" not in text[:-1] or text[0] in " \n":
        return False
    return all(line == line.rstrip() and line.isprintable() for line in text[:-1].split("\n"))


def _emit(value: Any, indent: int, out: List[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            _emit_entry(pad + scalar(key) + ":", item, indent, out)
    else:  # list
        for item in value:
            if isinstance(item, dict) and item:
                first = True
                for key, sub in item.items():
                    prefix = (pad + "- ") if first else (pad + "  ")
                    _emit_entry(prefix + scalar(key) + ":", sub, indent + 2, out)
                    first = False
            else:
                _emit_entry(pad + "-", item, indent, out)


def _emit_entry(head: str, value: Any, indent: int, out: List[str]) -> None:
    if isinstance(value, dict) and value:
        out.append(head)
        _emit(value, indent + 2, out)
    elif isinstance(value, list) and value:
        out.append(head)
        _emit(value, indent + 2, out)
    elif isinstance(value, dict):
        out.append(head + " {}")
    elif isinstance(value, list):
        out.append(head + " []")
    elif isinstance(value, str) and literal_ok(value):
        out.append(head + " |")
        body = " " * (indent + 2)
        out.extend((body + line) if line else "" for line in value[:-1].split("\n"))
    else:
        out.append(head + " " + scalar(value))


def dump(data: dict) -> str:
    """Block-style YAML for one document (a mapping), ending in a newline."""
    out: List[str] = []
    _emit(data, 0, out)
    return "\n".join(out) + "\n"


def literal_block(text: str, indent: int) -> str:
    """``text`` as the lines of a ``|`` block at ``indent`` (callers check :func:`literal_ok`)."""
    pad = " " * indent
    return "".join((pad + line + "\n") if line else "\n" for line in text[:-1].split("\n"))


def load_untrusted(text: str, what: str = "the YAML") -> Any:
    """One document of input nobody vetted (a registry ConfigMap, a PR's location file), bounded as
    :func:`load` bounds it; a failure is one InputError that quotes no input."""
    try:
        return load(text)
    except LoadError as exc:
        raise errors.InputError(f"{what} is {exc.what()}: {exc.message}", "fix the YAML") from exc
