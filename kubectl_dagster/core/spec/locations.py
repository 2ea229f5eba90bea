"""The CodeLocations format: parse, apply defaults, validate, and convert to the chart's item.

Validation applies the API server's own rules (``k8s``) to everything that ends up in an object:
a location that passes renders into objects the API server accepts. ``entries.validate`` runs the
same ``check`` before a registry write, so nothing invalid is stored either.

A location is a superset of one item of the Dagster chart's ``dagster-user-deployments.deployments``
list. ``chart_item`` turns it back into exactly such an item, so everything downstream (objects,
checksum) follows the chart. Pure: text in, data and problems out.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ...base import constants, errors
from . import checks, schema


class Location(NamedTuple):
    """One validated location: ``spec`` has defaults applied and ``name`` resolved."""

    name: str
    spec: Dict[str, Any]
    file: str = "<input>"
    path: Tuple[Any, ...] = ()  # where the entry sits in its file, for line numbers
    doc: int = 0

    @property
    def branch(self) -> Optional[str]:
        return self.spec.get("branch")


class Parsed:
    __slots__ = ("locations", "problems")

    def __init__(self) -> None:
        self.locations: List[Location] = []
        self.problems: List[errors.Problem] = []


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else (lists included) in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def is_document(data: Any) -> bool:
    return isinstance(data, dict) and ("apiVersion" in data or "kind" in data)


class Item(NamedTuple):
    """One entry as a file holds it: document ``doc``, item ``position`` of its ``locations``
    (None: a bare document), the entry as written, and with the document's (or directory's) defaults."""

    doc: int
    position: Optional[int]
    raw: dict
    spec: dict

    @property
    def path(self) -> tuple:
        return () if self.position is None else ("locations", self.position)


def walk(docs: Sequence[Any], dir_defaults: Optional[dict] = None, problem=None) -> Iterable[Item]:
    """Every entry of one file's documents: the one reading of the CodeLocations format, shared by
    render (``parse_documents``, strict) and the registry's text edits (``registry.fileedit``).
    ``problem(doc, path, message)`` hears about malformed structure; without it, malformed parts are
    skipped, so that a registry with one broken entry can still be listed and edited."""
    report = problem or (lambda doc, path, message: None)
    for index, data in enumerate(docs):
        if data is None:
            continue
        if is_document(data):
            yield from _walk_document(data, index, report, strict=problem is not None)
        elif isinstance(data, dict):  # a bare location, one per file in a directory
            yield Item(index, None, data, deep_merge(dir_defaults or {}, data))
        else:
            report(
                index, (), f"expected a mapping (kind: {constants.KIND}, or one location), got {type(data).__name__}"
            )


def _walk_document(data: dict, index: int, report, strict: bool) -> Iterable[Item]:
    if data.get("apiVersion") != constants.API_VERSION or data.get("kind") != constants.KIND:
        report(
            index,
            ("apiVersion",),
            f"expected apiVersion: {constants.API_VERSION} and kind: {constants.KIND}, "
            f"got {errors.excerpt(data.get('apiVersion'))}/{errors.excerpt(data.get('kind'))}",
        )
        if strict:
            return
    for key in sorted(set(data) - {"apiVersion", "kind", "metadata", "defaults", "locations"}):
        report(index, (key,), f"unknown key {errors.excerpt(key)} (expected defaults, locations)")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        report(index, ("defaults",), "defaults must be a mapping")
        defaults = {}
    for key in sorted({"name", "branch"} & set(defaults)):
        report(index, ("defaults", key), f"{errors.excerpt(key)} cannot be a default: it must differ per location")
    items = data.get("locations") or []
    if not isinstance(items, list):
        report(index, ("locations",), "locations must be a list")
        return
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            report(index, ("locations", position), "a location must be a mapping")
            continue
        yield Item(index, position, item, deep_merge(defaults, item))


def parse_documents(docs: Sequence[Any], filename: str, dir_defaults: Optional[dict] = None) -> Parsed:
    """Turn the YAML documents of one file into validated locations (``docs`` as a safe loader loads them)."""
    out = Parsed()

    def problem(doc: int, path: tuple, message: str, location: Optional[str] = None) -> None:
        out.problems.append(errors.Problem(filename, None, location, message, (doc,) + tuple(path)))

    for item in walk(docs, dir_defaults, problem):
        name = schema.resolve_name(item.spec)
        before = len(out.problems)
        for sub_path, message in checks.check(item.spec):
            problem(item.doc, item.path + sub_path, message, name or None)
        if len(out.problems) == before and name:
            out.locations.append(Location(name, item.spec, filename, item.path, item.doc))
    return out


def check_unique(locations: Sequence[Location]) -> List[errors.Problem]:
    """Two entries with one name (from two files, or two branches with one slug) are an error."""
    seen: Dict[str, Location] = {}
    problems = []
    for location in locations:
        first = seen.setdefault(location.name, location)
        if first is not location:
            origin = f" (from branch {errors.excerpt(location.branch)})" if location.branch else ""
            first_origin = f" from branch {errors.excerpt(first.branch)}" if first.branch else ""
            problems.append(
                errors.Problem(
                    location.file,
                    None,
                    location.name,
                    f"duplicate name{origin}: already defined in {first.file}{first_origin}; set a distinct name",
                    (location.doc,) + location.path,
                )
            )
    return problems


def chart_item(location: Location) -> Dict[str, Any]:
    """The location as a dagster-user-deployments.deployments[] item (what the chart would be given)."""
    spec = location.spec
    item = {key: copy.deepcopy(value) for key, value in spec.items() if key in schema.CHART_KEYS}
    for key in ("dagsterApiGrpcArgs", "codeServerArgs"):
        item.pop(key, None)
    key, args = schema.code_args(spec)
    item[key] = args
    item["name"] = location.name
    item.setdefault("port", constants.FIRST_PORT)
    for key in ("envConfigMaps", "envSecrets"):
        if key in item:
            item[key] = [{"name": entry} if isinstance(entry, str) else entry for entry in item[key]]
    return item
