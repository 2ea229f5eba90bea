"""Split a manifest stream into documents without parsing them, and join documents back.

Helm output is mostly objects we never change. We keep every document as its exact text and
read only the top-level ``kind`` (a regex), so untouched documents pass through byte for byte and
only the few documents that matter are handed to a YAML parser. Three input forms are accepted:
``helm template`` output and Helm 3 post-renderer input (``---`` then ``# Source:`` per
document) and Helm 4 post-renderer input (no leading ``---``, filename annotations instead).

``check`` holds the stream to what Helm itself accepts from a post-renderer (it builds every
document into a Kubernetes object): each document is valid YAML and an object with ``apiVersion``,
``kind`` and ``metadata.name``, or empty (only comments). The documents kubectl-dagster reads also
have the shape the API server would accept at the paths it reads, so reading never meets a list
where an object belongs. A stream that fails is refused whole, with one line naming the document.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ...base import errors, yamlio

_SEPARATOR = re.compile(r"^---[ \t]*$", re.M)
_KIND = re.compile(r"^kind:[ \t]*['\"]?([A-Za-z0-9]+)", re.M)
_SOURCE = re.compile(r"^# Source: (.+)$", re.M)
_HEAD_COMMENTS = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*")
FIX = "pass the output of `helm template` unchanged (Helm and kubectl refuse such a document too)"
# Where the documents kubectl-dagster reads must have a given shape (absent or null is fine):
# map = a mapping; maps = a list of mappings; strings = a mapping of strings; str = a string.
_POD = "spec.template.spec"
_CONTAINERS = (f"{_POD}.containers[]", f"{_POD}.initContainers[]")
SHAPES: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "ConfigMap": (("data", "strings"),),
    "Service": (("spec", "map"), ("spec.ports", "maps"), ("spec.selector", "strings")),
    "Deployment": (
        ("spec", "map"),
        ("spec.template", "map"),
        ("spec.template.metadata", "map"),
        ("spec.template.metadata.labels", "strings"),
        ("spec.template.metadata.annotations", "strings"),
        (_POD, "map"),
        (f"{_POD}.containers", "maps"),
        (f"{_POD}.initContainers", "maps"),
        (f"{_POD}.volumes", "maps"),
        (f"{_POD}.volumes[].configMap", "map"),
        (f"{_POD}.imagePullSecrets", "maps"),
        (f"{_POD}.serviceAccountName", "str"),
        *((f"{c}.{key}", "maps") for c in _CONTAINERS for key in ("env", "envFrom", "volumeMounts")),
        *((f"{c}.env[].{key}", "str") for c in _CONTAINERS for key in ("name", "value")),
        *((f"{c}.envFrom[].{key}", "map") for c in _CONTAINERS for key in ("configMapRef", "secretRef")),
    ),
    "Job": (("spec", "map"), ("spec.template", "map"), (_POD, "map")),
}


class Document:
    """One document of a stream. ``text`` is exact; ``data`` is filled in only when parsed."""

    __slots__ = ("separator", "text", "kind", "_data", "_parsed")

    def __init__(self, separator: str, text: str, kind: Optional[str] = None, data: Any = None, parsed: bool = False):
        self.separator = separator  # the '---' line before it, with its newline, or '' for a leading document
        self.text = text
        self.kind = kind
        self._data = data
        self._parsed = parsed

    def __eq__(self, other: object) -> bool:  # the same document: the same bytes
        return isinstance(other, Document) and (self.separator, self.text) == (other.separator, other.text)

    __hash__ = None  # type: ignore[assignment]  (mutable)

    def __repr__(self) -> str:
        return f"Document(kind={self.kind!r}, source={self.source!r})"

    @property
    def source(self) -> Optional[str]:
        match = _SOURCE.search(self.head)
        return match.group(1).strip() if match else None

    @property
    def head(self) -> str:
        """The comment lines before the body (e.g. ``# Source: …``)."""
        return _HEAD_COMMENTS.match(self.text).group(0)

    @property
    def data(self) -> Any:
        if not self._parsed:
            try:
                self._data = yamlio.load(self.text)
            except yamlio.LoadError as exc:
                line = f", its line {exc.line}" if exc.line else ""
                raise errors.InputError(
                    f"the input is {exc.what()} ({self.where()}{line}): {exc.message}",
                    "pass the output of `helm template` unchanged",
                ) from exc
            self._parsed = True
        return self._data

    def where(self) -> str:
        """How an error names this document: its template, else its kind."""
        source = self.source
        if source:
            return errors.excerpt(source).strip("'\"")
        return f"document of kind {self.kind or 'unknown'}"

    def replace_text(self, text: str) -> None:
        self.text = text
        self._parsed = False

    def meta(self) -> Dict[str, Any]:
        data = self.data
        return (data.get("metadata") or {}) if isinstance(data, dict) else {}

    @property
    def name(self) -> Optional[str]:
        return self.meta().get("name")

    def labels(self) -> Dict[str, str]:
        return self.meta().get("labels") or {}

    def annotations(self) -> Dict[str, str]:
        return self.meta().get("annotations") or {}


class Stream:
    __slots__ = ("documents", "helm_sources")

    def __init__(self, documents: List[Document], helm_sources: bool):
        self.documents = documents
        self.helm_sources = helm_sources  # documents carry '# Source:' comments (Helm 3 / helm template form)

    def text(self) -> str:
        """The documents joined; a document that does not end its last line (the end of a stream
        without a trailing newline) gets one before the next separator, so no two documents glue."""
        parts = []
        for doc in self.documents:
            if parts and not parts[-1].endswith("\n") and doc.separator:
                parts.append("\n")
            parts.append(doc.separator + doc.text)
        return "".join(parts)


def split(text: str) -> Stream:
    """Cut ``text`` at ``---`` lines. Nothing is lost: ``split(t).text() == t``."""
    documents: List[Document] = []
    separator, position = "", 0
    for match in _SEPARATOR.finditer(text):
        end = match.end() + (1 if text.startswith("\n", match.end()) else 0)
        body = text[position : match.start()]
        if separator or body:  # a stream that starts with '---' has no leading document
            documents.append(_document(separator, body))
        separator, position = text[match.start() : end], end
    documents.append(_document(separator, text[position:]))
    return Stream(documents, helm_sources=any(doc.source for doc in documents))


def _document(separator: str, text: str) -> Document:
    kind = _KIND.search(text)
    return Document(separator, text, kind.group(1) if kind else None)


def check(stream: Stream) -> None:
    """Refuse a stream Helm would refuse from a post-renderer (see the module docstring)."""
    for number, doc in enumerate(stream.documents, 1):
        problem = _problem(doc)
        if problem:
            raise errors.InputError(f"document {number} of the input ({doc.where()}) {problem}", FIX)
        if isinstance(doc.data, dict):
            doc.kind = doc.data["kind"]


def _problem(doc: Document) -> Optional[str]:
    data = doc.data
    if data is None:
        blank = all(not line.strip() or line.lstrip().startswith("#") for line in doc.text.split("\n"))
        return None if blank else "is null, not a Kubernetes object"
    if not isinstance(data, dict):
        return f"is {errors.excerpt(data) if isinstance(data, (dict, list)) else 'a scalar'}, not a Kubernetes object"
    for key in ("apiVersion", "kind"):
        if not isinstance(data.get(key), str) or not data[key]:
            return f"has no {key}: it is not a Kubernetes object"
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        return "has no metadata mapping"
    if not isinstance(metadata.get("name"), str) or not metadata["name"]:
        return "has no metadata.name"
    for key in ("labels", "annotations"):
        problem = _shape(metadata.get(key), "strings")
        if problem:
            return f"has metadata.{key} that is {problem}"
    for path, shape in SHAPES.get(data["kind"], ()):
        for where, value in _at(data, path.split("."), ""):
            problem = _shape(value, shape)
            if problem:
                return f"has {where} that is {problem}"
    return None


def _at(data: Any, segments: List[str], where: str) -> Iterator[Tuple[str, Any]]:
    """(path, value) for every value at ``segments`` (``key[]`` walks each item of a list)."""
    if not segments:
        yield where, data
        return
    key, each = (segments[0][:-2], True) if segments[0].endswith("[]") else (segments[0], False)
    if not isinstance(data, dict) or data.get(key) is None:
        return
    here = f"{where}.{key}" if where else key
    if not each:
        yield from _at(data[key], segments[1:], here)
    elif isinstance(data[key], list):
        for index, item in enumerate(data[key]):
            yield from _at(item, segments[1:], f"{here}[{index}]")


def _shape(value: Any, shape: str) -> Optional[str]:
    if value is None:
        return None
    if shape == "str":
        return None if isinstance(value, str) else f"{errors.excerpt(value)}, not a string"
    if not isinstance(value, dict) and shape in ("map", "strings"):
        return f"{errors.excerpt(value)}, not a mapping"
    if shape == "maps":
        if not isinstance(value, list):
            return f"{errors.excerpt(value)}, not a list"
        if not all(isinstance(item, dict) for item in value):
            return "a list with an item that is not a mapping"
    if shape == "strings":
        for key, item in value.items():
            if not isinstance(key, str) or not (item is None or isinstance(item, str)):
                return f"not a mapping of strings ({errors.excerpt(key)}: {errors.excerpt(item)})"
    return None


def new_document(data: Dict[str, Any], source: Optional[str], with_source_comment: bool) -> Document:
    """A document we create, printed with our emitter."""
    head = f"# Source: {source}\n" if (source and with_source_comment) else ""
    text = head + yamlio.dump(data)
    return Document("---\n", text, data.get("kind"), data, True)
