"""Every problem of one location, as (key path, message): the one check that render and a registry write run,
applying the API server's own rules (base.k8s) to everything that ends up in an object."""

from __future__ import annotations

import datetime
from typing import Any, Iterable, Tuple

from ...base import constants, errors, k8s
from ..assets import assetdiff
from . import fields, schema


def check(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """Every problem of one location, as (key path, message)."""
    for key in sorted(set(spec) - schema.LOCATION_KEYS):
        yield (key,), f"unknown key {errors.excerpt(key)}"
    for key, allowed in schema.SUBKEYS.items():
        value = spec.get(key)
        if value is not None and not isinstance(value, dict):
            yield (key,), f"{key} must be a mapping"
        elif isinstance(value, dict):
            for sub in sorted(set(value) - allowed):
                yield (key, sub), f"unknown key {key}.{sub} (expected {', '.join(sorted(allowed))})"
    yield from _check_name(spec)
    yield from _check_image(spec.get("image"))
    yield from _check_source(spec)
    port = spec.get("port", constants.FIRST_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        yield ("port",), f"port must be an integer from 1 to 65535, got {errors.excerpt(port)}"
    yield from fields.check_env(spec)
    yield from fields.check_metadata(spec)
    yield from fields.check_resources(spec.get("resources"), ("resources",))
    yield from _check_containers(spec)
    for key in schema.MAPPING_KEYS:
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            yield (key,), f"{key} must be a mapping"
    for key in schema.LIST_KEYS:
        if spec.get(key) is not None and not isinstance(spec[key], list):
            yield (key,), f"{key} must be a list"
    if spec.get("includeInstance") is not None and not isinstance(spec["includeInstance"], bool):
        yield ("includeInstance",), "includeInstance must be true or false"
    yield from _check_expiry(spec)
    yield from _check_patches(spec.get("patches"))
    yield from _check_lifecycle(spec)
    for key in schema.BRANCH_KEYS:
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            yield (key,), f"{key} must be a string"
    yield from _check_base(spec)


def _check_base(spec: dict) -> Iterable[Tuple[tuple, str]]:
    base = spec.get("base")
    if base is not None and (not isinstance(base, str) or not base):
        yield ("base",), "base must be the name of a location"
    elif base is not None and base == schema.resolve_name(spec):
        yield ("base",), f"base {base!r} is the location itself; name the permanent location it derives from"
    if spec.get("baseSnapshot") is not None:
        yield from assetdiff.check_snapshot(spec["baseSnapshot"])


def _check_lifecycle(spec: dict) -> Iterable[Tuple[tuple, str]]:
    if spec.get("suspended") is not None and not isinstance(spec["suspended"], bool):
        yield ("suspended",), "suspended must be true or false"
    if spec.get("branchEnv") is not None and spec["branchEnv"] not in constants.BRANCH_ENV_MODES:
        yield (
            ("branchEnv",),
            (f"branchEnv must be one of {', '.join(constants.BRANCH_ENV_MODES)}, got {spec['branchEnv']!r}"),
        )
    yield from _check_automation(spec)


def _check_automation(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """``automation: on|off`` (strings, as YAML 1.2 reads them): only a branch location has it."""
    value = spec.get("automation")
    if value is None:
        return
    if value not in constants.AUTOMATION_MODES:
        yield ("automation",), f"automation must be on or off, got {errors.excerpt(str(value))}"
    elif spec.get("branch") is None:
        yield (
            ("automation",),
            "automation applies to branch locations only (a location without branch keeps Dagster's own "
            "default status); remove it or set branch",
        )


def _check_name(spec: dict) -> Iterable[Tuple[tuple, str]]:
    name = spec.get("name")
    if name is None and spec.get("branch") is None:
        yield (), "a location needs a name or a branch"
    elif name is not None and not k8s.is_dns1035_label(name):
        yield (
            ("name",),
            (
                f"name {errors.excerpt(name)} is not a DNS-1035 label (lowercase letters, digits and '-', "
                "starting with a letter, at most 63 characters): the chart names the Service after it"
            ),
        )
    elif name is None and not schema.resolve_name(spec):
        yield ("branch",), f"branch {errors.excerpt(spec['branch'])} leaves no usable name; set name"


def _check_image(image: Any) -> Iterable[Tuple[tuple, str]]:
    if not isinstance(image, dict) or not image.get("repository"):
        yield ("image",), "image.repository is required"
        return
    if not isinstance(image["repository"], str):
        yield ("image", "repository"), "image.repository must be a string"
    elif k8s.image_problem(image["repository"]):
        yield (
            ("image", "repository"),
            (f"image.repository {errors.excerpt(image['repository'])}: {k8s.image_problem(image['repository'])}"),
        )
    tag = image.get("tag")
    if tag not in (None, "") and (isinstance(tag, (bool, float)) or not isinstance(tag, (str, int))):
        yield (
            ("image", "tag"),
            (f'image.tag {errors.excerpt(tag)} is not a string after YAML parsing; quote it as written (tag: "1.10")'),
        )
    elif isinstance(tag, str) and tag and k8s.image_problem(tag):
        yield ("image", "tag"), f"image.tag {errors.excerpt(tag)}: {k8s.image_problem(tag)}"
    digest = image.get("digest")
    if digest is not None and (not isinstance(digest, str) or not schema.DIGEST.fullmatch(digest)):
        yield ("image", "digest"), f"image.digest must look like sha256:<64 hex digits>, got {errors.excerpt(digest)}"
    policy = image.get("pullPolicy")
    if policy is not None and policy not in schema.PULL_POLICIES:
        yield (
            ("image", "pullPolicy"),
            (f"image.pullPolicy must be one of {', '.join(schema.PULL_POLICIES)}, got {errors.excerpt(policy)}"),
        )


def _check_source(spec: dict) -> Iterable[Tuple[tuple, str]]:
    sources = [key for key in ("dagsterApiGrpcArgs", "codeServerArgs", *schema.SOURCE_SHORTCUTS) if spec.get(key)]
    if len(sources) > 1:
        yield (sources[1],), f"two code sources ({' and '.join(sources)}); keep one"
    elif not sources:
        yield (), "no code source: set one of pythonFile, moduleName, packageName, dagsterApiGrpcArgs, codeServerArgs"
    modifiers = [key for key in schema.SOURCE_MODIFIERS if spec.get(key) is not None]
    if modifiers and sources and sources[0] not in schema.SOURCE_SHORTCUTS:
        yield (
            (modifiers[0],),
            f"{modifiers[0]} only goes with pythonFile, moduleName or packageName; put it in {sources[0]}",
        )
    for key in ("dagsterApiGrpcArgs", "codeServerArgs"):
        args = spec.get(key)
        if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
            yield (key,), f"{key} must be a list of strings"
    for key in (*schema.SOURCE_SHORTCUTS, *schema.SOURCE_MODIFIERS):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            yield (key,), f"{key} must be a string"


def _check_containers(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """initContainers and sidecarContainers: each a container the API server accepts, names unique
    in the pod (the chart's own container is named ``dagster-user-deployments``)."""
    names = {constants.CONTAINER_NAME}
    for key in ("sidecarContainers", "initContainers"):
        items = spec.get(key)
        if not isinstance(items, list):
            continue
        for position, item in enumerate(items):
            path = (key, position)
            if not isinstance(item, dict):
                yield path, f"each {key} item must be a mapping (a Kubernetes container)"
                continue
            name = item.get("name")
            if not k8s.is_dns1123_label(name):
                yield (
                    path + ("name",),
                    (
                        f"{key} name {errors.excerpt(name)} is not a DNS label (lowercase letters, "
                        "digits and '-', at most 63)"
                    ),
                )
            elif name in names:
                yield path + ("name",), f"{key} name {errors.excerpt(name)} is used by another container of the pod"
            names.add(name)
            yield from _check_container_image(item.get("image"), path + ("image",), key)
            if item.get("env") is not None and not isinstance(item["env"], list):
                yield path + ("env",), f"{key} env must be a list of {{name, value}}"
            elif item.get("env") is not None:
                yield from fields.check_env_list(item["env"], path + ("env",))
            for sub in ("envFrom", "volumeMounts", "ports", "command", "args"):
                if item.get(sub) is not None and not isinstance(item[sub], list):
                    yield path + (sub,), f"{key} {sub} must be a list"
            if item.get("resources") is not None and not isinstance(item["resources"], dict):
                yield path + ("resources",), f"{key} resources must be a mapping"
            yield from fields.check_resources(item.get("resources"), path + ("resources",))


def _check_container_image(image: Any, path: tuple, key: str) -> Iterable[Tuple[tuple, str]]:
    """A string, or (chart 1.12 and later) ``{repository, tag}``."""
    if isinstance(image, dict):
        repository, tag = image.get("repository"), image.get("tag")
        problem = k8s.image_problem(repository) or (k8s.image_problem(str(tag)) if tag not in (None, "") else None)
    else:
        problem = k8s.image_problem(image)
    if problem:
        yield path, f"{key} image {errors.excerpt(image)}: {problem}"


def _check_expiry(spec: dict) -> Iterable[Tuple[tuple, str]]:
    value = spec.get("expiresAt")
    if value is None or isinstance(value, datetime.datetime):
        return
    if not isinstance(value, str) or schema.parse_time(value) is None:
        yield (
            ("expiresAt",),
            (f"expiresAt must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got {errors.excerpt(value)}"),
        )


def _check_patches(patches: Any) -> Iterable[Tuple[tuple, str]]:
    if patches is None:
        return
    if not isinstance(patches, list):
        yield ("patches",), "patches must be a list of {kind, patch}"
        return
    for position, item in enumerate(patches):
        if not isinstance(item, dict) or set(item) - {"kind", "patch"}:
            yield ("patches", position), "each patch needs exactly kind and patch"
        elif item.get("kind") not in schema.PATCH_KINDS:
            yield (
                ("patches", position, "kind"),
                (f"patch kind must be one of {', '.join(schema.PATCH_KINDS)}, got {errors.excerpt(item.get('kind'))}"),
            )
        elif not isinstance(item.get("patch"), list) or not all(
            isinstance(op, dict) and "op" in op for op in item["patch"]
        ):
            yield ("patches", position, "patch"), "patch must be a list of RFC 6902 operations ({op, path, value})"
