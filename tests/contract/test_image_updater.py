"""The ArgoCD Image Updater recipe (docs/argocd.md), with real `kubectl kustomize`.

Image Updater itself cannot run here (it needs ArgoCD and a registry). What it does with git
write-back to a kustomization is edit the overlay's `images:` the way `kustomize edit set image`
does (an entry with `name` and `newName`, `newTag` or `digest`), then ArgoCD builds the overlay
with Kustomize. These tests make that edit, build with the real kubectl's kustomize over a base that
`render` produced from the real chart's output, and check what changes: only the targeted location's
Deployment, only its image; and `check-images` catches a location no `images:` entry names.
"""

import pathlib

import pytest
from conftest import cli, fixture_text, run, tool

from kubectl_dagster.base import yamlio

LOCATIONS = """apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
locations:
  - name: etl
    image: {repository: ghcr.io/acme/etl, tag: "1.0"}
    pythonFile: etl/definitions.py
  - name: marketing
    image: {repository: "registry.acme.io:5000/marketing", tag: "2.4.0"}
    moduleName: marketing.definitions
"""


def _setup(tmp_path: pathlib.Path, images_yaml: str):
    locations = tmp_path / "locations.yaml"
    locations.write_text(LOCATIONS)
    merged = cli("render", "--locations", str(locations), stdin=fixture_text("1.11.10", "b.yaml"))
    assert merged.code == 0, merged.stderr
    base = tmp_path / "base"
    base.mkdir()
    (base / "release.yaml").write_text(merged.stdout)
    (base / "kustomization.yaml").write_text("resources: [release.yaml]\n")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [../base]\n" + images_yaml)
    return base, overlay


def _build(overlay: pathlib.Path):
    result = run([tool("kubectl"), "kustomize", str(overlay)])
    assert result.code == 0, result.stderr
    docs = list(yamlio.make_yaml("safe").load_all(result.stdout))
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


IMAGES = "images:\n  - name: ghcr.io/acme/etl\n  - name: registry.acme.io:5000/marketing\n"


@pytest.mark.parametrize(
    "edit, expected",
    [
        ({"newTag": "1.1"}, "ghcr.io/acme/etl:1.1"),
        ({"newName": "ghcr.io/acme/etl-fast", "newTag": "2.0"}, "ghcr.io/acme/etl-fast:2.0"),
        ({"digest": "sha256:" + "a" * 64}, "ghcr.io/acme/etl@sha256:" + "a" * 64),
    ],
    ids=["newTag", "newName", "digest"],
)
def test_an_images_edit_moves_only_that_locations_deployment(tmp_path, edit, expected):
    _, overlay = _setup(tmp_path, IMAGES)
    before = _build(overlay)
    fields = "".join(f'    {key}: "{value}"\n' for key, value in edit.items())
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\nimages:\n  - name: ghcr.io/acme/etl\n"
        + fields
        + "  - name: registry.acme.io:5000/marketing\n"
    )
    after = _build(overlay)
    assert before.keys() == after.keys()
    changed = [key for key in before if before[key] != after[key]]
    assert changed == [("Deployment", "dagster-dagster-user-deployments-etl")]
    container = after[changed[0]]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == expected
    container["image"] = before[changed[0]]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert after[changed[0]] == before[changed[0]]  # nothing but the image
    workspace = ("ConfigMap", "dagster-workspace-yaml")
    assert after[workspace] == before[workspace]
    for key, doc in after.items():
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), key


def test_check_images_passes_when_every_location_is_named(tmp_path):
    base, overlay = _setup(tmp_path, IMAGES)
    result = cli("check-images", str(overlay), str(base / "release.yaml"))
    assert result.code == 0, result.stderr
    assert result.stdout == (
        "image/ghcr.io/acme/etl moves etl\nimage/registry.acme.io:5000/marketing moves marketing\n"
    )


def test_check_images_names_the_location_image_updater_would_miss(tmp_path):
    base, overlay = _setup(tmp_path, "images:\n  - name: ghcr.io/acme/etl\n")
    result = cli("check-images", str(overlay), stdin=(base / "release.yaml").read_text())
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: images that {overlay}/kustomization.yaml does not name, so Image Updater would "
        "never move them: marketing (registry.acme.io:5000/marketing:2.4.0); add an images: "
        "entry with each image's name (repository) to the overlay\n"
    )


def test_check_images_flags_an_entry_that_moves_two_locations(tmp_path):
    base, overlay = _setup(tmp_path, IMAGES)
    text = (
        (base / "release.yaml").read_text().replace("registry.acme.io:5000/marketing:2.4.0", "ghcr.io/acme/etl:2.4.0")
    )
    result = cli("check-images", str(overlay), stdin=text)
    assert result.code == 1
    assert (
        "one images: entry would move several locations at once: ghcr.io/acme/etl moves etl, marketing" in result.stderr
    )
    assert cli("check-images", str(overlay), "--allow-shared", stdin=text).code == 0


def test_check_images_refuses_a_base_without_locations(tmp_path):
    _, overlay = _setup(tmp_path, IMAGES)
    result = cli("check-images", str(overlay), stdin=fixture_text("1.11.10", "b.yaml"))
    assert result.code == 1 and "holds no code-location Deployment" in result.stderr
