"""Names: branch -> location name, the chart's own naming helpers, and Kubernetes name rules."""
from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_NAME = 63  # a location name is a Service name: a DNS-1035 label
HASH_LENGTH = 8
DIGIT_PREFIX = "b-"  # a branch that starts with a digit ("123-fix") still needs a leading letter

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def is_dns1035(name: str) -> bool:
    return isinstance(name, str) and len(name) <= MAX_NAME and bool(_DNS1035.fullmatch(name))


def is_label_value(value: str) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL_VALUE.fullmatch(value))


def is_label_key(key: str) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= 63 and bool(_LABEL_NAME.fullmatch(name))


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def location_slug(branch: str, max_length: int = MAX_NAME) -> str:
    """A DNS-1035 label for a git branch; '' when nothing usable is left.

    ``feat: my amazing feature`` -> ``feat-my-amazing-feature``. A name longer than ``max_length``
    is cut and gets ``-<8 hex of sha256(branch)>`` so two long branches never collide.
    """
    ascii_text = unicodedata.normalize("NFKD", branch).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALNUM.sub("-", ascii_text.lower()).strip("-")
    if slug and not slug[0].isalpha():
        slug = DIGIT_PREFIX + slug
    if len(slug) > max_length:
        keep = max_length - HASH_LENGTH - 1
        slug = slug[:keep].rstrip("-") + "-" + short_hash(branch)
    return slug


def chart_fullname(release: str, chart_name: str) -> str:
    """The chart's ``dagster.fullname`` helper (without overrides)."""
    name = release if chart_name in release else f"{release}-{chart_name}"
    return name[:63].rstrip("-")


def truncate(text: str, length: int) -> str:
    """Cut to ``length`` without leaving a trailing '-' (as Helm's ``trunc | trimSuffix "-"``)."""
    return text[:length].rstrip("-")
