"""The reload hook (``--rollout=reload``): after Helm or ArgoCD applied the release, a Job makes the
writable webserver serve exactly the declared locations, each from its current code server. Pure:
documents from the release found in the stream.

- The Job runs ``reloadhook.py`` with ``python -c`` in the webserver's own image (nothing new to
  pull), with the webserver pod's pull secrets, security contexts, node selector and tolerations.
- It knows, per location, the workspace entry, the image its code server reports and a
  fingerprint of its pod template (``location_states``). The Job's name ends in a hash of all of it,
  so any change of what a location runs (image, args, env, resources) gives a new Job: Helm 3 does
  not send hooks through post-renderers and keeps a hook-annotated document it gets back as a plain
  resource, so only a new name makes it run again (Jobs are immutable); Helm 4 and ArgoCD run it as
  a hook on every upgrade or sync anyway.
- With the nudge (default), a ServiceAccount, a Role (list and patch pods in the namespace: label
  selectors cannot be granted by RBAC and pod names are random, so nothing narrower works) and a
  RoleBinding come first (hook weight -1): the script updates an annotation on the webserver and
  daemon pods, and the kubelet refreshes their mounted workspace.yaml at once.
- All of them are Helm ``post-install,post-upgrade`` and ArgoCD ``PostSync`` hooks, deleted before
  the next ones are created and when they succeed; a failed Job stays for its log, for a day.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any, Dict, List, Optional, Sequence

from ...base import constants as c
from ...base import errors, naming
from ..spec import locations as locs
from . import manifests, workspace
from . import release as rel

HOOK_LABEL = rel.HOOK_LABEL
TIMEOUT = 600  # seconds: without the nudge the kubelet needs a minute or two to update the mounted workspace.yaml
INTERVAL = 5
RBAC_VERBS = ("list", "patch")  # on pods: what reloadhook.Nudge calls, nothing more
_PATH_PREFIX = re.compile(r"--path-prefix[= ]+(\S+)")


def webserver_url(release: rel.Release, stream: manifests.Stream) -> Optional[str]:
    """``http://<service>:<port>[<path prefix>]`` of the release's writable webserver, if the stream has it."""
    deployment = release.webserver
    if deployment is None:
        return None
    service = next((d for d in stream.documents if d.kind == "Service" and d.name == deployment.name), None)
    if service is None or not isinstance(service.data, dict):
        return None
    ports = (service.data.get("spec") or {}).get("ports") or []
    if not ports or not isinstance(ports[0], dict) or "port" not in ports[0]:
        return None
    return f"http://{service.name}:{ports[0]['port']}{path_prefix(_container(deployment))}"


def path_prefix(container: Dict[str, Any]) -> str:
    """The webserver's ``--path-prefix`` (without a trailing slash), from its container's command and args."""
    command = " ".join(str(part) for part in (container.get("command") or []) + (container.get("args") or []))
    prefix = _PATH_PREFIX.search(command)
    return prefix.group(1).rstrip("/") if prefix else ""


def _pod(deployment: manifests.Document) -> Dict[str, Any]:
    return ((deployment.data.get("spec") or {}).get("template") or {}).get("spec") or {}


def _container(deployment: manifests.Document) -> Dict[str, Any]:
    return (_pod(deployment).get("containers") or [{}])[0]


def read_only_webservers(release: rel.Release) -> List[manifests.Document]:
    """The read-only webserver Deployments (``dagsterWebserver.enableReadOnly``): they refuse reloads,
    so under ``--rollout=reload`` they roll through their workspace checksum instead (they hold no runs)."""
    found = []
    for doc in release.rollout_targets:
        container = _container(doc)
        command = " ".join(str(part) for part in (container.get("command") or []) + (container.get("args") or []))
        if doc.labels().get(c.LABEL_COMPONENT) == c.READ_ONLY_COMPONENT or "--read-only" in command:
            found.append(doc)
    return found


def digest(value: Any) -> str:
    """A short fingerprint of JSON-able data (sorted keys, so equal data gives equal fingerprints)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def location_states(
    release: rel.Release, documents: Sequence[manifests.Document], locations: Sequence[locs.Location]
) -> Dict[str, Dict[str, Any]]:
    """Per location of the workspace: its entry (host, port), the image its code server reports
    (``DAGSTER_CURRENT_IMAGE``; None when unknown) and a fingerprint of what runs it: the pod template
    of its Deployment in the output, else its CodeLocations entry, else its workspace entry."""
    chart, ours = workspace.split_entries(release.workspace.data["data"][c.WORKSPACE_KEY] or "")
    entries = {workspace.entry_name(e): (e.get("grpc_server") or {}) for e in chart + ours}
    deployments = _location_deployments(release, documents)
    specs = {loc.name: loc for loc in locations}
    states: Dict[str, Dict[str, Any]] = {}
    for name in sorted(entries):
        server = entries[name]
        state: Dict[str, Any] = {"host": server.get("host"), "port": server.get("port")}
        if name in deployments:
            template = (deployments[name].data.get("spec") or {}).get("template") or {}
            state.update(image=_reported_image(template), template=digest(template))
        elif name in specs:
            item = locs.chart_item(specs[name])
            image = item.get("image") or {}
            tag = image.get("tag")
            state.update(image=None if tag in (None, "") else f"{image.get('repository')}:{tag}", template=digest(item))
        else:
            state.update(image=None, template=digest(server))
        states[name] = state
    return states


def _location_deployments(release: rel.Release, documents) -> Dict[str, manifests.Document]:
    found: Dict[str, manifests.Document] = {}
    for doc in documents:
        if doc.kind != "Deployment" or not isinstance(doc.data, dict):
            continue
        labels = doc.labels()
        if str(labels.get(c.LABEL_INSTANCE) or labels.get(c.LABEL_RELEASE) or "") != release.name:
            continue
        user_code = labels.get(c.LABEL_COMPONENT) == c.USER_COMPONENT
        name = labels.get(c.LOCATION_LABEL) or (labels.get(c.LABEL_DEPLOYMENT) if user_code else None)
        if name:
            found.setdefault(str(name), doc)
    return found


def _reported_image(template: Dict[str, Any]) -> Optional[str]:
    containers = (template.get("spec") or {}).get("containers") or [{}]
    container = next((x for x in containers if x.get("name") == c.CONTAINER_NAME), containers[0])
    for env in container.get("env") or []:
        if env.get("name") == "DAGSTER_CURRENT_IMAGE" and env.get("value"):
            return str(env["value"])
    return str(container["image"]) if container.get("image") else None


def nudge_selectors(release: rel.Release) -> List[str]:
    """Label selectors of the pods that mount the workspace, the writable webserver's first."""
    targets = [release.webserver] + [d for d in release.rollout_targets if d is not release.webserver]
    selectors = []
    for doc in targets:
        match = ((doc.data.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if match:
            selectors.append(",".join(f"{key}={match[key]}" for key in sorted(match)))
    return selectors


def _annotations(source: str, weight: Optional[int]) -> Dict[str, str]:
    out = {
        "helm.sh/hook": "post-install,post-upgrade",
        "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
    }
    if weight is not None:
        out["helm.sh/hook-weight"] = str(weight)
    out.update(
        {
            "argocd.argoproj.io/hook": "PostSync",
            "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation,HookSucceeded",
        }
    )
    if weight is not None:
        out["argocd.argoproj.io/sync-wave"] = str(weight)
    out[c.HELM4_FILENAME_ANNOTATION] = source
    return out


def _labels(release: rel.Release) -> Dict[str, str]:
    return {c.LABEL_INSTANCE: release.name, c.LABEL_MANAGED_BY: "kubectl-dagster", HOOK_LABEL: "true"}


def account_name(release: rel.Release) -> str:
    return naming.truncate(release.name + "-dagster-reload", 63)


def rbac(release: rel.Release, source: str) -> List[Dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding the Job's nudge needs, created before it (hook weight -1)."""
    name = account_name(release)

    def meta() -> Dict[str, Any]:
        return {"name": name, "labels": _labels(release), "annotations": _annotations(source, -1)}

    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": list(RBAC_VERBS)}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(), "automountServiceAccountToken": False},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(), "rules": rules},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name}],
        },
    ]


def job(
    release: rel.Release, url: str, states: Dict[str, Dict[str, Any]], script: str, source: str, nudge: bool
) -> Dict[str, Any]:
    deployment = release.webserver
    pod = _pod(deployment)
    container = _container(deployment)
    image = str(container.get("image") or "")
    if not image:
        raise errors.ReleaseError(f"the webserver Deployment {deployment.name} has no image", "check the chart values")
    declared = json.dumps(states, sort_keys=True, separators=(",", ":"))
    selectors = json.dumps(nudge_selectors(release) if nudge else [], separators=(",", ":"))
    hashed = "\n".join([url, image, declared, selectors, script]).encode("utf-8")
    name = f"{naming.truncate(release.name + '-dagster-reload', 63 - 9)}-{hashlib.sha256(hashed).hexdigest()[:8]}"
    env = [
        {"name": c.HOOK_ENV_URL, "value": url},
        {"name": c.HOOK_ENV_LOCATIONS, "value": declared},
        {"name": c.HOOK_ENV_NUDGE, "value": selectors},
        {"name": c.HOOK_ENV_TIMEOUT, "value": str(TIMEOUT)},
        {"name": c.HOOK_ENV_INTERVAL, "value": str(INTERVAL)},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    main: Dict[str, Any] = {"name": "reload-workspace", "image": image}
    if container.get("imagePullPolicy"):
        main["imagePullPolicy"] = container["imagePullPolicy"]
    main.update(
        {
            "command": ["python", "-c", script],
            "env": env,
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        }
    )
    if container.get("securityContext"):
        main["securityContext"] = copy.deepcopy(container["securityContext"])
    pod_spec: Dict[str, Any] = {"restartPolicy": "Never"}
    if nudge:
        pod_spec.update(serviceAccountName=account_name(release), automountServiceAccountToken=True)
    else:
        pod_spec["automountServiceAccountToken"] = False
    for key in ("imagePullSecrets", "securityContext", "nodeSelector", "tolerations"):
        if pod.get(key):
            pod_spec[key] = copy.deepcopy(pod[key])
    pod_spec["containers"] = [main]
    labels = _labels(release)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": _annotations(source, None)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": TIMEOUT + 120,
            "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        },
    }


def expected_names(release: rel.Release) -> List[str]:
    chart, ours = workspace.split_entries(release.workspace.data["data"][c.WORKSPACE_KEY] or "")
    return sorted({workspace.entry_name(entry) for entry in chart + ours})
