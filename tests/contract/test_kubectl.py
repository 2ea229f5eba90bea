"""Real kubectl (v1.33.9) finds kubectl-dagster on PATH and runs it with the arguments verbatim
(flags included) and an unchanged environment. No API server is needed for these commands."""

from conftest import cli, fixture_text, run, tool


def test_kubectl_runs_the_plugin(tmp_path):
    result = run([tool("kubectl"), "dagster", "version"])
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("kubectl-dagster 0.")


def test_kubectl_plugin_list_finds_it():
    result = run([tool("kubectl"), "plugin", "list"])
    assert "kubectl-dagster" in result.stdout


def test_kubectl_dagster_render_through_kubectl(tmp_path):
    path = tmp_path / "locations.yaml"
    path.write_text(
        "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n"
        "  - name: via-kubectl\n    image: {repository: r, tag: '1'}\n    moduleName: m\n"
    )
    direct = cli("render", "--locations", str(path), "-n", "dagster", stdin=fixture_text("1.11.10", "b.yaml"))
    via = run(
        [tool("kubectl"), "dagster", "render", "--locations", str(path), "-n", "dagster"],
        stdin=fixture_text("1.11.10", "b.yaml"),
    )
    assert via.code == 0 and direct.code == 0
    assert via.stdout == direct.stdout
    assert "location_name: via-kubectl" in via.stdout


def test_kubectl_passes_our_errors_through():
    result = run([tool("kubectl"), "dagster", "render"], stdin="")
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: the input is empty")
