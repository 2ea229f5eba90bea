"""The code server's container and pod spec, as the chart builds them from one deployments[] item: image, args,
env, mounts, probes, the release-wide volumes, and the container context that launched runs inherit."""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Tuple

from ...base import constants as c
from . import gojson, releasebase

RUN_ANNOTATIONS_SINCE = (1, 7)  # annotations copied to launched runs: dagster PR #20275 (docs/chart-keys.md)


PROBE_TIMINGS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold")


def image_ref(image: Dict[str, Any], base: releasebase.Base) -> str:
    """The chart's ``dagster.dagsterImage.name``: ``repository@digest`` when a digest is given (chart 1.12+),
    else ``repository:tag``, the tag defaulting to the chart version."""
    if image.get("digest"):
        return f"{image['repository']}@{image['digest']}"
    tag = image.get("tag")
    if tag in (None, ""):
        tag = base.chart_version
    elif isinstance(tag, (int, float)) and not isinstance(tag, bool):
        tag = gojson.go_number(float(tag))  # the chart prints a numeric tag through toYaml: 1.10 becomes 1.1
    return f"{image['repository']}:{tag}"


def _init_containers(item: Dict[str, Any], base: releasebase.Base) -> List[Dict[str, Any]]:
    """Init containers with an image given as ``{repository, tag, digest, pullPolicy}`` turned into the
    string Kubernetes takes (chart 1.12+ does this; older charts would pass the map on to the API server,
    which refuses it, so it is converted for every version)."""
    out = []
    for container in item.get("initContainers") or []:
        container = copy.deepcopy(container)
        image = container.get("image") if isinstance(container, dict) else None
        if isinstance(image, dict):
            container["image"] = image_ref(image, base)
            if image.get("pullPolicy") and "imagePullPolicy" not in container:
                container["imagePullPolicy"] = image["pullPolicy"]
        out.append(container)
    return out


def pod_spec(item, base, instance=None) -> Dict[str, Any]:
    pod: Dict[str, Any] = {}
    if base.image_pull_secrets:
        pod["imagePullSecrets"] = copy.deepcopy(base.image_pull_secrets)
    pod["serviceAccountName"] = base.service_account
    pod["automountServiceAccountToken"] = True
    _put(pod, "securityContext", item.get("podSecurityContext"))
    _put(pod, "initContainers", _init_containers(item, base))
    pod["containers"] = [_container(item, base, instance)] + copy.deepcopy(item.get("sidecarContainers") or [])
    for key in ("nodeSelector", "affinity", "tolerations"):
        _put(pod, key, item.get(key))
    volumes = copy.deepcopy(_release_volumes(base, instance)[0]) + copy.deepcopy(item.get("volumes") or [])
    _put(pod, "volumes", volumes)
    _put(pod, "schedulerName", item.get("schedulerName"))
    return pod


def _put(target: Dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, {}, [], ""):
        target[key] = copy.deepcopy(value)


def _container(item, base, instance=None) -> Dict[str, Any]:
    image = image_ref(item["image"], base)
    args_key, args = (
        ("dagsterApiGrpcArgs", item["dagsterApiGrpcArgs"])
        if "dagsterApiGrpcArgs" in item
        else ("codeServerArgs", item["codeServerArgs"])
    )
    command = ["dagster", "api", "grpc"] if args_key == "dagsterApiGrpcArgs" else ["dagster", "code-server", "start"]
    container: Dict[str, Any] = {"name": c.CONTAINER_NAME}
    _put(container, "securityContext", item.get("securityContext"))
    _put(container, "imagePullPolicy", (item.get("image") or {}).get("pullPolicy"))
    container["image"] = image
    container["args"] = command + ["-h", "0.0.0.0", "-p", str(item["port"])] + list(args)
    env = [{"name": "DAGSTER_CURRENT_IMAGE", "value": image}] + copy.deepcopy(base.release_env)
    if (item.get("includeConfigInLaunchedRuns") or {"enabled": True}).get("enabled"):
        variable = c.GRPC_CONTEXT_ENV if args_key == "dagsterApiGrpcArgs" else c.CODE_SERVER_CONTEXT_ENV
        env.append(
            {
                "name": variable,
                "value": json.dumps(container_context(item, base), sort_keys=True, separators=(",", ":")),
            }
        )
    if isinstance(item.get("env"), list):
        env += copy.deepcopy(item["env"])
    container["env"] = env
    env_from = [
        {"configMapRef": {"name": base.shared_env}},
        {"configMapRef": {"name": f"{base.fullname}-{item['name']}-user-env"}},
    ]
    env_from += [{"configMapRef": copy.deepcopy(ref)} for ref in item.get("envConfigMaps") or []]
    env_from += [{"secretRef": copy.deepcopy(ref)} for ref in item.get("envSecrets") or []]
    container["envFrom"] = env_from + copy.deepcopy(base.trailing_env_from)
    _put(container, "resources", item.get("resources"))
    for probe, value in _probes(item).items():
        container[probe] = value
    mounts = copy.deepcopy(_release_volumes(base, instance)[1]) + copy.deepcopy(item.get("volumeMounts") or [])
    _put(container, "volumeMounts", mounts)
    return container


def _release_volumes(base, wanted) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The instance ConfigMap volume and mount: as the release's own code servers have them, unless the
    location's ``includeInstance`` says otherwise (then the one the webserver mounts, or none)."""
    if wanted is None:
        return list(base.volumes), list(base.volume_mounts)
    if not wanted:
        return [], []
    if base.volumes and base.volume_mounts:
        return list(base.volumes), list(base.volume_mounts)
    if base.instance_volume is None or base.instance_mount is None:
        return [], []
    return [base.instance_volume], [base.instance_mount]


def _health(port: Any) -> Dict[str, Any]:
    return {"exec": {"command": ["dagster", "api", "grpc-health-check", "-p", str(port)]}}


def _probes(item) -> Dict[str, Any]:
    """The chart's probe rules: a default readiness probe, timings copied onto the health-check exec."""
    out: Dict[str, Any] = {}
    readiness = item.get("readinessProbe")
    if not readiness:
        out["readinessProbe"] = {
            **_health(item["port"]),
            "periodSeconds": 20,
            "timeoutSeconds": 10,
            "successThreshold": 1,
            "failureThreshold": 15,
        }
    elif readiness.get("enabled") is not False:
        out["readinessProbe"] = _probe(readiness, item["port"])
    liveness = item.get("livenessProbe")
    if liveness:
        out["livenessProbe"] = _probe(liveness, item["port"])
    startup = item.get("startupProbe")
    if startup and startup.get("enabled"):
        probe = {k: copy.deepcopy(v) for k, v in startup.items() if k != "enabled"}
        out["startupProbe"] = probe if "exec" in probe else {**probe, **_health(item["port"])}
    return out


def _probe(probe: Dict[str, Any], port: Any) -> Dict[str, Any]:
    if probe.get("exec"):
        return {k: copy.deepcopy(v) for k, v in probe.items() if k != "enabled"}
    return {**_health(port), **{k: probe[k] for k in PROBE_TIMINGS if k in probe}}


def container_context(item, base) -> Dict[str, Any]:
    """``{"k8s": …}`` as the chart's k8sContainerContext helper builds it, release-wide keys from ``base``."""
    k8s: Dict[str, Any] = copy.deepcopy(base.context)
    k8s["image_pull_policy"] = (item.get("image") or {}).get("pullPolicy")
    k8s["env_config_maps"] = [f"{base.fullname}-{item['name']}-user-env"] + [
        ref["name"] for ref in item.get("envConfigMaps") or [] if "name" in ref
    ]
    secrets = [ref["name"] for ref in item.get("envSecrets") or [] if "name" in ref]
    if secrets:
        k8s["env_secrets"] = secrets
    for key, target in (
        ("volumeMounts", "volume_mounts"),
        ("volumes", "volumes"),
        ("labels", "labels"),
        ("resources", "resources"),
        ("schedulerName", "scheduler_name"),
    ):
        if item.get(key):
            k8s[target] = copy.deepcopy(item[key])
    if isinstance(item.get("env"), list) and item["env"]:
        k8s["env"] = copy.deepcopy(item["env"])
    run_config: Dict[str, Any] = copy.deepcopy(k8s.get("run_k8s_config") or {})
    pod_config: Dict[str, Any] = run_config.get("pod_spec_config") or {}
    if item.get("sidecarContainers"):
        pod_config["containers"] = copy.deepcopy(item["sidecarContainers"])
    if item.get("initContainers"):
        pod_config["init_containers"] = _init_containers(item, base)
    if pod_config:
        run_config["pod_spec_config"] = pod_config
    if item.get("annotations") and base.version_at_least(*RUN_ANNOTATIONS_SINCE):
        run_config["pod_template_spec_metadata"] = {"annotations": copy.deepcopy(item["annotations"])}
    if run_config:
        k8s["run_k8s_config"] = run_config
    return {"k8s": k8s}
