"""The branch context a branch location's code gets in its environment.

A location with ``branch`` gets ``KUBECTL_DAGSTER_*`` variables (is-branch-deployment, branch, commit,
pull request, repository URL, location name) and, with ``branchEnv: dagster-cloud``, also the names
Dagster+ sets in its branch deployments, so code written for those runs unchanged. They are added to
the chart item's ``env`` (in the form the entry uses: a list becomes container env and, through the
container context, the env of launched runs; a mapping goes to the location's env ConfigMap, which
runs load too). A name the entry sets itself is left to the entry. A location without ``branch``
gets nothing. Pure.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple

from ...base import constants as c
from ...base import naming


def variables(name: str, spec: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(name, value) pairs for a location, in a fixed order; [] without a branch or with ``branchEnv: off``."""
    branch = spec.get("branch")
    mode = spec.get("branchEnv") or "default"
    if branch is None or mode == "off":
        return []
    commit, pull = spec.get("commit"), spec.get("pullRequest")
    url: Optional[str] = ((spec.get("annotations") or {}) if isinstance(spec.get("annotations"), dict) else {}).get(
        c.GIT_URL_ANNOTATION
    )
    ours = [
        (c.IS_BRANCH_DEPLOYMENT_ENV, "1"),
        (c.BRANCH_ENV, str(branch)),
        (c.COMMIT_ENV, _text(commit)),
        (c.PULL_REQUEST_ENV, _text(pull)),
        (c.REPOSITORY_URL_ENV, _text(url)),
        (c.LOCATION_ENV, name),
    ]
    out = [(key, value) for key, value in ours if value]
    if mode == "dagster-cloud":
        cloud = [
            (c.CLOUD_IS_BRANCH_DEPLOYMENT_ENV, "1"),
            (c.CLOUD_DEPLOYMENT_NAME_ENV, name),
            (c.CLOUD_GIT_BRANCH_ENV, str(branch)),
            (c.CLOUD_GIT_SHA_ENV, _text(commit)),
            (c.CLOUD_GIT_REPO_ENV, _text(naming.repository_name(url))),
            (c.CLOUD_PULL_REQUEST_ID_ENV, _text(pull)),
            (c.CLOUD_PULL_REQUEST_STATUS_ENV, "OPEN" if pull is not None else ""),
        ]
        out += [(key, value) for key, value in cloud if value]
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def with_env(item: Dict[str, Any], name: str, spec: Dict[str, Any]) -> Dict[str, Any]:
    """The chart item with the branch variables added to its ``env`` (the item itself when there are none)."""
    pairs = variables(name, spec)
    if not pairs:
        return item
    item = dict(item)
    env = item.get("env")
    if isinstance(env, dict):
        item["env"] = {**{key: value for key, value in pairs if key not in env}, **env}
    else:
        items: List[Any] = copy.deepcopy(env or [])
        taken = {entry.get("name") for entry in items if isinstance(entry, dict)}
        item["env"] = [{"name": key, "value": value} for key, value in pairs if key not in taken] + items
    return item
