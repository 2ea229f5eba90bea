"""The checks a registry entry's generated objects must pass, after its patches: they keep their identity (kind,
name, namespace, selectors, service account, token mount, a ClusterIP Service), the pod meets the policy's Pod
Security level, and its images, Secrets, ConfigMaps, resources and patch paths stay within the policy. Pure:
the objects before and after the patches in, findings (one line each, field first) out.

A Secret or ConfigMap the release itself gives every location (``release_refs``: the shared env ConfigMap, the
PostgreSQL password, the instance ConfigMap, pull secrets, the location's own env ConfigMap) is always allowed.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ...base import k8s
from . import document, podsecurity

Objects = Sequence[Dict[str, Any]]
Ref = Tuple[str, str]  # ("Secret" | "ConfigMap", name)

IDENTITY = (("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"))
KIND_IDENTITY = {
    "Deployment": (
        ("spec", "selector"),
        ("spec", "template", "spec", "serviceAccountName"),
        ("spec", "template", "spec", "serviceAccount"),
        ("spec", "template", "spec", "automountServiceAccountToken"),
    ),
    "Service": (("spec", "selector"), ("spec", "type"), ("spec", "externalIPs"), ("spec", "externalName")),
}
POD = ("spec", "template")


def check(before: Objects, after: Objects, patches: Any, policy: document.Policy, release_refs: Set[Ref]) -> List[str]:
    """Every finding, each ``<Kind> <field>: <what is wrong>``; empty when the entry may run."""
    found = list(_identity(before, after))
    found += list(_patches(patches, policy))
    deployment = next((obj for obj in after if obj.get("kind") == "Deployment"), None)
    if deployment is not None:
        template = _get(deployment, POD)
        template = template if isinstance(template, dict) else {}
        level = f"(Pod Security {policy.pod_security})"
        found += [
            f"Deployment {field}: {what} {level}" for field, what in podsecurity.check(template, policy.pod_security)
        ]
        spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
        found += [f"Deployment {line}" for line in _images(spec, policy)]
        found += [f"Deployment {line}" for line in _references(spec, policy, release_refs)]
        found += [f"Deployment {line}" for line in _resources(spec, policy)]
    return found


def _get(obj: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _identity(before: Objects, after: Objects) -> Iterable[str]:
    for old, new in zip(before, after, strict=False):
        kind = str(old.get("kind"))
        for path in IDENTITY + KIND_IDENTITY.get(kind, ()):
            if _get(old, path) != _get(new, path):
                yield f"{kind} {'.'.join(path)}: a patch may not change it"
        if kind == "Deployment":
            selector = _get(old, ("spec", "selector", "matchLabels")) or {}
            labels = _get(new, POD + ("metadata", "labels")) or {}
            for key in sorted(selector):
                if not isinstance(labels, dict) or labels.get(key) != selector[key]:
                    yield f"Deployment spec.template.metadata.labels.{key}: a patch may not change it"


def _patches(patches: Any, policy: document.Policy) -> Iterable[str]:
    items = [item for item in patches or [] if isinstance(item, dict)]
    if items and not policy.patches_allowed:
        yield f"patches: {policy.source} allows no patches"
        return
    if policy.patch_paths is None:
        return
    for position, item in enumerate(items):
        for op in item.get("patch") or []:
            for key in ("path", "from"):
                pointer = op.get(key) if isinstance(op, dict) else None
                if isinstance(pointer, str) and not _under(str(item.get("kind")), pointer, policy.patch_paths):
                    kind = item.get("kind")
                    yield f"patches[{position}] ({kind}) {key} {pointer[:80]}: not a path {policy.source} allows"


def _under(kind: str, pointer: str, allowed: Sequence[Tuple[str, str]]) -> bool:
    for allowed_kind, prefix in allowed:
        root = prefix.rstrip("/")
        if allowed_kind == kind and (pointer == root or pointer.startswith(root + "/")):
            return True
    return False


def _images(spec: Dict[str, Any], policy: document.Policy) -> Iterable[str]:
    for where, item in podsecurity.containers(spec):
        image = item.get("image")
        if not isinstance(image, str) or not document.image_allowed(image, policy.allowed_images):
            yield f"{where}.image: {str(image)[:100]!r} is not under an allowedImages prefix of {policy.source}"


def references(spec: Dict[str, Any]) -> List[Tuple[str, Ref]]:
    """(field, (kind, name)) of every Secret and ConfigMap the pod spec refers to."""
    found: List[Tuple[str, Ref]] = []
    for position, secret in enumerate(spec.get("imagePullSecrets") or []):
        found.append((f"imagePullSecrets[{position}]", ("Secret", _name(secret, "name"))))
    for where, item in podsecurity.containers(spec):
        found += _container_references(where, item)
    for volume in spec.get("volumes") or []:
        found += _volume_references(volume if isinstance(volume, dict) else {})
    return found


def _container_references(where: str, item: Dict[str, Any]) -> List[Tuple[str, Ref]]:
    found = []
    for env in item.get("env") or []:
        source = (env.get("valueFrom") or {}) if isinstance(env, dict) else {}
        found += [(f"{where}.env[{env.get('name')}]", ref) for ref in _refs(source, "secretKeyRef", "configMapKeyRef")]
    for position, env_from in enumerate(item.get("envFrom") or []):
        found += [(f"{where}.envFrom[{position}]", ref) for ref in _refs(env_from, "secretRef", "configMapRef")]
    return found


def _refs(holder: Any, secret_key: str, config_map_key: str) -> List[Ref]:
    """(kind, name) of the Secret and the ConfigMap ``holder`` refers to under these keys."""
    if not isinstance(holder, dict):
        return []
    pairs = ((secret_key, "Secret"), (config_map_key, "ConfigMap"))
    return [(kind, _name(holder[key], "name")) for key, kind in pairs if isinstance(holder.get(key), dict)]


def _volume_references(volume: Dict[str, Any]) -> List[Tuple[str, Ref]]:
    where = f"volumes[{volume.get('name')}]"
    found = []
    if isinstance(volume.get("secret"), dict):
        found.append((where, ("Secret", _name(volume["secret"], "secretName"))))
    if isinstance(volume.get("configMap"), dict):
        found.append((where, ("ConfigMap", _name(volume["configMap"], "name"))))
    for source in (
        (volume.get("projected") or {}).get("sources") or [] if isinstance(volume.get("projected"), dict) else []
    ):
        for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
            if isinstance(source, dict) and isinstance(source.get(key), dict):
                found.append((where, (kind, _name(source[key], "name"))))
    return found


def _name(holder: Any, key: str) -> str:
    return str(holder.get(key)) if isinstance(holder, dict) else ""


def _references(spec: Dict[str, Any], policy: document.Policy, release_refs: Set[Ref]) -> Iterable[str]:
    allowed = {"Secret": policy.allowed_secrets, "ConfigMap": policy.allowed_config_maps}
    key = {"Secret": "allowedSecrets", "ConfigMap": "allowedConfigMaps"}
    for where, (kind, name) in references(spec):
        if (kind, name) not in release_refs and not document.name_allowed(name, allowed[kind]):
            yield f"{where}: {kind} {name[:80]!r} is not in the {key[kind]} of {policy.source}"


def _resources(spec: Dict[str, Any], policy: document.Policy) -> Iterable[str]:
    """Each capped resource: every container sets a limit, and the pod's requests and limits (the app
    containers summed, or the largest init container when that is more) stay within the cap."""
    for resource, written, cap in policy.max_resources:
        for where, item in podsecurity.containers(spec):
            if _amount(_resources_of(item).get("limits"), resource) is None:
                yield f"{where}.resources.limits.{resource}: not set; {policy.source} caps {resource} at {written}"
        for kind in ("requests", "limits"):
            if _pod_total(spec, kind, resource) > cap:
                yield f"resources.{kind}.{resource}: the pod's add up to more than {written} ({policy.source})"


def _resources_of(item: Dict[str, Any]) -> Dict[str, Any]:
    return item.get("resources") if isinstance(item.get("resources"), dict) else {}


def _pod_total(spec: Dict[str, Any], kind: str, resource: str) -> Fraction:
    """What the scheduler counts: the app containers summed, or the largest init container when that is more."""
    amounts = [
        (where, _amount(_resources_of(item).get(kind), resource) or Fraction(0))
        for where, item in podsecurity.containers(spec)
    ]
    app = sum((value for where, value in amounts if where.startswith("containers")), Fraction(0))
    return max([app] + [value for where, value in amounts if where.startswith("initContainers")])


def _amount(values: Any, resource: str) -> Optional[Fraction]:
    return k8s.parse_quantity(values.get(resource)) if isinstance(values, dict) and resource in values else None


def over_limit(ordered: Sequence[str], policy: document.Policy) -> List[str]:
    """The names past ``maxLocations``, in the order given (oldest first: a new entry never pushes out an old one)."""
    if policy.max_locations is None:
        return []
    return list(ordered[policy.max_locations :])
