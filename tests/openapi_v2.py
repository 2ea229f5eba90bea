"""The Kubernetes API's OpenAPI v2 document as kubectl downloads it, for the stand-in API server.

kubectl's client-side validation (``--validate=strict`` with ``--dry-run=client``) needs the API
server's ``/openapi/v2``, which kubectl only reads as protobuf (gnostic's ``openapi_v2.Document``).
No API server can run here, so the schemas come from the package ``kubernetes-validate`` (the
definitions of the Kubernetes 1.33 API, kubectl's version, published as JSON Schema) and are
written back as the OpenAPI v2 definitions the API server serves: a ``$ref`` into
``#/definitions/``, one type per schema, ``int-or-string`` for the int-or-string types, and the
``x-kubernetes-group-version-kind`` extension kubectl maps kinds with. Only the parts kubectl's
validator reads are encoded (types, formats, refs, properties, items, additional properties,
required fields). Field numbers are those of gnostic's OpenAPIv2.proto.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict

KUBE_VERSION = "1.33.0"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:  # wire type 2: length-delimited
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _text(number: int, value: str) -> bytes:
    return _field(number, value.encode("utf-8"))


def _flag(number: int, value: bool) -> bytes:  # wire type 0: varint
    return _varint(number << 3) + _varint(1 if value else 0)


def _one_type(value: Any) -> str:
    types = value if isinstance(value, list) else [value] if value else []
    return next((t for t in types if t != "null"), "")


def schema(node: Dict[str, Any]) -> bytes:
    """One ``openapi_v2.Schema`` from a JSON Schema node."""
    if "oneOf" in node:  # IntOrString, Quantity: the API server publishes them as strings
        kinds = {_one_type(option.get("type")) for option in node["oneOf"]}
        node = {"type": "string", **({"format": "int-or-string"} if "integer" in kinds else {})}
    if "$ref" in node:
        return _text(1, "#/definitions/" + node["$ref"].rsplit("/", 1)[-1])
    out = _text(2, node["format"]) if node.get("format") else b""
    for name in node.get("required") or []:
        out += _text(19, name)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += _field(21, _field(1, schema(extra)))
    elif isinstance(extra, bool):
        out += _field(21, _flag(2, extra))
    kind = _one_type(node.get("type"))
    if kind:
        out += _field(22, _text(1, kind))
    if isinstance(node.get("items"), dict):
        out += _field(23, _field(1, schema(node["items"])))
    if isinstance(node.get("properties"), dict):
        out += _field(
            25,
            b"".join(
                _field(1, _text(1, name) + _field(2, schema(value))) for name, value in node["properties"].items()
            ),
        )
    gvk = node.get("x-kubernetes-group-version-kind")
    if gvk:
        out += _field(31, _text(1, "x-kubernetes-group-version-kind") + _field(2, _text(2, json.dumps(gvk))))
    return out


def definitions(version: str = KUBE_VERSION) -> Dict[str, Any]:
    import kubernetes_validate

    path = os.path.join(
        os.path.dirname(kubernetes_validate.__file__),
        "kubernetes-json-schema",
        f"v{version}-local",
        "_definitions.json",
    )
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["$defs"]


def document(version: str = KUBE_VERSION) -> bytes:
    """The serialized ``openapi_v2.Document``: swagger 2.0, info, and every definition."""
    named = b"".join(
        _field(1, _text(1, name) + _field(2, schema(node))) for name, node in sorted(definitions(version).items())
    )  # Definitions: repeated NamedSchema
    return _text(1, "2.0") + _field(2, _text(1, "Kubernetes") + _text(2, "v" + version)) + _field(9, named)
