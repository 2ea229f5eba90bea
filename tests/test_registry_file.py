"""The git registry through the real command: concurrent writers, killed writers, byte-for-byte
edits, directory mode, errors that change nothing, and import -> render."""

import os
import signal
import subprocess
import time

import pytest
from conftest import CHART_FIXTURES, cli, entry_point, path_with_plugin

from kubectl_dagster.core.chart import manifests, workspace
from kubectl_dagster.shells import sources
from kubectl_dagster.shells.registry import fileedit

HEADER = """\
# Preview locations; CI adds and removes entries.
apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
defaults:
  image: {repository: ghcr.io/acme/code}   # all previews share one image repository
locations:
  # permanent
  - name: sales
    image: {tag: "1"}
    pythonFile: repo.py
    port: 3031
"""


def names(path):
    return sorted(location.name for location in sources.load([str(path)]))


def test_add_update_remove_keep_the_rest_of_the_file(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(HEADER)
    result = cli(
        "add-location",
        "--branch",
        "feat/Login page",
        "--image",
        "ghcr.io/acme/code:sha-1",
        "-f",
        "defs.py",
        "--locations",
        str(path),
    )
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == f"location/feat-login-page created (image ghcr.io/acme/code:sha-1; port 3032; in {path})\n"
    assert path.read_text().startswith(HEADER)
    result = cli(
        "update-location",
        "feat-login-page",
        "--image",
        "ghcr.io/acme/code:sha-2",
        "--env",
        "TOKEN=hunter2",
        "--locations",
        str(path),
    )
    assert (
        result.stdout == "location/feat-login-page configured (env +TOKEN; "
        "image ghcr.io/acme/code:sha-1 -> ghcr.io/acme/code:sha-2)\n"
    )
    assert "hunter2" not in result.stdout + result.stderr
    assert path.read_text().startswith(HEADER)
    result = cli("update-location", "feat-login-page", "--image", "ghcr.io/acme/code:sha-2", "--locations", str(path))
    assert result.stdout == "location/feat-login-page unchanged\n"
    result = cli("remove-location", "--branch", "feat/Login page", "--locations", str(path))
    assert (result.code, result.stdout) == (0, "location/feat-login-page deleted\n")
    assert path.read_text() == HEADER


def test_existing_name_needs_replace(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(HEADER)
    result = cli("add-location", "sales", "--image", "r:2", "-m", "m", "--locations", str(path))
    assert result.code == 1 and result.stdout == ""
    assert (
        result.stderr
        == f"error: location 'sales' already exists (file:{path}); pass --replace, or use update-location\n"
    )
    assert path.read_text() == HEADER
    result = cli("add-location", "sales", "--image", "r:2", "-m", "m", "--replace", "--locations", str(path))
    assert result.code == 0, result.stderr
    assert "location/sales configured" in result.stdout
    assert sources.load([str(path)])[0].spec["moduleName"] == "m"


@pytest.mark.parametrize(
    "args, message",
    [
        (["add-location", "x", "-f", "a.py"], "error: --image is required"),
        (["add-location", "x", "--image", "r", "-f", "a.py", "-m", "m"], "error: two code sources given"),
        (["add-location", "Bad_Name", "--image", "r", "-f", "a.py"], "error: name 'Bad_Name' is not a DNS-1035 label"),
        (["add-location", "x", "--image", "r"], "error: invalid locations:"),
        (["add-location", "x", "--image", "r", "-f", "a.py", "--ttl", "soon"], "error: --ttl 'soon' is not a duration"),
        (["update-location", "nope", "--image", "r"], "error: location 'nope' not found"),
        (["remove-location", "nope"], "error: location 'nope' not found"),
        (
            ["add-location", "x", "--image", "r", "-f", "a.py", "--dry-run=server"],
            "error: --dry-run=server needs the cluster registry",
        ),
    ],
)
def test_errors_change_nothing(tmp_path, args, message):
    path = tmp_path / "locations.yaml"
    path.write_text(HEADER)
    result = cli(*args, "--locations", str(path))
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert path.read_text() == HEADER
    assert sorted(os.listdir(tmp_path)) == ["locations.yaml"]


def test_no_registry_is_a_usage_error():
    result = cli("list-locations")
    assert result.code == 2 and result.stdout == ""
    assert "no registry: pass --locations PATH (git) or --cluster" in result.stderr


def test_dry_run_client_writes_nothing(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(HEADER)
    result = cli("add-location", "x", "--image", "r:1", "-f", "a.py", "--dry-run", "--locations", str(path))
    assert result.stdout.startswith("location/x created (dry run)")
    assert path.read_text() == HEADER


def test_twenty_parallel_writers_lose_nothing(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(HEADER)
    env = dict(os.environ, PATH=path_with_plugin())
    procs = [
        subprocess.Popen(
            [
                entry_point(),
                "add-location",
                "--branch",
                f"feature/{i}",
                "--image",
                f"r:{i}",
                "-f",
                "defs.py",
                "--locations",
                str(path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(20)
    ]
    results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    assert all(code == 0 for code, _ in results), results
    assert names(path) == sorted(["sales"] + [f"feature-{i}" for i in range(20)])
    ports = [location.spec["port"] for location in sources.load([str(path)])]
    assert len(set(ports)) == 21  # each writer saw the others' ports under the lock
    assert path.read_text().startswith(HEADER)


def test_a_killed_writer_leaves_a_valid_file(tmp_path):
    """SIGKILL writers at random points; the file is always the previous or the next full version."""
    path = tmp_path / "locations.yaml"
    path.write_text(HEADER)
    env = dict(os.environ, PATH=path_with_plugin())
    seen_states = set()
    for i in range(12):
        before = path.read_text()
        proc = subprocess.Popen(
            [entry_point(), "add-location", f"loc-{i}", "--image", "r:1", "-f", "a.py", "--locations", str(path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.03 * i)  # from "still importing" to "already done"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        after = path.read_text()
        assert after == before or (after.startswith(before) and f"- name: loc-{i}\n" in after)
        seen_states.add(after == before)
        assert [s.name for s in fileedit.slots(after, "f")][:1] == ["sales"]
    leftovers = [name for name in os.listdir(tmp_path) if name != "locations.yaml"]
    assert all(name.startswith(".locations.yaml.") for name in leftovers)  # hidden temp files; loaders skip them
    assert sources.load([str(tmp_path)])  # a directory load ignores them


def test_directory_registry_one_file_per_location(tmp_path):
    directory = tmp_path / "locations"
    directory.mkdir()
    (directory / "_defaults.yaml").write_text(
        "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\n"
        "defaults:\n  image: {repository: ghcr.io/acme/code}\n"
    )
    result = cli(
        "add-location",
        "--branch",
        "feat/a",
        "--image",
        "ghcr.io/acme/code:1",
        "-f",
        "a.py",
        "--locations",
        str(directory),
    )
    assert result.code == 0, result.stderr
    assert sorted(os.listdir(directory)) == ["_defaults.yaml", "feat-a.yaml"]
    result = cli("update-location", "feat-a", "--image", "ghcr.io/acme/code:2", "--locations", str(directory))
    assert result.code == 0, result.stderr
    assert sources.load([str(directory)])[0].spec["image"]["tag"] == "2"
    result = cli("remove-location", "feat-a", "--locations", str(directory))
    assert result.code == 0, result.stderr
    assert sorted(os.listdir(directory)) == ["_defaults.yaml"]


def test_list_and_get(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(HEADER)
    cli(
        "add-location",
        "--branch",
        "feat/x",
        "--image",
        "ghcr.io/acme/code:9",
        "-m",
        "x",
        "--ttl",
        "2d",
        "--pull-request",
        "7",
        "--locations",
        str(path),
    )
    result = cli("list-locations", "--locations", str(path))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "BRANCH", "IMAGE", "PORT", "AGE", "EXPIRES", "SOURCE"]
    assert lines[1].split() == [
        "feat-x",
        "feat/x",
        "ghcr.io/acme/code:9",
        "3032",
        "<unknown>",
        "in",
        "47h",
        f"file:{path}",
    ]
    assert lines[2].split() == [
        "sales",
        "<none>",
        "ghcr.io/acme/code:1",
        "3031",
        "<unknown>",
        "<never>",
        f"file:{path}",
    ]
    assert cli("list-locations", "-o", "name", "--locations", str(path)).stdout == "location/feat-x\nlocation/sales\n"
    wide = cli("list-locations", "-o", "wide", "--locations", str(path)).stdout.splitlines()
    assert wide[0].split()[-3:] == ["PR", "COMMIT", "ARGS"] and wide[1].split()[-4:] == ["7", "<none>", "-m", "x"]
    as_yaml = cli("list-locations", "-o", "yaml", "--locations", str(path)).stdout
    copy = tmp_path / "copy.yaml"
    copy.write_text(as_yaml)
    assert names(copy) == ["feat-x", "sales"]  # -o yaml is itself a locations file
    got = cli("get-location", "sales", "-o", "json", "--locations", str(path))
    assert '"repository": "ghcr.io/acme/code"' in got.stdout  # defaults applied
    missing = cli("get-location", "nope", "--locations", str(path))
    assert missing.code == 1 and missing.stderr.startswith("error: location 'nope' not found")


def test_gc_expired_and_gone_branches(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(
        HEADER + "  - branch: feature/old\n    image: {tag: '1'}\n    pythonFile: a.py\n"
        "    expiresAt: '2020-01-01T00:00:00Z'\n"
        "  - branch: feature/merged\n    image: {tag: '1'}\n    pythonFile: a.py\n"
        "  - branch: feature/open\n    image: {tag: '1'}\n    pythonFile: a.py\n"
    )
    dry = cli(
        "gc",
        "--keep-branches",
        "-",
        "--dry-run",
        "--locations",
        str(path),
        stdin="1111\trefs/heads/main\n2222\trefs/heads/feature/open\n",
    )
    assert dry.stdout == (
        "location/feature-old deleted (dry run) (expired 2020-01-01T00:00:00Z)\n"
        "location/feature-merged deleted (dry run) (branch feature/merged is gone)\n"
    )
    assert names(path) == ["feature-merged", "feature-old", "feature-open", "sales"]
    real = cli(
        "gc",
        "--keep-branches",
        "-",
        "--locations",
        str(path),
        stdin="1111\trefs/heads/main\n2222\trefs/heads/feature/open\n",
    )
    assert real.code == 0, real.stderr
    assert names(path) == ["feature-open", "sales"]
    assert path.read_text().startswith(HEADER)
    empty = cli("gc", "--keep-branches", "-", "--locations", str(path), stdin="\n")
    assert empty.code == 1 and "lists no branch" in empty.stderr and names(path) == ["feature-open", "sales"]


DAGSTER_CLOUD = """\
locations:
  - location_name: revenue_etl
    code_source: {package_name: sales}
    image: ghcr.io/acme/sales:1
    build: {directory: ./sales}
    container_context:
      k8s:
        env_vars: ["MODE=prod", "FROM_AGENT"]
        env_secrets: [sales-db]
        namespace: elsewhere
  - location_name: ml
    code_source: {python_file: ml/defs.py}
    working_directory: ./ml
    image: ghcr.io/acme/ml:3
"""


def test_import_then_render_lists_every_location(tmp_path):
    source = tmp_path / "dagster_cloud.yaml"
    source.write_text(DAGSTER_CLOUD)
    path = tmp_path / "locations.yaml"
    result = cli("import", str(source), "--locations", str(path))
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("location/revenue-etl created")
    for named in (
        "renamed to 'revenue-etl'",
        "build not translated",
        "'FROM_AGENT'",
        "container_context.k8s.namespace",
    ):
        assert named in result.stderr
    assert all(line.startswith("warning: ") for line in result.stderr.splitlines())
    release = (CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()
    rendered = cli("render", "--locations", str(path), stdin=release)
    assert rendered.code == 0, rendered.stderr
    stream = manifests.split(rendered.stdout)
    text = next(d for d in stream.documents if d.kind == "ConfigMap" and "workspace.yaml" in (d.data.get("data") or {}))
    _, ours = workspace.split_entries(text.data["data"]["workspace.yaml"])
    assert sorted(workspace.entry_name(e) for e in ours) == ["ml", "revenue-etl"]
    again = cli("import", str(source), "--locations", str(path))
    assert again.code == 1 and "already exists" in again.stderr
