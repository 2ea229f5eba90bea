"""Exact output for fixed inputs. Each tests/golden/<case>/ holds the input (input.yaml, or
input.ref naming a file under ../shared/fixtures/dagster-chart/), locations.yaml, optional
args.txt (one CLI argument per line) and expected.yaml or error.txt.
`pytest --update-golden` rewrites the expected files."""
import pathlib

import pytest

from conftest import CHART_FIXTURES, cli

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def _input(case: pathlib.Path) -> str:
    ref = case / "input.ref"
    if ref.exists():
        return (CHART_FIXTURES / ref.read_text().strip()).read_text()
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
