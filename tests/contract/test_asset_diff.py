"""Change tracking of a branch location against its base, against real Dagster: `dagster api grpc`
code servers for a base location (`etl`) and a branch location (`etl--feat-x`) that differ in every
way Dagster+ marks (a new asset, a removed one, a changed code version, dependency, partitions
definition, tags and metadata), a broken location, and one too big to snapshot, all behind one real
`dagster-webserver`, so the two locations define the same asset keys as a branch and its base do,
on every Dagster release of the matrix (tests/dagsters.py). Commands run as processes; the registry
is a git file. Every wait is bounded; every process is stopped at the end."""

import json
import pathlib

import dagsters
import pytest
from conftest import cli
from dagsters import free_port, wait_port
from test_dagster_reload import BROKEN, Dagster, write_in_place

from kubectl_dagster.base import constants, yamlio
from kubectl_dagster.core.assets import assetdiff
from kubectl_dagster.core.chart import workspace

pytestmark = pytest.mark.every_dagster
GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "asset-diff.md"

BASE = """import dagster as dg


@dg.asset(code_version="1")
def orders():
    return 1


@dg.asset
def customers():
    return 1


@dg.asset(deps=[orders])
def summary():
    return 1


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01"))
def events():
    return 1


@dg.asset(tags={"team": "data", "tier": "gold"})
def report():
    return 1


@dg.asset(metadata={"owner": "ana", "sla": "1h"})
def audit():
    return 1


@dg.asset
def legacy():
    return 1


@dg.asset(key_prefix=["raw"], code_version="7", tags={"team": "data"}, metadata={"rows": 10})
def stable():
    return 1


defs = dg.Definitions(assets=[orders, customers, summary, events, report, audit, legacy, stable])
"""

# Each asset changes in one way only, so the expected kinds are exact.
BRANCH = """import dagster as dg


@dg.asset(code_version="2")
def orders():
    return 1


@dg.asset
def customers():
    return 1


@dg.asset(deps=[orders, customers])
def summary():
    return 1


@dg.asset(partitions_def=dg.WeeklyPartitionsDefinition(start_date="2024-01-01"))
def events():
    return 1


@dg.asset(tags={"team": "ml", "tier": "gold"})
def report():
    return 1


@dg.asset(metadata={"owner": "bo", "sla": "1h", "docs": dg.MetadataValue.url("https://example.com/audit")})
def audit():
    return 1


@dg.asset(key_prefix=["raw"], code_version="7", tags={"team": "data"}, metadata={"rows": 10})
def stable():
    return 1


@dg.asset(key_prefix=["raw"], deps=[stable])
def fresh():
    return 1


defs = dg.Definitions(assets=[orders, customers, summary, events, report, audit, stable, fresh])
"""

# Assets made by a factory: every Dagster release takes them in Definitions (AssetSpec there fails on 1.6).
BIG = f"""import dagster as dg


def make(i):
    @dg.asset(name=f"a{{i}}")
    def one():
        return 1

    return one


defs = dg.Definitions(assets=[make(i) for i in range({constants.SNAPSHOT_MAX_ASSETS + 1})])
"""

EXPECTED_ROWS = [
    ["audit", "changed", "metadata"],
    ["events", "changed", "partitions"],
    ["legacy", "removed"],
    ["orders", "changed", "code_version"],
    ["raw/fresh", "new"],
    ["report", "changed", "tags"],
    ["summary", "changed", "dependencies"],
]
SUMMARY = "1 new, 5 changed, 1 removed"
HEAD = "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations: []\n"


@pytest.fixture(scope="module")
def dagster(tmp_path_factory, dagster_install):
    tmp = tmp_path_factory.mktemp("assetdiff")
    d = Dagster(tmp, dagster_install)
    try:
        sources = {
            "etl": BASE,
            "etl--feat-x": BRANCH,
            "broken": BROKEN,
            "big": BIG,
            "sales": BASE,
            "sales--feat-x": BRANCH,
        }
        ports = {}
        for name, source in sources.items():
            ports[name] = d.code_server(name.replace("-", "_"), source, lazy=name == "broken")
        for port, proc in d.ports.values():
            wait_port(port, proc)
        d.grpc = ports
        d.workspace = tmp / "workspace.yaml"
        d.workspace.write_text(workspace_text(ports))
        d.webserver(d.workspace)
        yield d
    finally:
        d.stop()


def workspace_text(ports):
    return yamlio.dump({"load_from": [workspace.grpc_entry(name, "127.0.0.1", port) for name, port in ports.items()]})


@pytest.fixture
def registry(tmp_path, dagster):
    path = tmp_path / "locations.yaml"
    path.write_text(HEAD)
    for name, source in (("etl", "etl.py"), ("etl--feat-x", "etl__feat_x.py")):
        assert cli("add-location", name, "--image", "r:1", "-f", source, "--locations", str(path)).code == 0
    return path


def said(dagster, line):
    """stderr: the summary line, then the warning naming what this release's webserver cannot give."""
    return line + "\n" + dagsters.unseen_warning(dagster.install.version)


def golden(dagster):
    """The markdown golden, its summary line naming what this release's webserver cannot give."""
    suffix = dagsters.unseen_suffix(dagster.install.version)
    return GOLDEN.read_text().replace(f"{SUMMARY}</summary>", f"{SUMMARY}{suffix}</summary>")


def web(dagster, *args, registry=None):
    where = ["--locations", str(registry)] if registry else []
    return cli(*args, "--webserver-url", dagster.url, *where)


def table_rows(stdout):
    lines = stdout.splitlines()
    assert lines[0].split() == ["ASSET", "CHANGE", "KINDS"]
    return [line.split() for line in lines[1:]]


def test_diff_finds_the_base_by_project_prefix_and_marks_every_kind(dagster, registry):
    result = web(dagster, "diff", "etl--feat-x", registry=registry)
    assert result.code == 0, result.stderr
    assert table_rows(result.stdout) == EXPECTED_ROWS
    assert result.stderr == said(dagster, f"etl--feat-x against etl (live): {SUMMARY}")


def test_diff_json_has_the_details_dagster_gives(dagster):
    result = web(dagster, "diff", "etl--feat-x", "--base", "etl", "-o", "json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["location"], data["base"], data["against"], data["summary"]) == ("etl--feat-x", "etl", "live", SUMMARY)
    assert data["counts"] == {"new": 1, "changed": 5, "removed": 1}
    assert data["notCompared"] == list(dagsters.unseen(dagster.install.version))
    by_key = {a["key"]: a for a in data["assets"]}
    assert [[a["key"], a["change"], *a["kinds"]] for a in data["assets"]] == [
        [*row[:2], *row[2].split(",")] if len(row) > 2 else row for row in EXPECTED_ROWS
    ]
    assert by_key["raw/fresh"]["path"] == ["raw", "fresh"]  # keys are Dagster's paths, shown joined by "/"
    assert by_key["orders"]["details"] == {"code_version": {"old": "1", "new": "2"}}
    assert by_key["summary"]["details"] == {"dependencies": {"added": ["customers"], "changed": [], "removed": []}}
    assert by_key["events"]["details"] == {
        "partitions": {
            "old": "TIME_WINDOW: Daily, starting 2024-01-01 UTC.",
            "new": "TIME_WINDOW: Weekly, starting 2024-01-01 UTC.",
        }
    }
    assert by_key["report"]["details"] == {"tags": {"added": [], "changed": ["team"], "removed": []}}
    assert by_key["audit"]["details"] == {"metadata": {"added": ["docs"], "changed": ["owner"], "removed": []}}
    assert "details" not in by_key["legacy"] and "details" not in by_key["raw/fresh"]


def test_diff_markdown_golden(dagster, update_golden):
    result = web(dagster, "diff", "etl--feat-x", "--base", "etl", "-o", "markdown")
    assert result.code == 0, result.stderr
    assert len(result.stdout.encode()) <= constants.GITHUB_COMMENT_LIMIT
    if update_golden:
        GOLDEN.write_text(result.stdout)
    assert result.stdout == golden(dagster)


def test_no_changes_against_itself_as_another_location(dagster):
    """`sales` serves the same definitions as `etl`: nothing to mark."""
    result = web(dagster, "diff", "sales", "--base", "etl")
    expected = said(dagster, "sales against etl (live): no asset changes")
    assert (result.code, result.stdout, result.stderr) == (0, "", expected)


def test_base_recorded_with_add_location_and_status_assets(dagster, registry):
    assert (
        cli(
            "add-location", "feat-y", "--image", "r:1", "-f", "b.py", "--base", "etl", "--locations", str(registry)
        ).code
        == 0
    )
    assert yamlio.make_yaml().load(registry.read_text())["locations"][-1]["base"] == "etl"
    for args in (["--branch", "feat/z"], ["big", "--base", "broken"]):
        assert cli("add-location", *args, "--image", "r:1", "-f", "b.py", "--locations", str(registry)).code == 0
    result = web(dagster, "status", "--assets", registry=registry)
    assert result.code == 0, result.stderr
    assert result.stderr == dagsters.unseen_warning(dagster.install.version)
    lines = result.stdout.splitlines()
    assert lines[0].split()[-1] == "ASSETS"
    cell = {line.split()[0]: line.split("   ")[-1].strip() for line in lines[1:]}
    assert cell["etl"] == "-" and cell["broken"] == "-"  # not branch locations
    assert cell["big"] == "base broken not loaded (ERROR)"
    assert cell["etl--feat-x"] == SUMMARY  # base by project prefix
    assert cell["sales--feat-x"] == SUMMARY  # not registered: its prefix location is served
    assert cell["feat-y"] == "not loaded (MISSING)"  # a recorded base, but the branch is not served
    assert cell["feat-z"] == "no base"  # a branch location with no base: no diff, and status says so
    data = json.loads(web(dagster, "status", "etl--feat-x", "--assets", "-o", "json", registry=registry).stdout)
    assert data["locations"][0]["assets"]["counts"] == {"new": 1, "changed": 5, "removed": 1}


def test_base_snapshot_survives_the_base_moving_ahead(dagster, tmp_path):
    """Recorded at add time, the snapshot keeps the base as it was: when the base later serves the
    branch's definitions (it moved ahead), the live diff is empty, the snapshot diff is not."""
    path = tmp_path / "locations.yaml"
    path.write_text(HEAD)
    added = web(
        dagster, "add-location", "sales--feat-x", "--image", "r:1", "-f", "b.py", "--base-snapshot", registry=path
    )
    assert added.code == 0, added.stderr
    warning = dagsters.unseen_warning(dagster.install.version)  # the snapshot holds what this webserver gives
    assert added.stderr.count("warning: ") == (1 if warning else 0) and warning in added.stderr, added.stderr
    entry = yamlio.make_yaml().load(path.read_text())["locations"][0]
    assert entry["base"] == "sales" and entry["baseSnapshot"]["location"] == "sales"  # found by project prefix
    assert sorted(entry["baseSnapshot"]["assets"]) == [
        "audit",
        "customers",
        "events",
        "legacy",
        "orders",
        "raw/stable",
        "report",
        "summary",
    ]
    assert len(path.read_text()) < 2000
    plain = assetdiff.Asset(("orders",), code_version="1")  # what Dagster serves is exactly what the definitions say
    stable = assetdiff.Asset(
        ("raw", "stable"),
        code_version="7",
        tags={"team": "data"},
        metadata={"rows": {"__typename": "IntMetadataEntry", "intRepr": "10"}},
    )
    assert entry["baseSnapshot"]["assets"]["orders"] == assetdiff.fingerprint(plain)
    assert entry["baseSnapshot"]["assets"]["raw/stable"] == assetdiff.fingerprint(stable)
    result = web(dagster, "diff", "sales--feat-x", registry=path)
    assert result.code == 0, result.stderr
    assert table_rows(result.stdout) == EXPECTED_ROWS
    assert result.stderr == said(dagster, f"sales--feat-x against sales (snapshot): {SUMMARY}")
    moved = dict(dagster.grpc, sales=dagster.grpc["sales--feat-x"])  # the base now serves the branch's code
    write_in_place(dagster.workspace, workspace_text(moved))
    try:
        assert cli("reload", "--webserver-url", dagster.url, "--wait-for", "sales", "--timeout", "60s").code == 0
        assert web(dagster, "diff", "sales--feat-x", "--live", registry=path).stderr == said(
            dagster, "sales--feat-x against sales (live): no asset changes"
        )
        still = web(dagster, "diff", "sales--feat-x", "-o", "json", registry=path)
        data = json.loads(still.stdout)
        assert (data["against"], data["summary"]) == ("snapshot", SUMMARY)
        assert all("details" not in a for a in data["assets"])  # a snapshot holds fingerprints, not values
        retaken = web(dagster, "update-location", "sales--feat-x", "--base-snapshot", registry=path)
        assert retaken.code == 0, retaken.stderr
        assert web(dagster, "diff", "sales--feat-x", registry=path).stderr == said(
            dagster, "sales--feat-x against sales (snapshot): no asset changes"
        )
    finally:
        write_in_place(dagster.workspace, workspace_text(dagster.grpc))
        cli("reload", "--webserver-url", dagster.url, "--timeout", "60s")


def test_diff_through_the_api_server_service_proxy(dagster, kube):
    """The cluster path: the registry in ConfigMaps of the stand-in API server (tests/fakekube.py),
    GraphQL through its service proxy to the real webserver."""
    env = {"KUBECONFIG": kube.kubeconfig_path}
    assert (
        cli("add-location", "etl--feat-x", "--image", "r:1", "-f", "b.py", "--base", "etl", "--cluster", env=env).code
        == 0
    )
    kube.add_service("dagster", "dagster-dagster-webserver", 80, {"component": "dagster-webserver"}, target=dagster.url)
    result = cli("diff", "etl--feat-x", "--cluster", "-o", "markdown", env=env)
    assert result.code == 0, result.stderr
    assert result.stdout == golden(dagster)
    proxied = [p for m, p, _ in kube.requests if "/proxy/" in p]
    assert proxied and all(
        p == "/api/v1/namespaces/dagster/services/dagster-dagster-webserver:80/proxy/graphql" for p in proxied
    )


def one_error_line(result, *parts):
    assert result.code == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "; " in result.stderr, result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr


@pytest.mark.parametrize(
    "args,parts",
    [
        (
            ["--base", "nope"],
            [
                "base location 'nope' is not served by the webserver at http://127.0.0.1:",
                "; pass --base NAME of a location the webserver serves",
            ],
        ),
        (
            ["--base", "broken"],
            [
                "base location 'broken' is not loaded (Dagster says ERROR: RuntimeError: this location is "
                "broken on purpose); fix the base location, or pass --base NAME"
            ],
        ),
        (["--base", "etl--feat-x"], ["base location 'etl--feat-x' is the location itself; pass --base NAME"]),
    ],
    ids=["base-does-not-exist", "base-not-loaded", "base-is-itself"],
)
def test_bad_base(dagster, args, parts):
    one_error_line(web(dagster, "diff", "etl--feat-x", *args), *parts)


def test_branch_not_loaded_and_no_base(dagster):
    one_error_line(
        web(dagster, "diff", "broken", "--base", "etl"),
        "error: location 'broken' is not loaded (Dagster says ERROR: RuntimeError: this location is "
        "broken on purpose); fix its load error (`kubectl dagster status broken -o json` shows it)",
    )
    one_error_line(web(dagster, "diff", "nowhere", "--base", "etl"), "error: location 'nowhere' is not served")
    one_error_line(
        web(dagster, "diff", "big"),
        "error: location 'big' has no base location",
        "; pass --base NAME, or record one with update-location --base",
    )


def test_unreachable_webserver(dagster):
    url = f"http://127.0.0.1:{free_port()}"
    one_error_line(
        cli("diff", "etl--feat-x", "--base", "etl", "--webserver-url", url),
        f"error: cannot reach {url}/graphql",
        "; check --webserver-url",
    )


def test_snapshot_too_large_writes_nothing(dagster, tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(HEAD)
    result = web(dagster, "add-location", "big--feat", "--image", "r:1", "-f", "b.py", "--base-snapshot", registry=path)
    one_error_line(
        result,
        f"error: base location 'big' has {constants.SNAPSHOT_MAX_ASSETS + 1} assets, more than the "
        f"{constants.SNAPSHOT_MAX_ASSETS} a base snapshot holds; record no snapshot",
    )
    assert path.read_text() == HEAD


def test_add_location_base_itself_and_snapshot_without_base(dagster, tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(HEAD)
    one_error_line(
        cli("add-location", "feat-x", "--image", "r:1", "-f", "b.py", "--base", "feat-x", "--locations", str(path)),
        "base 'feat-x' is the location itself",
    )
    one_error_line(
        web(dagster, "add-location", "lonely", "--image", "r:1", "-f", "b.py", "--base-snapshot", registry=path),
        "error: --base-snapshot needs a base location for 'lonely'; pass --base NAME",
    )
    assert path.read_text() == HEAD
