"""The command group. Each command lives in its own module, imported only when it runs (or for
--help): `render` is on every Helm upgrade's path and should not pay for the others."""

from __future__ import annotations

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
    "argocd-generate": ("argocd", "generate"),
    "argocd-init": ("argocd", "init"),
    "argocd-location": ("argocd", "location"),
    "krm": ("krm", "command"),
    "watch": ("watch", "command"),
    "version": ("version", "command"),
    "last-error": ("last_error", "command"),
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
@click.option("--debug", is_flag=True, hidden=True, expose_value=False)
def cli():
    """Add, update and remove Dagster code locations on a Dagster Helm release.

    Code locations are merged into the rendered manifests (helm template, Helm 3 and Helm 4
    post-renderers, ArgoCD), so one Helm or ArgoCD apply rolls them out atomically.
    """
