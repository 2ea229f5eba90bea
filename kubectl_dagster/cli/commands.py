"""The command group. Each command lives in its own module, imported only when it runs (or for
--help): `render` is on every Helm upgrade's path and should not pay for the others."""

from __future__ import annotations

import difflib
import importlib

import click

# name -> (module under kubectl_dagster.cli, attribute), in the order --help lists them
COMMANDS = {
    "render": ("render", "command"),
    "deploy": ("deploy", "command"),
    "teardown": ("deploy", "teardown"),
    "suspend": ("suspend", "suspend"),
    "resume": ("suspend", "resume"),
    "config": ("config", "group"),
    "add-location": ("add_location", "command"),
    "update-location": ("update_location", "command"),
    "remove-location": ("remove_location", "command"),
    "list-locations": ("list_locations", "command"),
    "get-location": ("get_location", "command"),
    "gc": ("gc", "command"),
    "import": ("import_", "command"),
    "rbac": ("rbac", "command"),
    "check-images": ("check_images", "command"),
    "status": ("status", "command"),
    "reload": ("reload", "command"),
    "diff": ("diff", "command"),
    "automation": ("automation", "command"),
    "argocd-generate": ("argocd", "generate"),
    "argocd-init": ("argocd", "init"),
    "argocd-location": ("argocd", "location"),
    "krm": ("krm", "command"),
    "watch": ("watch", "command"),
    "version": ("version", "command"),
    "last-error": ("last_error", "command"),
}


class Group(click.Group):
    """A command group as kubectl and helm have them: without a command it prints its help on stdout
    and exits 0; an unknown command is a one-line usage error naming the nearest command."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invoke_without_command", True)
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(*args, **kwargs)

    def invoke(self, ctx):
        result = super().invoke(ctx)
        if ctx.invoked_subcommand is None:
            click.echo(ctx.get_help())
        return result

    def resolve_command(self, ctx, args):
        name = args[0]
        if name.startswith("-") or self.get_command(ctx, name) is not None:
            return super().resolve_command(ctx, args)
        nearest = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
        hint = f' (did you mean "{nearest[0]}"?)' if nearest else ""
        ctx.fail(f'unknown command "{name}" for "{ctx.command_path}"{hint}')


class LazyGroup(Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


@click.group(cls=LazyGroup)
@click.option("--debug", is_flag=True, hidden=True, expose_value=False)
def cli():
    """Add, update and remove Dagster code locations on a Dagster Helm release.

    Code locations are merged into the rendered manifests (helm template, Helm 3 and Helm 4
    post-renderers, ArgoCD), so one Helm or ArgoCD apply rolls them out atomically.
    """
