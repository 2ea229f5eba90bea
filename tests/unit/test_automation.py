"""``kubectl dagster automation``'s pure parts (core/branches/automation.py): which schedules and sensors a
command means, the counts status and the pull-request comment show, the expiry Job of ``on --for`` (built from
the real chart's webserver Deployment) and reading it back, which Jobs a later on/off changes; and the usage
errors the command gives before it reaches anything."""

import json

import pytest
from conftest import CHART_FIXTURES, cli_in_process

from kubectl_dagster.base import constants, errors
from kubectl_dagster.core.branches import automation, feedback
from kubectl_dagster.core.chart import manifests


def item(kind, name, status="STOPPED", repository="__repository__"):
    return {
        "location": "feat-x",
        "repository": repository,
        "kind": kind,
        "name": name,
        "status": status,
        "default": "STOPPED",
        "type": "* * * * *" if kind == "schedule" else "STANDARD",
    }


ITEMS = [item("schedule", "daily", "RUNNING"), item("sensor", "files"), item("sensor", "daily")]


@pytest.mark.parametrize(
    "names,every,expected",
    [
        (["files"], False, [("sensor", "files")]),
        (["schedule/daily"], False, [("schedule", "daily")]),
        (["sensor/daily", "files", "sensor/files"], False, [("sensor", "daily"), ("sensor", "files")]),
        ([], True, [("schedule", "daily"), ("sensor", "files"), ("sensor", "daily")]),
    ],
    ids=["bare name", "qualified", "no duplicates", "all"],
)
def test_select(names, every, expected):
    assert [(i["kind"], i["name"]) for i in automation.select(ITEMS, names, every, "feat-x")] == expected


@pytest.mark.parametrize(
    "names,every,error,message",
    [
        (["daily"], False, errors.InputError, "names more than one"),
        (["nope"], False, errors.InputError, "has no schedule or sensor 'nope'"),
        (["job/daily"], False, errors.UsageError, "is not schedule or sensor"),
        ([], False, errors.UsageError, "or pass --all"),
        (["files"], True, errors.UsageError, "or pass --all"),
    ],
    ids=["ambiguous", "unknown", "bad kind", "none", "both"],
)
def test_select_refuses(names, every, error, message):
    with pytest.raises(error, match=message):
        automation.select(ITEMS, names, every, "feat-x")


def test_counts_and_what_status_shows():
    found = automation.counts(ITEMS)
    assert found == {"schedules": 1, "sensors": 2, "running": 1}
    assert automation.fraction(found) == "1/3" and automation.fraction(None) == "-"
    assert automation.sentence(found) == "1 of 3 running (1 schedule, 2 sensors)"
    assert automation.sentence({"schedules": 0, "sensors": 0, "running": 0}) == "none"
    rows = [{"name": "feat-x", "dagster": "LOADED", "automation": found}, {"name": "etl", "dagster": "LOADED"}]
    text = feedback.markdown(rows, None, "now", "Locations")
    assert "| Location | Status | Automation | Link | Updated |" in text
    assert "| `feat-x` | ✅ LOADED | 1 of 3 running (1 schedule, 2 sensors) | — | now |" in text
    assert "| `etl` | ✅ LOADED | — | — | now |" in text
    assert "Automation" not in feedback.markdown(rows[1:], None, "now", "Locations")


def webserver():
    docs = manifests.split((CHART_FIXTURES / "1.11.10" / "b.yaml").read_text()).documents
    return next(d.data for d in docs if d.kind == "Deployment" and d.labels().get("component") == "dagster-webserver")


def test_the_expiry_job_runs_in_the_webservers_image_and_reads_back():
    wanted = [automation.identity(i) for i in ITEMS[1:]]
    expiry = automation.Expiry("", 1_800_000_000.0, wanted)
    job = automation.job(
        "feat-x", expiry, "http://dagster-dagster-webserver:80", webserver(), "SCRIPT", 1_799_992_800.0
    )
    pod = job["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    server = webserver()["spec"]["template"]["spec"]["containers"][0]
    assert main["image"] == server["image"] and main["command"] == ["python", "-c", "SCRIPT"]
    env = {e["name"]: e["value"] for e in main["env"]}
    assert env[constants.HOOK_ENV_URL] == "http://dagster-dagster-webserver:80"
    assert env[constants.EXPIRY_ENV_UNTIL] == "1800000000"
    assert json.loads(env[constants.EXPIRY_ENV_STOP]) == wanted
    assert pod["restartPolicy"] == "OnFailure" and pod["automountServiceAccountToken"] is False
    assert job["spec"]["activeDeadlineSeconds"] == 7200 + automation.GIVE_UP + 300
    assert job["metadata"]["labels"][constants.EXPIRY_LABEL] == "feat-x"
    assert job["metadata"]["annotations"][constants.EXPIRY_UNTIL_ANNOTATION] == "2027-01-15T08:00:00Z"
    assert len(job["metadata"]["name"]) <= 63 and job["metadata"]["name"].startswith("feat-x-automation-off-")
    parsed = automation.parse_expiry(job)
    assert parsed == automation.Expiry(job["metadata"]["name"], 1_800_000_000.0, wanted)
    assert automation.stops_at([parsed], ITEMS[1]) == "2027-01-15T08:00:00Z"
    assert automation.stops_at([parsed], ITEMS[0]) is None
    assert automation.parse_expiry({"metadata": {"name": "other", "annotations": {}}}) is None


def test_a_later_on_or_off_takes_names_out_of_the_jobs():
    both = automation.Expiry("a", 10.0, [automation.identity(i) for i in ITEMS[1:]])
    one = automation.Expiry("b", 20.0, [automation.identity(ITEMS[1])])
    other = automation.Expiry("c", 30.0, [automation.identity(ITEMS[0])])
    changes = automation.release([both, one, other], [ITEMS[1]])
    assert changes == [(both, automation.Expiry("", 10.0, [automation.identity(ITEMS[2])])), (one, None)]


@pytest.mark.parametrize(
    "args,message",
    [
        (["feat-x", "on"], "name the schedules and sensors, or pass --all"),
        (["feat-x", "--all"], "names, --all and --for go with an action"),
        (["feat-x", "off", "--all", "--for", "1h"], "--for goes with on"),
        (["feat-x", "tick", "a", "b"], "tick evaluates one schedule or sensor"),
        (["feat-x", "on", "--all", "--for", "soon"], "--for 'soon' is not a duration"),
    ],
    ids=["on without names", "--all without action", "--for with off", "tick two", "bad duration"],
)
def test_usage_errors_before_anything_is_reached(args, message):
    result = cli_in_process("automation", *args, "--webserver-url", "http://127.0.0.1:9")
    assert result.stdout == "" and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.code in (1, 2)
