"""``check-images``: fail CI when a code location's image is one that an overlay's ``images:``
(what ArgoCD Image Updater edits) would never move."""

from __future__ import annotations

import os

import click

from ..base import errors
from ..core.gitops import images
from ..shells import sources
from . import options, output

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@click.command("check-images")
@click.argument("overlay", type=click.Path())
@click.argument("rendered", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--allow-shared",
    is_flag=True,
    help="Accept an images: entry that moves several locations at once (they share a repository).",
)
@options.debug
def command(overlay, rendered, allow_shared):
    """Check that every location image in a rendered base is named by the overlay's images:.

    OVERLAY is the overlay directory (or its kustomization file); RENDERED are the files of the base
    that `render` wrote (default: stdin).

    \b
    Examples:
      kubectl dagster check-images deploy/overlays/staging deploy/base/release.yaml
      helm template ... | kubectl dagster render --locations locations/ | kubectl dagster check-images overlays/prod
    """
    path = _kustomization(overlay)
    docs = sources.load_docs(sources.read_text(path), path)
    names = images.overlay_names(docs[0] if docs else None, path)
    text = (
        "".join(sources.read_text(p) for p in rendered)
        if rendered
        else sources.read_stream(click.get_binary_stream("stdin"), "stdin")
    )
    found = images.location_images(text)
    if not found:
        raise errors.InputError(
            "the rendered base holds no code-location Deployment", "pass the output of `kubectl dagster render`"
        )
    report = images.check(found, names)
    _refuse(report, path, allow_shared)
    for name, locs in sorted(report.matched.items()):
        output.echo(f"image/{name} moves {', '.join(locs)}")


def _refuse(report: images.Report, path: str, allow_shared: bool) -> None:
    """Fail when an image is named by no entry, or (without --allow-shared) one entry moves several locations."""
    if report.unmatched:
        missing = ", ".join(f"{i.location} ({i.image})" for i in report.unmatched)
        raise errors.InputError(
            f"images that {path} does not name, so Image Updater would never move them: {missing}",
            "add an images: entry with each image's name (repository) to the overlay",
        )
    shared = {name: locs for name, locs in report.matched.items() if len(locs) > 1}
    if shared and not allow_shared:
        what = "; ".join(f"{name} moves {', '.join(locs)}" for name, locs in sorted(shared.items()))
        raise errors.InputError(
            f"one images: entry would move several locations at once: {what}",
            "give each location its own image name, or pass --allow-shared",
        )


def _kustomization(overlay: str) -> str:
    if os.path.isdir(overlay):
        for name in KUSTOMIZATION_NAMES:
            if os.path.isfile(os.path.join(overlay, name)):
                return os.path.join(overlay, name)
        raise errors.InputError(f"no kustomization.yaml in {overlay}", "point at the overlay directory")
    return overlay
