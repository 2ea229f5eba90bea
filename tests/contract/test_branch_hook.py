"""The branch hook (kubectl_dagster/shells/branchhook.py) as a branch location's code server loads it: written as
``sitecustomize.py`` into a folder put first on ``PYTHONPATH`` (what render mounts), in the Python of the real
Dagster under test (``dagster_install``: every release of the matrix, tests/dagsters.py). Every kind of
schedule and sensor reports STOPPED, a subclass that defines its own default status too; jobs and automation
sensors carry the run tags; the image's own ``sitecustomize`` still runs; a hook that cannot apply makes
``import dagster`` fail with its one line; without the environment Dagster's defaults stay."""

import json
import subprocess

import pytest
from conftest import ROOT
from test_deploy import clean_env

from kubectl_dagster.base import constants

pytestmark = pytest.mark.every_dagster

SCRIPT = ROOT / "kubectl_dagster" / "shells" / "branchhook.py"
PROBE = """
import json, os
import dagster as dg

RUNNING = dg.DefaultSensorStatus.RUNNING


@dg.op
def noop():
    return 1


@dg.job
def a_job():
    noop()


@dg.asset
def thing():
    return 1


@dg.schedule(job=a_job, cron_schedule="* * * * *", default_status=dg.DefaultScheduleStatus.RUNNING)
def a_schedule(context):
    return dg.RunRequest()


@dg.sensor(job=a_job, default_status=RUNNING)
def a_sensor(context):
    return dg.RunRequest()


@dg.asset_sensor(asset_key=dg.AssetKey("thing"), job=a_job, default_status=RUNNING)
def an_asset_sensor(context, event):
    return dg.RunRequest()


@dg.multi_asset_sensor(monitored_assets=[dg.AssetKey("thing")], job=a_job, default_status=RUNNING)
def a_multi_asset_sensor(context):
    return dg.RunRequest()


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, default_status=RUNNING)
def a_run_status_sensor(context):
    pass


@dg.run_failure_sensor(default_status=RUNNING)
def a_run_failure_sensor(context):
    pass


class OwnDefault(dg.SensorDefinition):
    @property
    def default_status(self):
        return RUNNING


own = OwnDefault("own_default", evaluation_fn=lambda context: None, job=a_job)
if hasattr(dg, "AutomationConditionSensorDefinition"):
    automation = dg.AutomationConditionSensorDefinition(
        "automation", target=dg.AssetSelection.all(), default_status=RUNNING, run_tags={"team": "bi"}
    )
else:
    from dagster._core.definitions.auto_materialize_sensor_definition import AutoMaterializeSensorDefinition

    automation = AutoMaterializeSensorDefinition(
        "automation", asset_selection=dg.AssetSelection.all(), default_status=RUNNING, run_tags={"team": "bi"}
    )
instigators = [a_schedule, a_sensor, an_asset_sensor, a_multi_asset_sensor, a_run_status_sensor,
               a_run_failure_sensor, own, automation]
asset_job = dg.define_asset_job("asset_job", selection=[thing], tags={"team": "bi"})
resolved = dg.Definitions(assets=[thing], jobs=[asset_job]).get_job_def("asset_job")
print(json.dumps({
    "status": {i.name: i.default_status.value for i in instigators},
    "job_tags": dict(a_job.tags),
    "run_tags": dict(getattr(a_job, "run_tags", a_job.tags)),
    "asset_job_tags": dict(resolved.tags),
    "automation_run_tags": dict(automation.run_tags),
    "chained": os.environ.get("CHAINED"),
}))
"""
NAMES = {
    "a_schedule",
    "a_sensor",
    "an_asset_sensor",
    "a_multi_asset_sensor",
    "a_run_status_sensor",
    "a_run_failure_sensor",
    "own_default",
    "automation",
}
BRANCH = {constants.BRANCH_TAG: "feat/x"}


def probe(install, tmp_path, **env):
    mount, image = tmp_path / "mount", tmp_path / "image"
    for folder in (mount, image):
        folder.mkdir(exist_ok=True)
    (mount / constants.BRANCH_HOOK_FILE).write_text(SCRIPT.read_text())
    (image / "sitecustomize.py").write_text("import os\nos.environ['CHAINED'] = 'yes'\n")  # the image's own
    full = dict(clean_env(), PYTHONPATH=f"{mount}:{image}", **env)
    return subprocess.run([install.python, "-c", PROBE], env=full, capture_output=True, timeout=300)


def test_every_kind_starts_stopped_and_runs_are_tagged(dagster_install, tmp_path):
    tags = json.dumps(BRANCH)
    proc = probe(
        dagster_install, tmp_path, **{constants.AUTOMATION_DEFAULT_ENV: "stopped", constants.RUN_TAGS_ENV: tags}
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    found = json.loads(proc.stdout)
    assert found["status"] == {name: "STOPPED" for name in NAMES}
    assert found["job_tags"] == BRANCH and found["run_tags"] == BRANCH
    assert found["asset_job_tags"] == {"team": "bi", **BRANCH}
    assert found["automation_run_tags"] == {"team": "bi", **BRANCH}
    assert found["chained"] == "yes"


def test_without_the_environment_dagsters_defaults_stay(dagster_install, tmp_path):
    proc = probe(dagster_install, tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    found = json.loads(proc.stdout)
    assert found["status"] == {name: "RUNNING" for name in NAMES}
    assert found["job_tags"] == {} and found["chained"] == "yes"


@pytest.mark.parametrize("tags", ["not json", "[1]"], ids=["not JSON", "not an object"])
def test_a_hook_that_cannot_apply_stops_the_import(dagster_install, tmp_path, tags):
    proc = probe(
        dagster_install, tmp_path, **{constants.AUTOMATION_DEFAULT_ENV: "stopped", constants.RUN_TAGS_ENV: tags}
    )
    assert proc.returncode != 0 and proc.stdout == b""
    assert b"kubectl-dagster: cannot hold this branch location's automation still" in proc.stderr
