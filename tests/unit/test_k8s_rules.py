"""core/k8s.py against the API server's rules: the examples apimachinery's own validation documents
(names, label keys and values, quantities), and the answers a real kube-apiserver gave
(../shared/k8s-api/exchanges.json: every value it refused with 422 is refused here, every name and
label it stored is accepted). No API server can run here; this is the contract at that boundary."""

import json

import pytest
from conftest import SHARED

from kubectl_dagster.base import k8s

LABEL_OK = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "1a", "1-a", "a" * 63]
LABEL_BAD = ["", "A", "aBc", "A-1", "-", "a-", "-a", "a_b", "a.b", " ", "a b", "a" * 64, "a\n"]


@pytest.mark.parametrize("value", LABEL_OK, ids=[f"ok-{v[:8]}-{len(v)}" for v in LABEL_OK])
def test_dns1123_label_accepts(value):
    assert k8s.is_dns1123_label(value) and k8s.is_dns1123_subdomain(value)


@pytest.mark.parametrize("value", LABEL_BAD, ids=[f"bad-{v[:8]!r}-{len(v)}" for v in LABEL_BAD])
def test_dns1123_label_refuses(value):
    assert not k8s.is_dns1123_label(value)


SUBDOMAIN = [
    ("a.b.c", True),
    ("a-1.b-2", True),
    ("0.0", True),
    ("example.com", True),
    ("a..b", False),
    ("a.-b", False),
    ("-a.b", False),
    ("a.b-", False),
    ("A.b", False),
    ("a_b.c", False),
    (".a", False),
    ("a.", False),
    ("a" * 253, True),
    ("a" * 254, False),
    ("Bad_Name", False),
]


@pytest.mark.parametrize("value,ok", SUBDOMAIN, ids=[f"{v[:10]}-{len(v)}" for v, _ in SUBDOMAIN])
def test_dns1123_subdomain(value, ok):
    assert k8s.is_dns1123_subdomain(value) is ok


DNS1035 = [
    ("a", True),
    ("a-1", True),
    ("a" * 63, True),
    ("0", False),
    ("1a", False),
    ("A", False),
    ("a-", False),
    ("a.b", False),
    ("a" * 64, False),
    ("has_underscore", False),
]


@pytest.mark.parametrize("value,ok", DNS1035, ids=[f"{v[:10]}-{len(v)}" for v, _ in DNS1035])
def test_dns1035_label(value, ok):
    assert k8s.is_dns1035_label(value) is ok


QUALIFIED = [
    ("simple", True),
    ("now-with-dashes", True),
    ("1-starts-with-num", True),
    ("1234", True),
    ("simple/simple", True),
    ("now.with.dots/simple", True),
    ("1.2.3.4/5678", True),
    ("Uppercase_Is_OK_123", True),
    ("example.com/Uppercase_Is_OK_123", True),
    ("a" * 253 + "/" + "b" * 63, True),
    ("nospecialchars%^=@", False),
    ("cantendwithadash-", False),
    ("-cantstartwithadash", False),
    ("only/one/slash", False),
    ("Example.com/abc", False),
    ("example_com/abc", False),
    ("example.com/", False),
    ("/simple", False),
    ("a" * 64, False),
    ("a" * 254 + "/b", False),
    ("", False),
]


@pytest.mark.parametrize("key,ok", QUALIFIED, ids=[f"{k[:16]}-{len(k)}" for k, _ in QUALIFIED])
def test_label_keys(key, ok):
    assert k8s.is_label_key(key) is ok


def test_annotation_keys_are_checked_lowercased():
    assert k8s.is_annotation_key("Example.com/Foo") and not k8s.is_label_key("Example.com/Foo")
    assert not k8s.is_annotation_key("example.com/a b")


def test_annotations_total_size():
    assert k8s.annotations_size({"a": "x" * 10}) == 11
    assert k8s.annotations_size({"k": "x" * k8s.ANNOTATIONS_TOTAL_MAX}) > k8s.ANNOTATIONS_TOTAL_MAX


LABEL_VALUES = [
    ("", True),
    ("simple", True),
    ("now-with-dashes", True),
    ("1-starts-with-num", True),
    ("end-with-num-1", True),
    ("1234", True),
    ("MixedCase_and.dots", True),
    ("a" * 63, True),
    ("not valid!", False),
    ("nospecialchars%^=@", False),
    ("Tama-nui-te-rā", False),
    ("\u0001", False),
    (".leading-dot", False),
    ("trailing-dot.", False),
    ("-leading-dash", False),
    ("trailing-dash-", False),
    ("a" * 64, False),
    (1, False),
    (True, False),
]


@pytest.mark.parametrize("value,ok", LABEL_VALUES, ids=[f"{str(v)[:16]!r}-{len(str(v))}" for v, _ in LABEL_VALUES])
def test_label_values(value, ok):
    assert k8s.is_label_value(value) is ok


ENV_NAMES = [
    ("A", True),
    ("ABC", True),
    ("AbC_123", True),
    ("_123", True),
    ("a.b", True),
    ("a-b", True),
    ("-a", True),
    (".a", True),
    ("1", False),
    ("1A", False),
    ("A B", False),
    ("A=B", False),
    ("A$", False),
    ("", False),
    (".", False),
    ("..", False),
    ("..a", False),
    (3, False),
]


@pytest.mark.parametrize("name,ok", ENV_NAMES, ids=[repr(n) for n, _ in ENV_NAMES])
def test_env_names(name, ok):
    assert k8s.is_env_name(name) is ok


QUANTITIES = [
    ("0", 0),
    ("1", 1),
    ("1.5", 1.5),
    ("100m", 0.1),
    ("1Ki", 1024),
    ("1Mi", 2**20),
    ("1.5Gi", 1.5 * 2**30),
    ("1e3", 1000),
    ("1E3", 1000),
    ("1E", 10**18),
    ("5e-3", 0.005),
    (".5", 0.5),
    ("1.", 1),
    ("+1", 1),
    ("-1", -1),
    ("12n", 12e-9),
    ("12u", 12e-6),
    ("2k", 2000),
    ("3M", 3e6),
    (2, 2),
    (0.5, 0.5),
]


@pytest.mark.parametrize("text,value", QUANTITIES, ids=[repr(t) for t, _ in QUANTITIES])
def test_quantities(text, value):
    assert float(k8s.parse_quantity(text)) == pytest.approx(value)


NOT_QUANTITIES = [
    "",
    "1 Gi",
    " 1",
    "Gi",
    "1GB",
    "1gi",
    "1.5.5",
    "1e",
    "1Mi3",
    "1KiB",
    "abc",
    "1,5",
    ".",
    "+",
    "1e3.5",
    "1e100000",
    True,
    None,
    [1],
    float("inf"),
]


@pytest.mark.parametrize("text", NOT_QUANTITIES, ids=[repr(t) for t in NOT_QUANTITIES])
def test_not_quantities(text):
    assert k8s.parse_quantity(text) is None


@pytest.mark.parametrize(
    "name,ok",
    [
        ("cpu", True),
        ("memory", True),
        ("ephemeral-storage", True),
        ("hugepages-2Mi", True),
        ("nvidia.com/gpu", True),
        ("gpu", False),
        ("CPU", False),
        ("example.com/", False),
        ("a b", False),
    ],
)
def test_resource_names(name, ok):
    assert (k8s.resource_name_problem(name) is None) is ok


@pytest.mark.parametrize(
    "image,ok",
    [
        ("ghcr.io/acme/x:1", True),
        ("x@sha256:" + "a" * 64, True),
        ("a b", False),
        (" x", False),
        ("x\t", False),
        ("", False),
        (None, False),
    ],
)
def test_images(image, ok):
    assert (k8s.image_problem(image) is None) is ok


def _exchanges():
    return json.loads((SHARED / "k8s-api" / "exchanges.json").read_text())


def test_what_the_recorded_api_server_refused_is_refused():
    refused = [e for e in _exchanges() if e["response"]["status"] == 422 and isinstance(e["request"]["body"], dict)]
    assert refused, "exchanges.json has 422 answers to creates"
    for exchange in refused:
        metadata = exchange["request"]["body"]["metadata"]
        causes = exchange["response"]["body"]["details"]["causes"]
        for cause in causes:
            if cause["field"] == "metadata.name":
                assert not k8s.is_dns1123_subdomain(metadata["name"])
            elif cause["field"] == "metadata.labels":
                assert not all(k8s.is_label_key(k) and k8s.is_label_value(v) for k, v in metadata["labels"].items())
            else:
                pytest.fail(f"no rule for {cause['field']}")


def test_what_the_recorded_api_server_stored_is_accepted():
    stored = [
        e for e in _exchanges() if e["response"]["status"] == 201 and e["response"]["body"]["kind"] == "ConfigMap"
    ]
    assert stored
    for exchange in stored:
        metadata = exchange["response"]["body"]["metadata"]
        assert k8s.is_dns1123_subdomain(metadata["name"])
        assert all(k8s.is_label_key(k) and k8s.is_label_value(v) for k, v in (metadata.get("labels") or {}).items())
