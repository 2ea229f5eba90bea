"""What ``status`` adds for pull requests: Dagster versions (webserver and each code server) and the
skew between them, and the Markdown table a sticky pull-request comment shows. Pure: the GraphQL
answer and the rows in, data and text out.

Versions come from Dagster's own GraphQL API: the root ``version`` field (the webserver's Dagster)
and ``RepositoryLocation.dagsterLibraryVersions`` (what the code server reported when it loaded).
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, NamedTuple, Optional

from ...base import constants as c
from . import automation

DETAILS = (
    "query KubectlDagsterDetails { version workspaceOrError { __typename ... on Workspace { locationEntries "
    "{ name updatedTimestamp locationOrLoadError { __typename ... on RepositoryLocation "
    "{ dagsterLibraryVersions { name version } } } } } } }"
)
ICONS = {"LOADED": "✅", "LOADING": "⏳", "ERROR": "❌", "MISSING": "⚠️", "SUSPENDED": "⏸️", "INVALID": "🚫"}
MAX_MESSAGE = 200  # characters of an error line in a table cell


class Details(NamedTuple):
    webserver_version: Optional[str]
    locations: Dict[str, Dict[str, Any]]  # name -> {"dagster_version", "updated"}


def parse_details(answer: Dict[str, Any]) -> Optional[Details]:
    """The versions and update times in a DETAILS answer; None when the webserver could not say."""
    if not isinstance(answer, dict) or answer.get("errors"):
        return None
    data = answer.get("data") or {}
    workspace = data.get("workspaceOrError") or {}
    found: Dict[str, Dict[str, Any]] = {}
    for entry in workspace.get("locationEntries") or []:
        location = entry.get("locationOrLoadError") or {}
        libraries = {
            lib.get("name"): lib.get("version")
            for lib in location.get("dagsterLibraryVersions") or []
            if isinstance(lib, dict)
        }
        found[str(entry.get("name"))] = {
            "dagster_version": libraries.get("dagster"),
            "updated": entry.get("updatedTimestamp"),
        }
    version = data.get("version")
    return Details(version if isinstance(version, str) and version else None, found)


def skew(code_version: Optional[str], webserver_version: Optional[str]) -> Optional[str]:
    """One line when both versions are known and differ, else None."""
    if not code_version or not webserver_version or code_version == webserver_version:
        return None
    return f"Dagster version skew: code server {code_version}, webserver {webserver_version}"


def updated_text(timestamp: Any) -> str:
    """A UTC time for people, from Dagster's float seconds; '' when unknown."""
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return ""
    moment = datetime.datetime.fromtimestamp(float(timestamp), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def link(ui_url: Optional[str], name: str) -> Optional[str]:
    return ui_url.rstrip("/") + c.UI_LOCATION_PATH.format(name=name) if ui_url else None


def _cell(text: str) -> str:
    """Table-safe: one line, pipes escaped, bounded."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= MAX_MESSAGE else flat[:MAX_MESSAGE] + " …"


def markdown(rows: List[Dict[str, Any]], ui_url: Optional[str], taken_at: str, title: str) -> str:
    """The sticky comment: a marker line (to find it again), a title, and Location | Status | Link | Updated,
    with an Automation column (schedules and sensors, how many run) and an Assets column (``status --assets``:
    what the branch adds, changes, removes) when rows carry them."""
    lines = [c.STATUS_COMMENT_MARKER, f"### {title}", ""]
    if not rows:
        lines.append(f"No code locations found ({taken_at}).")
        return "\n".join(lines) + "\n"
    with_assets = any("assets" in row for row in rows)
    with_automation = any(row.get("automation") for row in rows)
    lines += [
        "| Location | Status |"
        + (" Automation |" if with_automation else "")
        + " Link | Updated |"
        + (" Assets |" if with_assets else ""),
        "| --- | --- |" + (" --- |" if with_automation else "") + " --- | --- |" + (" --- |" if with_assets else ""),
    ]
    notes = []
    for row in rows:
        state = row.get("dagster") or "-"
        status = f"{ICONS.get(state, '')} {state}".strip()
        if row.get("cause"):
            status += f": {_cell(row['cause'])}"
        url = link(ui_url, row["name"])
        assets = f" {_cell((row.get('assets') or {}).get('summary') or '—')} |" if with_assets else ""
        running = f" {automation.sentence(row.get('automation'))} |" if with_automation else ""
        lines.append(
            f"| `{row['name']}` | {status} |{running} {f'[Open in Dagster]({url})' if url else '—'} | "
            f"{row.get('updated') or taken_at} |{assets}"
        )
        if row.get("skew"):
            notes.append(f"- `{row['name']}`: {row['skew']}")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"
