"""`kubectl-dagster krm` under the real kpt (1.0.0-beta): `kpt fn eval DIR --exec "kubectl-dagster krm"`,
`kpt fn eval -` on a piped `helm template` stream, and `kpt fn render` with a Kptfile pipeline `exec:` step,
on the real Dagster chart's output (../shared/fixtures)."""

import shutil

from conftest import CHART_FIXTURES, cli, kpt, run

from kubectl_dagster.base import yamlio
from kubectl_dagster.core.chart import workspace

RELEASE = CHART_FIXTURES / "1.11.10" / "b.yaml"
LOCATIONS = """\
apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
metadata:
  name: previews
  annotations:
    config.kubernetes.io/local-config: "true"  # kpt keeps it out of `kpt live apply`
locations:
  - branch: feature/new-assets
    image: {repository: ghcr.io/acme/etl, tag: sha-0123abcd}
    pythonFile: definitions.py
    port: 3032
"""
PREVIEW_FILE = "kubectl-dagster/feature-new-assets.yaml"
KPTFILE = """\
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: dagster
pipeline:
  mutators:
    - exec: kubectl-dagster krm
      configPath: dagster-locations.yaml
"""


def package(tmp_path, name="pkg"):
    root = tmp_path / name
    root.mkdir()
    shutil.copy(RELEASE, root / "dagster.yaml")
    return root


def files(root):
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def eval_(root, config, *extra):
    return run([kpt(), "fn", "eval", str(root), "--exec", "kubectl-dagster krm", "--fn-config", str(config), *extra])


def docs(text):
    return [d for d in yamlio.make_yaml("safe").load_all(text) if d]


def workspace_names(text):
    (config,) = [d for d in docs(text) if d["kind"] == "ConfigMap" and "workspace.yaml" in (d.get("data") or {})]
    chart, ours = workspace.split_entries(config["data"]["workspace.yaml"])
    return [workspace.entry_name(e) for e in chart], [workspace.entry_name(e) for e in ours]


def test_fn_eval_writes_each_location_to_its_own_file_and_is_idempotent(tmp_path):
    root = package(tmp_path)
    config = tmp_path / "locations.yaml"
    config.write_text(LOCATIONS)
    first = eval_(root, config)
    assert first.code == 0, first.stderr
    assert '[PASS] "kubectl-dagster krm"' in first.stderr
    written = files(root)
    assert sorted(written) == ["dagster.yaml", PREVIEW_FILE, "kubectl-dagster/reload-hook.yaml"]
    assert [(d["kind"], d["metadata"]["name"]) for d in docs(written[PREVIEW_FILE])] == [
        ("ConfigMap", "dagster-dagster-user-deployments-feature-new-assets-user-env"),
        ("Service", "feature-new-assets"),
        ("Deployment", "dagster-dagster-user-deployments-feature-new-assets"),
        ("ConfigMap", "dagster-dagster-user-deployments-feature-new-assets-branch-hook"),  # a branch location's
    ]
    assert workspace_names(written["dagster.yaml"]) == (["sales-etl", "ml-models"], ["feature-new-assets"])
    again = eval_(root, config)
    assert again.code == 0, again.stderr
    assert files(root) == written  # a second run changes nothing

    config.write_text(LOCATIONS.split("locations:")[0] + "locations: []\n")  # the PR closed
    gone = eval_(root, config)
    assert gone.code == 0, gone.stderr
    # its objects' file is deleted; the reload hook stays, to reload the removed location away (issue 11)
    assert sorted(files(root)) == ["dagster.yaml", "kubectl-dagster/reload-hook.yaml"]
    assert workspace_names(files(root)["dagster.yaml"]) == (["sales-etl", "ml-models"], [])


def test_documents_we_do_not_change_are_what_an_identity_function_leaves(tmp_path):
    """kpt reformats what it writes back; with `cat` as the function it does the same to every document we keep."""
    ours, theirs = package(tmp_path, "ours"), package(tmp_path, "identity")
    config = tmp_path / "locations.yaml"
    config.write_text(LOCATIONS)
    assert eval_(ours, config).code == 0
    identity = run([kpt(), "fn", "eval", str(theirs), "--exec", "cat", "--fn-config", str(config)])
    assert identity.code == 0, identity.stderr
    merged, plain = docs(files(ours)["dagster.yaml"]), docs(files(theirs)["dagster.yaml"])
    assert len(merged) == len(plain)
    changed = [(a["kind"], a["metadata"]["name"]) for a, b in zip(merged, plain, strict=False) if a != b]
    assert changed == [("ConfigMap", "dagster-workspace-yaml")]


def test_fn_eval_on_a_piped_stream_gives_what_render_gives(tmp_path):
    config = tmp_path / "locations.yaml"
    config.write_text(LOCATIONS)
    stream = RELEASE.read_text()
    through_kpt = run(
        [kpt(), "fn", "eval", "-", "--exec", "kubectl-dagster krm", "--fn-config", str(config), "-o", "unwrap"],
        stdin=stream,
    )
    assert through_kpt.code == 0, through_kpt.stderr
    rendered = cli("render", "--locations", str(config), stdin=stream)
    assert rendered.code == 0, rendered.stderr

    def normal(doc):  # kpt drops an empty or null metadata.annotations when it strips its own annotations
        if not doc["metadata"].get("annotations"):
            doc["metadata"].pop("annotations", None)
        return doc

    assert [normal(d) for d in docs(through_kpt.stdout)] == [normal(d) for d in docs(rendered.stdout)]


def test_fn_render_runs_the_kptfile_pipeline(tmp_path):
    root = package(tmp_path)
    (root / "dagster-locations.yaml").write_text(LOCATIONS)
    (root / "Kptfile").write_text(KPTFILE)
    refused = run([kpt(), "fn", "render", str(root)])
    assert refused.code != 0 and "--allow-exec" in refused.stderr
    rendered = run([kpt(), "fn", "render", str(root), "--allow-exec"])
    assert rendered.code == 0, rendered.stderr
    written = files(root)
    assert docs(written["dagster-locations.yaml"]) == docs(LOCATIONS)  # part of the package; kpt only reformats it
    assert PREVIEW_FILE in written
    assert workspace_names(written["dagster.yaml"])[1] == ["feature-new-assets"]
    assert run([kpt(), "fn", "render", str(root), "--allow-exec"]).code == 0
    assert files(root) == written


def test_a_failure_reports_results_and_leaves_the_package_alone(tmp_path):
    root = package(tmp_path)
    before = files(root)
    config = tmp_path / "locations.yaml"
    config.write_text(LOCATIONS.replace("    image: {repository: ghcr.io/acme/etl, tag: sha-0123abcd}\n", ""))
    failed = eval_(root, config)
    assert failed.code == 1
    assert "[FAIL]" in failed.stderr
    assert (
        "[error] kubectl-dagster/v1alpha1/CodeLocations/previews locations[0].image: functionConfig: location "
        "'feature-new-assets' image.repository is required" in failed.stderr
    )
    assert files(root) == before


def test_a_function_config_of_the_wrong_kind_is_an_error_result(tmp_path):
    root = package(tmp_path)
    config = tmp_path / "set-namespace.yaml"
    config.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dagster\n")
    failed = eval_(root, config)
    assert failed.code == 1
    assert "[error]: functionConfig kind v1/Namespace is not supported" in failed.stderr
