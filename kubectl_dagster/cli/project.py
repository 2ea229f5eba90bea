"""What ``deploy``, ``teardown``, ``config view``, ``status`` and the PR plugin share: the merged project
config (Dagster's own files, pyproject, defaults, environment, ``KUBECTL_DAGSTER_*`` variables, flags),
and the registry, kube and webserver parameters it fills in for the other commands' code."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Set

from ..base import constants, errors
from ..core.branches import dagsterfiles, projectconfig
from ..shells import projectfiles

# flag (click dest) -> config key path, for flags that are config keys too
FLAG_KEYS = {
    "namespace": ("namespace",),
    "context": ("context",),
    "project": ("project",),
    "ttl": ("ttl",),
    "max_branch_locations": ("maxBranchLocations",),
    "branch_env": ("branchEnv",),
    "automation": ("automation",),
    "ui_url": ("uiUrl",),
    "webserver_url": ("webserverUrl",),
    "argocd_app": ("argocdApp",),
    "image_tag": ("image", "tag"),
    "pull_policy": ("image", "pullPolicy"),
    "base": ("base",),
    "policy": ("policy",),
}
FLAG_NAMES = {
    "namespace": "-n",
    "locations_path": "--locations",
    "cluster": "--cluster",
    "python_file": "-f",
    "module_name": "-m",
    "package_name": "-p",
}
SOURCE_FLAGS = {"python_file": "pythonFile", "module_name": "moduleName", "package_name": "packageName"}
MODIFIER_FLAGS = {"working_directory": "workingDirectory", "attribute": "attribute"}


class Loaded(NamedTuple):
    merged: projectconfig.Merged
    pyproject: Optional[Dict[str, Any]]


def given_on_command_line() -> Set[str]:
    """The parameters of the running click command that came from the command line (not a default, not $ENV)."""
    import click

    ctx = click.get_current_context()
    return {name for name in ctx.params if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}


def _flag(name: str) -> str:
    return FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def load(
    params: Dict[str, Any], given: Set[str], env: Optional[Mapping[str, str]] = None, root: Optional[str] = None
) -> Loaded:
    """The merged config, lowest first: Dagster's own files (``dagsterfiles``), ``[tool.kubectl-dagster]``,
    the project config file, ``KUBECTL_DAGSTER_*`` variables, and params given on the command line.
    ``root``: look for files only up to this directory (the ArgoCD plugin's repository)."""
    env = os.environ if env is None else env
    path = projectfiles.find_config(params.get("config"), env, root=root)
    pyproject = projectfiles.read_pyproject(root=root)
    dagster = dagsterfiles.pyproject_layers(pyproject)
    file_layers, chosen = _file_layers(path, params.get("environment") or env.get(constants.ENVIRONMENT_ENV) or None)
    env_layers, problems = projectconfig.env_layers(env)
    if problems:
        raise errors.InputError(f"invalid environment variable {problems[0]}", "fix or unset it")
    ours = projectfiles.pyproject_layer(pyproject) + file_layers + env_layers
    wanted = params["project"] if "project" in given and params.get("project") else None
    cloud = projectfiles.cloud_layers(wanted or projectconfig.merge(dagster + ours).get("project"), root=root)
    below = projectconfig.merge(dagster + cloud + ours)
    merged = projectconfig.merge(dagster + cloud + ours + _flag_layers(params, given, below), chosen, path)
    problems = projectconfig.check_merged(merged)
    if problems:
        where = ", ".join(sorted({merged.sources.get(p, "?") for p, _ in problems}))
        raise errors.InputError(f"{problems[0][1]} (from {where})", "keep one code source in the merged config")
    return Loaded(merged, pyproject)


def _file_layers(path: Optional[str], environment: Optional[str]):
    """The project config file's ``defaults`` and environment, and the environment chosen."""
    if path is not None:
        return projectconfig.file_layers(projectfiles.read_config(path).data, path, environment)
    if environment:
        raise errors.InputError(
            f"environment {environment!r} was asked for, but no project config was found "
            f"({' or '.join(constants.PROJECT_CONFIG_FILES)} in {os.getcwd()} or a parent)",
            "create one (see docs/ci.md), or pass --config PATH",
        )
    return [], None


def _flag_layers(params: Dict[str, Any], given: Set[str], below: projectconfig.Merged) -> List[projectconfig.Layer]:
    """One layer per flag given, checked like a layer of the file."""
    layers = []
    for dest, path in FLAG_KEYS.items():
        if dest in given and params.get(dest) is not None:
            values: Dict[str, Any] = {}
            node = values
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = params[dest]
            layers.append(projectconfig.Layer(f"flag {_flag(dest)}", values))
    if "cluster" in given and params.get("cluster"):
        layers.append(projectconfig.Layer("flag --cluster", {"registry": {"cluster": True}}))
    if "locations_path" in given and params.get("locations_path"):
        layers.append(projectconfig.Layer("flag --locations", {"registry": {"locations": params["locations_path"]}}))
    layers += _source_layer(params, given, below)
    if "env" in given and params.get("env"):
        layers.append(projectconfig.Layer("flag --env", {"env": env_pairs(params["env"])}))
    for dest, key in (("env_secrets", "envSecrets"), ("env_config_maps", "envConfigMaps")):
        if dest in given and params.get(dest):
            current = list(below.get(key) or [])
            layers.append(
                projectconfig.Layer(
                    f"flag {_flag(dest)}", {key: current + [v for v in params[dest] if v not in current]}
                )
            )
    for layer in layers:
        problems = list(projectconfig.check_layer(layer.values, ()))
        if problems:
            raise errors.InputError(f"{layer.label}: {problems[0][1]}", f"fix {layer.label.split(' ', 1)[1]}")
    return layers


def env_pairs(items) -> Dict[str, str]:
    """``--env K=V`` items as a mapping (deploy adds to the config's env; it removes nothing)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise errors.InputError(f"--env {item!r} is not K=V", "write --env NAME=VALUE")
        out[key] = value
    return out


def _source_layer(params, given, below) -> List[projectconfig.Layer]:
    """A code-source flag replaces the config's code source; -a/--working-directory alone refine it."""
    shortcuts = {key: params[dest] for dest, key in SOURCE_FLAGS.items() if dest in given and params.get(dest)}
    modifiers = {key: params[dest] for dest, key in MODIFIER_FLAGS.items() if dest in given and params.get(dest)}
    if len(shortcuts) > 1:
        raise errors.UsageError(f"two code sources given ({', '.join(sorted(shortcuts))})", "pass one of -f, -m, -p")
    if not shortcuts and not modifiers:
        return []
    source = dict(shortcuts) if shortcuts else dict(below.get("codeSource") or {})
    source.update(modifiers)
    names = sorted(_flag(d) for d in list(SOURCE_FLAGS) + list(MODIFIER_FLAGS) if d in given and params.get(d))
    return [projectconfig.Layer(f"flag {' '.join(names)}", {"codeSource": source})]


def registry_path(merged: projectconfig.Merged, key: tuple = ("registry", "locations")) -> Optional[str]:
    """registry.locations (or another path), relative to the config file when the file set it (CI runs from
    anywhere)."""
    path = merged.get(*key)
    if not path or os.path.isabs(path) or merged.file is None:
        return path
    source = merged.sources.get(key[:1], "")
    if source.startswith(("defaults (", "environment ")):
        return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(merged.file)), path))
    return path


def fill(params: Dict[str, Any], merged: projectconfig.Merged) -> Dict[str, Any]:
    """params as the registry, kube and webserver code reads them, with the merged config's values."""
    out = dict(params)
    out["cluster"] = bool(merged.get("registry", "cluster"))
    out["locations_path"] = registry_path(merged) if not out["cluster"] else None
    out["registry_namespace"] = out.get("registry_namespace") or merged.get("registry", "namespace")
    out["policy"] = registry_path(merged, ("policy",))
    for dest, key in (
        ("namespace", "namespace"),
        ("context", "context"),
        ("webserver_url", "webserverUrl"),
        ("argocd_app", "argocdApp"),
    ):
        if key in merged.values:
            out[dest] = merged.values[key]
    return out
