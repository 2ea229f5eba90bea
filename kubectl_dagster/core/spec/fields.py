"""Checks of a location's free-form fields: env and its sources, labels and annotations, and resources, with the
API server's own rules, so that what passes renders into objects the API server accepts."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple

from ...base import constants, errors, k8s
from . import schema


def check_env(spec: dict) -> Iterable[Tuple[tuple, str]]:
    env = spec.get("env")
    if isinstance(env, list):
        yield from check_env_list(env, ("env",))
    elif isinstance(env, dict):
        for name, value in env.items():  # the chart quotes these into the env ConfigMap: a decimal integer is fine
            yield from _check_env_name(name, ("env", name))
            if not isinstance(value, str) and type(value) is not int:
                yield (
                    ("env", name),
                    (
                        f"env {errors.excerpt(name)}: {errors.excerpt(value)} is not a string after "
                        "YAML parsing; quote the value as written"
                    ),
                )
    elif env is not None:
        yield ("env",), "env must be a list of {name, value} or a mapping of names to values"
    for key in ("envConfigMaps", "envSecrets"):
        value = spec.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            yield (key,), f"{key} must be a list"
            continue
        for position, item in enumerate(value):
            yield from _check_env_source(key, item, (key, position))


def _check_env_name(name: Any, path: tuple) -> Iterable[Tuple[tuple, str]]:
    problem = k8s.env_name_problem(name)
    if problem:
        yield path, f"env var name {errors.excerpt(name)} is refused by Kubernetes: {problem}"


def check_env_list(env: list, path: tuple) -> Iterable[Tuple[tuple, str]]:
    """A container's env: ``[{name, value}]`` or ``[{name, valueFrom}]``, values strings."""
    for position, item in enumerate(env):
        here = path + (position,)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            yield here, "each env item needs a name (as in a container's env)"
            continue
        yield from _check_env_name(item["name"], here + ("name",))
        for key in sorted(set(item) - schema.ENV_ITEM_KEYS, key=str):
            yield (
                here + (key,),
                (
                    f"unknown key {errors.excerpt(key)} in env item {errors.excerpt(item['name'])} "
                    "(expected name, value, valueFrom)"
                ),
            )
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            yield (
                here + ("value",),
                (
                    f"env {errors.excerpt(item['name'])}: {errors.excerpt(value)} is not a string "
                    "after YAML parsing (the API server refuses it); quote the value as written"
                ),
            )
        if item.get("valueFrom") is not None and (not isinstance(item["valueFrom"], dict) or value not in (None, "")):
            yield (
                here + ("valueFrom",),
                (f"env {errors.excerpt(item['name'])}: valueFrom must be a mapping, and without a value"),
            )


def _check_env_source(key: str, item: Any, path: tuple) -> Iterable[Tuple[tuple, str]]:
    """One envConfigMaps/envSecrets item: a name (a DNS subdomain, as the object's name is) or
    ``{name, optional}``."""
    name = item.get("name") if isinstance(item, dict) else item
    if not isinstance(name, str):
        yield path, f"each {key} item needs a name"
    elif not k8s.is_dns1123_subdomain(name):
        yield (
            path,
            (
                f"{key} name {errors.excerpt(name)} is not a DNS subdomain (lowercase letters, digits, "
                "'-' and '.'), so no such object can exist"
            ),
        )
    if isinstance(item, dict):
        for extra in sorted(set(item) - {"name", "optional"}, key=str):
            yield path + (extra,), f"unknown key {errors.excerpt(extra)} in a {key} item (expected name, optional)"
        if not isinstance(item.get("optional", False), bool):
            yield path + ("optional",), f"{key} optional must be true or false"


def check_metadata(spec: dict) -> Iterable[Tuple[tuple, str]]:
    """labels (on the Deployment and its pods), annotations, service.annotations, nodeSelector."""
    labels = spec.get("labels")
    yield from _check_strings(labels, ("labels",), "label", k8s.is_label_key, k8s.is_label_value)
    for key in sorted(set(labels) & set(constants.SELECTOR_LABELS), key=str) if isinstance(labels, dict) else ():
        yield (
            ("labels", key),
            (
                f"label {errors.excerpt(key)} is a label the chart selects pods by: it would replace "
                "the selector's value and the Deployment would not select its pods; rename it"
            ),
        )
    yield from _check_strings(
        spec.get("nodeSelector"), ("nodeSelector",), "nodeSelector", k8s.is_label_key, k8s.is_label_value
    )
    service = spec.get("service") if isinstance(spec.get("service"), dict) else {}
    for path, value in (
        (("annotations",), spec.get("annotations")),
        (("service", "annotations"), service.get("annotations")),
    ):
        yield from _check_strings(value, path, "annotation", k8s.is_annotation_key, None)
        if isinstance(value, dict) and k8s.annotations_size(value) > k8s.ANNOTATIONS_TOTAL_MAX:
            yield path, f"{'.'.join(path)} exceed the API server's total of {k8s.ANNOTATIONS_TOTAL_MAX} bytes"


def _check_strings(value: Any, path: tuple, what: str, key_ok, value_ok) -> Iterable[Tuple[tuple, str]]:
    if value is None:
        return
    if not isinstance(value, dict):
        yield path, f"{'.'.join(path)} must be a mapping"
        return
    for key, item in value.items():
        problem = _string_problem(key, item, what, key_ok, value_ok)
        if problem:
            yield path + (key,), problem


def _string_problem(key: Any, item: Any, what: str, key_ok, value_ok) -> Optional[str]:
    if not key_ok(key):
        return (
            f"{what} key {errors.excerpt(key)} is refused by Kubernetes: "
            "[prefix/]name, name at most 63 letters, digits, '-', '_', '.'"
        )
    if not isinstance(item, str):
        return f"{what} {key}: {errors.excerpt(item)} is not a string after YAML parsing; quote the value as written"
    if value_ok is not None and not value_ok(item):
        return (
            f"{what} {key}: {errors.excerpt(item)} is refused by Kubernetes: at most 63 "
            "letters, digits, '-', '_', '.', starting and ending with a letter or digit"
        )
    return None


def check_resources(value: Any, path: tuple) -> Iterable[Tuple[tuple, str]]:
    """requests and limits: resource names and quantities the API server takes; requests <= limits."""
    if not isinstance(value, dict):
        return  # not a mapping: reported with the other mapping keys
    for key in sorted(set(value) - {"requests", "limits", "claims"}, key=str):
        yield path + (key,), f"unknown key {errors.excerpt(key)} in resources (expected requests, limits)"
    amounts: Dict[str, Dict[str, Any]] = {}
    for kind in ("requests", "limits"):
        items = value.get(kind)
        if items is not None and not isinstance(items, dict):
            yield path + (kind,), f"resources.{kind} must be a mapping"
        elif items is not None:
            yield from _check_amounts(items, kind, path, amounts.setdefault(kind, {}))
    for name, request in (amounts.get("requests") or {}).items():
        limit = (amounts.get("limits") or {}).get(name)
        if limit is not None and request > limit:
            yield path + ("requests", name), f"resources.requests.{name} is more than resources.limits.{name}"


def _check_amounts(items: Dict[Any, Any], kind: str, path: tuple, out: Dict[str, Any]) -> Iterable[Tuple[tuple, str]]:
    """Each resource name and quantity of ``resources.<kind>``; the valid ones go into ``out``."""
    for name, amount in items.items():
        where = path + (kind, name)
        problem = k8s.resource_name_problem(name)
        quantity = k8s.parse_quantity(amount)
        if problem:
            yield where, f"resource {errors.excerpt(name)}: {problem}"
        elif quantity is None:
            yield (
                where,
                f"resources.{kind}.{name} {errors.excerpt(amount)} is not a Kubernetes quantity "
                "(such as 500m, 1.5, 512Mi, 2Gi, 1e3)",
            )
        elif quantity < 0:
            yield where, f"resources.{kind}.{name} must not be negative"
        else:
            out[name] = quantity
