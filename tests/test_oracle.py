"""The chart is the oracle: ../shared/fixtures/dagster-chart/oracle-1.10.4/ holds 40 cases rendered by the
real Dagster chart 1.10.4, each once with the chart's own locations (NN.yaml, our input) and once with
generated locations declared in values (NN-truth.yaml). `render --locations NN-locations.yaml` on the
first must give, for every generated location, the env ConfigMap, Service and Deployment of the truth,
path by path, the truth's workspace entries, and no other new object.

Differences the corpus README allows, and nothing else: our own label and annotations on what we
create, empty versus absent fields, the order of env entries, key order inside JSON values, the order
of the added workspace entries, and `image_pull_policy` in the container context of a location without
`image.pullPolicy` (the chart writes Go's "<no value>" placeholder there, we write null).

Twelve cases give an env item a value YAML retypes (`value: 0o17`, `value: 1e3`): the chart renders the
number (15, 1000) into the container's env, which the API server refuses (an env value is a string), so
`render` refuses that file with one line (issue 17, section 3). Those cases run twice: the file as given
must be refused, and the file with those values quoted as written must match the truth on every path
but the retyped values themselves (and the checksum of the item, which covers them).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple

import pytest
from conftest import CHART_FIXTURES, cli
from ruamel.yaml import YAML

from kubectl_dagster.base import constants, yamlio

ORACLE = CHART_FIXTURES / "oracle-1.10.4"
CASES = sorted(
    path.name.split("-")[0] for path in ORACLE.glob("*-truth.yaml") if re.fullmatch(r"\d+-truth\.yaml", path.name)
)
CONTEXT_ENV = (constants.GRPC_CONTEXT_ENV, constants.CODE_SERVER_CONTEXT_ENV)
ALLOWED = (
    re.compile(r"^metadata\.labels\.kubectl-dagster\.io/location$"),
    re.compile(r"^metadata\.annotations\.(postrenderer\.helm\.sh/postrender-filename|kubectl-dagster\.io/.*)$"),
)
NO_VALUE = "<no value>"  # Go's text/template for a missing key


def _load(text: str) -> List[Dict[str, Any]]:
    return [doc for doc in YAML(typ="safe").load_all(text) if isinstance(doc, dict)]


def _key(doc: Dict[str, Any]) -> Tuple[str, str]:
    return doc.get("kind"), (doc.get("metadata") or {}).get("name")


def _location_objects(truth: List[Dict[str, Any]], name: str) -> List[Dict[str, Any]]:
    """What the chart rendered for location ``name``: its Service, Deployment and env ConfigMap."""
    found = []
    for doc in truth:
        kind, object_name = _key(doc)
        selector = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if (
            (kind == "Service" and object_name == name)
            or (kind == "Deployment" and selector.get("deployment") == name)
            or (kind == "ConfigMap" and str(object_name).endswith(f"-{name}-user-env"))
        ):
            found.append(doc)
    return found


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == [] or value == ""


def _flatten(value: Any, path: str, out: Dict[str, Any]) -> Dict[str, Any]:
    """path -> leaf, empty values dropped; env lists keyed by name, JSON env values parsed."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and path.endswith(".env") and all(isinstance(e, dict) and "name" in e for e in value):
        for entry in value:
            entry = dict(entry)
            if entry["name"] in CONTEXT_ENV:
                entry["value"] = json.loads(entry["value"])
            _flatten(entry, f"{path}[{entry['name']}]", out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", out)
    elif not _empty(value):
        out[path] = value
    return out


def _allowed(path: str, truth: Any, got: Any) -> bool:
    if any(pattern.match(path) for pattern in ALLOWED):
        return True
    return path.endswith(".k8s.image_pull_policy") and truth == NO_VALUE and got is None


def _differences(truth: Dict[str, Any], got: Dict[str, Any]) -> List[str]:
    want, have = _flatten(truth, "", {}), _flatten(got, "", {})
    lines = []
    for path in sorted(set(want) | set(have)):
        a, b = want.get(path, "<absent>"), have.get(path, "<absent>")
        if a != b and not _allowed(path, want.get(path), have.get(path)):
            lines.append(f"{path}: chart={a!r} ours={b!r}")
    return lines


def _entries(docs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    for doc in docs:
        data = doc.get("data") or {}
        if doc.get("kind") == "ConfigMap" and constants.WORKSPACE_KEY in data:
            return YAML(typ="safe").load(data[constants.WORKSPACE_KEY])["load_from"]
    raise AssertionError("no workspace ConfigMap")


RETYPED_VALUE = re.compile(r"^(?P<head>\s*value: )(?P<value>[^'\"\s][^\n]*)$", re.M)


def _retyped(locations_text: str) -> Tuple[str, List[str]]:
    """The locations file with every env value YAML retypes quoted as written, and those env names."""
    names = []
    for item in yamlio.load(locations_text)["locations"]:
        for env in item.get("env") or [] if isinstance(item.get("env"), list) else []:
            if "value" in env and not isinstance(env["value"], str):
                names.append(env["name"])

    def quote(match):
        value = match.group("value")
        retyped = not isinstance(yamlio.load(f"x: {value}")["x"], str)
        return f'{match.group("head")}"{value}"' if retyped else match.group(0)

    return RETYPED_VALUE.sub(quote, locations_text), sorted(set(names))


def _allowed_for_retyped(path: str, names: List[str]) -> bool:
    return path.endswith(".checksum/dagster-user-deployment") or any(f"env[{name}].value" in path for name in names)


def test_the_corpus_is_all_there():
    assert len(CASES) == 40, f"expected the 40 oracle cases in {ORACLE}, found {len(CASES)}"


@pytest.mark.parametrize("case", CASES)
def test_generated_locations_are_what_the_chart_renders(case, tmp_path):
    source = (ORACLE / f"{case}.yaml").read_text()
    locations = ORACLE / f"{case}-locations.yaml"
    quoted, retyped = _retyped(locations.read_text())
    result = cli("render", "--locations", str(locations), "--rollout=none", stdin=source)
    if retyped:
        assert result.code == 1 and result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
        assert "is not a string after YAML parsing (the API server refuses it); quote the value" in result.stderr
        locations = tmp_path / "quoted.yaml"
        locations.write_text(quoted)
        result = cli("render", "--locations", str(locations), "--rollout=none", stdin=source)
    assert result.code == 0, result.stderr
    before, truth, ours = _load(source), _load((ORACLE / f"{case}-truth.yaml").read_text()), _load(result.stdout)
    declared = YAML(typ="safe").load((ORACLE / f"{case}-locations.yaml").read_text())["locations"]
    names = [item["name"] for item in declared]
    by_key = {_key(doc): doc for doc in ours}
    expected = set()
    problems = []
    for name in names:
        chart_objects = _location_objects(truth, name)
        assert sorted(doc["kind"] for doc in chart_objects) == ["ConfigMap", "Deployment", "Service"], name
        for chart_object in chart_objects:
            key = _key(chart_object)
            expected.add(key)
            if key not in by_key:
                problems.append(f"{key[0]}/{key[1]}: missing")
                continue
            problems += [
                f"{key[0]}/{key[1]} {line}"
                for line in _differences(chart_object, by_key[key])
                if not _allowed_for_retyped(line.split(":")[0], retyped)
            ]
    new = set(by_key) - {_key(doc) for doc in before}
    assert new == expected, f"objects the chart does not render: {sorted(new - expected)}"
    assert not problems, "\n".join(problems)
    chart_entries, our_entries = _entries(truth), _entries(ours)
    kept = len(_entries(before))
    assert our_entries[:kept] == chart_entries[:kept]
    assert sorted(map(json.dumps, our_entries[kept:])) == sorted(map(json.dumps, chart_entries[kept:]))
