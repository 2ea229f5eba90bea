"""Which assets a branch location adds, changes or removes against its base, the way Dagster+ marks
them in a branch deployment.

Dagster's own rules (``AssetGraphDiffer`` in dagster/_core/definitions/assets/graph/asset_graph_differ.py)
are followed kind by kind: an asset is *new* when the base has no asset with its key, *removed* when
the branch has none, and *changed* when its code version, its upstream keys (or the partition
mapping of one), its partitions definition, its tags or its metadata differ. Keys are Dagster's
``AssetKey`` paths; they are shown as ``to_user_string`` shows them (joined with ``/``).

The base is either live asset definitions or a recorded snapshot: one fingerprint per asset, a
short hash per kind, so a snapshot still says which kinds changed. Also here: finding a branch
location's base, and the summary and the bounded markdown a pull-request comment shows. Pure.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ...base import constants, errors

KINDS = ("code_version", "dependencies", "partitions", "tags", "metadata")
NEW, CHANGED, REMOVED = "new", "changed", "removed"
LIVE, SNAPSHOT = "live", "snapshot"
HASH_LENGTH = 12  # hex digits per kind in a fingerprint
_FINGERPRINT = re.compile(r"^[0-9a-f]{%d}(\.[0-9a-f]{%d}){%d}$" % (HASH_LENGTH, HASH_LENGTH, len(KINDS) - 1))
SNAPSHOT_KEYS = ("location", "takenAt", "assets")

AssetPath = Tuple[str, ...]


class Asset(NamedTuple):
    """One asset definition, reduced to what change tracking compares."""

    path: AssetPath
    code_version: Optional[str] = None
    dependencies: Tuple[Tuple[AssetPath, Optional[str]], ...] = ()  # (upstream key, partition mapping), sorted
    partitions: Optional[Dict[str, Any]] = None  # the partitions definition as the webserver describes it
    tags: Mapping[str, str] = {}
    metadata: Mapping[str, Any] = {}  # label -> the value as the webserver gives it

    def values(self) -> Dict[str, Any]:
        """Each kind as plain data, compared (and hashed) as a whole."""
        return {
            "code_version": self.code_version,
            "dependencies": [[list(path), mapping] for path, mapping in self.dependencies],
            "partitions": self.partitions,
            "tags": dict(self.tags),
            "metadata": dict(self.metadata),
        }


class Change(NamedTuple):
    path: AssetPath
    change: str  # new, changed, removed
    kinds: Tuple[str, ...] = ()  # for changed: which of KINDS, in that order
    details: Dict[str, Any] = {}  # per kind, what differs (only against a live base)

    @property
    def key(self) -> str:
        return user_string(self.path)


class Diff(NamedTuple):
    """One branch location against its base; ``note`` says why there is no comparison, ``unseen`` which
    kinds (or parts of one) the webserver cannot give, so no change of them shows (assetquery.Gap)."""

    location: str
    base: Optional[str]
    against: str = ""  # live, snapshot; empty when there was nothing to compare
    changes: Tuple[Change, ...] = ()
    note: str = ""
    unseen: Tuple[str, ...] = ()


def user_string(path: Sequence[str]) -> str:
    """``AssetKey.to_user_string``: the path joined with ``/``."""
    return "/".join(path)


# -- comparing ----------------------------------------------------------------------------------
def compare(base: Mapping[AssetPath, Union[Asset, str]], branch: Mapping[AssetPath, Asset]) -> Tuple[Change, ...]:
    """Every difference, sorted by key. A base value is an :class:`Asset` (live) or a fingerprint (snapshot)."""
    out = []
    for path in sorted(set(base) | set(branch), key=lambda p: (user_string(p), p)):
        if path not in base:
            out.append(Change(path, NEW))
        elif path not in branch:
            out.append(Change(path, REMOVED))
        else:
            kinds, details = _kinds(base[path], branch[path])
            if kinds:
                out.append(Change(path, CHANGED, kinds, details))
    return tuple(out)


def _kinds(old: Union[Asset, str], new: Asset) -> Tuple[Tuple[str, ...], Dict[str, Any]]:
    if isinstance(old, str):
        hashes = dict(zip(KINDS, old.split("."), strict=False))
        mine = dict(zip(KINDS, fingerprint(new).split("."), strict=False))
        return tuple(kind for kind in KINDS if hashes[kind] != mine[kind]), {}
    before, after = old.values(), new.values()
    kinds = tuple(kind for kind in KINDS if _canonical(before[kind]) != _canonical(after[kind]))
    return kinds, {kind: _detail(kind, old, new) for kind in kinds}


def _detail(kind: str, old: Asset, new: Asset) -> Dict[str, Any]:
    if kind == "code_version":
        return {"old": old.code_version, "new": new.code_version}
    if kind == "partitions":
        return {"old": partitions_label(old.partitions), "new": partitions_label(new.partitions)}
    if kind == "dependencies":
        before, after = dict(old.dependencies), dict(new.dependencies)
        return _keys_diff({user_string(p): m for p, m in before.items()}, {user_string(p): m for p, m in after.items()})
    return _keys_diff(getattr(old, kind), getattr(new, kind))


def _keys_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> Dict[str, List[str]]:
    """Dagster's ``DictDiff``: added, changed and removed keys."""
    return {
        "added": sorted(set(new) - set(old)),
        "changed": sorted(k for k in set(new) & set(old) if _canonical(new[k]) != _canonical(old[k])),
        "removed": sorted(set(old) - set(new)),
    }


def partitions_label(partitions: Optional[Dict[str, Any]]) -> Optional[str]:
    if partitions is None:
        return None
    kind, text = str(partitions.get("type") or ""), str(partitions.get("description") or "")
    return f"{kind}: {text}" if text else kind


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(asset: Asset) -> str:
    """A short hash of each kind, in the order of KINDS, joined with ``.``."""
    values = asset.values()
    return ".".join(_hash(values[kind]) for kind in KINDS)


def _hash(value: Any) -> str:
    return hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()[:HASH_LENGTH]


def counts(changes: Iterable[Change]) -> Dict[str, int]:
    out = {NEW: 0, CHANGED: 0, REMOVED: 0}
    for change in changes:
        out[change.change] += 1
    return out


def summary(diff: Diff) -> str:
    """``3 new, 2 changed, 1 removed``; ``no asset changes``; or why there is no comparison."""
    if diff.note:
        return diff.note
    if not diff.changes:
        return "no asset changes"
    return ", ".join(f"{n} {what}" for what, n in counts(diff.changes).items())


# -- the base -----------------------------------------------------------------------------------
def project_prefix(name: str) -> Optional[str]:
    """``etl`` for ``etl--feat-x`` (dagster-uc's ``project--branch`` names); None without a prefix."""
    head, separator, tail = name.partition(constants.PROJECT_SEPARATOR)
    return head if separator and head and tail else None


def resolve_base(name: str, given: Optional[str], recorded: Optional[str], known: Iterable[str]) -> Optional[str]:
    """The base of ``name``: given (--base), recorded, or its project prefix when that location is known."""
    if given:
        return given
    if recorded:
        return str(recorded)
    prefix = project_prefix(name)
    return prefix if prefix is not None and prefix in set(known) else None


def check_base(name: str, base: str) -> None:
    if base == name:
        raise errors.InputError(
            f"base location {base!r} is the location itself",
            "pass --base NAME of the permanent location the branch derives from",
        )


# -- snapshots ----------------------------------------------------------------------------------
def snapshot_key(path: AssetPath) -> str:
    """The user string, or the path as a JSON list when a part holds ``/`` (then the string is ambiguous)."""
    if any("/" in part for part in path) or (path and path[0].startswith("[")):
        return json.dumps(list(path), ensure_ascii=False)
    return user_string(path)


def parse_snapshot_key(text: str) -> AssetPath:
    return tuple(json.loads(text)) if text.startswith("[") else tuple(text.split("/"))


def take_snapshot(
    location: str,
    assets: Mapping[AssetPath, Asset],
    taken_at: str,
    max_assets: int = constants.SNAPSHOT_MAX_ASSETS,
    max_bytes: int = constants.SNAPSHOT_MAX_BYTES,
) -> Dict[str, Any]:
    """What the registry entry records as ``baseSnapshot``, bounded in asset count and size."""
    fix = "record no snapshot (drop --base-snapshot): diff then compares against the live base"
    if len(assets) > max_assets:
        raise errors.InputError(
            f"base location {location!r} has {len(assets)} assets, more than the {max_assets} a base snapshot holds",
            fix,
        )
    prints = {snapshot_key(path): fingerprint(assets[path]) for path in sorted(assets)}
    size = len(_canonical(prints).encode("utf-8"))
    if size > max_bytes:
        raise errors.InputError(
            f"the snapshot of base location {location!r} takes {size} bytes, more than the "
            f"{max_bytes} a registry entry may hold",
            fix,
        )
    return {"location": location, "takenAt": taken_at, "assets": prints}


def snapshot_assets(snapshot: Mapping[str, Any]) -> Dict[AssetPath, str]:
    return {parse_snapshot_key(key): value for key, value in (snapshot.get("assets") or {}).items()}


def check_snapshot(value: Any) -> Iterable[Tuple[tuple, str]]:
    """Problems of a ``baseSnapshot`` value, as (key path, message), for the registry's validation."""
    if not isinstance(value, dict):
        yield ("baseSnapshot",), "baseSnapshot must be a mapping of location, takenAt and assets"
        return
    for key in sorted(set(value) - set(SNAPSHOT_KEYS)):
        yield ("baseSnapshot", key), f"unknown key baseSnapshot.{key} (expected {', '.join(SNAPSHOT_KEYS)})"
    if not isinstance(value.get("location"), str) or not value.get("location"):
        yield ("baseSnapshot", "location"), "baseSnapshot.location must be the base location's name"
    assets = value.get("assets")
    if not isinstance(assets, dict):
        yield ("baseSnapshot", "assets"), "baseSnapshot.assets must be a mapping of asset keys to fingerprints"
        return
    if len(assets) > constants.SNAPSHOT_MAX_ASSETS:
        yield (
            ("baseSnapshot", "assets"),
            f"baseSnapshot holds {len(assets)} assets, more than {constants.SNAPSHOT_MAX_ASSETS}",
        )
    for key, print_ in assets.items():
        if not isinstance(key, str) or not isinstance(print_, str) or not _FINGERPRINT.fullmatch(print_):
            yield (
                ("baseSnapshot", "assets", key),
                (
                    f"baseSnapshot.assets[{key!r}] is not a fingerprint; take the "
                    "snapshot again with update-location --base-snapshot"
                ),
            )
            return


# -- output -------------------------------------------------------------------------------------
def rows(diff: Diff) -> List[List[str]]:
    """ASSET, CHANGE, KINDS."""
    return [[change.key, change.change, ",".join(change.kinds)] for change in diff.changes]


HEADERS = ["ASSET", "CHANGE", "KINDS"]


def as_data(diff: Diff) -> Dict[str, Any]:
    """For ``-o json``: the comparison, its counts and every changed asset."""
    return {
        "location": diff.location,
        "base": diff.base,
        "against": diff.against or None,
        "summary": summary(diff),
        "counts": counts(diff.changes),
        "notCompared": list(diff.unseen),
        "assets": [
            {
                "key": c.key,
                "path": list(c.path),
                "change": c.change,
                "kinds": list(c.kinds),
                **({"details": c.details} if c.details else {}),
            }
            for c in diff.changes
        ],
    }


def _code(text: str) -> str:
    """A markdown code span that survives a table cell."""
    text = text.replace("\n", " ").replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class _Block(NamedTuple):
    """One location's part of the markdown: a head, table rows shown as budget allows, a tail."""

    head: str
    rows: List[str]
    note: Any  # hidden count -> the line saying what is not shown
    tail: str

    def size(self, shown: int, prefix: List[int]) -> int:
        table = (_size(TABLE_HEAD) + prefix[shown]) if shown else 0
        hidden = len(self.rows) - shown
        return _size(self.head) + table + (_size(self.note(hidden)) if hidden else 0) + _size(self.tail)

    def text(self, shown: int) -> str:
        hidden = len(self.rows) - shown
        table = TABLE_HEAD + "".join(self.rows[:shown]) if shown else ""
        return self.head + table + (self.note(hidden) if hidden else "") + self.tail


TABLE_HEAD = "| Asset | Change |\n| --- | --- |\n"


def _size(text: str) -> int:
    """UTF-8 bytes: never fewer than the characters GitHub counts."""
    return len(text.encode("utf-8"))


def _block(diff: Diff) -> _Block:
    name = f"<b>{html.escape(diff.location)}</b>"
    against = f" against {html.escape(diff.base)} ({diff.against})" if diff.base and diff.against else ""
    line = f"{name}{against}: {html.escape(summary(diff))}"
    line += f"; not compared by this webserver: {html.escape(', '.join(diff.unseen))}" if diff.unseen else ""
    if not diff.changes:
        return _Block(line + "\n", [], lambda hidden: "", "")
    rows_ = [f"| {_code(c.key)} | {c.change}{': ' + ', '.join(c.kinds) if c.kinds else ''} |\n" for c in diff.changes]
    location = diff.location.replace("`", "")

    def note(hidden: int) -> str:
        return f"\n_… and {hidden} more not shown: run `kubectl dagster diff {location}` for the full list._\n"

    return _Block(f"<details><summary>{line}</summary>\n\n", rows_, note, "\n</details>\n")


def markdown(diffs: Sequence[Diff], limit: int = constants.GITHUB_COMMENT_LIMIT) -> str:
    """Each location's summary line, and its changed assets in a collapsible ``<details>`` table.

    The whole text stays within ``limit`` (GitHub's comment limit, less what the caller adds around
    it): rows that do not fit are left out with a note saying how many, and so are whole locations
    when even their summary lines do not fit.
    """
    blocks = [_block(d) for d in diffs]
    minimum = [b.size(0, [0]) for b in blocks]

    def fixed(kept: int) -> int:  # the summary lines of the first ``kept``, the blank lines between, the note
        return sum(minimum[:kept]) + max(kept - 1, 0) + _size(more(len(blocks) - kept))

    def more(left: int) -> str:
        return f"\n_… and {left} more locations not shown._\n" if left else ""

    kept = len(blocks)
    while kept and fixed(kept) > limit:
        kept -= 1
    budget = limit - fixed(kept)
    parts = []
    for block in blocks[:kept]:
        prefix = [0]
        for row in block.rows:
            prefix.append(prefix[-1] + _size(row))
        floor = block.size(0, prefix)
        shown = 0
        while shown < len(block.rows) and block.size(shown + 1, prefix) - floor <= budget:
            shown += 1
        budget -= block.size(shown, prefix) - floor
        parts.append(block.text(shown))
    return "\n".join(parts) + more(len(blocks) - kept)
