"""Real kubectl (v1.33.9) finds kubectl-dagster on PATH and runs it with the arguments verbatim
(flags included) and an unchanged environment. No API server is needed for these commands."""

import pytest
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


@pytest.mark.parametrize(
    "args, usage, listed",
    [
        (["dagster"], "Usage: kubectl-dagster [OPTIONS] [COMMAND]", "  add-location "),
        (["dagster", "--debug"], "Usage: kubectl-dagster [OPTIONS] [COMMAND]", "  add-location "),
        (["dagster", "config"], "Usage: kubectl-dagster config [OPTIONS] [COMMAND]", "  view "),
    ],
    ids=["no-arguments", "only-a-flag", "a-group"],
)
def test_no_command_prints_the_help_on_stdout_as_kubectl_does(args, usage, listed):
    """`kubectl` and `helm` without a command print their help on stdout and exit 0; so do we."""
    kubectl = run([tool("kubectl")])
    assert (kubectl.code, kubectl.stderr) == (0, "") and kubectl.stdout  # the convention we follow
    result = run([tool("kubectl"), *args])
    assert (result.code, result.stderr) == (0, ""), result.stderr
    assert result.stdout.startswith(usage) and listed in result.stdout


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["statsu"],
            'error: unknown command "statsu" for "kubectl-dagster" (did you mean "status"?); '
            "see 'kubectl-dagster --help'\n",
        ),
        (
            ["add-locaton", "x"],
            'error: unknown command "add-locaton" for "kubectl-dagster" (did you mean "add-location"?); '
            "see 'kubectl-dagster --help'\n",
        ),
        (
            ["config", "veiw"],
            'error: unknown command "veiw" for "kubectl-dagster config" (did you mean "view"?); '
            "see 'kubectl-dagster config --help'\n",
        ),
        (["xyzzy"], 'error: unknown command "xyzzy" for "kubectl-dagster"; see \'kubectl-dagster --help\'\n'),
    ],
    ids=["typo", "typo-with-arguments", "typo-in-a-group", "nothing-near"],
)
def test_a_mistyped_command_is_one_line_naming_the_nearest(args, line):
    result = run([tool("kubectl"), "dagster", *args])
    assert (result.code, result.stdout, result.stderr) == (2, "", line)
