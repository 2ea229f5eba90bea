"""``rbac``: the namespace-scoped Roles the cluster registry needs. Pure: names in, YAML text out."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ...base import constants, yamlio

WRITER_VERBS = ["get", "list", "create", "update", "delete"]
READER_VERBS = ["get", "list"]


def subject(text: str, default_namespace: str) -> Tuple[str, str]:
    """``[NAMESPACE/]NAME`` of a ServiceAccount."""
    namespace, _, name = text.rpartition("/")
    return (namespace or default_namespace), name


OBSERVER_RULES = [
    {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get", "create"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
]
# `automation on --for`: the Job that stops them at the deadline (list a location's, create, replace, delete).
AUTOMATION_RULES = [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "create", "delete"]}]


def manifests(
    namespace: str,
    writer: Tuple[str, str],
    reader: Tuple[str, str],
    argocd_app: Optional[str] = None,
    argocd_namespace: str = "argocd",
    registry_namespace: Optional[str] = None,
    observer: Optional[Tuple[str, str]] = None,
) -> str:
    """The Roles and RoleBindings, as YAML. With a registry namespace of its own, the writer's and the reader's
    ConfigMap Roles live there, the writer gets nothing in the Dagster namespace, the reader may list the
    Dagster namespace's ConfigMaps (the empty-registry guard), and the observer Role goes to ``observer`` only."""
    labels = {constants.LABEL_MANAGED_BY: constants.MANAGED_BY}
    separate = registry_namespace not in (None, namespace)
    where = registry_namespace if separate else namespace
    docs: List[Dict[str, Any]] = []
    for role, verbs, account in (
        ("kubectl-dagster-registry-writer", WRITER_VERBS, writer),
        ("kubectl-dagster-registry-reader", READER_VERBS, reader),
    ):
        rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}]
        docs += [_role(role, where, labels, rules), _binding(role, where, account, labels)]
    if separate:
        guard = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]
        role = "kubectl-dagster-release-reader"
        docs += [_role(role, namespace, labels, guard), _binding(role, namespace, reader, labels)]
    # status, reload and add-location --wait: find the webserver, reach it through the service proxy,
    # read the Deployments' readiness. Kept apart so the registry Roles stay exact.
    if not separate or observer is not None:
        docs += [_role("kubectl-dagster-observer", namespace, labels, OBSERVER_RULES)]
        docs += [_binding("kubectl-dagster-observer", namespace, observer or writer, labels)]
        docs += [_role("kubectl-dagster-automation", namespace, labels, AUTOMATION_RULES)]  # automation --for
        docs += [_binding("kubectl-dagster-automation", namespace, observer or writer, labels)]
    if argocd_app:
        role = f"kubectl-dagster-refresh-{argocd_app}"
        rules = [
            {
                "apiGroups": ["argoproj.io"],
                "resources": ["applications"],
                "resourceNames": [argocd_app],
                "verbs": ["get", "patch"],
            }
        ]
        docs += [_role(role, argocd_namespace, labels, rules), _binding(role, argocd_namespace, writer, labels)]
    return _header(separate, where, namespace) + "".join("---\n" + yamlio.dump(doc) for doc in docs)


def _header(separate: bool, where: str, namespace: str) -> str:
    lines = [
        "# RBAC for the kubectl-dagster cluster registry (one ConfigMap per location).",
        "# Kubernetes cannot limit list or create by label, so the Roles cover ConfigMaps in this namespace.",
    ]
    if separate:
        lines[1] = f"# The registry has its own namespace, {where}: the writer gets nothing in {namespace}."
    return "\n".join(lines) + "\n"


def _role(name: str, namespace: str, labels: Dict[str, str], rules: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "rules": rules,
    }


def _binding(role: str, namespace: str, account: Tuple[str, str], labels: Dict[str, str]) -> Dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": role, "namespace": namespace, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account[1], "namespace": account[0]}],
    }
