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
