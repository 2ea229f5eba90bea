"""Property-based: the real fixture streams and location files, damaged the ways inputs get damaged
(truncation, byte damage, type swaps, deep nesting, YAML retyping), never make `render` or a registry
write break its contract. For every generated input:

- the exit code is 0, 1 or 2 (never 70: an internal error is a bug);
- exit 0: the output parses, and every document in it is an object with apiVersion, kind and metadata.name;
- otherwise: stdout is empty and stderr is exactly one `error:` line;
- a failed registry write leaves the registry byte-identical.

Fixed seed (derandomize) and bounded examples, so a run is repeatable and quick. Most examples call the
CLI in this process (kubectl_dagster.cli.main, stdout, stderr and exit code kept apart); a few go
through the installed entry point.
"""

import pathlib
import tempfile

from conftest import CHART_FIXTURES, EXAMPLES, ROOT, cli, cli_in_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_dagster.base import yamlio
from kubectl_dagster.core.chart import manifests

STREAMS = [
    CHART_FIXTURES / version / f"{scenario}.yaml" for version in ("1.9.11", "1.11.10") for scenario in "abcde"
] + [CHART_FIXTURES / "1.11.10" / "helm4-postrender" / "b.stdin.yaml"]
LOCATION_FILES = [EXAMPLES / "dagster-locations.yaml"] + sorted((ROOT / "tests" / "golden").glob("*/locations.yaml"))
STREAM_TEXTS = [path.read_text() for path in STREAMS]
LOCATION_TEXTS = [path.read_text() for path in LOCATION_FILES]
RETYPED = ["1e3", "0o17", "yes", "on", "~", "1:20", "0x1F", ".inf", "1.10", "true", "''", "null", "[]", "{}"]
SWAPS = [None, 0, -1, 1.5, True, "", "x" * 300, [], {}, [1, [2]], {"a": {"b": None}}, "a: b", "- x"]
SETTINGS = dict(derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _paths(data, prefix=(), depth=0):
    """Every key path into parsed YAML (bounded), to pick one to change."""
    yield prefix
    if depth > 12:
        return
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        yield from _paths(value, prefix + (key,), depth + 1)


def _replace(data, path, value):
    if not path:
        return value
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return data


@st.composite
def damaged(draw, texts, documents: bool) -> bytes:
    """One damage to one of ``texts``; ``documents``: they are manifest streams (change one document)."""
    text = texts[draw(st.integers(0, len(texts) - 1))]
    kind = draw(st.sampled_from(["truncate", "bytes", "swap", "nest", "retype"]))
    if kind == "truncate":
        return text.encode()[: draw(st.integers(0, len(text.encode())))]
    if kind == "bytes":
        data = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 4))):
            position = draw(st.integers(0, len(data)))
            junk = draw(
                st.sampled_from(
                    [
                        b"\0",
                        b"\xff",
                        b":",
                        b"\n",
                        b" ",
                        b"\t",
                        b"-",
                        b"[",
                        b"{",
                        b"'",
                        b'"',
                        b"&a ",
                        b"*a",
                        b"---\n",
                        b"#",
                        b"|",
                        b"!!binary ",
                    ]
                )
            )
            if draw(st.booleans()) and position < len(data):
                data[position : position + 1] = junk
            else:
                data[position:position] = junk
        return bytes(data)
    if kind in ("swap", "retype"):
        return _change_value(draw, text, documents, kind)
    position = draw(st.integers(0, len(text)))  # nest: deep flow collections spliced in at a line start
    line_start = text.rfind("\n", 0, position) + 1
    depth = draw(st.sampled_from([50, 99, 101, 1000, 20000]))
    return (text[:line_start] + "deep: " + "[" * depth + "]" * depth + "\n" + text[line_start:]).encode()


def _change_value(draw, text, documents, kind):
    if documents:
        stream = manifests.split(text)
        index = draw(st.integers(0, len(stream.documents) - 1))
        doc = stream.documents[index]
        data = yamlio.load(doc.text)
    else:
        data = yamlio.load_all(text)
    paths = list(_paths(data))
    path = paths[draw(st.integers(0, len(paths) - 1))]
    new = draw(st.sampled_from(SWAPS)) if kind == "swap" else yamlio.load("x: " + draw(st.sampled_from(RETYPED)))["x"]
    data = _replace(data, path, new)
    if documents:
        doc.replace_text(_dump(data))
        return stream.text().encode()
    return "".join("---\n" + _dump(d) for d in (data if isinstance(data, list) else [data])).encode()


def _dump(data) -> str:
    return yamlio.dump(data) if isinstance(data, (dict, list)) and data else yamlio.scalar(data) + "\n"


def check_contract(result) -> None:
    assert result.code in (0, 1, 2), result.stderr
    if result.code == 0:
        for doc in yamlio.load_all(result.stdout):
            if doc is None:
                continue
            assert isinstance(doc, dict), doc
            assert isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str), doc
            assert isinstance((doc.get("metadata") or {}).get("name"), str), doc
    else:
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr


@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_damaged_streams(data):
    stdin = data.draw(damaged(STREAM_TEXTS, documents=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "locations.yaml"
        path.write_text(LOCATION_TEXTS[0])
        check_contract(cli_in_process("render", "--locations", str(path), stdin=stdin))


@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_damaged_location_files(data):
    stream = STREAM_TEXTS[data.draw(st.integers(0, 4))]
    damaged_file = data.draw(damaged(LOCATION_TEXTS, documents=False))
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "locations.yaml"
        path.write_bytes(damaged_file)
        check_contract(cli_in_process("render", "--locations", str(path), "-n", "dagster", stdin=stream.encode()))


REGISTRY = (
    "apiVersion: kubectl-dagster/v1alpha1\nkind: CodeLocations\nlocations:\n"
    "  - name: kept  # a comment the write must keep\n"
    "    image: {repository: r, tag: '1'}\n    pythonFile: a.py\n"
)


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_a_failed_registry_write_changes_nothing(data):
    damaged_file = data.draw(damaged(LOCATION_TEXTS, documents=False))
    with tempfile.TemporaryDirectory() as tmp:
        registry, location_file = pathlib.Path(tmp) / "registry.yaml", pathlib.Path(tmp) / "one.yaml"
        registry.write_text(REGISTRY)
        location_file.write_bytes(damaged_file)
        result = cli_in_process(
            "add-location", "new-one", "--location-file", str(location_file), "--locations", str(registry)
        )
        assert result.code in (0, 1, 2), result.stderr
        if result.code != 0:
            assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
            assert registry.read_text() == REGISTRY
        else:
            assert "# a comment the write must keep" in registry.read_text()


@settings(max_examples=6, **SETTINGS)
@given(data=st.data())
def test_damaged_streams_through_the_entry_point(data):
    stdin = data.draw(damaged(STREAM_TEXTS[6:7], documents=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "locations.yaml"
        path.write_text(LOCATION_TEXTS[0])
        result = cli("render", "--locations", str(path), stdin=stdin.decode("utf-8", "replace"))
        check_contract(result)
