"""Change tracking as data: Dagster's change kinds, a snapshot telling the same kinds as the live base,
snapshot bounds and validation, finding the base, and markdown that stays under GitHub's comment
limit. The same comparison against real Dagster processes is tests/contract/test_asset_diff.py."""

import json
import re

import pytest
from conftest import cli, fixture_text

from kubectl_dagster.base import constants, errors
from kubectl_dagster.core.assets import assetdiff
from kubectl_dagster.core.chart import manifests
from kubectl_dagster.core.registry import flagedits
from kubectl_dagster.core.spec import checks

A = assetdiff.Asset
DAILY = {"type": "TIME_WINDOW", "description": "Daily, starting 2024-01-01 UTC.", "name": None, "fmt": "%Y-%m-%d"}
BASE = A(
    ("orders",),
    code_version="1",
    dependencies=((("raw", "x"), None),),
    partitions=DAILY,
    tags={"team": "data"},
    metadata={"owner": {"__typename": "TextMetadataEntry", "text": "ana"}},
)
VARIANTS = {
    "code_version": BASE._replace(code_version="2"),
    "dependencies": BASE._replace(dependencies=((("raw", "x"), None), (("raw", "y"), None))),
    "partitions": BASE._replace(partitions={**DAILY, "description": "Weekly, starting 2024-01-01 UTC."}),
    "tags": BASE._replace(tags={"team": "ml"}),
    "metadata": BASE._replace(metadata={}),
}


def diff_of(base, branch):
    return assetdiff.compare({a.path: a for a in base}, {a.path: a for a in branch})


@pytest.mark.parametrize("kind", assetdiff.KINDS)
def test_each_kind_alone(kind):
    (change,) = diff_of([BASE], [VARIANTS[kind]])
    assert (change.key, change.change, change.kinds) == ("orders", "changed", (kind,))


def test_a_changed_partition_mapping_is_a_dependency_change_as_in_dagster():
    mapped = BASE._replace(dependencies=((("raw", "x"), "LastPartitionMapping: the last partition"),))
    (change,) = diff_of([BASE], [mapped])
    assert change.kinds == ("dependencies",)
    assert change.details == {"dependencies": {"added": [], "changed": ["raw/x"], "removed": []}}


def test_new_removed_unchanged_and_order():
    same = A(("raw", "same"), code_version="3")
    changes = diff_of([BASE, same, A(("zeta",))], [A(("alpha",)), same, VARIANTS["tags"]])
    assert [(c.key, c.change, c.kinds) for c in changes] == [
        ("alpha", "new", ()),
        ("orders", "changed", ("tags",)),
        ("zeta", "removed", ()),
    ]


def test_keys_are_paths_not_strings():
    """["a/b"] and ["a", "b"] read the same joined by "/", but Dagster keeps them apart."""
    changes = diff_of([A(("a/b",))], [A(("a", "b"))])
    assert [(c.path, c.change) for c in changes] == [(("a", "b"), "new"), (("a/b",), "removed")]


def test_dict_order_does_not_matter():
    reordered = BASE._replace(tags={"b": "2", "a": "1"})
    assert assetdiff.fingerprint(reordered) == assetdiff.fingerprint(BASE._replace(tags={"a": "1", "b": "2"}))
    assert diff_of([reordered], [BASE._replace(tags={"a": "1", "b": "2"})]) == ()


@pytest.mark.parametrize("kind", assetdiff.KINDS)
def test_a_snapshot_tells_the_same_kinds_without_details(kind):
    snapshot = assetdiff.take_snapshot("etl", {BASE.path: BASE}, "2026-01-01T00:00:00Z")
    (change,) = assetdiff.compare(assetdiff.snapshot_assets(snapshot), {BASE.path: VARIANTS[kind]})
    assert (change.change, change.kinds, change.details) == ("changed", (kind,), {})
    assert assetdiff.compare(assetdiff.snapshot_assets(snapshot), {BASE.path: BASE}) == ()


def test_snapshot_keys_round_trip():
    paths = [("a",), ("raw", "orders"), ("a/b",), ("[x",)]
    snapshot = assetdiff.take_snapshot("etl", {p: A(p) for p in paths}, "t")
    assert set(snapshot["assets"]) == {"a", "raw/orders", '["a/b"]', '["[x"]'}
    assert set(assetdiff.snapshot_assets(snapshot)) == set(paths)
    assert list(assetdiff.check_snapshot(snapshot)) == []


def test_snapshot_bounds():
    many = {(f"a{i}",): A((f"a{i}",)) for i in range(11)}
    with pytest.raises(errors.InputError, match="base location 'etl' has 11 assets, more than the 10 a base snapshot"):
        assetdiff.take_snapshot("etl", many, "t", max_assets=10)
    long = {("k" * 300,): A(("k" * 300,))}
    with pytest.raises(errors.InputError, match=r"takes \d+ bytes, more than the 100 a registry entry may hold") as exc:
        assetdiff.take_snapshot("etl", long, "t", max_bytes=100)
    assert exc.value.fix.startswith("record no snapshot")
    assert len(assetdiff.take_snapshot("etl", many, "t")["assets"]) == 11


def test_snapshot_validation():
    def problems(value):
        return [message for _, message in assetdiff.check_snapshot(value)]

    assert problems([]) == ["baseSnapshot must be a mapping of location, takenAt and assets"]
    assert problems({"location": "etl", "assets": {}, "extra": 1}) == [
        "unknown key baseSnapshot.extra (expected location, takenAt, assets)"
    ]
    assert problems({"assets": {"a": "nope"}})[0] == "baseSnapshot.location must be the base location's name"
    assert problems({"location": "etl", "assets": {"a": "nope"}}) == [
        "baseSnapshot.assets['a'] is not a fingerprint; take the snapshot again with update-location --base-snapshot"
    ]


def test_registry_validation_of_base_keys():
    spec = {"name": "feat-x", "image": {"repository": "r"}, "pythonFile": "a.py"}
    assert list(checks.check({**spec, "base": "etl"})) == []
    assert [m for _, m in checks.check({**spec, "base": "feat-x"})] == [
        "base 'feat-x' is the location itself; name the permanent location it derives from"
    ]
    assert [m for _, m in checks.check({**spec, "base": ""})] == ["base must be the name of a location"]
    assert [p for p, _ in checks.check({**spec, "baseSnapshot": {"location": "etl", "assets": []}})] == [
        ("baseSnapshot", "assets")
    ]


@pytest.mark.parametrize(
    "name, given, recorded, known, expected",
    [
        ("etl--feat-x", None, None, {"etl"}, "etl"),
        ("etl--feat-x", None, None, set(), None),  # no such location: no base, no diff
        ("etl--feat-x", "sales", None, {"etl"}, "sales"),
        ("etl--feat-x", None, "sales", {"etl"}, "sales"),
        ("feat-x", None, None, {"feat"}, None),  # one dash is part of the branch's slug, not a prefix
        ("--x", None, None, {""}, None),
    ],
)
def test_resolve_base(name, given, recorded, known, expected):
    assert assetdiff.resolve_base(name, given, recorded, known) == expected


def test_summary():
    changes = diff_of([BASE, A(("gone",))], [VARIANTS["tags"], A(("new1",)), A(("new2",))])
    assert assetdiff.summary(assetdiff.Diff("x", "etl", "live", changes)) == "2 new, 1 changed, 1 removed"
    assert assetdiff.summary(assetdiff.Diff("x", "etl", "live", ())) == "no asset changes"
    assert assetdiff.summary(assetdiff.Diff("x", None, note="no base")) == "no base"


def big_diff(name, count, width=60):
    changes = tuple(
        assetdiff.Change((f"{name}_{i:05d}_" + "k" * width,), "changed", ("code_version", "tags")) for i in range(count)
    )
    return assetdiff.Diff(name, "etl", "live", changes)


def shown_and_hidden(text, name):
    block = text.split(f"<b>{name}</b>")[1].split("</details>")[0]
    shown = len(re.findall(rf"^\| `{name}_", block, re.M))
    hidden = re.search(r"_… and (\d+) more not shown: run `kubectl dagster diff " + name, block)
    return shown, int(hidden.group(1)) if hidden else 0


def test_markdown_stays_under_the_comment_limit():
    diffs = [big_diff("alpha", 3000), big_diff("beta", 3000), assetdiff.Diff("gamma", None, note="no base")]
    text = assetdiff.markdown(diffs)
    assert len(text.encode("utf-8")) <= constants.GITHUB_COMMENT_LIMIT
    assert len(text.encode("utf-8")) > constants.GITHUB_COMMENT_LIMIT - 200  # the room is used
    for name in ("alpha", "beta"):
        shown, hidden = shown_and_hidden(text, name)
        assert shown + hidden == 3000
    assert shown_and_hidden(text, "alpha")[0] > 0 and shown_and_hidden(text, "beta")[0] == 0
    assert "<b>gamma</b>: no base\n" in text  # every location keeps its summary line
    assert text.count("<details>") == text.count("</details>") == 2


def test_markdown_that_fits_is_whole():
    diff = big_diff("alpha", 20)
    whole = assetdiff.markdown([diff])
    assert "more not shown" not in whole
    assert assetdiff.markdown([diff], limit=len(whole.encode())) == whole
    cut = assetdiff.markdown([diff], limit=len(whole.encode()) - 1)
    assert len(cut.encode()) < len(whole.encode()) and sum(shown_and_hidden(cut, "alpha")) == 20


def test_markdown_leaves_out_locations_that_do_not_fit():
    diffs = [assetdiff.Diff(f"loc{i}", None, note="no base") for i in range(50)]
    text = assetdiff.markdown(diffs, limit=300)
    assert len(text.encode()) <= 300
    kept = text.count("<b>loc")
    assert 0 < kept < 50 and text.endswith(f"_… and {50 - kept} more locations not shown._\n")


def test_markdown_escapes():
    change = assetdiff.Change(("a|b", "c`d"), "new")
    text = assetdiff.markdown([assetdiff.Diff("x<y", "etl", "live", (change,))])
    assert "| `` a\\|b/c`d `` | new |" in text and "<b>x&lt;y</b>" in text


def test_render_records_the_base_and_ignores_the_snapshot(tmp_path):
    """``base`` becomes an annotation beside branch and commit; ``baseSnapshot`` changes nothing rendered,
    and an entry without either renders as before (the golden files)."""
    head = (
        "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n"
        "  - name: etl--feat-x\n    image: {repository: r, tag: '1'}\n    pythonFile: a.py\n"
    )
    snapshot = assetdiff.take_snapshot("etl", {BASE.path: BASE}, "2026-01-01T00:00:00Z")
    outputs = {}
    for case, extra in (
        ("plain", ""),
        ("base", "    base: etl\n"),
        ("snapshot", "    base: etl\n    baseSnapshot: " + json.dumps(snapshot) + "\n"),
    ):
        path = tmp_path / f"{case}.yaml"
        path.write_text(head + extra)
        result = cli("render", "--locations", str(path), stdin=fixture_text("1.11.10", "b.yaml"))
        assert result.code == 0, result.stderr
        outputs[case] = result.stdout
    assert outputs["base"] == outputs["snapshot"] != outputs["plain"]
    ours = [
        d
        for d in manifests.split(outputs["base"]).documents
        if (d.labels() or {}).get(constants.LOCATION_LABEL) == "etl--feat-x"
    ]
    assert len(ours) == 3 and all(d.annotations()[constants.BASE_ANNOTATION] == "etl" for d in ours)
    assert outputs["plain"] == outputs["base"].replace(f"    {constants.BASE_ANNOTATION}: etl\n", "")


def test_a_new_base_drops_the_snapshot_of_the_old_one():
    snapshot = assetdiff.take_snapshot("etl", {BASE.path: BASE}, "t")
    spec = {"name": "feat-x", "base": "etl", "baseSnapshot": snapshot}
    assert flagedits.apply_flags(spec, flagedits.Flags(base="etl"), None) == spec
    assert flagedits.apply_flags(spec, flagedits.Flags(base="sales"), None) == {"name": "feat-x", "base": "sales"}
    retaken = {**snapshot, "location": "sales"}
    assert (
        flagedits.apply_flags(spec, flagedits.Flags(base="sales", base_snapshot=retaken), None)["baseSnapshot"]
        == retaken
    )


@pytest.mark.parametrize(
    "answer, expected",
    [
        ([], "the webserver answered list, not a GraphQL result"),
        ({"errors": [{"message": "Cannot query field 'opVersion'"}]}, "GraphQL error: Cannot query field 'opVersion'"),
    ],
)
def test_answers_that_are_not_asset_nodes_are_webserver_errors(answer, expected):
    """What a proxy or an incompatible webserver may send: one error line (exit 1), never a traceback."""
    from kubectl_dagster.shells import assetnodes, reloadhook

    with pytest.raises(reloadhook.WebserverError, match=re.escape(expected)):
        assetnodes.parse(answer)
