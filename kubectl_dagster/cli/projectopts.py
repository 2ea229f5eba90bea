"""The options of ``deploy``, ``teardown``, ``config view`` and ``status``: the project config, the git context,
naming and the UI, as rows of :mod:`optable`; :func:`pick` takes single rows from every table."""

from __future__ import annotations

from typing import Tuple

from ..base import constants
from . import optable, options
from .optable import Opt

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
        ("--automation",),
        "automation",
        "The branch location's schedules and sensors: off (the default) starts them stopped, "
        "on keeps Dagster's own default status.",
        choices=constants.AUTOMATION_MODES,
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
    return optable.decorate(PROJECT)(func)


def pick(*dests: str) -> Tuple[Opt, ...]:
    """The rows with these dests, from every table above, in the order asked."""
    every = {
        row.dest: row
        for table in (
            options.KUBE,
            options.REGISTRY,
            options.ARGOCD_REFRESH,
            options.WEBSERVER,
            PROJECT,
            GIT,
            NAMING,
            DEPLOY,
            UI,
        )
        for row in table
    }
    return tuple(every[dest] for dest in dests)
