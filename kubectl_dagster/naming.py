"""Names: branch -> location name, and the chart's own naming helpers (Kubernetes' name rules are in core/k8s.py)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_NAME = 63  # a location name is a Service name: a DNS-1035 label
HASH_LENGTH = 8
DIGIT_PREFIX = "b-"  # a branch that starts with a digit ("123-fix") still needs a leading letter

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


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
