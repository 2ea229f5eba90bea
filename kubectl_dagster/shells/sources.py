"""Read locations from files and directories (the thin I/O shell around ``locations``).

Parsing uses the fast C loader. Only when there are problems is a file parsed again with the
round-trip loader, to point each problem at its line. Every read is bounded (``constants.MAX_FILE_BYTES``):
a path such as /dev/zero, or a huge file given by mistake, fails at once with one line instead of
filling memory.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Dict, Iterable, List, Sequence, Tuple

from ..base import constants, errors, yamlio
from ..core.spec import locations as locs

SUFFIXES = (".yaml", ".yml")


def files_of(path: str) -> List[str]:
    check_path(path)
    if os.path.isdir(path):
        return sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if name.endswith(SUFFIXES) and not name.startswith(".") and os.path.isfile(os.path.join(path, name))
        )
    if os.path.exists(path):
        return [path]
    raise errors.InputError(f"locations path {path} does not exist", "check --locations")


def check_path(path: str) -> None:
    """A path written as a directory (``x.yaml/``) that is a file is a mistake, not a missing path."""
    if path.endswith(os.sep) and os.path.isfile(path.rstrip(os.sep)):
        raise errors.InputError(
            f"{path} ends with {os.sep} but {path.rstrip(os.sep)} is a file, not a directory",
            f"drop the trailing {os.sep}",
        )


def read_text(path: str, limit: int = constants.MAX_FILE_BYTES) -> str:
    check_path(path)
    try:
        with open(path, "rb") as handle:
            return read_stream(handle, path, limit)
    except OSError as exc:
        raise errors.InputError(
            f"cannot read {path}: {exc.strerror or exc}", "check the file and its permissions"
        ) from exc


FILE_FIX = "pass the file meant (a YAML or text file, not a device or an archive)"


def read_stream(handle: BinaryIO, what: str, limit: int = constants.MAX_FILE_BYTES, fix: str = FILE_FIX) -> str:
    """At most ``limit`` bytes of UTF-8 text from ``handle``; more is an error, read no further."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise errors.InputError(f"{what} is larger than {limit // (1024 * 1024)} MiB", fix)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.InputError(f"{what} is not UTF-8 text (byte {exc.start})", fix) from exc


def load_docs(text: str, filename: str) -> List[object]:
    try:
        return yamlio.load_all(text)
    except yamlio.LoadError as exc:
        line = f":{exc.line}" if exc.line else ""
        fix = "fix the YAML" if exc.syntax else "write the values out instead of nesting or aliasing them"
        raise errors.InputError(f"{filename}{line}: {exc.what()}: {exc.message}", fix) from exc


def load(paths: Sequence[str], extra: Sequence[Tuple[str, dict]] = ()) -> List[locs.Location]:
    """Every location under ``paths`` (and ``extra``: (source, spec) from the cluster registry);
    all problems of all sources raised together."""
    found: List[locs.Location] = []
    problems: List[errors.Problem] = []
    for source, spec in extra:
        parsed = locs.parse_documents([spec], source)
        found += parsed.locations
        problems += parsed.problems
    texts: Dict[str, str] = {}
    for path in paths:
        names = files_of(path)
        parsed_files: List[Tuple[str, List[object]]] = []
        for name in names:
            texts[name] = read_text(name)
            parsed_files.append((name, load_docs(texts[name], name)))
        dir_defaults = directory_defaults(parsed_files) if os.path.isdir(path) else {}
        for name, docs in parsed_files:
            parsed = locs.parse_documents(docs, name, dir_defaults)
            found += parsed.locations
            problems += parsed.problems
    problems += locs.check_unique(found)
    if problems:
        raise errors.LocationError(with_lines(problems, texts))
    return found


def directory_defaults(parsed_files) -> dict:
    """A CodeLocations document with defaults and no locations applies to the bare files beside it."""
    merged: dict = {}
    for _, docs in parsed_files:
        for doc in docs:
            if locs.is_document(doc) and "locations" not in doc and isinstance(doc.get("defaults"), dict):
                merged = locs.deep_merge(merged, doc["defaults"])
    return merged


def with_lines(problems: Iterable[errors.Problem], texts: Dict[str, str]) -> List[errors.Problem]:
    """Fill in line numbers by walking the key path in a round-trip parse of the file."""
    trees: Dict[str, List[object]] = {}
    out = []
    for problem in problems:
        if problem.file in texts and problem.file not in trees:
            try:
                trees[problem.file] = list(yamlio.make_yaml("rt").load_all(texts[problem.file]))
            except Exception:
                trees[problem.file] = []
        line = _line(trees.get(problem.file) or [], problem.path)
        out.append(errors.Problem(problem.file, line, problem.location, problem.message, problem.path))
    return out


def _line(docs: List[object], path: tuple):
    if not path or path[0] >= len(docs):
        return None
    node, line = docs[path[0]], None
    for key in path[1:]:
        try:
            if isinstance(node, dict) and key in node:
                line = node.lc.key(key)[0] + 1
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                line = node.lc.item(key)[0] + 1
            else:
                break
            node = node[key]
        except (AttributeError, KeyError, TypeError):
            break
    if line is None and hasattr(node, "lc"):
        line = node.lc.line + 1
    return line
