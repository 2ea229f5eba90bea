"""What the chart would render for one location: Deployment, Service and env ConfigMap.

``Base`` holds the release-wide settings. When the stream has a user-code Deployment rendered by
the chart, they are read off it (service account, image pull secrets, shared env ConfigMap,
DAGSTER_PG_PASSWORD, celery secret, instance mounts, the release-wide part of the container
context), so they carry over exactly; otherwise they follow the chart's defaults.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Tuple

from ...base import constants as c
from ...base import errors
from ..spec import locations, schema
from . import branchenv, containers, gojson, releasebase

DIGEST_SINCE = (1, 12)  # image.digest: dagster PR #32570, in the 1.12 charts


def shared_env_configmap(base: releasebase.Base) -> Dict[str, Any]:
    """The shared env ConfigMap the user-code chart would render (created only when none exists)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": base.shared_env, "labels": {**_old_labels(base), c.LOCATION_LABEL: "shared.env"}},
        "data": {
            "DAGSTER_HOME": c.DEFAULT_DAGSTER_HOME,
            "DAGSTER_K8S_PIPELINE_RUN_NAMESPACE": base.namespace,
            "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP": f"{base.fullname}-pipeline-env",
        },
    }


def _old_labels(base: releasebase.Base) -> Dict[str, str]:
    return {
        c.LABEL_APP: base.app_name,
        c.LABEL_CHART_SHORT: base.chart_label,
        c.LABEL_RELEASE: base.release,
        c.LABEL_HERITAGE: "Helm",
    }


def _selector(base: releasebase.Base, name: str) -> Dict[str, str]:
    return {
        c.LABEL_NAME: base.app_name,
        c.LABEL_INSTANCE: base.release,
        c.LABEL_COMPONENT: c.USER_COMPONENT,
        c.LABEL_DEPLOYMENT: name,
    }


def _new_labels(base: releasebase.Base, name: str) -> Dict[str, str]:
    return {
        c.LABEL_CHART: base.chart_label,
        c.LABEL_NAME: base.app_name,
        c.LABEL_INSTANCE: base.release,
        c.LABEL_VERSION: base.app_version,
        c.LABEL_MANAGED_BY: "Helm",
        c.LABEL_COMPONENT: c.USER_COMPONENT,
        c.LABEL_DEPLOYMENT: name,
    }


def _location_annotations(location: locations.Location) -> Dict[str, str]:
    spec, out = location.spec, {}
    for key, annotation in (
        ("branch", c.BRANCH_ANNOTATION),
        ("pullRequest", c.PULL_REQUEST_ANNOTATION),
        ("commit", c.COMMIT_ANNOTATION),
        ("base", c.BASE_ANNOTATION),
    ):
        if spec.get(key) is not None:
            out[annotation] = str(spec[key])
    if spec.get("expiresAt") is not None:
        out[c.EXPIRES_ANNOTATION] = schema.format_time(spec["expiresAt"])
    return out


def version_problems(location: locations.Location, base: releasebase.Base) -> List[Tuple[tuple, str]]:
    """Keys this release's chart version would silently ignore, as (key path, message)."""
    image = location.spec.get("image") or {}
    if image.get("digest") and not base.version_at_least(*DIGEST_SINCE):
        since = ".".join(map(str, DIGEST_SINCE))
        return [
            (
                ("image", "digest"),
                f"image.digest needs chart {since} or later; chart {base.chart_version} ignores "
                f"it and would run {image['repository']}:{image.get('tag') or base.chart_version}"
                "; upgrade the chart or give image.tag",
            )
        ]
    return []


def build(location: locations.Location, base: releasebase.Base, source: str) -> List[Dict[str, Any]]:
    """[env ConfigMap, Service, Deployment] for one location, as plain data."""
    item = branchenv.with_env(locations.chart_item(location), location.name, location.spec)
    name = location.name
    ours = {c.LOCATION_LABEL: name}
    meta_extra = {c.HELM4_FILENAME_ANNOTATION: source, **_location_annotations(location)}
    instance = location.spec.get("includeInstance")
    built = [
        _env_configmap(item, base, ours, meta_extra),
        _service(item, base, ours, meta_extra),
        _deployment(item, base, ours, meta_extra, instance),
    ]
    return _suspended(built, location)


def _suspended(built: List[Dict[str, Any]], location: locations.Location) -> List[Dict[str, Any]]:
    """A suspended location keeps its objects, with no replicas (render also leaves it out of the workspace)."""
    if schema.is_suspended(location.spec):
        deployment = built[-1]
        deployment["spec"]["replicas"] = 0
        deployment["metadata"]["annotations"][c.SUSPENDED_ANNOTATION] = "true"
    return built


def _env_configmap(item, base, ours, meta_extra) -> Dict[str, Any]:
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{base.fullname}-{item['name']}-user-env",
            "labels": {**_old_labels(base), **ours},
            "annotations": dict(meta_extra),
        },
    }
    if isinstance(item.get("env"), dict) and item["env"]:
        doc["data"] = {str(k): "" if v is None else str(v) for k, v in item["env"].items()}
    return doc


def _service(item, base, ours, meta_extra) -> Dict[str, Any]:
    annotations = {
        **{str(k): str(v) for k, v in ((item.get("service") or {}).get("annotations") or {}).items()},
        **meta_extra,
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": item["name"],
            "labels": {**_new_labels(base, item["name"]), **ours},
            "annotations": annotations,
        },
        "spec": {
            "type": "ClusterIP",
            "ports": [{"port": item["port"], "protocol": "TCP", "name": "grpc"}],
            "selector": _selector(base, item["name"]),
        },
    }


def _deployment(item, base, ours, meta_extra, instance=None) -> Dict[str, Any]:
    name, user_labels = item["name"], {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
    labels = {**_new_labels(base, name), **(user_labels if base.version_at_least(1, 9, 11) else {}), **ours}
    pod_annotations = {
        c.USER_DEPLOYMENT_CHECKSUM: gojson.checksum(item),
        **{str(k): str(v) for k, v in (item.get("annotations") or {}).items()},
    }
    spec: Dict[str, Any] = {"replicas": 1}
    if item.get("deploymentStrategy") and base.version_at_least(1, 9, 11):
        spec["strategy"] = copy.deepcopy(item["deploymentStrategy"])
    spec["selector"] = {"matchLabels": _selector(base, name)}
    spec["template"] = {
        "metadata": {"labels": {**_selector(base, name), **user_labels}, "annotations": pod_annotations},
        "spec": containers.pod_spec(item, base, instance),
    }
    metadata = {
        "name": f"{base.fullname}-{name}",
        "labels": labels,
        "annotations": {**{str(k): str(v) for k, v in (item.get("annotations") or {}).items()}, **meta_extra},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def apply_patches(
    location: locations.Location, objects: List[Dict[str, Any]]
) -> Tuple[List[Dict[str, Any]], List[errors.Problem]]:
    """RFC 6902 patches from the location, each on its generated object of that kind, one operation at a time,
    so that an error names the operation that does not apply (and never quotes the object)."""
    problems: List[errors.Problem] = []
    if not location.spec.get("patches"):
        return objects, problems
    by_kind = {obj["kind"]: index for index, obj in enumerate(objects)}
    for position, entry in enumerate(location.spec.get("patches") or []):
        index = by_kind[entry["kind"]]
        patched, why = _patched(objects[index], entry["patch"])
        if why is None:
            objects[index] = patched
            continue
        problems.append(
            errors.Problem(
                location.file,
                None,
                location.name,
                f"patch {position} ({entry['kind']}) {why}",
                (location.doc,) + location.path + ("patches", position),
            )
        )
    return objects, problems


def _patched(obj: Dict[str, Any], operations: List[Dict[str, Any]]) -> Tuple[Dict[str, Any], Any]:
    """(the patched object, None), or (obj, what went wrong) at the first operation that does not apply."""
    import jsonpatch  # only locations with patches pay for the import

    for number, op in enumerate(operations):
        try:
            obj = jsonpatch.JsonPatch([op]).apply(obj)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError) as exc:
            where = f"{op.get('op')} {errors.excerpt(op.get('path'))}"
            return obj, f"operation {number} ({where}) does not apply: {_why(exc, jsonpatch)}"
    return obj, None


def _why(exc: Exception, jsonpatch) -> str:
    """jsonpatch's reason without the object it quotes (a pointer error prints the whole object it searched)."""
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        return "the test failed"  # its message quotes both values
    text = str(exc).split(" in {")[0].split(" in [")[0]
    if not text:
        return type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "..."
