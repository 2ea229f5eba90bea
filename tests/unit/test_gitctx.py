"""The git context from each CI system's variables, set as each system sets them, and the order of
precedence (flag, CI, working tree). The same variables go through the real CLI in tests/test_deploy.py."""

import pytest

from kubectl_dagster.base import errors, naming
from kubectl_dagster.core.branches import gitctx

SHA = "3f2c1ab9d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0"
MERGE_SHA = "9999999999999999999999999999999999999999"


def test_github_actions_pull_request_event():
    """docs.github.com/en/actions/reference/variables-reference and "Events that trigger workflows":
    on pull_request, GITHUB_REF is refs/pull/<n>/merge and GITHUB_SHA the merge commit; GITHUB_HEAD_REF
    is the source branch; the payload at GITHUB_EVENT_PATH has pull_request.number and head.sha."""
    env = {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_REF_NAME": "42/merge",
        "GITHUB_HEAD_REF": "feat/login",
        "GITHUB_BASE_REF": "main",
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/etl",
    }
    event = {
        "action": "synchronize",
        "number": 42,
        "pull_request": {"number": 42, "head": {"ref": "feat/login", "sha": SHA}},
    }
    assert gitctx.from_ci(env, event) == gitctx.Context(
        "feat/login", SHA, 42, "https://github.com/acme/etl", "github-actions"
    )


def test_github_actions_pull_request_without_a_readable_payload_uses_the_ref():
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_HEAD_REF": "fix",
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_REPOSITORY": "acme/etl",
    }
    assert gitctx.from_ci(env, None) == gitctx.Context("fix", None, 7, "https://github.com/acme/etl", "github-actions")


def test_github_actions_push_event():
    """On push, GITHUB_REF is refs/heads/<branch> and GITHUB_SHA the pushed commit; GITHUB_HEAD_REF is empty."""
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/feat/x",
        "GITHUB_REF_NAME": "feat/x",
        "GITHUB_HEAD_REF": "",
        "GITHUB_SHA": SHA,
        "GITHUB_SERVER_URL": "https://github.example.com",
        "GITHUB_REPOSITORY": "acme/etl",
    }
    assert gitctx.from_ci(env, {"ref": "refs/heads/feat/x"}) == gitctx.Context(
        "feat/x", SHA, None, "https://github.example.com/acme/etl", "github-actions"
    )


def test_github_actions_tag_push_has_no_branch():
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.0", "GITHUB_SHA": SHA, "GITHUB_REPOSITORY": "a/b"}
    assert gitctx.from_ci(env, None).branch is None


def test_gitlab_merge_request_pipeline():
    """docs.gitlab.com/ci/variables/predefined_variables: merge-request pipelines set CI_MERGE_REQUEST_IID and
    CI_MERGE_REQUEST_SOURCE_BRANCH_NAME; CI_COMMIT_BRANCH is not available; CI_COMMIT_REF_NAME is the source branch."""
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "17",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feat/login",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_REF_NAME": "feat/login",
        "CI_COMMIT_SHA": SHA,
        "CI_PROJECT_URL": "https://gitlab.com/acme/etl",
    }
    assert gitctx.from_ci(env) == gitctx.Context("feat/login", SHA, 17, "https://gitlab.com/acme/etl", "gitlab-ci")


def test_gitlab_merged_results_pipeline_takes_the_source_branch_commit():
    """In merged-results pipelines CI_COMMIT_SHA is the merge result; CI_MERGE_REQUEST_SOURCE_BRANCH_SHA the branch."""
    env = {
        "GITLAB_CI": "true",
        "CI_MERGE_REQUEST_IID": "3",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "b",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": SHA,
        "CI_COMMIT_SHA": MERGE_SHA,
        "CI_PROJECT_URL": "https://g/a/b",
    }
    assert gitctx.from_ci(env).commit == SHA


def test_gitlab_branch_pipeline():
    env = {
        "GITLAB_CI": "true",
        "CI_COMMIT_BRANCH": "main",
        "CI_COMMIT_REF_NAME": "main",
        "CI_COMMIT_SHA": SHA,
        "CI_PROJECT_URL": "https://gitlab.com/acme/etl",
    }
    assert gitctx.from_ci(env) == gitctx.Context("main", SHA, None, "https://gitlab.com/acme/etl", "gitlab-ci")


def test_buildkite_pull_request_and_branch_builds():
    """buildkite.com/docs/pipelines/environment-variables: BUILDKITE_PULL_REQUEST is the number or "false";
    BUILDKITE_COMMIT may be "HEAD" when a build is started without a commit; BUILDKITE_REPO is the clone URL."""
    env = {
        "BUILDKITE": "true",
        "CI": "true",
        "BUILDKITE_BRANCH": "feat/login",
        "BUILDKITE_COMMIT": SHA,
        "BUILDKITE_PULL_REQUEST": "5",
        "BUILDKITE_PULL_REQUEST_BASE_BRANCH": "main",
        "BUILDKITE_REPO": "git@github.com:acme/etl.git",
    }
    assert gitctx.from_ci(env) == gitctx.Context("feat/login", SHA, 5, "git@github.com:acme/etl.git", "buildkite")
    env.update(BUILDKITE_PULL_REQUEST="false", BUILDKITE_COMMIT="HEAD")
    assert gitctx.from_ci(env)[:3] == ("feat/login", None, None)


def test_circleci_pull_request():
    """circleci.com/docs/reference/variables: CIRCLE_PULL_REQUEST is the pull request's URL; CIRCLE_PR_NUMBER
    is only set for forked pull requests."""
    env = {
        "CIRCLECI": "true",
        "CI": "true",
        "CIRCLE_BRANCH": "feat/login",
        "CIRCLE_SHA1": SHA,
        "CIRCLE_PULL_REQUEST": "https://github.com/acme/etl/pull/8",
        "CIRCLE_REPOSITORY_URL": "git@github.com:acme/etl.git",
    }
    assert gitctx.from_ci(env) == gitctx.Context("feat/login", SHA, 8, "git@github.com:acme/etl.git", "circleci")
    assert gitctx.from_ci(dict(env, CIRCLE_PULL_REQUEST="", CIRCLE_PR_NUMBER="9")).pull_request == 9


def test_jenkins_multibranch_pull_request_and_branch():
    """${JENKINS_URL}/env-vars.html (Pipeline: Multibranch): for a change request BRANCH_NAME is like PR-24,
    CHANGE_ID the number, CHANGE_BRANCH the source branch; the Git plugin sets GIT_COMMIT, GIT_BRANCH, GIT_URL."""
    env = {
        "JENKINS_URL": "https://jenkins.acme/",
        "BUILD_NUMBER": "12",
        "BRANCH_NAME": "PR-24",
        "CHANGE_ID": "24",
        "CHANGE_BRANCH": "feat/login",
        "CHANGE_TARGET": "main",
        "GIT_COMMIT": SHA,
        "GIT_URL": "https://github.com/acme/etl.git",
    }
    assert gitctx.from_ci(env) == gitctx.Context("feat/login", SHA, 24, "https://github.com/acme/etl.git", "jenkins")
    plain = {"JENKINS_URL": "https://jenkins.acme/", "GIT_BRANCH": "origin/feat/x", "GIT_COMMIT": SHA}
    assert gitctx.from_ci(plain).branch == "feat/x"


def test_azure_pipelines_pull_request_and_branch():
    """learn.microsoft.com/azure/devops/pipelines/build/variables: BUILD_SOURCEBRANCH is the full ref (for a PR
    refs/pull/<id>/merge) and BUILD_SOURCEBRANCHNAME only its last segment; SYSTEM_PULLREQUEST_SOURCEBRANCH,
    _SOURCECOMMITID, _PULLREQUESTID, and _PULLREQUESTNUMBER (GitHub) describe the pull request."""
    env = {
        "TF_BUILD": "True",
        "BUILD_SOURCEBRANCH": "refs/pull/31/merge",
        "BUILD_SOURCEBRANCHNAME": "merge",
        "BUILD_SOURCEVERSION": MERGE_SHA,
        "BUILD_REPOSITORY_URI": "https://dev.azure.com/acme/etl/_git/etl",
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "31",
        "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/feature/login",
        "SYSTEM_PULLREQUEST_SOURCECOMMITID": SHA,
        "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main",
    }
    assert gitctx.from_ci(env) == gitctx.Context(
        "feature/login", SHA, 31, "https://dev.azure.com/acme/etl/_git/etl", "azure-pipelines"
    )
    branch = {
        "TF_BUILD": "True",
        "BUILD_SOURCEBRANCH": "refs/heads/feature/login",
        "BUILD_SOURCEBRANCHNAME": "login",
        "BUILD_SOURCEVERSION": SHA,
    }
    assert gitctx.from_ci(branch).branch == "feature/login"  # not the last segment only


def test_outside_ci_there_is_no_ci_context():
    assert gitctx.from_ci({"CI": "true", "HOME": "/root"}) is None
    assert gitctx.detect({"GITLAB_CI": "true"}) == "gitlab-ci"


def test_a_flag_wins_then_ci_then_the_working_tree():
    flags = gitctx.Context(branch="override")
    ci = gitctx.Context("feat/x", SHA, 3, "git@github.com:acme/etl.git", "gitlab-ci")
    tree = gitctx.from_tree(gitctx.WorkingTree(None, MERGE_SHA, "https://x/y.git"))
    combined = gitctx.combine(flags, ci, tree)
    assert combined == gitctx.Context("override", SHA, 3, "https://github.com/acme/etl", "flags")
    assert gitctx.combine(gitctx.Context(), None, tree) == gitctx.Context(None, MERGE_SHA, None, "https://x/y", "flags")


@pytest.mark.parametrize(
    "tree, message",
    [
        (gitctx.WorkingTree(None, SHA, None, True), "HEAD is detached and no CI variables name the branch"),
        (gitctx.WorkingTree(is_repository=False), "not in a git working tree"),
    ],
)
def test_no_branch_is_one_error(tree, message):
    with pytest.raises(errors.InputError, match=message):
        gitctx.require_branch(gitctx.combine(gitctx.Context(), None, gitctx.from_tree(tree)), tree)


@pytest.mark.parametrize(
    "remote, url",
    [
        ("git@github.com:acme/etl.git", "https://github.com/acme/etl"),
        ("https://github.com/acme/etl.git", "https://github.com/acme/etl"),
        ("https://x-access-token:s3cret@github.com/acme/etl.git", "https://github.com/acme/etl"),
        ("ssh://git@gitlab.example.com:2222/group/sub/etl.git", "https://gitlab.example.com/group/sub/etl"),
        ("https://dev.azure.com/acme/etl/_git/etl", "https://dev.azure.com/acme/etl/_git/etl"),
        ("not a url", None),
    ],
)
def test_web_url_is_browsable_and_has_no_credentials(remote, url):
    assert naming.web_url(remote) == url


def test_repository_name():
    assert naming.repository_name("git@github.com:acme/etl.git") == "acme/etl"
