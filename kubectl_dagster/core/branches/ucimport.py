"""dagster-uc's ``.config_user_code_deployments.yaml`` as a ProjectConfig.

dagster-uc (github.com/ASML-Labs/dagster-uc) reads, per environment, ``defaults`` deep-merged with the
environment's section, in two layouts: the current one groups keys under ``docker``, ``kubernetes``,
``helm`` and ``chart``; older releases had every key flat in the environment's section. Both are read.
What has an equivalent is carried over; every other key is named in a note, never dropped silently
(image building, Helm and the values ConfigMap are not ours: the CI builds the image, and the
platform's own release renders the locations). Pure.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ...base import constants as c
from ..spec import locations as locs

SECTIONS = ("docker", "kubernetes", "helm", "chart")
# key (as dagster-uc names it, section-less) -> why it is not carried over
DROPPED = {
    "repository_root": "the build context is the CI's build step's",
    "dockerfile": "kubectl-dagster builds no image: the CI's build step does",
    "docker_env_vars": "kubectl-dagster builds no image: pass build variables in the CI's build step",
    "docker_build_args": "kubectl-dagster builds no image: pass build arguments in the CI's build step",
    "use_az_login": "kubectl-dagster pushes no image and installs no chart: log in in the CI's build step",
    "container_registry_chart_path": "no chart is installed: the platform's release renders the locations",
    "build_format": "kubectl-dagster builds no image",
    "build_tool": "kubectl-dagster builds no image",
    "dagster_version": "nothing is pinned: `kubectl dagster status` reports a version skew between code server "
    "and webserver",
    "use_latest_chart_version": "no chart is installed: the platform's release renders the locations",
    "cicd": "the name always comes from the branch; pass --name NAME for a fixed one",
    "verbose": "pass --debug",
    "environment": "the environment is the section's name (-e NAME)",
    "disable_openapi_validation": "no Helm release of its own (helm.*)",
    "skip_schema_validation": "no Helm release of its own (helm.*)",
    "create_new_namespace": "no Helm release of its own: the platform's namespace is used",
    "deployments_configmap_name": "no values ConfigMap: the registry keeps one entry per location",
    "user_code_deployments_configmap_name": "no values ConfigMap: the registry keeps one entry per location",
    "workspace_yaml_configmap_name": "the workspace ConfigMap is the chart's own, rendered with the locations",
    "dagster_workspace_yaml_configmap_name": "the workspace ConfigMap is the chart's own, rendered with the locations",
    "deployment_semaphore_name": "no lock ConfigMap: registry writes are atomic",
    "uc_deployment_semaphore_name": "no lock ConfigMap: registry writes are atomic",
    "release_name": "no release of its own: the platform's release renders the locations",
    "image_pull_secrets": "image pull secrets are release-wide in the chart "
    "(dagster-user-deployments.imagePullSecrets)",
    "service_account_annotations": "the service account is release-wide in the chart",
}
SIMPLE = {  # key -> ProjectConfig key path
    "namespace": ("namespace",),
    "context": ("context",),
    "kubernetes_context": ("context",),
    "dagster_gui_url": ("uiUrl",),
    "use_project_name": ("useProjectName",),
    "project_name_override": ("project",),
    "pull_policy": ("image", "pullPolicy"),
}
COMPOSITE = ("container_registry", "image_prefix", "code_path", "docker_root")
ENV_HINTS = {"namespace": c.NAMESPACE_ENV, "context": c.CONTEXT_ENV, "kubernetes_context": c.CONTEXT_ENV}


def _flatten(section: Dict[str, Any], where: str) -> Dict[str, Tuple[Any, str]]:
    """dagster-uc keys without their section: {key: (value, where it was written)}."""
    out: Dict[str, Tuple[Any, str]] = {}
    for key, value in section.items():
        if key in SECTIONS and isinstance(value, dict):
            for sub, sub_value in value.items():
                out[str(sub)] = (sub_value, f"{where}.{key}.{sub}")
        else:
            out[str(key)] = (value, f"{where}.{key}")
    return out


def _merged(defaults: Dict[str, Any], section: Dict[str, Any]) -> Dict[str, Any]:
    return locs.deep_merge(defaults, section)


def _composite(view: Dict[str, Tuple[Any, str]]) -> Dict[str, Any]:
    """What needs keys from more than one place: the image repository and the Python file."""
    get = {
        key: view[key][0]
        for key in COMPOSITE
        if key in view and isinstance(view[key][0], str) and "${" not in view[key][0]
    }
    out: Dict[str, Any] = {}
    if get.get("container_registry"):
        parts = (
            [get["container_registry"].rstrip("/")]
            + ([get["image_prefix"].strip("/")] if get.get("image_prefix") else [])
            + ["{name}"]
        )
        out["repository"] = "/".join(parts)
    if get.get("code_path"):
        out["pythonFile"] = _join(get.get("docker_root") or "", get["code_path"])
    return out


def _join(root: str, path: str) -> str:
    """``os.path.join`` then ``normpath``, as dagster-uc builds ``-f``, on POSIX paths (pure: no os module)."""
    parts: List[str] = []
    for piece in (path if path.startswith("/") else f"{root}/{path}").split("/"):
        if piece in ("", "."):
            continue
        if piece == ".." and parts and parts[-1] != "..":
            parts.pop()
        else:
            parts.append(piece)
    lead = "/" if (path.startswith("/") or root.startswith("/")) else ""
    return lead + "/".join(parts) or "."


def _put(target: Dict[str, Any], path: Tuple[str, ...], value: Any) -> None:
    node = target
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _layer(flat: Dict[str, Tuple[Any, str]], notes: List[str]) -> Dict[str, Any]:
    """One ProjectConfig layer from one dagster-uc section's own keys (composites apart)."""
    out: Dict[str, Any] = {}
    for key, (value, where) in sorted(flat.items()):
        if key in COMPOSITE:
            continue
        if isinstance(value, str) and "${" in value:
            hint = ENV_HINTS.get(key)
            notes.append(
                f"{where}: {value!r} is filled in from the environment by dagster-uc; kubectl-dagster does "
                "not substitute" + (f": set ${hint} instead" if hint else ": use KUBECTL_DAGSTER_* variables or flags")
            )
            continue
        if key in SIMPLE:
            _put(out, SIMPLE[key], value)
        elif key == "user_code_deployment_env" and isinstance(value, list):
            out["env"] = _env(value, where, notes)
        elif key == "user_code_deployment_env_secrets" and isinstance(value, list):
            out["envSecrets"] = [str(item.get("name") if isinstance(item, dict) else item) for item in value]
        elif key in ("limits", "requests") and isinstance(value, dict):
            out.setdefault("resources", {})[key] = {k: v for k, v in value.items() if v is not None}
        elif key == "node" and value:
            _put(out, ("location", "nodeSelector"), {"agentpool": value})
            _put(
                out,
                ("location", "tolerations"),
                [{"key": "agentpool", "operator": "Equal", "value": value, "effect": "NoSchedule"}],
            )
        elif key == "pod_labels" and isinstance(value, dict):
            if value:
                _put(out, ("location", "labels"), {str(k): str(v) for k, v in value.items()})
        elif key == "include_config_in_launched_runs" and isinstance(value, bool):
            _put(out, ("location", "includeConfigInLaunchedRuns"), {"enabled": value})
        elif key in DROPPED:
            notes.append(f"{where} not carried over: {DROPPED[key]}")
        else:
            notes.append(f"{where} not carried over: no equivalent in kubectl-dagster")
    return out


def _env(items: List[Any], where: str, notes: List[str]) -> Dict[str, str]:
    out = {}
    for item in items:
        if not isinstance(item, dict) or not item.get("name"):
            notes.append(f"{where}: an item without a name is not carried over")
            continue
        value = "" if item.get("value") is None else str(item["value"])
        if "${" in value:
            notes.append(
                f"{where}.{item['name']} is filled in from the environment by dagster-uc; "
                "kubectl-dagster does not substitute: pass --env NAME=VALUE in CI, or use envSecrets"
            )
            continue
        out[str(item["name"])] = value
    return out


def translate(data: Any) -> Tuple[Optional[Dict[str, Any]], List[str]]:
    """(ProjectConfig document, notes). None when ``data`` is not a dagster-uc config."""
    if not isinstance(data, dict):
        return None, []
    notes: List[str] = []
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    names = [str(key) for key, value in data.items() if key != "defaults" and isinstance(value, dict)]
    for key, value in data.items():
        if key != "defaults" and not isinstance(value, dict):
            notes.append(f"{key} not carried over: not an environment section (a mapping)")
    if not names:
        return None, notes
    out_defaults, environments = _sections(data, defaults, names, notes)
    document: Dict[str, Any] = {"apiVersion": c.API_VERSION, "kind": c.PROJECT_KIND}
    if "dev" in environments:
        document["defaultEnvironment"] = "dev"  # dagster-uc's default -e
    document["defaults"] = out_defaults
    document["environments"] = environments
    notes += _substitution_notes([("defaults", defaults)] + [(name, data[name]) for name in names])
    return document, notes + _image_notes([out_defaults, *environments.values()])


def _sections(data, defaults, names, notes) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The ProjectConfig's defaults and environments, each environment only what differs from the defaults."""
    default_flat = _flatten(defaults, "defaults")
    out_defaults: Dict[str, Any] = {"registry": {"cluster": True}}
    if "use_project_name" not in default_flat:
        out_defaults["useProjectName"] = True  # dagster-uc's default: prefix the name with pyproject's project name
    out_defaults.update(_layer(default_flat, notes))
    base = _composite(default_flat)
    _apply_composite(out_defaults, base)
    environments: Dict[str, Any] = {}
    for name in names:
        layer = _layer(_flatten(data[name], name), notes)
        merged = _composite(_flatten(_merged(defaults, data[name]), name))
        _apply_composite(layer, {k: v for k, v in merged.items() if base.get(k) != v})
        environments[name] = layer
    return out_defaults, environments


def _substitution_notes(sections) -> List[str]:
    notes = []
    for key in COMPOSITE:
        for where, section in sections:
            value = _flatten(section, where).get(key)
            if value is not None and isinstance(value[0], str) and "${" in value[0]:
                notes.append(
                    f"{value[1]}: {value[0]!r} is filled in from the environment by dagster-uc; "
                    "kubectl-dagster does not substitute: set image.repository / codeSource in the new config"
                )
    return notes


def _image_notes(layers) -> List[str]:
    if not any(layer.get("image", {}).get("repository") for layer in layers):
        return ["no container_registry anywhere: set image.repository in the new config"]
    return [
        "image tags: dagster-uc numbers them itself; image.tag is now {short_commit}, so have the CI's "
        "build step push <repository>:<first 7 hex digits of the commit>"
    ]


def _apply_composite(layer: Dict[str, Any], values: Dict[str, Any]) -> None:
    if values.get("repository"):
        _put(layer, ("image", "repository"), values["repository"])
        _put(layer, ("image", "tag"), "{short_commit}")  # dagster-uc numbers tags itself; the CI build names them
    if values.get("pythonFile"):
        _put(layer, ("codeSource",), {"pythonFile": values["pythonFile"]})
