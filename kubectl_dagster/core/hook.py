"""The reload hook Job (``--rollout=reload``): after Helm or ArgoCD applied the release, reload the
writable webserver's workspace until it serves exactly the declared locations. Pure: a Job from
the release found in the stream.

- It runs ``reloadhook.py`` with ``python -c`` in the webserver's own image (nothing new to pull),
  with the webserver pod's pull secrets, security contexts, node selector and tolerations.
- Annotated as a Helm ``post-install,post-upgrade`` hook and an ArgoCD ``PostSync`` hook, deleted
  before the next one is created and when it succeeds; a failed one stays for its log, for a day.
- Its name ends in a hash of everything it checks, so a new workspace gets a new Job. Helm 3 does
  not send hooks through post-renderers and treats a hook-annotated document it gets back as a plain
  resource; a new name per workspace keeps that working too (Jobs are immutable).
"""
from __future__ import annotations

import copy
import hashlib
import re
from typing import Any, Dict, List, Optional

from .. import constants as c
from .. import errors, naming
from . import manifests, release as rel, workspace

HOOK_LABEL = rel.HOOK_LABEL
TIMEOUT = 600  # seconds: kubelet needs up to a minute or two to update the mounted workspace.yaml
INTERVAL = 5
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
    container = _container(deployment)
    command = " ".join(str(part) for part in (container.get("command") or []) + (container.get("args") or []))
    prefix = _PATH_PREFIX.search(command)
    return f"http://{service.name}:{ports[0]['port']}{prefix.group(1).rstrip('/') if prefix else ''}"


def _container(deployment: manifests.Document) -> Dict[str, Any]:
    spec = ((deployment.data.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or [{}]
    return containers[0]


def job(release: rel.Release, url: str, expected: List[str], script: str, source: str) -> Dict[str, Any]:
    deployment = release.webserver
    pod = ((deployment.data.get("spec") or {}).get("template") or {}).get("spec") or {}
    container = _container(deployment)
    image = str(container.get("image") or "")
    if not image:
        raise errors.ReleaseError(f"the webserver Deployment {deployment.name} has no image", "check the chart values")
    digest = hashlib.sha256("\n".join([url, image, ",".join(expected), script]).encode("utf-8")).hexdigest()[:8]
    name = f"{naming.truncate(release.name + '-dagster-reload', 63 - 9)}-{digest}"
    labels = {c.LABEL_INSTANCE: release.name, c.LABEL_MANAGED_BY: "kubectl-dagster", HOOK_LABEL: "true"}
    env = [{"name": "DAGSTER_WEBSERVER_URL", "value": url},
           {"name": "KUBECTL_DAGSTER_EXPECT", "value": ",".join(expected)},
           {"name": "KUBECTL_DAGSTER_TIMEOUT", "value": str(TIMEOUT)},
           {"name": "KUBECTL_DAGSTER_INTERVAL", "value": str(INTERVAL)},
           {"name": "PYTHONUNBUFFERED", "value": "1"}]
    main: Dict[str, Any] = {"name": "reload-workspace", "image": image}
    if container.get("imagePullPolicy"):
        main["imagePullPolicy"] = container["imagePullPolicy"]
    main.update({"command": ["python", "-c", script], "env": env,
                 "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}})
    if container.get("securityContext"):
        main["securityContext"] = copy.deepcopy(container["securityContext"])
    pod_spec: Dict[str, Any] = {"restartPolicy": "Never", "automountServiceAccountToken": False}
    for key in ("imagePullSecrets", "securityContext", "nodeSelector", "tolerations"):
        if pod.get(key):
            pod_spec[key] = copy.deepcopy(pod[key])
    pod_spec["containers"] = [main]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": {
            "helm.sh/hook": "post-install,post-upgrade",
            "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
            "argocd.argoproj.io/hook": "PostSync",
            "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation,HookSucceeded",
            c.HELM4_FILENAME_ANNOTATION: source}},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": TIMEOUT + 120, "ttlSecondsAfterFinished": 86400,
                 "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}},
    }


def expected_names(release: rel.Release) -> List[str]:
    chart, ours = workspace.split_entries(release.workspace.data["data"][c.WORKSPACE_KEY] or "")
    return sorted({workspace.entry_name(entry) for entry in chart + ours})
