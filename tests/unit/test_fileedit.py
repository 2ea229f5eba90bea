"""Text-preserving edits of a CodeLocations file: every byte outside the edited entry stays."""

import pytest

from kubectl_dagster.base import errors
from kubectl_dagster.shells.registry import fileedit

ORIGINAL = """\
# Team code locations.   Reviewed by the platform team.
apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
defaults:
  image: {repository: ghcr.io/acme/code, pullPolicy: IfNotPresent}   # flow style kept
locations:
  # sales: owned by the revenue team
  - name: sales
    image: {tag: "2024.06.1"}
    pythonFile: repo.py     # aligned comment
    port: 3031

  # marketing
  - name: marketing
    image:
      tag: '2.4.0'
    moduleName: marketing.defs
    port: 3032
  - branch: "feat: x"
    image: {tag: sha-1}
    pythonFile: defs.py
    port: 3033
# end of list
"""


def _slot(text, name):
    return next(s for s in fileedit.slots(text, "f.yaml") if s.name == name)


def _lines_without(text, first, last):
    lines = text.splitlines(keepends=True)
    return lines[:first] + lines[last:]


def test_add_appends_and_keeps_every_byte():
    new = fileedit.add(
        ORIGINAL, {"name": "new", "image": {"tag": "1"}, "moduleName": "new.defs", "port": 3034}, "f.yaml"
    )
    lines = ORIGINAL.splitlines(keepends=True)
    assert (
        new
        == "".join(lines[:-1])
        + '  - name: new\n    image:\n      tag: "1"\n    moduleName: new.defs\n    port: 3034\n'
        + lines[-1]
    )
    assert [s.name for s in fileedit.slots(new, "f.yaml")] == ["sales", "marketing", "feat-x", "new"]
    assert _slot(new, "new").resolved["image"] == {
        "repository": "ghcr.io/acme/code",
        "pullPolicy": "IfNotPresent",
        "tag": "1",
    }


def test_replace_touches_only_that_entry():
    new = fileedit.replace(
        ORIGINAL,
        _slot(ORIGINAL, "marketing"),
        {"name": "marketing", "image": {"tag": "2.5.0"}, "moduleName": "marketing.defs", "port": 3032},
        "f.yaml",
    )
    old_lines, new_lines = ORIGINAL.splitlines(keepends=True), new.splitlines(keepends=True)
    assert new_lines[:13] == old_lines[:13]  # through "  # marketing"
    assert new_lines[-5:] == old_lines[-5:]  # the branch entry and the trailing comment
    assert 'tag: "2.5.0"' in new and "'2.4.0'" not in new


def test_remove_takes_the_entry_and_its_comment_only():
    new = fileedit.remove(ORIGINAL, _slot(ORIGINAL, "sales"), "f.yaml")
    assert new == "".join(_lines_without(ORIGINAL, 6, 11))
    new = fileedit.remove(ORIGINAL, _slot(ORIGINAL, "feat-x"), "f.yaml")
    assert new == "".join(_lines_without(ORIGINAL, 18, 22))


def test_remove_last_entry_leaves_an_empty_list_or_nothing():
    text = (
        "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n"
        "  - name: a\n    image: {repository: r}\n    pythonFile: a.py\n"
    )
    assert (
        fileedit.remove(text, _slot(text, "a"), "f.yaml")
        == "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations: []\n"
    )
    assert fileedit.remove(text, _slot(text, "a"), "f.yaml", drop_empty=True) == ""
    again = fileedit.add(
        fileedit.remove(text, _slot(text, "a"), "f.yaml"), {"name": "b", "image": {"repository": "r"}}, "f.yaml"
    )
    assert [s.name for s in fileedit.slots(again, "f.yaml")] == ["b"]


def test_new_file_and_bare_documents():
    created = fileedit.add("", {"name": "a", "image": {"repository": "r"}, "pythonFile": "a.py"}, "f.yaml")
    assert created.startswith("apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n  - name: a\n")
    bare = "# keep me\nname: a\nimage: {repository: r}\npythonFile: a.py\n"
    replaced = fileedit.replace(
        bare, _slot(bare, "a"), {"name": "a", "image": {"repository": "r2"}, "pythonFile": "a.py"}, "f.yaml"
    )
    assert replaced.startswith("# keep me\nname: a\n") and "r2" in replaced


def test_flow_style_list_is_refused_not_rewritten():
    text = "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations: [{name: a, image: {repository: r}}]\n"
    with pytest.raises(errors.RegistryError, match="flow style"):
        fileedit.add(text, {"name": "b"}, "f.yaml")


def test_unparseable_file_is_refused():
    with pytest.raises(errors.RegistryError, match="not valid YAML"):
        fileedit.add("locations: [\n", {"name": "b"}, "f.yaml")
