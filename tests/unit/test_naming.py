import pytest

from kubectl_dagster.base import k8s, naming

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
    assert k8s.is_dns1035_label(expected)


def test_long_branches_are_cut_with_distinct_stable_hashes():
    a = naming.location_slug("feature/" + "x" * 80 + "-one")
    b = naming.location_slug("feature/" + "x" * 80 + "-two")
    assert a != b
    assert len(a) == len(b) == 63
    assert k8s.is_dns1035_label(a) and k8s.is_dns1035_label(b)
    assert a == naming.location_slug("feature/" + "x" * 80 + "-one")  # stable


def test_cut_never_leaves_a_trailing_dash_before_the_hash():
    slug = naming.location_slug("a" * 53 + "-" + "b" * 20)
    assert "--" not in slug and k8s.is_dns1035_label(slug)


def test_nothing_usable_is_empty():
    assert naming.location_slug("///") == ""


@pytest.mark.parametrize(
    "release,chart,expected",
    [
        ("dagster", "dagster", "dagster"),
        ("prod", "dagster", "prod-dagster"),
        ("dagster", "dagster-user-deployments", "dagster-dagster-user-deployments"),
        ("user-code", "dagster-user-deployments", "user-code-dagster-user-deployments"),
    ],
)
def test_chart_fullname(release, chart, expected):
    assert naming.chart_fullname(release, chart) == expected
