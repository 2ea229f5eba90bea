"""Where the code of a branch deployment comes from: branch, commit, pull request and repository URL.

In CI they come from the variables each CI system sets (a pull request's checkout is often detached,
so the working tree alone cannot say which branch it is); on a laptop from the git working tree; a
flag always wins. Pure: the variables, the event payload and the working-tree facts are passed in
(``kubectl_dagster.gitinfo`` reads them). Each system's variables are documented where they are read.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ...base import errors, naming

_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


class Context(NamedTuple):
    """One source's view; None where it has nothing to say."""

    branch: Optional[str] = None
    commit: Optional[str] = None
    pull_request: Optional[int] = None
    repository_url: Optional[str] = None
    system: str = "flags"  # github-actions, gitlab-ci, buildkite, circleci, jenkins, azure-pipelines, git, flags


class WorkingTree(NamedTuple):
    """What ``git`` says about the checkout: ``branch`` None when HEAD is detached."""

    branch: Optional[str] = None
    commit: Optional[str] = None
    remote_url: Optional[str] = None
    is_repository: bool = True


def _strip(ref: Optional[str], *prefixes: str) -> Optional[str]:
    if not ref:
        return None
    for prefix in prefixes:
        if ref.startswith(prefix):
            return ref[len(prefix) :] or None
    return ref


def _number(value: Any) -> Optional[int]:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and int(text) > 0 else None


def _sha(value: Optional[str]) -> Optional[str]:
    """A commit id, or None for what is not one (Buildkite may say ``HEAD``)."""
    return value if value and _SHA.fullmatch(value) else None


def _github(env: Mapping[str, str], event: Optional[Dict[str, Any]]) -> Context:
    """GitHub Actions (docs.github.com/en/actions/reference/variables-reference): on ``pull_request``
    events GITHUB_REF is ``refs/pull/N/merge`` and GITHUB_SHA the merge commit, so the branch is
    GITHUB_HEAD_REF and the commit and number come from the event payload (GITHUB_EVENT_PATH)."""
    server, repository = env.get("GITHUB_SERVER_URL") or "https://github.com", env.get("GITHUB_REPOSITORY")
    url = f"{server.rstrip('/')}/{repository}" if repository else None
    pull = (event or {}).get("pull_request") if isinstance((event or {}).get("pull_request"), dict) else None
    ref = env.get("GITHUB_REF") or ""
    if env.get("GITHUB_HEAD_REF") or pull is not None or ref.startswith("refs/pull/"):
        head = pull.get("head") if pull is not None and isinstance(pull.get("head"), dict) else {}
        number = _number((pull or {}).get("number")) or _number(ref.split("/")[2] if ref.count("/") >= 3 else None)
        branch = env.get("GITHUB_HEAD_REF") or head.get("ref")
        return Context(branch, _sha(head.get("sha")), number, url, "github-actions")
    branch = _strip(ref, "refs/heads/") if ref.startswith("refs/heads/") else None
    return Context(branch, _sha(env.get("GITHUB_SHA")), None, url, "github-actions")


def _gitlab(env: Mapping[str, str], event: Optional[Dict[str, Any]]) -> Context:
    """GitLab CI (docs.gitlab.com/ci/variables/predefined_variables): merge-request pipelines set
    CI_MERGE_REQUEST_IID and CI_MERGE_REQUEST_SOURCE_BRANCH_NAME (CI_COMMIT_BRANCH is then unset);
    merged-results pipelines also CI_MERGE_REQUEST_SOURCE_BRANCH_SHA, the branch's own commit."""
    url = env.get("CI_PROJECT_URL")
    if env.get("CI_MERGE_REQUEST_IID"):
        commit = _sha(env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")) or _sha(env.get("CI_COMMIT_SHA"))
        return Context(
            env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME"),
            commit,
            _number(env.get("CI_MERGE_REQUEST_IID")),
            url,
            "gitlab-ci",
        )
    branch = env.get("CI_COMMIT_BRANCH") or (None if env.get("CI_COMMIT_TAG") else env.get("CI_COMMIT_REF_NAME"))
    return Context(branch, _sha(env.get("CI_COMMIT_SHA")), None, url, "gitlab-ci")


def _buildkite(env: Mapping[str, str], event: Optional[Dict[str, Any]]) -> Context:
    """Buildkite (buildkite.com/docs/pipelines/environment-variables): BUILDKITE_PULL_REQUEST is the
    number or ``false``; BUILDKITE_COMMIT may be ``HEAD`` for a build started without a commit."""
    return Context(
        env.get("BUILDKITE_BRANCH") or None,
        _sha(env.get("BUILDKITE_COMMIT")),
        _number(env.get("BUILDKITE_PULL_REQUEST")),
        env.get("BUILDKITE_REPO") or None,
        "buildkite",
    )


def _circleci(env: Mapping[str, str], event: Optional[Dict[str, Any]]) -> Context:
    """CircleCI (circleci.com/docs/reference/variables): CIRCLE_PULL_REQUEST is the pull request's URL;
    CIRCLE_PR_NUMBER is only set for pull requests from forks."""
    link = env.get("CIRCLE_PULL_REQUEST") or ""
    number = _number(env.get("CIRCLE_PR_NUMBER")) or _number(link.rstrip("/").rsplit("/", 1)[-1] if link else None)
    return Context(
        env.get("CIRCLE_BRANCH") or None,
        _sha(env.get("CIRCLE_SHA1")),
        number,
        env.get("CIRCLE_REPOSITORY_URL") or None,
        "circleci",
    )


def _jenkins(env: Mapping[str, str], event: Optional[Dict[str, Any]]) -> Context:
    """Jenkins (${JENKINS_URL}/env-vars.html; the Git plugin's GIT_COMMIT, GIT_BRANCH, GIT_URL): in a
    multibranch pull-request build BRANCH_NAME is ``PR-24``, CHANGE_ID the number and CHANGE_BRANCH the
    source branch; GIT_BRANCH carries the remote (``origin/main``)."""
    if env.get("CHANGE_ID"):
        branch = env.get("CHANGE_BRANCH")
    else:
        branch = env.get("BRANCH_NAME") or _strip(
            env.get("GIT_BRANCH"), "refs/heads/", "origin/", "refs/remotes/origin/"
        )
    return Context(
        branch or None,
        _sha(env.get("GIT_COMMIT")),
        _number(env.get("CHANGE_ID")),
        env.get("GIT_URL") or None,
        "jenkins",
    )


def _azure(env: Mapping[str, str], event: Optional[Dict[str, Any]]) -> Context:
    """Azure Pipelines (learn.microsoft.com/azure/devops/pipelines/build/variables): BUILD_SOURCEBRANCH
    is the full ref (BUILD_SOURCEBRANCHNAME only its last segment, so ``feature/x`` would become ``x``);
    for pull requests SYSTEM_PULLREQUEST_SOURCEBRANCH, _SOURCECOMMITID and _PULLREQUESTNUMBER (GitHub)
    or _PULLREQUESTID (Azure Repos)."""
    url = env.get("BUILD_REPOSITORY_URI") or None
    if env.get("SYSTEM_PULLREQUEST_SOURCEBRANCH") or env.get("SYSTEM_PULLREQUEST_PULLREQUESTID"):
        number = _number(env.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER")) or _number(
            env.get("SYSTEM_PULLREQUEST_PULLREQUESTID")
        )
        commit = _sha(env.get("SYSTEM_PULLREQUEST_SOURCECOMMITID")) or _sha(env.get("BUILD_SOURCEVERSION"))
        return Context(
            _strip(env.get("SYSTEM_PULLREQUEST_SOURCEBRANCH"), "refs/heads/"), commit, number, url, "azure-pipelines"
        )
    ref = env.get("BUILD_SOURCEBRANCH") or ""
    branch = _strip(ref, "refs/heads/") if ref.startswith("refs/heads/") else None
    return Context(branch, _sha(env.get("BUILD_SOURCEVERSION")), None, url, "azure-pipelines")


# (system, how to recognise it, how to read it), in the order they are tried
SYSTEMS: List[Tuple[str, Callable[[Mapping[str, str]], bool], Callable]] = [
    ("github-actions", lambda env: env.get("GITHUB_ACTIONS") == "true", _github),
    ("gitlab-ci", lambda env: env.get("GITLAB_CI") == "true", _gitlab),
    ("buildkite", lambda env: env.get("BUILDKITE") == "true", _buildkite),
    ("circleci", lambda env: env.get("CIRCLECI") == "true", _circleci),
    ("azure-pipelines", lambda env: (env.get("TF_BUILD") or "").lower() == "true", _azure),
    ("jenkins", lambda env: bool(env.get("JENKINS_URL")), _jenkins),
]


def detect(env: Mapping[str, str]) -> Optional[str]:
    """The CI system these variables come from, or None."""
    return next((name for name, recognise, _ in SYSTEMS if recognise(env)), None)


def from_ci(env: Mapping[str, str], event: Optional[Dict[str, Any]] = None) -> Optional[Context]:
    """The context the CI variables give; None outside CI. ``event``: GitHub's event payload."""
    for _, recognise, read in SYSTEMS:
        if recognise(env):
            return read(env, event)
    return None


def from_tree(tree: WorkingTree) -> Context:
    return Context(tree.branch, _sha(tree.commit), None, tree.remote_url, "git")


def combine(flags: Context, ci: Optional[Context], tree: Optional[Context]) -> Context:
    """Field by field: a flag, else CI, else the working tree. ``system`` names the source of the branch."""
    layers = [layer for layer in (flags, ci, tree) if layer is not None]
    values = {}
    for field in ("branch", "commit", "pull_request", "repository_url"):
        given = [getattr(layer, field) for layer in layers if getattr(layer, field) not in (None, "")]
        values[field] = given[0] if given else None
    system = next((layer.system for layer in layers if layer.branch), "flags")
    return Context(
        values["branch"], values["commit"], values["pull_request"], naming.web_url(values["repository_url"]), system
    )


def require_branch(context: Context, tree: Optional[WorkingTree]) -> str:
    """The branch, or one error line saying why there is none and what to pass."""
    if context.branch:
        return context.branch
    if tree is not None and tree.is_repository and tree.commit:
        raise errors.InputError(
            "HEAD is detached and no CI variables name the branch", "pass --branch BRANCH (or check out a branch)"
        )
    if tree is not None and not tree.is_repository:
        raise errors.InputError(
            "not in a git working tree and no CI variables name the branch",
            "run it in the repository, or pass --branch BRANCH",
        )
    raise errors.InputError("no branch found in the CI variables or the working tree", "pass --branch BRANCH")
