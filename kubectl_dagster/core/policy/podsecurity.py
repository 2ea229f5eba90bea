"""The Kubernetes Pod Security Standards, baseline and restricted, as checks of one pod template. Pure.

The rules follow the pod-security-admission controller (k8s.io/pod-security-admission/policy) for the fields a
Deployment's pod template can set; ephemeral containers do not occur in a template. Each finding names the field
(``containers[NAME].securityContext.privileged``) and never quotes more than the offending value.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

LEVELS = ("privileged", "baseline", "restricted")

# Capabilities a baseline pod may add: the container runtimes' default set.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# The "safe" sysctls: namespaced per pod and isolated from other pods on the node.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# Volume sources a restricted pod may use (core ones, or defined through PersistentVolumes).
RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
HANDLERS = ("livenessProbe", "readinessProbe", "startupProbe")

Finding = Tuple[str, str]  # (field, what is wrong)


def check(template: Dict[str, Any], level: str) -> List[Finding]:
    """Every finding of the pod template at ``level`` (privileged: none)."""
    if level == "privileged":
        return []
    spec = _mapping(template.get("spec"))
    meta = _mapping(template.get("metadata"))
    found = list(_baseline(spec, meta))
    if level == "restricted":
        found += list(_restricted(spec))
    return found


def containers(spec: Dict[str, Any]) -> Iterable[Tuple[str, Dict[str, Any]]]:
    """(field prefix, container) for every container and init container of a pod spec."""
    for key in ("initContainers", "containers"):
        for position, item in enumerate(_list(spec.get(key))):
            if isinstance(item, dict):
                yield f"{key}[{item.get('name') or position}]", item


def _mapping(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _context(item: Dict[str, Any]) -> Dict[str, Any]:
    return _mapping(item.get("securityContext"))


def _baseline(spec: Dict[str, Any], meta: Dict[str, Any]) -> Iterable[Finding]:
    yield from _host(spec)
    pod = _context(spec)
    yield from _security_context("securityContext", pod)
    for sysctl in _list(pod.get("sysctls")):
        name = _mapping(sysctl).get("name")
        if name not in SAFE_SYSCTLS:
            yield "securityContext.sysctls", f"sysctl {str(name)[:60]!r} is not one of the safe sysctls"
    for key, value in sorted(_mapping(meta.get("annotations")).items()):
        if str(key).startswith(APPARMOR_PREFIX) and not _apparmor_ok(value):
            yield f"annotations[{key}]", f"AppArmor profile {str(value)[:60]!r} is not allowed"
    for where, item in containers(spec):
        yield from _container_baseline(where, item)


def _host(spec: Dict[str, Any]) -> Iterable[Finding]:
    """Host namespaces and hostPath volumes."""
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield key, "host namespaces are not allowed"
    for position, volume in enumerate(_list(spec.get("volumes"))):
        if isinstance(volume, dict) and volume.get("hostPath") is not None:
            yield f"volumes[{volume.get('name') or position}].hostPath", "hostPath volumes are not allowed"


def _apparmor_ok(value: Any) -> bool:
    return value in ("", None, "runtime/default") or str(value).startswith("localhost/")


def _security_context(where: str, context: Dict[str, Any]) -> Iterable[Finding]:
    """The checks a pod's and a container's securityContext share."""
    if _mapping(context.get("windowsOptions")).get("hostProcess") is True:
        yield f"{where}.windowsOptions.hostProcess", "Windows HostProcess is not allowed"
    selinux = _mapping(context.get("seLinuxOptions"))
    if selinux.get("type", "") not in SELINUX_TYPES:
        yield f"{where}.seLinuxOptions.type", f"SELinux type {str(selinux.get('type'))[:60]!r} is not allowed"
    for key in ("user", "role"):
        if selinux.get(key):
            yield f"{where}.seLinuxOptions.{key}", f"a custom SELinux {key} is not allowed"
    if _mapping(context.get("seccompProfile")).get("type") == "Unconfined":
        yield f"{where}.seccompProfile.type", "the Unconfined seccomp profile is not allowed"
    if _mapping(context.get("appArmorProfile")).get("type") == "Unconfined":
        yield f"{where}.appArmorProfile.type", "the Unconfined AppArmor profile is not allowed"


def _container_baseline(where: str, item: Dict[str, Any]) -> Iterable[Finding]:
    context = _context(item)
    if context.get("privileged") is True:
        yield f"{where}.securityContext.privileged", "privileged containers are not allowed"
    added = [str(cap) for cap in _list(_mapping(context.get("capabilities")).get("add"))]
    extra = sorted(set(added) - BASELINE_CAPABILITIES)
    if extra:
        yield f"{where}.securityContext.capabilities.add", f"capabilities {', '.join(extra)[:80]} are not allowed"
    if context.get("procMount") not in (None, "Default"):
        yield f"{where}.securityContext.procMount", "only the Default /proc mount type is allowed"
    yield from _security_context(f"{where}.securityContext", context)
    for position, port in enumerate(_list(item.get("ports"))):
        if _mapping(port).get("hostPort") not in (None, 0):
            yield f"{where}.ports[{position}].hostPort", "host ports are not allowed"
    yield from _handler_hosts(where, item)


def _handler_hosts(where: str, item: Dict[str, Any]) -> Iterable[Finding]:
    handlers = [(key, _mapping(item.get(key))) for key in HANDLERS]
    lifecycle = _mapping(item.get("lifecycle"))
    handlers += [(f"lifecycle.{key}", _mapping(lifecycle.get(key))) for key in ("postStart", "preStop")]
    for key, handler in handlers:
        for kind in ("httpGet", "tcpSocket"):
            if _mapping(handler.get(kind)).get("host"):
                yield f"{where}.{key}.{kind}.host", "a probe or lifecycle host is not allowed"


def _restricted(spec: Dict[str, Any]) -> Iterable[Finding]:
    pod = _context(spec)
    for position, volume in enumerate(_list(spec.get("volumes"))):
        kinds = sorted(set(_mapping(volume)) - {"name"} - RESTRICTED_VOLUMES)
        if kinds:
            yield f"volumes[{_mapping(volume).get('name') or position}]", f"volume type {kinds[0]} is not allowed"
    if pod.get("runAsUser") == 0:
        yield "securityContext.runAsUser", "running as user 0 (root) is not allowed"
    for where, item in containers(spec):
        yield from _container_restricted(where, _context(item), pod)


def _container_restricted(where: str, context: Dict[str, Any], pod: Dict[str, Any]) -> Iterable[Finding]:
    field = f"{where}.securityContext"
    if context.get("allowPrivilegeEscalation") is not False:
        yield f"{field}.allowPrivilegeEscalation", "must be false"
    non_root = context.get("runAsNonRoot", pod.get("runAsNonRoot"))
    if non_root is not True:
        yield f"{field}.runAsNonRoot", "must be true (here or in the pod's securityContext)"
    if context.get("runAsUser") == 0:
        yield f"{field}.runAsUser", "running as user 0 (root) is not allowed"
    seccomp = _mapping(context.get("seccompProfile")).get("type") or _mapping(pod.get("seccompProfile")).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        yield f"{field}.seccompProfile.type", "must be RuntimeDefault or Localhost (here or in the pod's)"
    yield from _restricted_capabilities(field, _mapping(context.get("capabilities")))


def _restricted_capabilities(field: str, capabilities: Dict[str, Any]) -> Iterable[Finding]:
    if "ALL" not in [str(cap) for cap in _list(capabilities.get("drop"))]:
        yield f"{field}.capabilities.drop", "must include ALL"
    added = sorted({str(cap) for cap in _list(capabilities.get("add"))} - {"NET_BIND_SERVICE"})
    if added:
        yield f"{field}.capabilities.add", f"only NET_BIND_SERVICE may be added, not {', '.join(added)[:60]}"
