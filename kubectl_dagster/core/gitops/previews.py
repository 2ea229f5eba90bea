"""Locations declared by per-PR Applications (ArgoCD's ApplicationSet pull-request generator), as data.

The ``kubectl-dagster-location`` plugin renders, for one pull request, only that PR's registry entry:
the ConfigMap ``add-location --cluster`` writes. The PR's Application then owns nothing but its
registration (closing the PR deletes it), and the Dagster Application (``from-cluster: "true"``)
renders every location as before. Inputs are the plugin parameters the ApplicationSet template fills
from the generator (number, branch, head SHA, an image template), what the repository's project config
and Dagster's own files say about the code (as ``deploy`` reads them), and an optional location file in
the PR's own repository above them, which describes the code (source, env, resources) but may not choose
what the plugin decides: name, branch, port, image, PR, commit, namespace, patches. Pure.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple

from ...base import constants as c
from ...base import errors, k8s, naming
from ..chart import workspace
from ..registry import entries, flagedits
from ..spec import locations as locs
from ..spec import schema
from . import argocd

DEFAULT_FILE = "dagster-location.yaml"
PARAMS = (
    argocd.Param("number", "string", "", "Pull request number ({{.number}})"),
    argocd.Param("branch", "string", "", "The PR's head branch ({{.branch}})"),
    argocd.Param("head-sha", "string", "", "The PR's head commit ({{.head_sha}}; default: ARGOCD_APP_REVISION)"),
    argocd.Param("image", "string", "", "Image, with placeholders: ghcr.io/acme/etl:sha-{head_sha}"),
    argocd.Param("name", "string", "pr-{number}", "Location name, with placeholders; unique across repositories"),
    argocd.Param("port", "string", str(c.FIRST_PORT), "The code server's gRPC port"),
    argocd.Param("location-file", "string", DEFAULT_FILE, "Location file in the PR's repository (optional)"),
    argocd.Param("check-registry", "string", "true", "Refuse a name another PR or writer holds (reads the registry)"),
    argocd.Param("environment", "string", "", "The project config's environment (default: its defaultEnvironment)"),
)
# What the plugin decides and a pull request's own file may not (patches can rewrite any field, namespace included).
DECIDED = ("name", "branch", "port", "pullRequest", "commit", "namespace", "patches")
DECIDED_IMAGE = ("repository", "tag")
_SOURCES = (*schema.SOURCE_SHORTCUTS, "dagsterApiGrpcArgs", "codeServerArgs")
_SOURCE_KEYS = (*_SOURCES, *schema.SOURCE_MODIFIERS)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_NO_TIME = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)  # no TTL here: ArgoCD deletes on close


class Preview(NamedTuple):
    number: int
    branch: str
    head_sha: str
    name: str
    image: str
    port: int
    location_file: str
    location_file_explicit: bool
    check_registry: bool
    namespace: str  # the Application's destination: the Dagster namespace
    repo_url: str
    environment: Optional[str] = None  # of the repository's project config


def placeholders(number: str, branch: str, head_sha: str) -> Dict[str, str]:
    """What a template may use; named as the pull-request generator names its parameters."""
    return {
        "number": number,
        "branch": branch,
        "branch_slug": naming.location_slug(branch),
        "head_sha": head_sha,
        "head_short_sha": head_sha[:8],
        "head_short_sha_7": head_sha[:7],
    }


def expand(template: str, values: Mapping[str, str], what: str) -> str:
    def one(match: "re.Match[str]") -> str:
        key = match.group(1)
        if key not in values:
            raise errors.InputError(
                f"unknown placeholder {{{key}}} in the {what} parameter",
                f"use {', '.join('{' + k + '}' for k in values)}",
            )
        return values[key]

    return _PLACEHOLDER.sub(one, template)


def settings(env: Mapping[str, str]) -> Preview:
    """The PR's settings from ArgoCD's environment and the plugin parameters; every problem is one error."""
    given = argocd.parameters(env, PARAMS)
    params = {**{p.name: p.default for p in PARAMS}, **given}
    number, branch = str(params["number"]).strip(), str(params["branch"]).strip()
    if not number.isdigit() or int(number) == 0:
        raise errors.InputError(
            f"the number parameter must be the pull request number, got {number!r}",
            "set it to {{.number}} in the ApplicationSet template",
        )
    if not branch:
        raise errors.InputError("the branch parameter is empty", "set it to {{.branch}} in the ApplicationSet template")
    head = str(params["head-sha"] or env.get("ARGOCD_APP_REVISION") or "").strip().lower()
    if not _SHA.fullmatch(head):
        raise errors.InputError(
            f"the head commit {head!r} is not a commit SHA",
            "set the head-sha parameter to {{.head_sha}}, or targetRevision to it",
        )
    values = placeholders(number, branch, head)
    name = expand(str(params["name"]), values, "name")
    if not k8s.is_dns1035_label(name):
        raise errors.InputError(
            f"the location name {name!r} (from the name parameter {params['name']!r}) is not a "
            "DNS-1035 label (lowercase letters, digits and '-', starting with a letter, at most 63 "
            "characters)",
            "change the name parameter, e.g. pr-{number} or {branch_slug}",
        )
    image = expand(str(params["image"]), values, "image")
    if not image:
        raise errors.InputError("the image parameter is empty", "set it, e.g. ghcr.io/acme/etl:sha-{head_sha}")
    namespace = env.get("ARGOCD_APP_NAMESPACE") or ""
    if not namespace:
        raise errors.InputError(
            "ARGOCD_APP_NAMESPACE is not set", "set the Application's destination namespace to the Dagster namespace"
        )
    return Preview(
        int(number),
        branch,
        head,
        name,
        image,
        _port(params["port"]),
        str(params["location-file"]),
        "location-file" in given,
        _flag(params["check-registry"], "check-registry"),
        namespace,
        env.get("ARGOCD_APP_SOURCE_REPO_URL") or "",
        str(params["environment"]).strip() or None,
    )


def _port(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise errors.InputError(f"the port parameter must be a port from 1 to 65535, got {text!r}", "fix the parameter")
    return int(text)


def _flag(value: Any, name: str) -> bool:
    text = str(value).strip().lower()
    if text not in argocd.TRUE | argocd.FALSE:
        raise errors.InputError(f"{name} must be true or false, got {text!r}", "fix the plugin parameter")
    return text in argocd.TRUE


def from_file(data: Any, file: str) -> Dict[str, Any]:
    """The location a PR's file describes: a bare location, or a CodeLocations document holding one;
    refused when it sets what the plugin decides."""
    if data is None:
        return {}
    if locs.is_document(data):
        items = data.get("locations") if isinstance(data.get("locations"), list) else None
        if data.get("kind") != c.KIND or items is None or len(items) != 1 or not isinstance(items[0], dict):
            raise errors.InputError(
                f"{file} must hold one location (a mapping, or a {c.KIND} document with one entry under locations)",
                "keep one location in the file",
            )
        defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
        data = locs.deep_merge(defaults, items[0])
    if not isinstance(data, dict):
        raise errors.InputError(f"{file} does not hold a location mapping", "write the location's keys in it")
    refused = [key for key in DECIDED if key in data]
    image = data.get("image") if isinstance(data.get("image"), dict) else {}
    refused += [f"image.{key}" for key in DECIDED_IMAGE if key in image]
    if refused:
        raise errors.InputError(
            f"{file} sets {', '.join(refused)}, which the pull-request plugin decides "
            "(from the PR's number, branch and head commit and the ApplicationSet's parameters)",
            f"remove {', '.join(refused)} from {file}",
        )
    return data


def with_project(project: Dict[str, Any], base: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """The location file's keys over what the project config says about the code (both describe it), and
    the project config's keys the plugin decides, which it leaves out (the file would be refused)."""
    image = project.get("image") if isinstance(project.get("image"), dict) else {}
    left_out = [key for key in DECIDED if key in project] + [f"image.{k}" for k in DECIDED_IMAGE if k in image]
    replaced = DECIDED + (_SOURCE_KEYS if any(key in base for key in _SOURCES) else ())  # one code source: the file's
    kept = {key: value for key, value in project.items() if key not in replaced}
    if image:
        kept["image"] = {key: value for key, value in image.items() if key not in DECIDED_IMAGE}
    return locs.deep_merge(kept, base), left_out


def spec(preview: Preview, base: Dict[str, Any], source: str) -> Dict[str, Any]:
    """The registry entry: the file's keys, then what the plugin decides; validated as the render validates."""
    flags = flagedits.Flags(
        image=preview.image,
        branch=preview.branch,
        commit_hash=preview.head_sha,
        pull_request=preview.number,
        port=preview.port,
        git_url=preview.repo_url or None,
    )
    built = entries.named_first(flagedits.build_spec(preview.name, flags, _NO_TIME, base), preview.name)
    entries.validate(preview.name, built, source)
    return built


def owner(spec_: Dict[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """(repository URL, PR number) an entry records, as strings."""
    annotations = spec_.get("annotations") if isinstance(spec_.get("annotations"), dict) else {}
    number = spec_.get("pullRequest")
    return annotations.get(c.GIT_URL_ANNOTATION), (str(number) if number is not None else None)


def collision(preview: Preview, registered: Optional[entries.Entry], workspace_names: Iterable[str]) -> None:
    """Refuse a name someone else holds: a registry entry of another PR or writer, or a location the Dagster
    workspace serves that is not in the registry (the chart's values, or a locations file)."""
    fix = "set the plugin's name parameter to something unique, e.g. <repository>-pr-{number}"
    if registered is not None:
        url, number = owner(registered.spec)
        if (url, number) == (preview.repo_url or None, str(preview.number)):
            return  # our own registration, from an earlier commit of this PR
        who = f"PR #{number} of {url or 'an unknown repository'}" if number else "another writer (no pull request)"
        raise errors.ExistsError(f"location {preview.name!r} is already registered by {who} ({registered.source})", fix)
    if preview.name in set(workspace_names):
        raise errors.ExistsError(
            f"location {preview.name!r} is already served by the Dagster workspace in namespace "
            f"{preview.namespace} (the chart's values or a locations file)",
            fix,
        )


def workspace_names(configmaps: List[Dict[str, Any]]) -> List[str]:
    """Every location name the live workspace ConfigMap(s) of a namespace serve."""
    names: List[str] = []
    for item in configmaps:
        data = item.get("data") if isinstance(item.get("data"), dict) else {}
        text = data.get(c.WORKSPACE_KEY)
        if isinstance(text, str):
            chart, ours = workspace.split_entries(text)
            names += [workspace.entry_name(entry) for entry in chart + ours]
    return names
