"""Names: branch -> location name, and the chart's own naming helpers (Kubernetes' name rules are in core/k8s.py)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Optional

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


_SCP_URL = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")  # git@host:org/repo.git


def web_url(remote: Optional[str]) -> Optional[str]:
    """A browsable https URL for a git remote: ``git@github.com:acme/etl.git`` -> ``https://github.com/acme/etl``.
    Credentials in an https remote are dropped (they would end up in the code's environment)."""
    if not remote:
        return None
    text = remote.strip()
    match = _SCP_URL.match(text)
    if match and "://" not in text:
        host, path = match.group("host"), match.group("path")
    else:
        scheme, sep, rest = text.partition("://")
        if not sep:
            return None
        rest = rest.split("@", 1)[1] if "@" in rest.split("/", 1)[0] else rest
        host, _, path = rest.partition("/")
        if scheme in ("ssh", "git", "git+ssh"):
            host = host.split(":", 1)[0]
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"https://{host}/{path}" if host and path else None


def repository_name(url: Optional[str]) -> Optional[str]:
    """``acme/etl`` from a repository URL (what Dagster+ puts in DAGSTER_CLOUD_GIT_REPO)."""
    browsable = web_url(url)
    return browsable.split("/", 3)[3] if browsable and browsable.count("/") >= 3 else None
