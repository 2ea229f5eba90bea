"""Bad input: a non-zero exit, nothing on stdout (Helm and ArgoCD must never apply half a
release) and exactly one line on stderr that names the problem and the fix."""

import pytest
from conftest import cli, fixture_text

from kubectl_dagster.core.chart import manifests

B = fixture_text("1.11.10", "b.yaml")
C = fixture_text("1.11.10", "c.yaml")
GOOD = """apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
locations:
  - name: ok
    image: {repository: ghcr.io/acme/ok, tag: "1"}
    pythonFile: defs.py
"""


def without_workspace(text: str) -> str:
    """A stream with Dagster objects (webserver, daemon, ...) but no workspace ConfigMap."""
    return "".join(
        d.separator + d.text
        for d in manifests.split(text).documents
        if not (d.kind == "ConfigMap" and "workspace.yaml" in ((d.data or {}).get("data") or {}))
    )


HOOK = (
    "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-upgrade\n"
)


def locations_doc(body: str) -> str:
    return "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n" + body


CASES = [
    # id, stdin, locations file text (None: GOOD), extra args, exit code, text expected in the one stderr line
    ("empty-input", "", None, [], 1, "the input is empty"),
    ("whitespace-input", "\n  \n", None, [], 1, "the input is empty"),
    ("not-yaml", "---\nkind: ConfigMap\nmetadata: {name: dagster-x\n", None, [], 1, "the input is not valid YAML"),
    (
        "no-release",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
        None,
        [],
        1,
        "no Dagster release found in the input",
    ),
    (
        "two-releases",
        B + C,
        None,
        [],
        1,
        "found 2 Dagster releases in the input: dagster (ConfigMap dagster-workspace-yaml",
    ),
    ("release-not-found", B, None, ["--release", "nope"], 1, "no Dagster release named 'nope'"),
    (
        "unknown-key",
        B,
        locations_doc("  - name: x\n    image: {repository: r}\n    pythonFile: a.py\n    colour: red\n"),
        [],
        1,
        "locations.yaml:7: location 'x' unknown key 'colour'",
    ),
    (
        "missing-image",
        B,
        locations_doc("  - name: x\n    pythonFile: a.py\n"),
        [],
        1,
        "locations.yaml:4: location 'x' image.repository is required",
    ),
    (
        "two-code-sources",
        B,
        locations_doc("  - name: x\n    image: {repository: r}\n    pythonFile: a.py\n    moduleName: m\n"),
        [],
        1,
        "two code sources (pythonFile and moduleName)",
    ),
    (
        "duplicate-branch-slug",
        B,
        locations_doc(
            "  - branch: feat/x\n    image: {repository: r}\n    pythonFile: a.py\n"
            "  - branch: FEAT_X\n    image: {repository: r}\n    pythonFile: a.py\n"
        ),
        [],
        1,
        "location 'feat-x' duplicate name (from branch 'FEAT_X'): already defined in",
    ),
    (
        "bad-port",
        B,
        locations_doc("  - name: x\n    image: {repository: r}\n    pythonFile: a.py\n    port: 70000\n"),
        [],
        1,
        "locations.yaml:7: location 'x' port must be an integer from 1 to 65535, got 70000",
    ),
    (
        "bad-name",
        B,
        locations_doc("  - name: Not_DNS\n    image: {repository: r}\n    pythonFile: a.py\n"),
        [],
        1,
        "name 'Not_DNS' is not a DNS-1035 label",
    ),
    (
        "all-problems-together",
        B,
        locations_doc("  - name: x\n    pythonFile: a.py\n  - name: y\n    image: {repository: r}\n"),
        [],
        1,
        "(and 1 more problem(s): ",
    ),
    (
        "patch-does-not-apply",
        B,
        locations_doc(
            "  - name: x\n    image: {repository: r}\n    pythonFile: a.py\n    patches:\n"
            "      - kind: Service\n        patch: [{op: remove, path: /spec/nothing}]\n"
        ),
        [],
        1,
        "patch 0 (Service) operation 0 (remove '/spec/nothing') does not apply",
    ),
    (
        "chart-conflict",
        B,
        locations_doc("  - name: ml-models\n    image: {repository: r}\n    pythonFile: a.py\n"),
        [],
        1,
        "the chart already renders location(s) ml-models",
    ),
    (
        "service-name-taken",
        B,
        locations_doc("  - name: dagster-postgresql\n    image: {repository: r}\n    pythonFile: a.py\n"),
        [],
        1,
        "Service dagster-postgresql already exists in the input",
    ),
    ("locations-yaml-syntax", B, "locations: [\n", [], 1, "not valid YAML"),
    ("wrong-kind", B, "apiVersion: v1\nkind: ConfigMap\n", [], 1, "expected apiVersion: kubectl-dagster/v1alpha1"),
    ("bad-rollout-flag", B, None, ["--rollout", "sometimes"], 2, "Invalid value for '--rollout'"),
    ("no-workspace-configmap", without_workspace(C), None, [], 1, "no Dagster release found in the input"),
    ("hook-and-dagster-objects", HOOK + without_workspace(C), None, [], 1, "no Dagster release found in the input"),
    ("only-separators", "---\n---\n", None, [], 1, "no Dagster release found in the input"),
    ("bad-reload-nudge-flag", B, None, ["--reload-nudge", "maybe"], 2, "Invalid value for '--reload-nudge'"),
    (
        "mode-needs-workspace",
        fixture_text("1.11.10", "d.yaml"),
        None,
        ["--mode", "full"],
        1,
        "--mode=full needs the workspace ConfigMap",
    ),
]


@pytest.mark.parametrize("stdin,locations,args,code,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, stdin, locations, args, code, message):
    path = tmp_path / "locations.yaml"
    path.write_text(GOOD if locations is None else locations)
    result = cli("render", "--locations", str(path), *args, stdin=stdin)
    assert result.code == code
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr and len(result.stderr) <= 301  # one line of at most 300 characters


def test_missing_locations_path(tmp_path):
    result = cli("render", "--locations", str(tmp_path / "nope.yaml"), stdin=B)
    assert (result.code, result.stdout) == (1, "")
    assert "does not exist; check --locations" in result.stderr


def test_debug_adds_the_traceback(tmp_path):
    result = cli("render", "--debug", stdin="")
    assert result.code == 1 and result.stdout == ""
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip("\n").endswith(
        "error: the input is empty; pipe in the output of `helm template` (stdin was empty)"
    )
