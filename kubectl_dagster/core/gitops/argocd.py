"""The ArgoCD config-management plugin, as data: read the parameters from ArgoCD's environment,
and build the ``helm`` command lines. Pure: the check that paths stay inside the app's source
directory resolves symlinks, so it lives with the command (cli/argocd.py).

ArgoCD hands a CMP sidecar:
- ``ARGOCD_APP_NAME`` (``<app-namespace>_<name>`` for an Application outside ArgoCD's namespace),
  ``ARGOCD_APP_NAMESPACE`` (the destination namespace), ``KUBE_VERSION`` (``1.29.3``, no ``v``),
  ``KUBE_API_VERSIONS`` (comma-joined);
- the parameters set in the Application as JSON in ``ARGOCD_APP_PARAMETERS`` (the literal ``null``
  for ``plugin: {}``; absent without a plugin block) and again as ``PARAM_<NAME>[_<i>|_<KEY>]``;
- the Application's ``plugin.env`` as ``ARGOCD_ENV_<Name>``, case kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ...base import constants, errors

DEFAULT_LOCATIONS = "dagster-locations.yaml"
TRUE = {"true", "yes", "1", "on"}
FALSE = {"false", "no", "0", "off", ""}


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # string | array | map
    default: Any
    title: str


PARAMS = (
    Param("chart", "string", ".", "Chart directory, relative to the app's source path"),
    Param("release-name", "string", "", "Helm release name (default: the Application's name)"),
    Param("values-files", "array", [], "Values files, relative to the app's source path"),
    Param("set", "map", {}, "Values set on the command line (helm --set)"),
    Param("locations", "string", DEFAULT_LOCATIONS, "CodeLocations file or directory, relative to the source path"),
    Param("from-cluster", "string", "false", "Also read the cluster registry (true/false)"),
    Param("registry-namespace", "string", "", "Namespace of the cluster registry (default: the destination namespace)"),
    Param("policy", "string", "", "With from-cluster: a LocationPolicy file, relative to the source path"),
    Param(
        "allow-empty",
        "string",
        "false",
        "With from-cluster: let an empty registry remove the locations an earlier sync added (true/false)",
    ),
    Param("rollout", "string", "reload", "reload (a PostSync hook Job), restart or none"),
    Param(
        "skip-schema-validation",
        "string",
        "false",
        "Pass --skip-schema-validation to helm template (true/false): the chart's schema loads from the internet",
    ),
    Param(
        "reload-nudge", "string", "true", "With rollout reload: nudge the kubelet (a Role to patch pods) (true/false)"
    ),
)
BY_KEY = {re.sub(r"[^a-z0-9]", "", p.name): p for p in PARAMS}


@dataclass
class Settings:
    release: str
    namespace: str
    kube_version: Optional[str]
    api_versions: List[str]
    chart: str = "."
    values_files: List[str] = field(default_factory=list)
    set_values: Dict[str, str] = field(default_factory=dict)
    locations: Optional[str] = DEFAULT_LOCATIONS
    locations_explicit: bool = False
    from_cluster: bool = False
    registry_namespace: str = ""
    policy: str = ""  # a LocationPolicy file in the source, for the registry's entries
    rollout: Optional[str] = None  # None: the render default (reload where the chart has a webserver)
    skip_schema_validation: bool = False
    allow_empty: bool = False
    reload_nudge: bool = True


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _env_name(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def parameters(env: Mapping[str, str], declared: Sequence[Param] = PARAMS) -> Dict[str, Any]:
    """Explicitly set parameters of a plugin that announces ``declared``, lowest to highest precedence:
    plugin env (``ARGOCD_ENV_*``), ``PARAM_*``, ``ARGOCD_APP_PARAMETERS``. Unknown names are an error
    (a typo would otherwise be ignored)."""
    by_key = BY_KEY if declared is PARAMS else {_key(p.name): p for p in declared}
    found: Dict[str, Any] = {}
    for name, value in env.items():
        if name.startswith("ARGOCD_ENV_"):
            param = by_key.get(_key(name[len("ARGOCD_ENV_") :]))
            if param is not None:
                found[param.name] = _from_text(param, value)
    for param in declared:
        prefix = "PARAM_" + _env_name(param.name)
        if param.kind == "string" and prefix in env:
            found[param.name] = env[prefix]
        elif param.kind == "array":
            items = [
                (int(k[len(prefix) + 1 :]), v) for k, v in env.items() if re.fullmatch(re.escape(prefix) + r"_\d+", k)
            ]
            if items:
                found[param.name] = [v for _, v in sorted(items)]
    for item in _json_parameters(env.get("ARGOCD_APP_PARAMETERS")):
        param = by_key.get(_key(item["name"]))
        if param is None:
            known = ", ".join(p.name for p in declared)
            raise errors.InputError(f"unknown plugin parameter {errors.excerpt(item['name'])}", f"use one of {known}")
        found[param.name] = _from_json(param, item)
    return found


def _json_parameters(raw: Optional[str]) -> List[Dict[str, Any]]:
    """ARGOCD_APP_PARAMETERS: a JSON list of ``{name, string | array | map}`` (the literal ``null`` for
    ``plugin: {}``); any other shape is one error line."""
    fix = "check spec.source.plugin.parameters"
    if raw is None:
        return []
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise errors.InputError("ARGOCD_APP_PARAMETERS is nested too deeply", fix) from exc
    except ValueError as exc:
        raise errors.InputError(f"ARGOCD_APP_PARAMETERS is not JSON: {str(exc)[:100]}", fix) from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise errors.InputError(f"ARGOCD_APP_PARAMETERS is {errors.excerpt(data)}, not a list of parameters", fix)
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise errors.InputError(
                f"ARGOCD_APP_PARAMETERS has {errors.excerpt(item)} where a parameter "
                "{name, string | array | map} belongs",
                fix,
            )
    return data


def _from_text(param: Param, value: str) -> Any:
    if param.kind == "array":
        return [part.strip() for part in value.split(",") if part.strip()]
    if param.kind == "map":
        pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
        return {k.strip(): v.strip() for k, v in (p if len(p) == 2 else (p[0], "") for p in pairs)}
    return value


def _from_json(param: Param, item: Dict[str, Any]) -> Any:
    """The value of one parameter, of its kind, made of strings only (what ArgoCD sends)."""
    value = item.get(param.kind)
    if param.kind == "array" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if param.kind == "map" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    if param.kind == "string" and isinstance(value, str):
        return value
    shape = {"array": "[...] of strings", "map": "{...} of strings", "string": "a string"}[param.kind]
    raise errors.InputError(
        f"plugin parameter {param.name} takes {param.kind}: {shape}",
        f"write it as `{param.kind}: ...` in spec.source.plugin.parameters",
    )


def settings(env: Mapping[str, str]) -> Settings:
    params = parameters(env)
    app = env.get("ARGOCD_APP_NAME") or ""
    release = params.get("release-name") or app.rpartition("_")[2]  # "<app-namespace>_<name>"
    if not release:
        raise errors.InputError("no release name: ARGOCD_APP_NAME is not set", "set the release-name parameter")
    namespace = env.get("ARGOCD_APP_NAMESPACE") or ""
    if not namespace:
        raise errors.InputError("ARGOCD_APP_NAMESPACE is not set", "set the Application's destination namespace")
    from_cluster = _flag(params, "from-cluster")
    skip_schema = _flag(params, "skip-schema-validation")
    allow_empty = _flag(params, "allow-empty")
    rollout = params.get("rollout")
    if rollout is not None and rollout not in constants.ROLLOUTS:
        raise errors.InputError(
            f"rollout must be one of {', '.join(constants.ROLLOUTS)}, got {errors.excerpt(rollout)}",
            "fix the plugin parameter",
        )
    api_versions = [v.strip() for v in (env.get("KUBE_API_VERSIONS") or "").split(",") if v.strip()]
    return Settings(
        release=release,
        namespace=namespace,
        kube_version=(env.get("KUBE_VERSION") or None),
        api_versions=api_versions,
        chart=params.get("chart") or ".",
        values_files=list(params.get("values-files") or []),
        set_values=dict(params.get("set") or {}),
        locations=params.get("locations", DEFAULT_LOCATIONS),
        locations_explicit="locations" in params,
        from_cluster=from_cluster,
        registry_namespace=params.get("registry-namespace") or namespace,
        policy=params.get("policy") or "",
        rollout=rollout,
        skip_schema_validation=skip_schema,
        allow_empty=allow_empty,
        reload_nudge=_flag(params, "reload-nudge", "true"),
    )


def _flag(params: Dict[str, Any], name: str, default: str = "false") -> bool:
    value = str(params.get(name, default)).strip().lower()
    if value not in TRUE | FALSE:
        raise errors.InputError(
            f"{name} must be true or false, got {errors.excerpt(value)}", "fix the plugin parameter"
        )
    return value in TRUE


def helm_template(helm: str, s: Settings, chart: str, values: Sequence[str]) -> List[str]:
    argv = [helm, "template", s.release, chart, "--namespace", s.namespace]
    for path in values:
        argv += ["--values", path]
    for key in sorted(s.set_values):
        argv += ["--set", f"{key}={s.set_values[key]}"]
    if s.kube_version:
        argv += ["--kube-version", s.kube_version]
    for version in s.api_versions:
        argv += ["--api-versions", version]
    if s.skip_schema_validation:
        argv.append("--skip-schema-validation")
    return argv


def local_dependencies(chart_yaml: Any, where: str) -> List[str]:
    """The ``file://`` repositories of a Chart.yaml's dependencies; an error unless Chart.yaml is a
    mapping whose ``dependencies`` is a list (what Helm itself requires)."""
    fix = "fix Chart.yaml (helm lint shows what Helm expects)"
    if not isinstance(chart_yaml, dict):
        raise errors.InputError(f"{where} is {errors.excerpt(chart_yaml)}, not a chart's mapping", fix)
    dependencies = chart_yaml.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise errors.InputError(f"dependencies in {where} is {errors.excerpt(dependencies)}, not a list", fix)
    return [
        str(d.get("repository"))
        for d in dependencies
        if isinstance(d, dict) and str(d.get("repository", "")).startswith("file://")
    ]
