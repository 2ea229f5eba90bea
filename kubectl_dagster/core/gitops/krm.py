"""The KRM functions wire format (kpt, kustomize exec functions), as data: a ResourceList in, the
manifest stream ``core.render`` merges into, and back. ``kubectl-dagster krm`` is therefore the
same render as every other entry point, with a different envelope. Pure: text in, text out.

- In: each item's own text is cut out of the ResourceList and moved to column 0, with the comments
  before it (kpt hands a file's ``# Source:`` line over right after the item's dash), and the
  documents are joined with ``---`` as ``helm template`` joins them. Nothing is re-printed, so
  comments, quoting and key order survive (flow-style items, such as JSON, are printed anew).
- Out: every document of the merged stream becomes one item as *text*, indented under ``items:``.
  Items the render did not change keep every byte, so the ``config.kubernetes.io/*``,
  ``internal.config.kubernetes.io/*`` and ``kustomize.config.k8s.io/id`` annotations that kpt and
  kustomize track items by come back as they went in (the specification forbids changing them).
- A failure is a ResourceList with ``results`` (severity error) and no items, never a partial list.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ...base import constants as c
from ...base import errors, yamlio
from ..chart import manifests
from ..spec import locations as locs

CONFIG_MAP_KEYS = ("locations", "release", "namespace", "mode", "on-conflict", "rollout")
OPTION_KEYS = CONFIG_MAP_KEYS[1:]
CHOICES = {"mode": c.MODES, "on-conflict": c.ON_CONFLICT, "rollout": c.ROLLOUTS}
CONFIG_SOURCE = "functionConfig"
_PATH_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Request(NamedTuple):
    api_version: str
    stream: str  # the items as one manifest stream
    function_config: Optional[Dict[str, Any]]
    tracks_files: bool  # the items carry config.kubernetes.io/path (kpt): new items get one too


class FnConfig(NamedTuple):
    """What the functionConfig asks for: CodeLocations files to read, documents given inline, render options."""

    paths: Tuple[str, ...]
    inline: Tuple[Tuple[str, Any], ...]
    options: Dict[str, str]  # release, namespace, mode, on-conflict, rollout (as given)
    ref: Dict[str, str]  # the functionConfig as a results resourceRef


def parse(text: str) -> Request:
    """A ResourceList (YAML or JSON) as a manifest stream plus its functionConfig."""
    data, root = _load(text)
    _check_list(data)
    items = [] if data.get("items") is None else data["items"]
    config = data.get("functionConfig")
    documents = _item_texts(text, _entry(root, "items"), items)
    tracks = any(c.KRM_PATH_ANNOTATION in _annotations(item) for item in items)
    return Request(str(data["apiVersion"]), "".join("---\n" + doc for doc in documents), config, tracks)


def _load(text: str) -> Tuple[Any, Any]:
    """The ResourceList as data, and its round-trip node tree (for the items' own text)."""
    hint = "run the function through kpt or kustomize, or pipe in a ResourceList"
    try:
        data = yamlio.load(text)  # bounded: a ResourceList is input nobody vetted
        root = yamlio.make_yaml("rt").compose(text) if isinstance(data, dict) else None
    except yamlio.LoadError as exc:
        if "another document" in exc.message:
            raise errors.InputError(
                "stdin holds several YAML documents, not one ResourceList",
                "pipe a plain stream to `kubectl-dagster render`, or wrap it with `kpt fn eval - --exec ...`",
            ) from exc
        raise errors.InputError(f"the ResourceList is {exc.what()}: {exc.message}", hint) from exc
    except Exception as exc:  # ruamel's composer errors from the round-trip pass
        raise errors.InputError(f"the ResourceList is not valid YAML: {type(exc).__name__}", hint) from exc
    if data is None:
        raise errors.InputError(
            "stdin holds no ResourceList (it is empty)", "run the function through kpt or kustomize"
        )
    return data, root


def _check_list(data: Any) -> None:
    if not isinstance(data, dict) or data.get("kind") != c.KRM_KIND or data.get("apiVersion") not in c.KRM_API_VERSIONS:
        got = f"{data.get('apiVersion')}/{data.get('kind')}" if isinstance(data, dict) else type(data).__name__
        raise errors.InputError(
            f"expected a {c.KRM_API_VERSION} {c.KRM_KIND} on stdin, got {got}",
            "run the function through kpt or kustomize (a plain stream goes to `kubectl-dagster render`)",
        )
    items = [] if data.get("items") is None else data["items"]
    if not isinstance(items, list):
        raise errors.InputError("the ResourceList's items is not a list", "pass the rendered release as items")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise errors.InputError(f"items[{index}] is not a mapping", "every item must be a Kubernetes object")
    config = data.get("functionConfig")
    if config is not None and not isinstance(config, dict):
        raise errors.InputError(
            "the functionConfig is not a mapping", "pass a CodeLocations document as functionConfig"
        )


def _entry(root: Any, key: str) -> Tuple[Any, Any]:
    """The (key, value) nodes of one key of the composed top-level mapping."""
    for key_node, value_node in getattr(root, "value", None) or []:
        if getattr(key_node, "value", None) == key:
            return key_node, value_node
    return None, None


def _item_texts(text: str, entry: Tuple[Any, Any], items: List[Dict[str, Any]]) -> List[str]:
    """Each item's own text, cut out of the input and moved to column 0, with the comments before it
    (kpt puts a file's ``# Source:`` line right after the item's dash). Flow-style items (JSON) are
    printed anew instead."""
    key, node = entry
    nodes = getattr(node, "value", None) or []
    if len(nodes) != len(items) or getattr(node, "flow_style", False):
        return [yamlio.dump(item) for item in items]
    out = []
    position = key.end_mark.index
    for item, child in zip(items, nodes, strict=False):
        if child.flow_style or child.start_mark.line == child.end_mark.line:
            out.append(_comments(text[position : child.start_mark.index]) + yamlio.dump(item))
        else:
            body = _dedent(text[child.start_mark.index : child.end_mark.index], child.start_mark.column)
            out.append(_comments(text[position : child.start_mark.index]) + body)
        position = child.end_mark.index
    return out


def _comments(lead: str) -> str:
    """The comment lines among the dash, spaces and comments that come before an item's first key."""
    return "".join(line[line.index("#") :].rstrip() + "\n" for line in lead.split("\n") if "#" in line)


def _dedent(body: str, column: int) -> str:
    """A block mapping's text that started at ``column``, moved to column 0 (its first line is already)."""
    lines = body.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        out.append(line[column:] if not line[:column].strip() else line.lstrip())
    return "\n".join(out).rstrip(" ") + ("" if body.rstrip(" ").endswith("\n") else "\n")


def _annotations(item: Dict[str, Any]) -> Dict[str, Any]:
    metadata = item.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def function_config(config: Optional[Dict[str, Any]]) -> FnConfig:
    """The functionConfig: a CodeLocations document (locations inline, options as annotations), or a
    ConfigMap whose data names CodeLocations files (``locations``) and the options."""
    if config is None:
        raise errors.InputError("no functionConfig", f"pass a {c.KIND} document (kpt: --fn-config FILE)")
    metadata = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    ref = {
        "apiVersion": str(config.get("apiVersion")),
        "kind": str(config.get("kind")),
        "name": str(metadata.get("name")),
    }
    if locs.is_document(config) and config.get("kind") == c.KIND:
        if config.get("apiVersion") != c.API_VERSION:
            raise errors.InputError(
                f"functionConfig apiVersion {config.get('apiVersion')!r} is not {c.API_VERSION}",
                f"set apiVersion: {c.API_VERSION}",
            )
        return FnConfig((), ((CONFIG_SOURCE, config),), _annotation_options(metadata), ref)
    if config.get("kind") == "ConfigMap" and config.get("apiVersion") in ("v1", None):
        return _config_map(config, ref)
    raise errors.InputError(
        f"functionConfig kind {config.get('apiVersion')}/{config.get('kind')} is not supported",
        f"use kind {c.KIND} (apiVersion {c.API_VERSION}) or a ConfigMap whose data.locations names CodeLocations files",
    )


def _annotation_options(metadata: Dict[str, Any]) -> Dict[str, str]:
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    options = {}
    for key, value in annotations.items():
        if not key.startswith(c.OPTION_ANNOTATION_PREFIX):
            continue
        option = key[len(c.OPTION_ANNOTATION_PREFIX) :]
        if option not in OPTION_KEYS:
            known = ", ".join(c.OPTION_ANNOTATION_PREFIX + k for k in OPTION_KEYS)
            raise errors.InputError(f"unknown functionConfig annotation {key!r}", f"use one of {known}")
        options[option] = value
    return _checked(options, "annotation " + c.OPTION_ANNOTATION_PREFIX)


def _config_map(config: Dict[str, Any], ref: Dict[str, str]) -> FnConfig:
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    unknown = sorted(set(data) - set(CONFIG_MAP_KEYS))
    if unknown:
        raise errors.InputError(f"unknown functionConfig data key {unknown[0]!r}", f"use {', '.join(CONFIG_MAP_KEYS)}")
    paths = tuple(part.strip() for part in re.split(r"[,\n]", str(data.get("locations") or "")) if part.strip())
    if not paths:
        raise errors.InputError(
            "the functionConfig ConfigMap has no data.locations",
            "set data.locations to a CodeLocations file or directory (comma-separated for several)",
        )
    options = {key: data[key] for key in OPTION_KEYS if key in data}
    return FnConfig(paths, (), _checked(options, "data."), ref)


def _checked(options: Dict[str, Any], where: str) -> Dict[str, str]:
    out = {}
    for key, value in options.items():
        if not isinstance(value, str) or not value:
            raise errors.InputError(f"functionConfig {where}{key} must be a non-empty string", "quote the value")
        if key in CHOICES and value not in CHOICES[key]:
            allowed = ", ".join(CHOICES[key])
            raise errors.InputError(
                f"functionConfig {where}{key} must be one of {allowed}, got {value!r}", "fix the functionConfig"
            )
        out[key] = value
    return out


def response(api_version: str, stream: str, tracks_files: bool = False) -> str:
    """The merged stream as a ResourceList: one item per document, each document's text kept."""
    documents = [doc for doc in manifests.split(stream).documents if _has_content(doc)]
    counts: Dict[str, int] = {}
    items = []
    for doc in documents:
        text = doc.text if doc.text.endswith("\n") else doc.text + "\n"
        if tracks_files and doc.kind and c.KRM_PATH_ANNOTATION not in doc.annotations():
            text = _with_path(doc, counts)
        items.append(_as_item(text))
    head = f"apiVersion: {api_version}\nkind: {c.KRM_KIND}\n"
    return head + ("items:\n" + "".join(items) if items else "items: []\n")


def _has_content(doc: manifests.Document) -> bool:
    return bool(doc.kind) or doc.data is not None


def _with_path(doc: manifests.Document, counts: Dict[str, int]) -> str:
    """A document we created, given the file kpt should write it to: kubectl-dagster/<name>.yaml,
    beside the files it came with (the name from the Helm 4 filename annotation every new document has)."""
    data = dict(doc.data)
    metadata = dict(data.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    source = str(annotations.get(c.HELM4_FILENAME_ANNOTATION) or f"{doc.kind}-{metadata.get('name')}.yaml".lower())
    path = f"{c.KRM_OUTPUT_DIR}/{source.rsplit('/', 1)[-1]}"
    annotations[c.KRM_PATH_ANNOTATION] = path
    annotations[c.KRM_INDEX_ANNOTATION] = str(counts.get(path, 0))
    counts[path] = counts.get(path, 0) + 1
    metadata["annotations"] = annotations
    data["metadata"] = metadata
    return doc.head + yamlio.dump(data)


def _as_item(text: str) -> str:
    """A document's text as one entry of a block sequence: the same lines, two columns to the right."""
    lines = text[:-1].split("\n")
    out = ["- " + lines[0]] + [("  " + line) if line else "" for line in lines[1:]]
    return "\n".join(out) + "\n"


def failure(api_version: str, results: List[Dict[str, Any]]) -> str:
    """A failed run: the results, and no items (never a partial list)."""
    return yamlio.dump({"apiVersion": api_version, "kind": c.KRM_KIND, "items": [], "results": results})


def results(exc: BaseException, ref: Optional[Dict[str, str]] = None) -> List[Dict[str, Any]]:
    """An error as KRM results (severity error): one per location problem, else one."""
    if isinstance(exc, errors.LocationError):
        return [_problem_result(problem, ref) for problem in exc.problems]
    if isinstance(exc, errors.Error):
        return [{"message": exc.line(), "severity": "error"}]
    return [{"message": f"internal error: {type(exc).__name__}: {exc}", "severity": "error"}]


def _problem_result(problem: errors.Problem, ref: Optional[Dict[str, str]]) -> Dict[str, Any]:
    result: Dict[str, Any] = {"message": problem.render(), "severity": "error"}
    field = field_path(problem.path[1:])
    if problem.file == CONFIG_SOURCE and ref is not None:
        result["resourceRef"] = dict(ref)
        if field:
            result["field"] = {"path": field}
    else:
        result["file"] = {"path": problem.file, "index": problem.path[0] if problem.path else 0}
        if field:
            result["field"] = {"path": field}
    return result


def field_path(keys: Tuple[Any, ...]) -> str:
    """``("locations", 0, "image")`` as ``locations[0].image`` (a results field path)."""
    out = ""
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        elif _PATH_KEY.match(str(key)):
            out += ("." if out else "") + str(key)
        else:
            out += f"[{key!r}]"
    return out
