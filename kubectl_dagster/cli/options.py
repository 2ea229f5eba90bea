"""Every option that more than one command takes, declared once.

Options are rows of a table (:class:`Opt`). :func:`decorate` turns rows into click options; for
``render``, which Helm runs on every upgrade, :func:`fast_parse` reads the same rows without
importing click at all (click costs a third of a small render) and gives up, leaving the
arguments to click, on anything that is not plainly valid. tests/unit/test_cli.py checks that both
read every argument list the same way. click is imported inside functions, never at module level.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .. import constants


class Opt(NamedTuple):
    names: Tuple[str, ...]  # ("-n", "--namespace")
    dest: str
    help: str
    default: Any = None
    flag: bool = False
    multiple: bool = False
    choices: Tuple[str, ...] = ()
    envvar: Optional[str] = None
    metavar: Optional[str] = None
    expose: bool = True  # False: parsed, not passed to the command (--debug, read by cli.main)
    show_default: bool = False
    kind: str = "text"  # text, int, or port (1-65535)


def decorate(rows: Sequence[Opt]) -> Callable:
    """A decorator adding ``rows`` as click options, in the order given (as --help lists them)."""
    import click

    def apply(func):
        for row in reversed(rows):
            kwargs: Dict[str, Any] = {"help": row.help, "expose_value": row.expose, "show_default": row.show_default}
            if row.flag:
                kwargs["is_flag"] = True
            else:
                kwargs.update(default=row.default, multiple=row.multiple, envvar=row.envvar, metavar=row.metavar)
                if row.choices:
                    kwargs["type"] = click.Choice(row.choices)
                elif row.kind != "text":
                    kwargs["type"] = click.IntRange(1, 65535) if row.kind == "port" else int
            func = click.option(*row.names, row.dest, **kwargs)(func)
        return func

    return apply


def fast_parse(rows: Sequence[Opt], args: List[str]) -> Optional[Dict[str, Any]]:
    """The parameters click would give for ``args``, or None to let click handle them."""
    by_name = {name: row for row in rows for name in row.names}
    params: Dict[str, Any] = {row.dest: _default(row) for row in rows if row.expose}
    multiple: Dict[str, List[str]] = {row.dest: [] for row in rows if row.multiple}
    index = 0
    while index < len(args):
        name, eq, value = args[index].partition("=")
        row = by_name.get(name)
        if row is None or (row.flag and eq) or (eq and name.startswith("-") and not name.startswith("--")):
            return None  # unknown, --flag=x, or -n=x (click reads "=x" as the value): click decides
        if row.flag:
            value, index = True, index + 1
        elif eq:
            index += 1
        elif index + 1 < len(args):
            value, index = args[index + 1], index + 2
        else:
            return None
        if row.choices and value not in row.choices:
            return None
        if not row.expose:
            continue
        if row.multiple:
            multiple[row.dest].append(value)
        else:
            params[row.dest] = value
    params.update({dest: tuple(values) for dest, values in multiple.items()})
    return params


def _default(row: Opt) -> Any:
    if row.flag:
        return False
    if row.envvar and os.environ.get(row.envvar):
        return os.environ[row.envvar]
    return () if row.multiple else row.default


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
    "Default: 5s to connect, 30s to answer.",
    metavar="DURATION",
)
KUBE = (KUBECONFIG, CONTEXT, NAMESPACE, REQUEST_TIMEOUT)

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
    + (DEBUG,)
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
)


def location(func):
    return decorate(LOCATION)(func)


def location_flags(params):
    """The location rows' values as ``core.entries.Flags``."""
    from ..core import entries

    return entries.Flags(**{row.dest: params[row.dest] for row in LOCATION})


def debug(func):
    return decorate((DEBUG,))(func)


def kube(func):
    return decorate(KUBE + (DEBUG,))(func)


def registry(func):
    return decorate(REGISTRY)(func)


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
    return decorate(REGISTRY + ARGOCD_REFRESH)(func)


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
    return decorate(WEBSERVER)(func)


def output(choices: Sequence[str], default: str):
    import click

    return click.option(
        "-o", "--output", type=click.Choice(list(choices)), default=default, show_default=True, help="Output format."
    )


# -- deploy, teardown, config view: the project config and the git context --------------------
PROJECT = (
    Opt(
        ("-e", "--environment"),
        "environment",
        "The environment of the project config (default: "
        f"${constants.ENVIRONMENT_ENV}, else its defaultEnvironment, else defaults only).",
        metavar="NAME",
    ),
    Opt(
        ("--config",),
        "config",
        "The project config file (default: $KUBECTL_DAGSTER_CONFIG, else the nearest "
        ".kubectl-dagster.yaml in this directory or a parent).",
        metavar="PATH",
    ),
)
GIT = (
    Opt(("--branch",), "branch", "The git branch (default: the CI variables, else the checked-out branch)."),
    Opt(("--commit",), "commit", "The commit (default: the CI variables, else HEAD).", metavar="SHA"),
    Opt(
        ("--pull-request",),
        "pull_request",
        "The pull request number (default: the CI variables).",
        metavar="N",
        kind="int",
    ),
    Opt(
        ("--repository-url",),
        "repository_url",
        "The repository URL (default: the CI variables, else the remote).",
        metavar="URL",
    ),
)
NAMING = (
    Opt(
        ("--name",),
        "name",
        "The location name, instead of the one derived from project and branch (project:branch means project--branch).",
    ),
    Opt(("--suffix",), "suffix", "Appended to the derived name, to deploy a branch more than once (feat-x-nightly)."),
    Opt(
        ("--project",),
        "project",
        "Name prefix (etl -> etl--feat-x); default: project in the project config or "
        "[tool.kubectl-dagster] project in pyproject.toml.",
        metavar="NAME",
    ),
)
DEPLOY = (
    Opt(
        ("--image",),
        "image",
        "The whole image reference, instead of the config's repository and tag.",
        metavar="REPOSITORY[:TAG]",
    ),
    Opt(
        ("--image-tag",),
        "image_tag",
        "The tag template (fields {branch} {commit} {short_commit} {pr} {name} "
        "{project}), instead of the config's image.tag.",
        metavar="TEMPLATE",
    ),
    Opt(("--pull-policy",), "pull_policy", "image.pullPolicy.", choices=constants.PULL_POLICIES),
    Opt(("-f", "--python-file"), "python_file", "Code source: a Python file.", metavar="FILE"),
    Opt(("-m", "--module-name"), "module_name", "Code source: a module.", metavar="MODULE"),
    Opt(("-p", "--package-name"), "package_name", "Code source: an installed package.", metavar="PACKAGE"),
    Opt(("--working-directory",), "working_directory", "Working directory for the code source.", metavar="DIR"),
    Opt(("-a", "--attribute"), "attribute", "The Definitions attribute to load.", metavar="NAME"),
    Opt(
        ("--env",),
        "env",
        "An environment variable, added to the config's env (repeatable).",
        multiple=True,
        metavar="K=V",
    ),
    Opt(
        ("--env-secret",),
        "env_secrets",
        "A Secret to take env from, added to the config's (repeatable).",
        multiple=True,
        metavar="NAME",
    ),
    Opt(
        ("--env-config-map",),
        "env_config_maps",
        "A ConfigMap to take env from, added to the config's (repeatable).",
        multiple=True,
        metavar="NAME",
    ),
    Opt(
        ("--ttl",),
        "ttl",
        "Expire after this long (e.g. 7d), renewed by every deploy; `gc` removes it then.",
        metavar="DURATION",
    ),
    Opt(
        ("--max-branch-locations",),
        "max_branch_locations",
        "Refuse a new branch location when the registry already holds this many.",
        metavar="N",
        kind="int",
    ),
    Opt(
        ("--branch-env",),
        "branch_env",
        "Branch context in the code's environment: default (KUBECTL_DAGSTER_*), "
        "dagster-cloud (also Dagster+'s DAGSTER_CLOUD_* names), off.",
        choices=constants.BRANCH_ENV_MODES,
    ),
    Opt(
        ("--base",),
        "base",
        "The permanent location this branch derives from; `diff` compares against it "
        "(default: base in the project config, else the location named after the project prefix).",
        metavar="NAME",
    ),
)
UI = (
    Opt(
        ("--ui-url",),
        "ui_url",
        "The Dagster UI's base URL, for links (default: uiUrl in the project config).",
        metavar="URL",
    ),
)


def project(func):
    return decorate(PROJECT)(func)


def pick(*dests: str) -> Tuple[Opt, ...]:
    """The rows with these dests, from every table above, in the order asked."""
    every = {
        row.dest: row
        for table in (KUBE, REGISTRY, ARGOCD_REFRESH, WEBSERVER, PROJECT, GIT, NAMING, DEPLOY, UI)
        for row in table
    }
    return tuple(every[dest] for dest in dests)
