"""Split a manifest stream into documents without parsing them, and join documents back.

Helm output is mostly objects we never change. We keep every document as its exact text and
read only the top-level ``kind`` (a regex), so untouched documents pass through byte for byte and
only the few documents that matter are handed to a YAML parser. Three input forms are accepted:
``helm template`` output and Helm 3 post-renderer input (``---`` then ``# Source:`` per
document) and Helm 4 post-renderer input (no leading ``---``, filename annotations instead).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from .. import constants, errors, yamlio

_SEPARATOR = re.compile(r"^---[ \t]*$", re.M)
_KIND = re.compile(r"^kind:[ \t]*['\"]?([A-Za-z0-9]+)", re.M)
_SOURCE = re.compile(r"^# Source: (.+)$", re.M)
_HEAD_COMMENTS = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*")


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
                self._data = yamlio.make_yaml("safe").load(self.text)
            except Exception as exc:  # ruamel raises many types; all mean "not YAML"
                where = self.source or f"document of kind {self.kind or 'unknown'}"
                raise errors.InputError(
                    f"the input is not valid YAML ({where}): {str(exc).splitlines()[0]}",
                    "pass the output of `helm template` unchanged",
                ) from exc
            self._parsed = True
        return self._data

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
        return "".join(doc.separator + doc.text for doc in self.documents)


def split(text: str) -> Stream:
    """Cut ``text`` at ``---`` lines. Nothing is lost: ``split(t).text() == t``."""
    documents: List[Document] = []
    separator, position = "", 0
    for match in _SEPARATOR.finditer(text):
        end = match.end() + (1 if text.startswith("\n", match.end()) else 0)
        body = text[position:match.start()]
        if separator or body:  # a stream that starts with '---' has no leading document
            documents.append(_document(separator, body))
        separator, position = text[match.start():end], end
    documents.append(_document(separator, text[position:]))
    return Stream(documents, helm_sources=any(doc.source for doc in documents))


def _document(separator: str, text: str) -> Document:
    kind = _KIND.search(text)
    return Document(separator, text, kind.group(1) if kind else None)


def new_document(data: Dict[str, Any], source: Optional[str], with_source_comment: bool) -> Document:
    """A document we create, printed with our emitter."""
    head = f"# Source: {source}\n" if (source and with_source_comment) else ""
    text = head + yamlio.dump(data)
    return Document("---\n", text, data.get("kind"), data, True)
