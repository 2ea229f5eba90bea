"""What the chart would render for one location: Deployment, Service and env ConfigMap.

``Base`` holds the release-wide settings. When the stream has a user-code Deployment rendered by
the chart, they are read off it (service account, image pull secrets, shared env ConfigMap,
DAGSTER_PG_PASSWORD, celery secret, instance mounts, the release-wide part of the container
context), so they carry over exactly; otherwise they follow the chart's defaults.
"""

from __future__ import annotations

import copy
import decimal
import hashlib
import json
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .. import constants as c
from .. import errors
from . import branchenv, locations
from . import release as rel

RELEASE_ENV = ("DAGSTER_PG_PASSWORD",)
RELEASE_VOLUMES = ("dagster-instance",)
CONTEXT_RELEASE_KEYS = ("namespace", "service_account_name", "image_pull_secrets", "run_k8s_config")
DIGEST_SINCE = (1, 12)  # image.digest: dagster PR #32570, in the 1.12 charts
RUN_ANNOTATIONS_SINCE = (1, 7)  # annotations copied to launched runs: dagster PR #20275 (docs/chart-keys.md)
AUTOMOUNT_SINCE = (1, 7)  # run_k8s_config mounts the service account token: dagster PR #19716
PROBE_TIMINGS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold")


class Base(NamedTuple):
    """Release-wide settings every generated location shares (read, never modified)."""

    release: str
    fullname: str  # the user-code chart's fullname, prefix of Deployment and ConfigMap names
    chart_version: str
    app_version: str
    namespace: Optional[str]
    service_account: str
    image_pull_secrets: List[Any] = []
    release_env: List[Dict[str, Any]] = []
    shared_env: Optional[str] = None
    trailing_env_from: List[Dict[str, Any]] = []  # celery secret (optional)
    volumes: List[Dict[str, Any]] = []
    volume_mounts: List[Dict[str, Any]] = []
    context: Dict[str, Any] = {}  # release-wide keys of the container context (never modified)
    source_prefix: str = c.USER_CHART_NAME  # "<chart path>" for the filename annotation
    app_name: str = c.USER_CHART_NAME  # the chart's dagster.name: its name, or its nameOverride
    instance_volume: Optional[Dict[str, Any]] = None  # the system chart's instance ConfigMap volume and mount
    instance_mount: Optional[Dict[str, Any]] = None

    @property
    def chart_label(self) -> str:
        return f"{c.USER_CHART_NAME}-{self.chart_version}"

    def version_at_least(self, *wanted: int) -> bool:
        parts = []
        for piece in self.chart_version.split("."):
            digits = "".join(ch for ch in piece if ch.isdigit())
            parts.append(int(digits) if digits else 0)
        return tuple(parts[: len(wanted)]) >= wanted


def base_from(release: rel.Release, namespace: Optional[str]) -> Base:
    """The release-wide settings: read off a user-code Deployment the chart renders when there is one,
    else the chart's defaults completed with what the stream shows elsewhere."""
    version = release.chart_version or "0.0.0"
    fullname = rel.user_fullname(release)
    template = release.template()
    if template is not None:
        return _base_from_template(release, template, fullname, version, namespace)
    return _base_from_defaults(release, fullname, version, namespace)


def _pod(doc) -> Dict[str, Any]:
    return ((doc.data.get("spec") or {}).get("template") or {}).get("spec") or {}


def _instance(release: rel.Release) -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """The instance ConfigMap volume and its mount, as the webserver (or the daemon) has them."""
    for doc in (release.webserver, release.daemon):
        if doc is None:
            continue
        pod = _pod(doc)
        volume = next((v for v in pod.get("volumes") or [] if v.get("name") in RELEASE_VOLUMES), None)
        for container in pod.get("containers") or []:
            mount = next((m for m in container.get("volumeMounts") or [] if m.get("name") in RELEASE_VOLUMES), None)
            if volume is not None and mount is not None:
                return copy.deepcopy(volume), copy.deepcopy(mount)
    return None, None


def _base_from_template(release, template, fullname, version, namespace) -> Base:
    pod = _pod(template)
    container = (pod.get("containers") or [{}])[0]
    context = rel.context_env(container) or {}
    k8s = {k: copy.deepcopy(v) for k, v in (context.get("k8s") or {}).items() if k in CONTEXT_RELEASE_KEYS}
    run_config = k8s.get("run_k8s_config")
    if isinstance(run_config, dict):
        run_config.pop("pod_template_spec_metadata", None)  # that location's own annotations
        pod_config = run_config.get("pod_spec_config")
        if isinstance(pod_config, dict):
            for key in ("containers", "init_containers"):
                pod_config.pop(key, None)  # that location's own sidecars and init containers
    env_from = container.get("envFrom") or []
    shared = [e for e in env_from if str((e.get("configMapRef") or {}).get("name", "")).endswith(rel.SHARED_ENV_SUFFIX)]
    source = template.annotations().get(c.HELM4_FILENAME_ANNOTATION) or template.source or ""
    instance_volume, instance_mount = _instance(release)
    return Base(
        release=release.name,
        fullname=fullname,
        chart_version=version,
        app_version=str(template.labels().get(c.LABEL_VERSION, version)),
        namespace=namespace or k8s.get("namespace"),
        service_account=str(pod.get("serviceAccountName") or f"{fullname}-user-deployments"),
        image_pull_secrets=copy.deepcopy(pod.get("imagePullSecrets") or []),
        release_env=[copy.deepcopy(e) for e in container.get("env") or [] if e.get("name") in RELEASE_ENV],
        shared_env=shared[0]["configMapRef"]["name"] if shared else f"{fullname}{rel.SHARED_ENV_SUFFIX}",
        trailing_env_from=[copy.deepcopy(e) for e in env_from if (e.get("secretRef") or {}).get("optional") is True],
        volumes=[copy.deepcopy(v) for v in pod.get("volumes") or [] if v.get("name") in RELEASE_VOLUMES],
        volume_mounts=[
            copy.deepcopy(m) for m in container.get("volumeMounts") or [] if m.get("name") in RELEASE_VOLUMES
        ],
        context=k8s,
        source_prefix=_chart_path(source, c.USER_CHART_NAME),
        app_name=release.user.app_name,
        instance_volume=instance_volume,
        instance_mount=instance_mount,
    )


def _base_from_defaults(release, fullname, version, namespace) -> Base:
    """No user-code Deployment in the stream. The user-code chart may still be part of the release
    (``deployments: []``: its shared env ConfigMap, ServiceAccount, Role and RoleBinding show its names
    and labels), or the release is the system chart alone. Either way the chart's defaults apply,
    completed with what the webserver runs with: pull secrets and the PostgreSQL password secret."""
    pod = _pod(release.webserver) if release.webserver is not None else {}
    container = (pod.get("containers") or [{}])[0]
    ns = namespace or release.namespace_hint
    if ns is None:
        raise errors.InputError(
            "cannot tell the release namespace from the input (no user-code objects in it)",
            "pass --namespace NAMESPACE",
        )
    user = release.user
    account = user.service_account if user is not None else None
    if account is None:  # subchart: its default name; system chart alone: the account the webserver runs as
        account = f"{fullname}-user-deployments" if user is not None else pod.get("serviceAccountName")
    service_account = str(account or f"{fullname}-user-deployments")
    pull_secrets = copy.deepcopy(pod.get("imagePullSecrets") or [])
    context: Dict[str, Any] = {"namespace": ns, "service_account_name": service_account}
    if pull_secrets:
        context["image_pull_secrets"] = copy.deepcopy(pull_secrets)
    if _at_least(version, *AUTOMOUNT_SINCE):
        context["run_k8s_config"] = {"pod_spec_config": {"automount_service_account_token": True}}
    source = (
        _source_of(user.documents() if user is not None else [])
        or release.workspace.annotations().get(c.HELM4_FILENAME_ANNOTATION)
        or release.workspace.source
        or ""
    )
    shared = user.shared_env.name if user is not None and user.shared_env is not None else None
    instance_volume, instance_mount = _instance(release)
    return Base(
        release=release.name,
        fullname=fullname,
        chart_version=version,
        app_version=(user.label(c.LABEL_VERSION) if user is not None else None) or version,
        namespace=ns,
        service_account=service_account,
        image_pull_secrets=pull_secrets,
        release_env=[copy.deepcopy(e) for e in container.get("env") or [] if e.get("name") in RELEASE_ENV],
        shared_env=str(shared or f"{fullname}{rel.SHARED_ENV_SUFFIX}"),
        trailing_env_from=[{"secretRef": {"name": c.DEFAULT_CELERY_SECRET, "optional": True}}],
        context=context,
        source_prefix=_chart_path(source, "dagster"),
        app_name=user.app_name if user is not None else c.USER_CHART_NAME,
        instance_volume=instance_volume,
        instance_mount=instance_mount,
    )


def _source_of(docs) -> str:
    for doc in docs:
        source = doc.annotations().get(c.HELM4_FILENAME_ANNOTATION) or doc.source
        if source:
            return str(source)
    return ""


def _chart_path(source: str, default: str) -> str:
    """``dagster/charts/dagster-user-deployments`` from ``…/templates/<file>``: where our documents claim
    to come from."""
    return source.split("/templates/")[0] if "/templates/" in source else default


def _at_least(version: str, *wanted: int) -> bool:
    return Base("", "", version, version, None, "").version_at_least(*wanted)


def shared_env_configmap(base: Base) -> Dict[str, Any]:
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


def checksum(item: Dict[str, Any]) -> str:
    """sha256 of the chart's ``toJson`` of the item: Go's encoding/json of the values as Helm holds them."""
    return hashlib.sha256(go_json(item).encode("utf-8")).hexdigest()


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes Helm values: sorted keys, no spaces, ``<``, ``>``, ``&``, U+2028 and
    U+2029 escaped, and every number a float64 (Helm reads values through JSON), so ``1e3`` is ``1000``."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_string(str(k))}:{go_json(value[k])}" for k in sorted(value, key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return _go_number(float(value))
    return _go_string(value if isinstance(value, str) else str(value))


def _go_string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        out = out.replace(char, escaped)
    return out


def _go_number(number: float) -> str:
    """strconv.FormatFloat(f, 'f' or 'e', -1, 64) as encoding/json picks it: the shortest digits that
    read back as the same float, positional from 1e-6 to 1e21, else an exponent without a leading zero."""
    if number == 0:
        return "0"
    shortest = decimal.Decimal(repr(number)).normalize()
    if 1e-6 <= abs(number) < 1e21:
        return format(shortest, "f")
    mantissa, _, exponent = format(shortest, "e").partition("e")
    return f"{mantissa}e{'-' if exponent.startswith('-') else '+'}{int(exponent.lstrip('+-'))}"


def _old_labels(base: Base) -> Dict[str, str]:
    return {
        c.LABEL_APP: base.app_name,
        c.LABEL_CHART_SHORT: base.chart_label,
        c.LABEL_RELEASE: base.release,
        c.LABEL_HERITAGE: "Helm",
    }


def _selector(base: Base, name: str) -> Dict[str, str]:
    return {
        c.LABEL_NAME: base.app_name,
        c.LABEL_INSTANCE: base.release,
        c.LABEL_COMPONENT: c.USER_COMPONENT,
        c.LABEL_DEPLOYMENT: name,
    }


def _new_labels(base: Base, name: str) -> Dict[str, str]:
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
        out[c.EXPIRES_ANNOTATION] = locations.format_time(spec["expiresAt"])
    return out


def image_ref(image: Dict[str, Any], base: Base) -> str:
    """The chart's ``dagster.dagsterImage.name``: ``repository@digest`` when a digest is given (chart 1.12+),
    else ``repository:tag``, the tag defaulting to the chart version."""
    if image.get("digest"):
        return f"{image['repository']}@{image['digest']}"
    tag = image.get("tag")
    if tag in (None, ""):
        tag = base.chart_version
    elif isinstance(tag, (int, float)) and not isinstance(tag, bool):
        tag = _go_number(float(tag))  # the chart prints a numeric tag through toYaml: 1.10 becomes 1.1
    return f"{image['repository']}:{tag}"


def version_problems(location: locations.Location, base: Base) -> List[Tuple[tuple, str]]:
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


def _init_containers(item: Dict[str, Any], base: Base) -> List[Dict[str, Any]]:
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


def build(location: locations.Location, base: Base, source: str) -> List[Dict[str, Any]]:
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
    if locations.is_suspended(location.spec):
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
        c.USER_DEPLOYMENT_CHECKSUM: checksum(item),
        **{str(k): str(v) for k, v in (item.get("annotations") or {}).items()},
    }
    spec: Dict[str, Any] = {"replicas": 1}
    if item.get("deploymentStrategy") and base.version_at_least(1, 9, 11):
        spec["strategy"] = copy.deepcopy(item["deploymentStrategy"])
    spec["selector"] = {"matchLabels": _selector(base, name)}
    spec["template"] = {
        "metadata": {"labels": {**_selector(base, name), **user_labels}, "annotations": pod_annotations},
        "spec": _pod_spec(item, base, instance),
    }
    metadata = {
        "name": f"{base.fullname}-{name}",
        "labels": labels,
        "annotations": {**{str(k): str(v) for k, v in (item.get("annotations") or {}).items()}, **meta_extra},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def _pod_spec(item, base, instance=None) -> Dict[str, Any]:
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


def apply_patches(
    location: locations.Location, objects: List[Dict[str, Any]]
) -> Tuple[List[Dict[str, Any]], List[errors.Problem]]:
    """RFC 6902 patches from the location, each on its generated object of that kind."""
    problems: List[errors.Problem] = []
    if not location.spec.get("patches"):
        return objects, problems
    import jsonpatch  # only locations with patches pay for the import

    by_kind = {obj["kind"]: index for index, obj in enumerate(objects)}
    for position, entry in enumerate(location.spec.get("patches") or []):
        index = by_kind[entry["kind"]]
        try:
            objects[index] = jsonpatch.JsonPatch(entry["patch"]).apply(objects[index])
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError) as exc:
            problems.append(
                errors.Problem(
                    location.file,
                    None,
                    location.name,
                    f"patch {position} ({entry['kind']}) does not apply: {exc}",
                    (location.doc,) + location.path + ("patches", position),
                )
            )
    return objects, problems
