import pytest

from kubectl_dagster import naming

SLUGS = [
    ("feat: my amazing feature", "feat-my-amazing-feature"),
    ("feature/Add_Location", "feature-add-location"),
    ("dependabot/pip/dagster-1.11.10", "dependabot-pip-dagster-1-11-10"),
    ("123-hotfix", "b-123-hotfix"),
    ("Ünïcödé/branch", "unicode-branch"),
    ("--weird--", "weird"),
    ("main", "main"),
]


@pytest.mark.parametrize("branch,expected", SLUGS, ids=[s[0] for s in SLUGS])
def test_location_slug(branch, expected):
    assert naming.location_slug(branch) == expected
    assert naming.is_dns1035(expected)


def test_long_branches_are_cut_with_distinct_stable_hashes():
    a = naming.location_slug("feature/" + "x" * 80 + "-one")
    b = naming.location_slug("feature/" + "x" * 80 + "-two")
    assert a != b
    assert len(a) == len(b) == 63
    assert naming.is_dns1035(a) and naming.is_dns1035(b)
    assert a == naming.location_slug("feature/" + "x" * 80 + "-one")  # stable


def test_cut_never_leaves_a_trailing_dash_before_the_hash():
    slug = naming.location_slug("a" * 53 + "-" + "b" * 20)
    assert "--" not in slug and naming.is_dns1035(slug)


def test_nothing_usable_is_empty():
    assert naming.location_slug("///") == ""


@pytest.mark.parametrize("name,ok", [("ok-name", True), ("Bad", False), ("1abc", False), ("a" * 63, True),
                                     ("a" * 64, False), ("ends-", False), ("has.dot", False), ("newline\n", False)],
                         ids=["plain", "upper", "digit-first", "63", "64", "trailing-dash", "dot", "newline"])
def test_dns1035(name, ok):
    assert naming.is_dns1035(name) is ok


@pytest.mark.parametrize("key,ok", [("team", True), ("acme.io/team", True), ("Acme.io/team", False),
                                    ("a/b/c", False), ("-x", False)],
                         ids=["plain", "prefixed", "upper-prefix", "two-slashes", "leading-dash"])
def test_label_key(key, ok):
    assert naming.is_label_key(key) is ok


@pytest.mark.parametrize("release,chart,expected", [("dagster", "dagster", "dagster"),
                                                    ("prod", "dagster", "prod-dagster"),
                                                    ("dagster", "dagster-user-deployments", "dagster-dagster-user-deployments"),
                                                    ("user-code", "dagster-user-deployments", "user-code-dagster-user-deployments")])
def test_chart_fullname(release, chart, expected):
    assert naming.chart_fullname(release, chart) == expected
