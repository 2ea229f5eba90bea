"""Exact ResourceList output of `kubectl-dagster krm` for fixed inputs. Each tests/golden-krm/<case>/ holds
one of: input.yaml (a whole ResourceList: captured from real kpt, or JSON), input.ref (a chart fixture under
../shared/fixtures/dagster-chart/, wrapped here into a ResourceList as kpt lays it out, with
function-config.yaml as functionConfig when present), or stdin.ref (a fixture passed as it is). The function
runs in the case directory (where kpt and kustomize would run it), and its stdout must equal expected.yaml.
A case whose expected output has results must fail: exit 1, no items. `pytest --update-golden` rewrites them."""

import pathlib

import pytest
from conftest import CHART_FIXTURES, cli

from kubectl_dagster.base import yamlio
from kubectl_dagster.core.chart import manifests

GOLDEN = pathlib.Path(__file__).parent / "golden-krm"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def indented(text: str, first: str = "  ") -> str:
    lines = text.rstrip("\n").split("\n")
    return "".join(
        (prefix + line if line else "") + "\n"
        for prefix, line in zip([first] + ["  "] * (len(lines) - 1), lines, strict=False)
    )


def resource_list(stream: str, config: str = None) -> str:
    """A stream wrapped as kpt wraps a package: one item per document, its `# Source:` line after the dash."""
    items = [indented(doc.text, "- ") for doc in manifests.split(stream).documents if doc.kind]
    tail = "functionConfig:\n" + indented(config) if config is not None else ""
    return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + "".join(items) + tail


def stdin_of(case: pathlib.Path) -> str:
    if (case / "input.yaml").exists():
        return (case / "input.yaml").read_text()
    if (case / "stdin.ref").exists():
        return (CHART_FIXTURES / (case / "stdin.ref").read_text().strip()).read_text()
    stream = (CHART_FIXTURES / (case / "input.ref").read_text().strip()).read_text()
    config = case / "function-config.yaml"
    return resource_list(stream, config.read_text() if config.exists() else None)


@pytest.mark.parametrize("name", CASES)
def test_golden_krm(name, update_golden):
    case = GOLDEN / name
    result = cli("krm", stdin=stdin_of(case), cwd=str(case))
    expected = case / "expected.yaml"
    if update_golden:
        expected.write_text(result.stdout)
    assert result.stdout == expected.read_text()
    output = yamlio.make_yaml("safe").load(result.stdout)
    assert output["apiVersion"] == "config.kubernetes.io/v1" and output["kind"] == "ResourceList"
    if "results" in output:
        assert result.code == 1
        assert output["items"] == []  # never partial items
        assert all(r["severity"] == "error" and r["message"] for r in output["results"])
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    else:
        assert result.code == 0, result.stderr
        assert name.startswith("fail-") is False


WRAPPED = [n for n in CASES if (GOLDEN / n / "input.yaml").exists() or (GOLDEN / n / "input.ref").exists()]


@pytest.mark.parametrize("name", WRAPPED)
def test_items_we_do_not_change_keep_their_data(name):
    """Every input item comes back (the same data, annotations included) unless the render changes it on purpose:
    the workspace ConfigMap, and with rollout=restart the Deployments whose checksum moves."""
    case = GOLDEN / name
    output = yamlio.make_yaml("safe").load((case / "expected.yaml").read_text())
    if "results" in output:
        return
    given = yamlio.make_yaml("safe").load(stdin_of(case))["items"]
    returned = {(i["kind"], i["metadata"]["name"]): i for i in output["items"]}
    for item in given:
        key = (item["kind"], item["metadata"]["name"])
        assert key in returned, key
        if item != returned[key]:
            assert key[0] in ("ConfigMap", "Deployment"), key
            if key[0] == "ConfigMap":  # the workspace: its data changes, its metadata does not
                assert returned[key]["metadata"] == item["metadata"]
