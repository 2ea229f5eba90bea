"""The command group. Each command lives in its own module, imported only when it runs (or for
--help): `render` is on every Helm upgrade's path and should not pay for the others."""
from __future__ import annotations

import importlib

import click

# name -> (module under kubectl_dagster.cli, attribute), in the order --help lists them
COMMANDS = {
    "render": ("render", "command"),
    "add-location": ("registry", "add_location"),
    "update-location": ("registry", "update_location"),
    "remove-location": ("registry", "remove_location"),
    "list-locations": ("registry", "list_locations"),
    "get-location": ("registry", "get_location"),
    "gc": ("registry", "gc"),
    "import": ("registry", "import_"),
    "rbac": ("registry", "rbac"),
    "status": ("observe", "status_command"),
    "reload": ("observe", "reload_command"),
    "argocd-generate": ("argocd", "generate"),
    "argocd-init": ("argocd", "init"),
    "version": ("misc", "version"),
    "last-error": ("misc", "last_error"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, hidden=True)
def cli(debug):
    """Add, update and remove Dagster code locations on a Dagster Helm release.

    Code locations are merged into the rendered manifests (helm template, Helm 3 and Helm 4
    post-renderers, ArgoCD), so one Helm or ArgoCD apply rolls them out atomically.
    """
