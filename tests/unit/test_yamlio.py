"""Our emitter must print data that every YAML reader loads back to the same data."""

import random
import string

import pytest

from kubectl_dagster.base import yamlio

TRICKY = [
    "",
    "yes",
    "No",
    "on",
    "OFF",
    "null",
    "~",
    "true",
    "1",
    "0.5",
    "1e3",
    "0x1F",
    "-h",
    "- x",
    "a: b",
    "# not a comment",
    "'quoted'",
    '"dq"',
    "trailing ",
    " leading",
    "a\nb\n",
    "a\nb",
    "tab\there",
    "{x}",
    "[y]",
    "*alias",
    "&anchor",
    "!tag",
    "%",
    "@at",
    "`tick",
    "2026-12-01",
    "12:30",
    "ünï",
    "line\n  indented\n",
    "ends\n\n",
    "\n",
    "=",
    "?",
    ">",
    "|",
    "https://x.example/a?b=c#d",
    "0.0.0.0",
    "3030",
    ".inf",
    "NaN",
    "y",
    "n",
    "N",
]


def _load(text):
    return yamlio.make_yaml("safe").load(text)


@pytest.mark.parametrize("value", TRICKY, ids=[repr(v) for v in TRICKY])
def test_tricky_strings_round_trip(value):
    data = {"key": value, "list": [value, {"nested": value}], value or "empty": 1}
    assert _load(yamlio.dump(data)) == data


def _random_value(rng, depth=0):
    choice = rng.randrange(8 if depth < 3 else 5)
    if choice == 0:
        return rng.randrange(-1000, 100000)
    if choice == 1:
        return rng.choice([True, False, None, 1.5])
    if choice in (2, 3, 4):
        return "".join(rng.choice(string.printable[:-2] + "\n") for _ in range(rng.randrange(0, 12)))
    if choice in (5, 6):
        return {f"k{i}{rng.choice(TRICKY)}": _random_value(rng, depth + 1) for i in range(rng.randrange(0, 4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]


def test_random_documents_round_trip():
    rng = random.Random(1234)
    for _ in range(500):
        data = {"root": _random_value(rng)}
        assert _load(yamlio.dump(data)) == data, yamlio.dump(data)


def test_multiline_strings_print_as_literal_blocks():
    text = yamlio.dump({"data": {"workspace.yaml": "load_from:\n  - x: 1\n"}})
    assert text == "data:\n  workspace.yaml: |\n    load_from:\n      - x: 1\n"
