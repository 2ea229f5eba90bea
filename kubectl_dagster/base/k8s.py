"""The Kubernetes API server's own validation rules, as pure functions.

kubectl-dagster must refuse, before anything is rendered or stored, what the API server would
refuse when Helm or ArgoCD applies the result (a render that exits 0 into a 422 leaves a release
half applied). These follow k8s.io/apimachinery (``util/validation``: names, label keys and values,
annotation sizes; ``api/resource``: quantities) and the core/v1 validation of containers (env var
names, resource names, image whitespace). Each ``is_*`` answers yes or no; ``*_problem`` functions
return the reason, or None when the value is valid.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Optional

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
QUALIFIED_NAME_MAX = 63
ANNOTATIONS_TOTAL_MAX = 256 * 1024  # bytes of all keys and values of one object's annotations

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# core/v1 env var names as every supported API server accepts them (the relaxed rule of newer
# servers, any printable ASCII but '=', is behind a feature gate that is off by default before 1.32).
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>[A-Za-z]*)(?P<exp>[+-]?[0-9]*)"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
MAX_EXPONENT = 1000  # far beyond any resource amount; keeps the arithmetic bounded
# Container resource names without a domain prefix that the API server knows.
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def is_dns1123_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= DNS1123_LABEL_MAX and bool(_DNS1123_LABEL.fullmatch(value))


def is_dns1123_subdomain(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= DNS1123_SUBDOMAIN_MAX and bool(_DNS1123_SUBDOMAIN.fullmatch(value))


def is_dns1035_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= DNS1035_LABEL_MAX and bool(_DNS1035_LABEL.fullmatch(value))


def is_qualified_name(value: Any) -> bool:
    """A label or annotation key: ``[prefix/]name``, prefix a DNS subdomain, name at most 63."""
    if not isinstance(value, str):
        return False
    prefix, slash, name = value.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= QUALIFIED_NAME_MAX and bool(_QUALIFIED_NAME.fullmatch(name))


def is_label_key(value: Any) -> bool:
    return is_qualified_name(value)


def is_label_value(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= LABEL_VALUE_MAX and bool(_LABEL_VALUE.fullmatch(value))


def is_annotation_key(value: Any) -> bool:
    """The API server checks annotation keys lowercased."""
    return isinstance(value, str) and is_qualified_name(value.lower())


def annotations_size(annotations: dict) -> int:
    return sum(len(str(k).encode("utf-8")) + len(str(v).encode("utf-8")) for k, v in annotations.items())


def env_name_problem(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        return "an env var name consists of letters, digits, '_', '-' and '.', and does not start with a digit"
    if value in (".", "..") or value.startswith(".."):
        return "an env var name is not '.' and does not start with '..'"
    return None


def is_env_name(value: Any) -> bool:
    return env_name_problem(value) is None


def parse_quantity(value: Any) -> Optional[Fraction]:
    """The value of a resource quantity (``500m``, ``1.5Gi``, ``1e3``, or a number), None if it is none.

    ``<sign><number><suffix>``: suffix a binary SI (Ki … Ei), a decimal SI (n u m k M G T P E, or
    none) or an exponent (``e``/``E`` and a signed integer). ``1E`` is exa, ``1E3`` an exponent.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = value if isinstance(value, str) else repr(value)
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    number = Fraction(match.group("number").rstrip(".") or "0")
    suffix, exp = match.group("suffix"), match.group("exp")
    if suffix in ("e", "E") and exp.lstrip("+-"):
        exponent = int(exp)
        if abs(exponent) > MAX_EXPONENT:
            return None
        scale: Any = Fraction(10) ** exponent
    elif exp:
        return None
    elif suffix in _BINARY:
        scale = _BINARY[suffix]
    elif suffix in _DECIMAL:
        scale = _DECIMAL[suffix]
    else:
        return None
    result = number * scale
    return -result if match.group("sign") == "-" else result


def is_quantity(value: Any) -> bool:
    return parse_quantity(value) is not None


def resource_name_problem(name: Any) -> Optional[str]:
    """A container resource name: a standard one (cpu, memory, ephemeral-storage, hugepages-<size>)
    or a domain-prefixed extended resource (``nvidia.com/gpu``)."""
    if not is_qualified_name(name):
        return "a resource name is a qualified name such as cpu, memory or example.com/gpu"
    if "/" not in name and name not in STANDARD_RESOURCES and not name.startswith("hugepages-"):
        return f"an unprefixed resource name is one of {', '.join(STANDARD_RESOURCES)} or hugepages-<size>"
    return None


def image_problem(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value:
        return "an image is a non-empty string"
    if any(ch.isspace() for ch in value):
        return "an image reference contains no whitespace"
    return None
