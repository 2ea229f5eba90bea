"""The watcher's pure parts: what changed, and when to refresh (kubectl_dagster/shells/watcher.py)."""

import pytest

from kubectl_dagster.base import errors
from kubectl_dagster.shells import watcher


def test_changes_name_locations():
    old = {"dagster-location-a": "1", "dagster-location-b": "1", "other": "x"}
    new = {"dagster-location-a": "2", "dagster-location-c": "1", "other": "x"}
    assert watcher.changes(old, new) == ["~a", "-b", "+c"]
    assert watcher.changes(new, new) == []


def test_debounce_waits_for_quiet_but_not_forever():
    debounce = watcher.Debounce(quiet=2, longest=10)
    assert not debounce.due(0)
    debounce.changed(0, ["+a"])
    assert not debounce.due(1.9)
    assert debounce.due(2)
    for moment in range(1, 10):  # a change every second: never quiet
        debounce.changed(moment, [f"+{moment}"])
        assert not debounce.due(moment + 0.5)
    assert debounce.due(10)  # but refreshed 10 s after the first
    assert len(debounce.take()) == 10 and not debounce.due(100)


def test_a_failed_refresh_is_retried_later_with_its_changes():
    debounce = watcher.Debounce(quiet=0, longest=0)
    debounce.changed(0, ["+a"])
    taken = debounce.take()
    debounce.retry(1, taken, delay=3)
    assert not debounce.due(3.9) and debounce.due(4)
    assert debounce.take() == ["+a"]


def test_application_names():
    assert watcher.parse_app("dagster", "argocd") == ("argocd", "dagster")
    assert watcher.parse_app("team/dagster", "argocd") == ("team", "dagster")
    with pytest.raises(errors.UsageError):
        watcher.parse_app("a/b/c", "argocd")
