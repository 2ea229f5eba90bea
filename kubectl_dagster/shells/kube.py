"""The connection to the Kubernetes API server, and the one place its answers become errors.

The official client does what it is good at: kubeconfig discovery and merging (several files in
``$KUBECONFIG``), contexts, exec and auth-provider credentials, in-cluster config, TLS and proxies.
Requests go through its ``ApiClient`` as plain paths with JSON bodies: the generated API classes
and their models cost about half a second to import and add nothing a JSON dict does not give.
Time: without ``--request-timeout`` a command has one budget for the API server, all its requests
together (``constants.API_BUDGET``, started by ``cli.main``); with it, each request gets that long,
as in kubectl. No request is sent twice: a server that does not answer is not asked again.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Dict, NamedTuple, Optional, Tuple
from urllib.parse import quote, urlencode

from ..base import constants, errors

SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read seconds per request, when --request-timeout is not given
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}
MAX_BODY = 64 * 1024 * 1024  # bytes: an answer larger than this is refused, not parsed


class KubeFlags(NamedTuple):
    """kubectl's connection flags, as given (None: not given)."""

    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: Optional[str] = None
    request_timeout: Optional[str] = None


class Refused(NamedTuple):
    """An error status the caller asked to handle itself (``tolerate``)."""

    status: int
    message: str


class Budget:
    """What is left of the running command's time for the API server. ``cli.main`` starts it; a
    command that waits on purpose for as long as its own flag says (``--wait``, ``reload``, ``watch``)
    lifts it once its requests before the wait are done."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.seconds: Optional[float] = None
        self.deadline: Optional[float] = None

    def start(self, seconds: float) -> None:
        self.seconds, self.deadline = seconds, self.clock() + seconds

    def lift(self) -> None:
        self.deadline = None

    def left(self) -> Optional[float]:
        """Seconds left; None when no budget runs."""
        return None if self.deadline is None else self.deadline - self.clock()


BUDGET = Budget()  # the running command's (one process runs one command)


def parse_timeout(value: Optional[str]):
    """kubectl's ``--request-timeout``: a number (seconds) or a duration (``500ms``, ``30s``, ``1m``); 0 means none."""
    if value is None:
        return DEFAULT_TIMEOUT
    match = _DURATION.fullmatch(value.strip())
    if not match:
        raise errors.InputError(
            f"--request-timeout {value!r} is not a duration",
            "use a number of seconds or a duration such as 30s or 1m (0: no timeout)",
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    return None if seconds == 0 else seconds


class Cluster:
    """A configured API client, the server it talks to, and the namespace commands act in."""

    def __init__(self, flags: KubeFlags):
        self.timeout = parse_timeout(flags.request_timeout)
        self.budgeted = flags.request_timeout is None  # --request-timeout replaces the command's budget
        configuration, default_namespace = _configure(flags)
        from kubernetes.client.api_client import ApiClient

        configuration.retries = False  # urllib3 would send a request again after a timeout or a dropped connection
        self.server = configuration.host
        self.api = ApiClient(configuration)
        self.namespace = flags.namespace or default_namespace or "default"

    def request(
        self,
        what: str,
        method: str,
        path: str,
        query: Optional[Dict[str, Any]] = None,
        body: Any = None,
        content_type: str = "application/json",
        tolerate: Tuple[int, ...] = (),
    ) -> Any:
        """One API call; the decoded JSON answer. A status in ``tolerate`` comes back as :class:`Refused`;
        every other failure is one ClusterError line."""
        limit = self.limit(what)
        response = self.open(what, method, path, query, body, content_type, limit)
        try:
            data = response.response.read(MAX_BODY + 1)
        except Exception as exc:  # urllib3 read errors and timeouts
            raise self.unreachable(what, exc, limit) from exc
        finally:
            response.response.release_conn()
        if len(data) > MAX_BODY:
            raise errors.ClusterError(
                f"the API server at {self.server} answered more than {MAX_BODY} bytes ({what})",
                "check the server and --kubeconfig",
            )
        if response.status >= 400:
            if response.status in tolerate:
                return Refused(response.status, status_message(data))
            raise api_error(what, response.status, data, self.namespace)
        return decode(data, what, self.server)

    def open(
        self,
        what: str,
        method: str,
        path: str,
        query: Optional[Dict[str, Any]] = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: Any = None,
    ):
        """Send one request and return the client's unread response (for streams such as watches).
        ``timeout``: what :meth:`limit` gave (default: :meth:`limit`'s default)."""
        limit = self.limit(what) if timeout is None else timeout
        url_path = path + ("?" + urlencode(query, doseq=True) if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            method, url, headers, body, post = self.api.param_serialize(
                method, url_path, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            return self.api.call_api(method, url, headers, body, post, _request_timeout=limit)
        except Exception as exc:  # urllib3 connection, TLS, timeout and protocol errors; credential plugins
            raise self.unreachable(what, exc, limit) from exc

    def limit(self, what: str, own: Any = None):
        """The timeout of one request: ``own`` (a caller's, e.g. a watch's), else --request-timeout or the
        default; while the command's budget runs, cut to what is left of it. None: no limit."""
        timeout = self.timeout if own is None else own
        left = BUDGET.left() if self.budgeted else None
        if left is None:
            return timeout
        if left <= 0:
            raise errors.UnreachableError(
                f"the API server at {self.server}: the command's {BUDGET.seconds:g}s ran out before {what}",
                _BUDGET_FIX,
            )
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        return (min(connect, left), min(read, left))

    def unreachable(self, what: str, exc: Exception, limit: Any = None) -> errors.ClusterError:
        """One error line, the reason in words, for a request that got no answer."""
        kind, reason = failure(exc)
        server = self.server
        if kind == "read-timeout":
            within, fix = (
                f"--request-timeout {_seconds(self.timeout)}",
                "check the cluster and your network, or raise --request-timeout",
            )
            if self.budgeted:  # the read limit is the rest of the budget, or the default when a wait lifted it
                running = BUDGET.deadline is not None
                within, fix = (f"the command's {BUDGET.seconds:g}s" if running else _seconds(limit)), _BUDGET_FIX
            return errors.UnreachableError(f"the API server at {server} did not answer within {within} ({what})", fix)
        if kind == "connect-timeout":
            return errors.UnreachableError(
                f"the API server at {server} did not accept the connection within {_seconds(limit, 0)} ({what})",
                "check the server address in the kubeconfig, the cluster and your network",
            )
        if kind == "tls":
            return errors.UnreachableError(
                f"TLS with the API server at {server} failed ({what}): {reason}",
                "check the kubeconfig's certificate-authority data and the server address",
            )
        return errors.UnreachableError(
            f"cannot reach the API server at {server} ({what}): {reason}",
            "check the cluster, --context and --kubeconfig",
        )


_BUDGET_FIX = "check the cluster and your network, or pass --request-timeout to give each request its own time"
_SSL_REASON = re.compile(r"\[SSL: [A-Z_]+\] ([^(]+)")


def _seconds(timeout: Any, part: int = 1) -> str:
    value = timeout[part] if isinstance(timeout, tuple) else timeout
    return f"{value:g}s"


def failure(exc: BaseException) -> Tuple[str, str]:
    """(kind, reason in words) of a failed request; kind is connect-timeout, read-timeout, tls or other."""
    import urllib3.exceptions as u3

    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        exc = exc.reason  # what urllib3 gave up on
    text = str(exc)
    ssl = _SSL_REASON.search(text)
    for kind, reason, match in (
        ("other", "the server's host name does not resolve", isinstance(exc, u3.NameResolutionError)),
        ("other", "the connection was refused", isinstance(exc, u3.NewConnectionError) and "refused" in text),
        ("other", "the connection failed: " + text.rsplit("] ", 1)[-1].lower(), isinstance(exc, u3.NewConnectionError)),
        ("connect-timeout", "no connection in time", isinstance(exc, u3.ConnectTimeoutError)),
        ("read-timeout", "no answer in time", isinstance(exc, (u3.ReadTimeoutError, TimeoutError))),
        ("tls", ssl.group(1).strip() if ssl else "the handshake failed", bool(ssl) or "SSL" in text),
        ("other", "the server closed the connection without an answer", isinstance(exc, u3.ProtocolError)),
    ):
        if match:
            return kind, reason
    return "other", f"{type(exc).__name__}: {_one_line(exc)}"


def _configure(flags: KubeFlags):
    """The client's configuration and the context's namespace, the way kubectl finds them: --kubeconfig,
    else every file in $KUBECONFIG (merged), else ~/.kube/config; in a pod without one, the in-cluster config."""
    try:
        from kubernetes.client.configuration import Configuration
        from kubernetes.config import config_exception, incluster_config, kube_config
    except ImportError as exc:  # pragma: no cover - a broken install
        raise errors.ClusterError("the kubernetes package is not installed", "pip install kubernetes") from exc
    configuration = Configuration()
    if flags.kubeconfig and not os.path.isfile(flags.kubeconfig):
        raise errors.ClusterError(f"kubeconfig {flags.kubeconfig} does not exist", "check --kubeconfig")
    paths = (
        flags.kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser(kube_config.KUBE_CONFIG_DEFAULT_LOCATION)
    )
    present = [p for p in paths.split(os.pathsep) if p and os.path.exists(p)]
    if not present and not flags.context and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            incluster_config.InClusterConfigLoader(
                incluster_config.SERVICE_TOKEN_FILENAME, incluster_config.SERVICE_CERT_FILENAME
            ).load_and_set(configuration)
        except config_exception.ConfigException as exc:
            raise errors.ClusterError(
                f"in-cluster config failed: {_one_line(exc)}", "check the pod's service account"
            ) from exc
        return configuration, _read(SA_NAMESPACE)
    if not present:
        missing = paths.split(os.pathsep)[0]
        if flags.kubeconfig or os.environ.get("KUBECONFIG"):
            raise errors.ClusterError(f"kubeconfig {missing} does not exist", "check --kubeconfig or KUBECONFIG")
        raise errors.ClusterError(
            "no kubeconfig found and not running in a cluster", "pass --kubeconfig, set KUBECONFIG, or run inside a pod"
        )
    files = os.pathsep.join(present)  # the client merges several files as kubectl does
    try:
        kube_config.load_kube_config(
            config_file=files, context=flags.context, client_configuration=configuration, persist_config=False
        )
        contexts, active = kube_config.list_kube_config_contexts(config_file=files)
        chosen = next((c for c in contexts if c.get("name") == flags.context), None) if flags.context else active
        namespace = ((chosen or {}).get("context") or {}).get("namespace")
    except config_exception.ConfigException as exc:
        raise errors.ClusterError(f"bad kubeconfig: {_one_line(exc)}", "check --kubeconfig and --context") from exc
    except Exception as exc:  # garbage files: YAML errors, wrong shapes, undecodable certificate data
        where = flags.kubeconfig or os.pathsep.join(present)
        raise errors.ClusterError(
            f"bad kubeconfig {where}: {type(exc).__name__}: {_one_line(exc)}", "check --kubeconfig and KUBECONFIG"
        ) from exc
    return configuration, namespace


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " …"


def decode(data: bytes, what: str, server: str) -> Any:
    """The JSON of an answer; anything else is one error line."""
    try:
        value = json.loads(data) if data else {}
    except ValueError as exc:
        raise errors.ClusterError(
            f"the API server at {server} answered with something that is not JSON ({what})",
            "check the server address in the kubeconfig (a proxy or a web page?)",
        ) from exc
    if not isinstance(value, dict):
        raise errors.ClusterError(
            f"the API server at {server} answered with a JSON {type(value).__name__}, not an object ({what})",
            "check the server address in the kubeconfig",
        )
    return value


def items_of(answer: Dict[str, Any], what: str, server: str) -> list:
    """The objects of a list answer. A malformed list (items missing, null, or not a list of objects) is one
    error line: a read that went wrong must never look like an empty registry."""
    items = answer.get("items")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise errors.ClusterError(
            f"the API server at {server} answered a malformed list ({what}): items must be a list of objects",
            "check the server address in the kubeconfig",
        )
    return items


def api_error(what: str, status: int, body: Any, namespace: str) -> errors.Error:
    message = status_message(body)
    if status == 401:
        return errors.ClusterError(
            f"unauthorized ({what}): {message}", "log in again or check the kubeconfig's credentials"
        )
    if status == 403:
        return errors.ClusterError(
            f"forbidden ({what}): {message}",
            "grant the Roles printed by `kubectl dagster rbac` in namespace " + namespace,
        )
    if status == 404 and message.startswith("namespaces ") and "not found" in message:
        return errors.ClusterError(
            f"namespace {namespace} not found ({what})", "pass -n/--namespace with the Dagster namespace"
        )
    if status == 409:
        return errors.WriteConflictError(f"conflict ({what}): {message}", "retry the command")
    if status == 422:
        return errors.ClusterError(f"rejected by the API server ({what}): {message}", "fix the location spec")
    return errors.ClusterError(f"API server answered {status} ({what}): {message}", "check the cluster and retry")


def status_message(body: Any) -> str:
    """The ``message`` of a Status body, else the body itself; one line, at most 300 characters."""
    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else {}
    except ValueError:
        data = {}
    text = data.get("message") if isinstance(data, dict) else None
    if not isinstance(text, str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    return " ".join(text.split())[:300]


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def namespaced(namespace: str, resource: str, name: Optional[str] = None, group: str = "") -> str:
    """The REST path of a namespaced resource (``group`` like ``apps/v1``; core when empty)."""
    base = f"/apis/{group}" if group else "/api/v1"
    path = f"{base}/namespaces/{quote(namespace, safe='')}/{resource}"
    return path + (f"/{quote(name, safe=':')}" if name else "")


def refresh_argocd_app(cluster: Cluster, app: str, namespace: str) -> None:
    """Ask ArgoCD for a hard refresh of one Application (it caches manifests per commit)."""
    body = {"metadata": {"annotations": {constants.ARGOCD_REFRESH_ANNOTATION: "hard"}}}
    cluster.request(
        f"refresh Application {namespace}/{app}",
        "PATCH",
        namespaced(namespace, "applications", app, group="argoproj.io/v1alpha1"),
        body=body,
        content_type="application/merge-patch+json",
    )
