"""``deploy``: from a merged project config and a git context to one registry entry, and the edits
that write it (as ``add-location --replace`` would), close it, and suspend or resume it.

The name is the branch's slug as ``add-location --branch`` derives it, after an optional project
prefix (``etl--feat-x``, the separator dagster-uc uses; the UI shows the location by this name) and
before an optional suffix (``feat-x-nightly``). It stays a DNS-1035 label: a long branch is cut and
hashed as everywhere else. Pure.
"""

from __future__ import annotations

import datetime
import re
import string
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from ...base import constants as c
from ...base import errors, k8s, naming
from ..registry import entries, flagedits
from ..spec import schema
from . import gitctx, projectconfig

TEMPLATE_FIELDS = ("branch", "commit", "short_commit", "pr", "name", "project")
SHORT_COMMIT = 7
MIN_BRANCH_PART = 12  # room the prefix and suffix must leave for the branch itself
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


class Target(NamedTuple):
    """Which location a deploy, close, suspend or resume is about."""

    name: str
    branch: Optional[str]  # None: addressed by an explicit name only


def _part(text: str) -> str:
    return _NOT_ALNUM.sub("-", text.lower()).strip("-")


def project_prefix(merged: projectconfig.Merged, pyproject: Optional[Dict[str, Any]]) -> Optional[str]:
    """``project``, else ``[project].name`` of pyproject.toml when ``useProjectName`` is true; None: no prefix."""
    project = merged.get("project")
    if project is None and merged.get("useProjectName"):
        project = ((pyproject or {}).get("project") or {}).get("name")
        if not project:
            raise errors.InputError(
                "useProjectName is true but no pyproject.toml with [project] name was found",
                "set project: NAME in the project config, or run from the project's directory",
            )
    if project in (None, ""):
        return None
    prefix = naming.location_slug(str(project))
    if not prefix:
        raise errors.InputError(f"project {project!r} leaves no usable name prefix", "use letters and digits")
    return prefix


def location_name(branch: str, prefix: Optional[str], suffix: Optional[str]) -> str:
    """``[prefix--]branch-slug[-suffix]``, at most 63 characters, a DNS-1035 label."""
    head = prefix + c.PROJECT_SEPARATOR if prefix else ""
    tail = "-" + _part(suffix) if suffix and _part(suffix) else ""
    if suffix and not tail:
        raise errors.InputError(f"--suffix {suffix!r} has no letters or digits", "pass a suffix such as nightly or 2")
    room = naming.MAX_NAME - len(head) - len(tail)
    if room < MIN_BRANCH_PART:
        raise errors.InputError(
            f"the project prefix {head!r} and suffix {tail!r} leave {max(room, 0)} characters for the branch",
            "shorten the project name or the suffix",
        )
    slug = naming.location_slug(branch, room)
    if not slug:
        raise errors.InputError(
            f"branch {branch!r} leaves no usable location name",
            "pass --name NAME, or deploy from a branch whose name has letters or digits",
        )
    name = head + slug + tail
    if not k8s.is_dns1035_label(name):
        raise errors.InputError(f"name {name!r} is not a DNS-1035 label", "pass --name NAME")
    return name


def explicit_name(name: str) -> str:
    """A name given on the command line; ``project:branch`` (how dagster-uc shows names) means ``project--branch``."""
    resolved = name.replace(":", c.PROJECT_SEPARATOR)
    return entries.entry_name(resolved, None)


def template_fields(context: gitctx.Context, name: str, prefix: Optional[str]) -> Dict[str, Optional[str]]:
    commit = context.commit
    return {
        "branch": context.branch,
        "commit": commit,
        "short_commit": commit[:SHORT_COMMIT] if commit else None,
        "pr": str(context.pull_request) if context.pull_request is not None else None,
        "name": name,
        "project": prefix,
    }


def expand(template: str, fields: Dict[str, Optional[str]], key: str) -> str:
    """``ghcr.io/acme/etl:sha-{commit}`` with the fields filled in; an unknown or unset field is one error."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise errors.InputError(
            f"{key} {template!r} is not a valid template: {exc}",
            "write fields as {commit}; double a literal brace ({{)",
        ) from exc
    out = []
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS or conversion:
            raise errors.InputError(
                f"{key} {template!r} uses {{{field}}}", f"use only {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}"
            )
        value = fields.get(field)
        if value is None:
            raise errors.InputError(
                f"{key} {template!r} needs {{{field}}}, which is not known here",
                f"pass --{'pull-request' if field == 'pr' else 'commit'} (or run in CI)"
                if field in ("commit", "short_commit", "pr")
                else "pass --branch",
            )
        out.append(format(value, spec or ""))
    return "".join(out)


def image_ref(merged: projectconfig.Merged, flag_image: Optional[str], fields: Dict[str, Optional[str]]) -> str:
    """``--image`` as given, else the config's repository and tag templates, expanded."""
    if flag_image:
        return flag_image
    repository = merged.get("image", "repository")
    if not repository:
        where = merged.file or "a .kubectl-dagster.yaml (none found here or in a parent directory)"
        raise errors.InputError(
            "no image for the location", f"pass --image REPOSITORY:TAG or set image.repository in {where}"
        )
    ref = expand(repository, fields, "image.repository")
    tag = merged.get("image", "tag")
    return f"{ref}:{expand(tag, fields, 'image.tag')}" if tag else ref


def flags_for(
    merged: projectconfig.Merged, context: gitctx.Context, image: str, extra_env: List[str]
) -> flagedits.Flags:
    """The add-location flags this deploy amounts to."""
    source = merged.get("codeSource") or {}
    return flagedits.Flags(
        image=image,
        pull_policy=merged.get("image", "pullPolicy"),
        branch=context.branch,
        python_file=source.get("pythonFile"),
        module_name=source.get("moduleName"),
        package_name=source.get("packageName"),
        working_directory=source.get("workingDirectory"),
        attribute=source.get("attribute"),
        commit_hash=context.commit,
        git_url=context.repository_url,
        env=list(extra_env),
        env_secrets=list(merged.get("envSecrets") or []),
        env_config_maps=list(merged.get("envConfigMaps") or []),
        pull_request=context.pull_request,
        ttl=merged.get("ttl"),
        base=merged.get("base"),
    )


def base_spec(merged: projectconfig.Merged) -> Dict[str, Any]:
    """What the config adds beyond the flags: ``location`` keys, resources, env (a mapping), branchEnv, automation."""
    spec: Dict[str, Any] = dict(merged.get("location") or {})
    if merged.get("resources"):
        spec["resources"] = merged.get("resources")
    if merged.get("env"):
        spec["env"] = {
            str(k): "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in merged.get("env").items()
        }
    mode = merged.get("branchEnv")
    if mode and mode != "default":
        spec["branchEnv"] = mode
    if merged.get("automation") == "on":  # off is what a branch location has anyway
        spec["automation"] = "on"
    return spec


def location_keys(merged: projectconfig.Merged) -> Dict[str, Any]:
    """What the project config says about the code, as location keys: :func:`base_spec`, the code source,
    env Secrets and ConfigMaps, the pull policy, the base (for the PR plugin, which decides the rest)."""
    spec = base_spec(merged)
    spec.update(merged.get("codeSource") or {})
    for key in ("envSecrets", "envConfigMaps"):
        if merged.get(key):
            spec[key] = list(merged.get(key))
    if merged.get("image", "pullPolicy"):
        spec["image"] = {"pullPolicy": merged.get("image", "pullPolicy")}
    if merged.get("base"):
        spec["base"] = merged.get("base")
    return spec


def build(target: Target, flags: flagedits.Flags, base: Dict[str, Any], now: datetime.datetime) -> Dict[str, Any]:
    """The entry to write: ``name`` only when it is not what the branch alone derives."""
    explicit = None if naming.location_slug(flags.branch or "") == target.name else target.name
    spec = flagedits.build_spec(explicit, flags, now, base)
    if not schema.code_args(spec)[1]:
        raise errors.InputError(
            "no code source for the location (none in the project config, pyproject.toml's [tool.dagster] or "
            "[tool.dg.project], or dagster_cloud.yaml)",
            "pass -f/--python-file, -m/--module-name or -p/--package-name, or set codeSource in .kubectl-dagster.yaml",
        )
    return entries.named_first(spec, target.name)


# -- edits ---------------------------------------------------------------------------------------
def _check_owner(snap: entries.Snapshot, target: Target) -> None:
    """The existing entry must be this branch's: a permanent location or another branch's is never taken over."""
    old = snap.old
    if old is None or target.branch is None:
        return
    theirs = old.resolved.get("branch")
    if theirs is not None and str(theirs) == target.branch:
        return
    owner = f"branch {theirs!r}" if theirs is not None else "a permanent location (no branch)"
    raise errors.ExistsError(
        f"location {target.name!r} already exists for {owner} ({old.source})",
        "pass --suffix to deploy beside it, or --name NAME",
    )


def _check_cap(snap: entries.Snapshot, target: Target, cap: Optional[int]) -> None:
    if cap is None or snap.old is not None:
        return
    branches = sorted(e.name for e in snap.current if e.resolved.get("branch") is not None and e.name != target.name)
    if len(branches) >= cap:
        raise errors.RegistryError(
            f"the registry already holds {len(branches)} branch locations, the most maxBranchLocations ({cap}) allows",
            "tear one down (kubectl dagster teardown NAME, or gc), or raise maxBranchLocations",
        )


def deploying(target: Target, build_spec: Callable[[], Dict[str, Any]], reserved, cap: Optional[int]) -> entries.Edit:
    """add-location --replace, for this branch only, within the cap, keeping the port it already has
    (a redeploy on every push must not move the Service to another port)."""

    def edit(snap: entries.Snapshot) -> Optional[Dict[str, Any]]:
        _check_owner(snap, target)
        _check_cap(snap, target, cap)
        old_port = snap.old.spec.get("port") if snap.old is not None else None

        def build_with_port() -> Dict[str, Any]:
            spec = build_spec()
            return spec if old_port is None or "port" in spec else {**spec, "port": old_port}

        return entries.adding(target.name, build_with_port, True, reserved)(snap)

    return edit


def closing(target: Target) -> entries.Edit:
    """Remove the branch's location; absent is fine (idempotent); another owner's is refused."""

    def edit(snap: entries.Snapshot) -> Optional[Dict[str, Any]]:
        _check_owner(snap, target)
        return None

    return edit


def suspending(name: str, suspend: bool) -> entries.Edit:
    """``suspended: true`` (or its removal); everything else, the TTL included, stays."""

    def edit(snap: entries.Snapshot) -> Optional[Dict[str, Any]]:
        if snap.old is None:
            raise errors.RegistryError(
                f"location {name!r} not found in {snap.where}", "check the name with list-locations"
            )
        spec = dict(snap.old.spec)
        if suspend:
            spec["suspended"] = True
        else:
            spec.pop("suspended", None)
        return spec

    return edit
