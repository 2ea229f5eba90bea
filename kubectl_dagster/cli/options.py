"""Every option that more than one command takes, declared once, as rows of :mod:`optable` (the location,
registry, cluster and webserver options; the project and git options are in :mod:`projectopts`)."""

from __future__ import annotations

from typing import Sequence

from ..base import constants
from ..core.registry import flagedits
from . import optable
from .optable import Opt

# -- the rows ------------------------------------------------------------------------------------
DEBUG = Opt(("--debug",), "debug", "Print the traceback of an error.", flag=True, expose=False)
KUBECONFIG = Opt(
    ("--kubeconfig",),
    "kubeconfig",
    "Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config).",
    metavar="PATH",
)
CONTEXT = Opt(("--context",), "context", "The kubeconfig context to use.", metavar="NAME")
NAMESPACE = Opt(
    ("-n", "--namespace"),
    "namespace",
    "The Dagster namespace (default: the kubeconfig context's; for render: the release's, read from the input).",
    envvar=constants.NAMESPACE_ENV,
    metavar="NAMESPACE",
)
REQUEST_TIMEOUT = Opt(
    ("--request-timeout",),
    "request_timeout",
    "How long to wait for each API server request, as in kubectl (e.g. 10s, 1m; 0: no limit). "
    "Default: 30s for all the command's requests together, 5s to connect each.",
    metavar="DURATION",
)
KUBE = (KUBECONFIG, CONTEXT, NAMESPACE, REQUEST_TIMEOUT)
REGISTRY_NAMESPACE = Opt(
    ("--registry-namespace",),
    "registry_namespace",
    "Where the cluster registry's ConfigMaps live, when not in the Dagster namespace (docs/security.md).",
    envvar=constants.REGISTRY_NAMESPACE_ENV,
    metavar="NAMESPACE",
)
POLICY = Opt(
    ("--policy",),
    "policy",
    "A LocationPolicy file that cluster registry entries must satisfy (default: Pod Security baseline and the "
    "service account, namespace and token mount as the release gives them; docs/security.md).",
    metavar="FILE",
)

RENDER = (
    Opt(
        ("--locations",),
        "locations",
        "A CodeLocations file, or a directory of them (repeatable).",
        multiple=True,
        metavar="PATH",
    ),
    Opt(("--release",), "release", "The Helm release to merge into, when the input holds several.", metavar="NAME"),
    NAMESPACE,
    Opt(
        ("--mode",),
        "mode",
        "full: objects and workspace entries; workspace: entries only (user code is another "
        "release); objects: Deployments/Services only (standalone user-code chart).",
        default="auto",
        choices=constants.MODES,
        show_default=True,
    ),
    Opt(
        ("--on-conflict",),
        "on_conflict",
        "What to do when the chart already renders a location of the same name.",
        default="error",
        choices=constants.ON_CONFLICT,
        show_default=True,
    ),
    Opt(
        ("--rollout",),
        "rollout",
        "reload (default): add a hook Job that reloads the webserver's workspace, no "
        "restart; restart: roll the webserver and daemon by changing their workspace checksum; none: leave them "
        "(the daemon re-reads the workspace every 60 s).",
        choices=constants.ROLLOUTS,
    ),
    Opt(
        ("--reload-nudge",),
        "reload_nudge",
        "With --rollout=reload: the hook updates the webserver and daemon pods "
        "(a ServiceAccount, Role and RoleBinding come with it) so the kubelet refreshes workspace.yaml at once; "
        "false: no RBAC, the hook waits for the kubelet's periodic sync (a minute or two).",
        default="true",
        choices=constants.BOOLEANS,
        show_default=True,
    ),
    Opt(("--summary",), "summary", "Say on stderr which locations were merged.", flag=True),
    Opt(
        ("--from-cluster",),
        "from_cluster",
        "Also read the cluster registry: its ConfigMaps in -n/--namespace, else "
        "in the release's namespace as the input shows it.",
        flag=True,
    ),
    Opt(
        ("--allow-empty",),
        "allow_empty",
        "With --from-cluster: let an empty registry remove the locations an earlier render added (refused by default).",
        flag=True,
    ),
    REGISTRY_NAMESPACE,
    POLICY,
    KUBECONFIG,
    CONTEXT,
    REQUEST_TIMEOUT,
    DEBUG,
)

REGISTRY = (
    (
        Opt(("--cluster",), "cluster", "Use the cluster registry (one ConfigMap per location).", flag=True),
        Opt(
            ("--locations",),
            "locations_path",
            "Use the git registry: a CodeLocations file, or a directory with one file per location.",
            envvar=constants.LOCATIONS_ENV,
            metavar="PATH",
        ),
    )
    + KUBE
    + (REGISTRY_NAMESPACE, DEBUG)
)

ARGOCD_REFRESH = (
    Opt(
        ("--argocd-app",),
        "argocd_app",
        "After a successful write, ask ArgoCD for a hard refresh of this Application.",
        metavar="NAME",
    ),
    Opt(
        ("--argocd-namespace",),
        "argocd_namespace",
        "Namespace of the ArgoCD Application.",
        default="argocd",
        show_default=True,
        metavar="NS",
    ),
)

WEBSERVER = (
    Opt(
        ("--webserver-url",),
        "webserver_url",
        "The webserver's URL, e.g. http://localhost:3000 through a port-forward.",
        envvar=constants.WEBSERVER_URL_ENV,
        metavar="URL",
    ),
    Opt(
        ("--webserver-service",),
        "webserver_service",
        "Reach the webserver through the API server's service proxy "
        "(default: the Service labelled component=dagster-webserver in the namespace).",
        metavar="NAME[:PORT]",
    ),
)


LOCATION = (
    Opt(("--image",), "image", "The code server image (required to add).", metavar="REPOSITORY[:TAG]"),
    Opt(("--pull-policy",), "pull_policy", "image.pullPolicy.", choices=constants.PULL_POLICIES),
    Opt(("--branch",), "branch", "The git branch; gives the name when NAME is omitted."),
    Opt(("-f", "--python-file"), "python_file", "Code source: a Python file.", metavar="FILE"),
    Opt(("-m", "--module-name"), "module_name", "Code source: a module.", metavar="MODULE"),
    Opt(("-p", "--package-name"), "package_name", "Code source: an installed package.", metavar="PACKAGE"),
    Opt(("--working-directory",), "working_directory", "Working directory for the code source.", metavar="DIR"),
    Opt(("-a", "--attribute"), "attribute", "The Definitions attribute to load.", metavar="NAME"),
    Opt(("--executable-path",), "executable_path", "Python to run `dagster api grpc` with.", metavar="PATH"),
    Opt(("--commit-hash",), "commit_hash", "The commit the image was built from.", metavar="SHA"),
    Opt(("--git-url",), "git_url", "Link to the code (recorded as an annotation).", metavar="URL"),
    Opt(("--env",), "env", "An environment variable (repeatable; K- removes on update).", multiple=True, metavar="K=V"),
    Opt(("--env-secret",), "env_secrets", "A Secret to take env from (repeatable).", multiple=True, metavar="NAME"),
    Opt(
        ("--env-config-map",),
        "env_config_maps",
        "A ConfigMap to take env from (repeatable).",
        multiple=True,
        metavar="NAME",
    ),
    Opt(("--cpu",), "cpu", "CPU request, e.g. 500m.", metavar="QTY"),
    Opt(("--memory",), "memory", "Memory request, e.g. 1Gi.", metavar="QTY"),
    Opt(("--cpu-limit",), "cpu_limit", "CPU limit.", metavar="QTY"),
    Opt(("--memory-limit",), "memory_limit", "Memory limit.", metavar="QTY"),
    Opt(("--label",), "labels", "A pod label (repeatable; K- removes on update).", multiple=True, metavar="K=V"),
    Opt(("--pull-request",), "pull_request", "The pull request number.", metavar="N", kind="int"),
    Opt(("--ttl",), "ttl", "Expire after this long (e.g. 7d); `gc` removes it then.", metavar="DURATION"),
    Opt(("--port",), "port", "gRPC port (default: a free one from 3031).", kind="port"),
    Opt(
        ("--base",),
        "base",
        "The permanent location this branch location derives from; `diff` compares against it "
        "(default: the location named after the project prefix, etl for etl--feat-x).",
        metavar="NAME",
    ),
    Opt(
        ("--automation",),
        "automation",
        "A branch location's schedules and sensors: off (the default) starts them stopped, on keeps "
        "Dagster's own default status.",
        choices=constants.AUTOMATION_MODES,
    ),
)


def location(func):
    return optable.decorate(LOCATION)(func)


def location_flags(params):
    """The location rows' values as ``core.entries.Flags``."""

    return flagedits.Flags(**{row.dest: params[row.dest] for row in LOCATION})


def debug(func):
    return optable.decorate((DEBUG,))(func)


def kube(func):
    return optable.decorate(KUBE + (DEBUG,))(func)


def registry(func):
    return optable.decorate(REGISTRY)(func)


def writes(func):
    """The registry, the ArgoCD refresh and --dry-run: what every command that writes the registry takes."""
    import click

    func = click.option(
        "--dry-run",
        type=click.Choice(["none", "client", "server"]),
        default="none",
        is_flag=False,
        flag_value="client",
        show_default=True,
        help="client: show what would change; server: also have the API server check it.",
    )(func)
    return optable.decorate(REGISTRY + ARGOCD_REFRESH)(func)


def policy(func):
    """``--policy FILE``: the LocationPolicy a write to the cluster registry is checked against."""
    return optable.decorate((POLICY,))(func)


def wait(func):
    """``--wait[=TIMEOUT]``: after a write, wait until Dagster has loaded the location."""
    import click

    return click.option(
        "--wait",
        default=None,
        is_flag=False,
        flag_value="10m",
        metavar="[TIMEOUT]",
        help="After the write, wait until Dagster has LOADED the location (default bound 10m), "
        "or print its load error and fail.",
    )(func)


def webserver(func):
    return optable.decorate(WEBSERVER)(func)


def output(choices: Sequence[str], default: str):
    import click

    return click.option(
        "-o", "--output", type=click.Choice(list(choices)), default=default, show_default=True, help="Output format."
    )
