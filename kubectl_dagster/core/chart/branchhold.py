"""What a branch location's code server gets so that its preview never acts on its own.

A branch location (an entry with ``branch``) runs in the production instance, beside the permanent
locations, with the same daemon. Dagster runs a schedule or sensor that has no stored state by its
``default_status``, which the code server reports. So the code server of every branch location
loads ``shells/branchhook.py`` (the script, rendered into a ConfigMap of its own, mounted, its folder first
on ``PYTHONPATH`` as a ``sitecustomize``) and reports STOPPED for all of them from its first load:
the daemon has nothing to tick until somebody starts one, and a start or stop is stored by location,
repository and name, so it outlives redeploys. ``automation: on`` keeps Dagster's own defaults.
Every branch location also tags the runs it creates with ``kubectl-dagster.io/branch``.

Only the code server's container gets the hook: launched runs keep the container context the chart
gives them. It is added after the entry's own patches (a registry entry cannot patch it away) and after the
registry's policy checks (the hook's ConfigMap is ours). Pure: objects in, objects out.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Dict, List, Optional, Tuple

from ...base import constants as c
from ..spec import locations as locs

VALUE_FROM = (
    "env PYTHONPATH comes from valueFrom, so the branch hook cannot be put in front of it; give PYTHONPATH as a value"
)


def automation(spec: Dict[str, Any]) -> Optional[str]:
    """``on`` or ``off`` for a branch location (``off`` unless the entry says ``on``); None for a permanent one."""
    if spec.get("branch") is None:
        return None
    value = spec.get("automation")
    return "on" if value == "on" else "off"


def hold(built: List[Dict[str, Any]], location: locs.Location, script: str) -> Tuple[List[Dict[str, Any]], list]:
    """(``built`` with the hook added when the location has a branch, problems as (key path, message)).
    ``built`` is [env ConfigMap, Service, Deployment] after the entry's patches, which cannot remove the hook;
    it is left as it was (the Deployment is copied)."""
    mode = automation(location.spec)
    if mode is None:
        return built, []
    if not script:
        raise ValueError("render needs the branch hook's script (Options.branch_hook) for branch locations")
    env_map, deployment = built[0], copy.deepcopy(built[-1])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    theirs = next((item for item in container.get("env") or [] if item.get("name") == "PYTHONPATH"), None)
    if theirs is not None and "valueFrom" in theirs:
        return built, [(("env",), VALUE_FROM)]
    name = env_map["metadata"]["name"].rsplit("-user-env", 1)[0] + c.BRANCH_HOOK_SUFFIX
    _mount(deployment["spec"]["template"], name, script)
    container["env"] = _env(container.get("env") or [], theirs, env_map, location, mode)
    return built[:-1] + [deployment, _configmap(env_map, name, script)], []


def _mount(template: Dict[str, Any], name: str, script: str) -> None:
    """The script's hash on the pod template (a new script rolls the pods), its volume and mount."""
    template["metadata"]["annotations"][c.BRANCH_HOOK_ANNOTATION] = hashlib.sha256(script.encode()).hexdigest()[:16]
    spec = template["spec"]
    spec["volumes"] = list(spec.get("volumes") or []) + [{"name": c.BRANCH_HOOK_VOLUME, "configMap": {"name": name}}]
    container = spec["containers"][0]
    container["volumeMounts"] = list(container.get("volumeMounts") or []) + [
        {"name": c.BRANCH_HOOK_VOLUME, "mountPath": c.BRANCH_HOOK_DIR, "readOnly": True}
    ]


def _env(env, theirs, env_map: Dict[str, Any], location: locs.Location, mode: str) -> List[Dict[str, Any]]:
    """The container's env with ours added: PYTHONPATH (ours first, then the entry's own), the run tags, and
    the default status."""
    given = theirs.get("value") if theirs is not None else (env_map.get("data") or {}).get("PYTHONPATH")
    out = [item for item in env if item is not theirs]
    out.append({"name": "PYTHONPATH", "value": c.BRANCH_HOOK_DIR + (":" + str(given) if given else "")})
    tags = {c.BRANCH_TAG: str(location.spec["branch"])}
    out.append({"name": c.RUN_TAGS_ENV, "value": json.dumps(tags, sort_keys=True, separators=(",", ":"))})
    if mode == "off":
        out.append({"name": c.AUTOMATION_DEFAULT_ENV, "value": "stopped"})
    return out


def _configmap(env_map: Dict[str, Any], name: str, script: str) -> Dict[str, Any]:
    meta = env_map["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "labels": copy.deepcopy(meta.get("labels") or {}),
            "annotations": copy.deepcopy(meta.get("annotations") or {}),
        },
        "data": {c.BRANCH_HOOK_FILE: script},
    }
