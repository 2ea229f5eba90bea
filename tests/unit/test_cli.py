"""The lazily loaded command table: every name resolves to the command of that name."""

import click
import pytest

from kubectl_dagster.cli import commands


@pytest.mark.parametrize("name", list(commands.COMMANDS))
def test_every_command_resolves(name):
    command = commands.cli.get_command(None, name)
    assert isinstance(command, click.Command) and command.name == name


def test_unknown_command_is_none():
    assert commands.cli.get_command(None, "nope") is None


from kubectl_dagster.cli import optable, options  # noqa: E402

ARGVS = [
    [],
    ["--locations", "a.yaml"],
    ["--locations=a.yaml", "--locations", "dir/", "--summary"],
    ["-n", "dagster", "--release", "prod", "--rollout", "restart", "--on-conflict=replace", "--mode", "workspace"],
    ["--namespace=ns", "--rollout=none", "--from-cluster", "--kubeconfig", "/k", "--context", "c", "--debug"],
    ["--from-cluster", "--allow-empty"],
    ["-n", "--summary"],  # an option value that looks like a flag: click takes it as the value too
    ["--locations", ""],
    ["--reload-nudge=false", "--rollout", "reload"],
    ["--reload-nudge", "true"],
]


@pytest.mark.parametrize("args", ARGVS)
def test_fast_render_parser_agrees_with_click(args, monkeypatch):
    monkeypatch.delenv("KUBECTL_DAGSTER_NAMESPACE", raising=False)
    click_params = commands.cli.get_command(None, "render").make_context("render", list(args)).params
    assert optable.fast_parse(options.RENDER, list(args)) == click_params


def test_namespace_from_the_environment_agrees(monkeypatch):
    monkeypatch.setenv("KUBECTL_DAGSTER_NAMESPACE", "from-env")
    click_params = commands.cli.get_command(None, "render").make_context("render", ["--summary"]).params
    assert optable.fast_parse(options.RENDER, ["--summary"]) == click_params
    assert click_params["namespace"] == "from-env"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["--nope"],
        ["--rollout", "sometimes"],
        ["--reload-nudge", "maybe"],
        ["stray"],
        ["--locations"],
        ["-nfoo"],
        ["-n=foo"],
        ["--summary=yes"],
        ["--", "--summary"],
    ],
)
def test_fast_parser_leaves_everything_else_to_click(args):
    assert optable.fast_parse(options.RENDER, list(args)) is None
