"""Exact output for fixed inputs. Each tests/golden/<case>/ holds the input (input.yaml, or
input.ref naming a file under ../shared/fixtures/dagster-chart/, or ``golden:<case>``: that case's
expected output, i.e. rendering again after a change), locations.yaml, optional args.txt (one CLI
argument per line) and expected.yaml or error.txt.
`pytest --update-golden` rewrites the expected files (cases that read another case come after it)."""

import pathlib

import pytest
from conftest import CHART_FIXTURES, cli

GOLDEN = pathlib.Path(__file__).parent / "golden"


def _ref(case: pathlib.Path) -> str:
    ref = case / "input.ref"
    return ref.read_text().strip() if ref.exists() else ""


# a case that reads another case's output comes after the cases that read fixtures (one level deep)
CASES = sorted(
    (p.name for p in GOLDEN.iterdir() if p.is_dir()), key=lambda name: (_ref(GOLDEN / name).startswith("golden:"), name)
)


def _input(case: pathlib.Path) -> str:
    ref = _ref(case)
    if ref.startswith("golden:"):
        return (GOLDEN / ref[len("golden:") :] / "expected.yaml").read_text()
    if ref:
        return (CHART_FIXTURES / ref).read_text()
    return (case / "input.yaml").read_text()


@pytest.mark.parametrize("name", CASES)
def test_golden(name, update_golden):
    case = GOLDEN / name
    args = (case / "args.txt").read_text().split("\n") if (case / "args.txt").exists() else []
    result = cli("render", "--locations", str(case / "locations.yaml"), *[a for a in args if a], stdin=_input(case))
    expected_error = case / "error.txt"
    if expected_error.exists() or (update_golden and result.code != 0):
        if update_golden:
            expected_error.write_text(result.stderr.replace(str(case) + "/", ""))
        assert result.code != 0
        assert result.stdout == ""
        assert result.stderr.replace(str(case) + "/", "") == expected_error.read_text()
        return
    assert result.code == 0, result.stderr
    expected = case / "expected.yaml"
    if update_golden:
        expected.write_text(result.stdout)
    assert result.stdout == expected.read_text()


def test_image_only_change_changes_only_the_deployment_and_the_hook_name():
    """Cases b-image-tag-1 and b-image-tag-2 differ in one location's image tag: the workspace stays, the
    location's Deployment and the reload hook Job change, and the Job gets a new name (what makes Helm 3,
    Helm 4 and ArgoCD run it again)."""
    from kubectl_dagster.core.chart import manifests

    before, after = (
        manifests.split((GOLDEN / case / "expected.yaml").read_text()).documents
        for case in ("b-image-tag-1", "b-image-tag-2")
    )
    changed = [(a.kind, a.name, b.name) for a, b in zip(before, after, strict=False) if a.text != b.text]
    assert len(before) == len(after)
    assert [kind for kind, _, _ in changed] == ["Deployment", "Job"]
    assert changed[0][1] == changed[0][2] == "dagster-dagster-user-deployments-analytics"
    assert changed[1][1] != changed[1][2] and changed[1][1].startswith("dagster-dagster-reload-")


def test_read_only_webserver_rolls_and_nothing_else_does():
    """Under --rollout=reload only the read-only webserver's workspace checksum changes (it refuses reloads)."""
    from kubectl_dagster.core.chart import manifests

    case = GOLDEN / "mini-read-only-webserver"
    before, after = (
        {d.name: d.text for d in manifests.split((case / name).read_text()).documents if d.kind == "Deployment"}
        for name in ("input.yaml", "expected.yaml")
    )
    assert [name for name in before if before[name] != after[name]] == ["dagster-webserver-read-only"]
