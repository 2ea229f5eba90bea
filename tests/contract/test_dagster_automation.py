"""Previews never act on production by themselves, against real Dagster: one sqlite instance, a real
``dagster-webserver`` and ``dagster-daemon`` (scheduler, sensor and asset daemons; a QueuedRunCoordinator with the
README's ``tag_concurrency_limits`` on ``kubectl-dagster.io/branch``, here at 0, so branch runs are held), and real
code servers started from what ``render`` made of the real chart (1.11.10/b): each rendered container's args and
env, the branch hook's ConfigMap written where its volume mounts it. Every location serves the same code: a
``* * * * *`` schedule, a 30-second sensor and an automation-condition sensor (auto-materialize sensor on 1.6-1.8),
each RUNNING by default.

- ``etl`` (permanent) launches runs; ``feat-quiet`` (a branch) ticks nothing and launches nothing for 3 minutes,
  in the same daemon and the same window;
- ``feat-timed``: ``automation tick`` launches exactly one run; ``automation on --all --for`` (through the API
  server stand-in, tests/fakekube.py, whose service proxy reaches the real webserver) creates the Job and starts
  them; the Job's own container command, run as its pod would run it, stops them at the deadline;
- ``feat-kept`` (``dagster code-server start``): ``automation on`` a sensor, then a redeploy (a new code server
  process on the same port): the sensor still runs by its stored state, its default still STOPPED;
- every run of a branch location carries ``kubectl-dagster.io/branch``; ``status`` shows the counts.

No Kubernetes here: fakekube serves the Jobs, the webserver Service and its rendered Deployment, and the Job's
command runs as a local process. Dagster is the release of ``dagster_install`` (tests/dagsters.py: the latest; the
other releases were run by hand, see docs/automation.md). Every wait is bounded by the process's own contract or
polls for an event; the 3-minute window is the observation the issue asks for."""

from __future__ import annotations

import json
import time

import dagsters
import pytest
from conftest import cli
from dagsters import BOUND, free_port, wait_port
from fakekube import FakeKube
from test_deploy import clean_env, render_documents

from kubectl_dagster.base import constants
from kubectl_dagster.core.chart import workspace
from kubectl_dagster.shells import instigators, reloadhook

WINDOW = 180  # seconds the quiet branch location is watched, from the daemon's first tick
FOR = 100  # seconds of `automation on --for`
DEFS = """\
import os
import dagster as dg

PREFIX = os.environ.get("KUBECTL_DAGSTER_LOCATION", "etl").replace("-", "_")
condition = getattr(dg, "AutomationCondition", None)


@dg.op
def noop():
    return 1


@dg.job
def tick_job():
    noop()


@dg.schedule(job=tick_job, cron_schedule="* * * * *", default_status=dg.DefaultScheduleStatus.RUNNING)
def every_minute(context):
    return dg.RunRequest()


@dg.sensor(job=tick_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def every_30s(context):
    return dg.RunRequest()


if condition is not None:  # Dagster 1.9+: declarative automation (requested while missing, once at a time)
    @dg.asset(key_prefix=[PREFIX], automation_condition=condition.missing() & ~condition.in_progress())
    def fresh():
        return 1

    automation = dg.AutomationConditionSensorDefinition(
        "automation", target=dg.AssetSelection.all(), default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )
else:  # Dagster 1.6 to 1.8: auto-materialize policies, evaluated by an auto-materialize sensor
    from dagster._core.definitions.auto_materialize_sensor_definition import AutoMaterializeSensorDefinition

    @dg.asset(key_prefix=[PREFIX], auto_materialize_policy=dg.AutoMaterializePolicy.eager())
    def fresh():
        return 1

    automation = AutoMaterializeSensorDefinition(
        "automation", asset_selection=dg.AssetSelection.all(), default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )

defs = dg.Definitions(assets=[fresh], jobs=[tick_job], schedules=[every_minute], sensors=[every_30s, automation])
"""
LOCATIONS = """\
apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
defaults:
  image: {repository: ghcr.io/acme/etl, tag: "1"}
locations:
  - name: etl
    pythonFile: auto_defs.py
  - branch: feat/quiet
    pythonFile: auto_defs.py
  - branch: feat/timed
    pythonFile: auto_defs.py
  - branch: feat/kept
    codeServerArgs: ["-f", "auto_defs.py"]
"""
INSTANCE = """\
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    tag_concurrency_limits:
      - key: kubectl-dagster.io/branch
        limit: 0
auto_materialize:
  use_sensors: true
telemetry:
  enabled: false
"""
BRANCHES = {"feat-quiet": "feat/quiet", "feat-timed": "feat/timed", "feat-kept": "feat/kept"}
NAMES = (("schedule", "every_minute"), ("sensor", "every_30s"), ("sensor", "automation"))
RUNS = (
    "query { runsOrError(limit: 500) { ... on Runs { results { runId status tags { key value } "
    "repositoryOrigin { repositoryLocationName } } } } }"
)
TICKS = (
    "query($s: SensorSelector!, $c: ScheduleSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { "
    "sensorState { ticks(limit: 100) { timestamp status runIds } } } } scheduleOrError(scheduleSelector: $c) { "
    "... on Schedule { scheduleState { ticks(limit: 100) { timestamp status runIds } } } } }"
)


class World:
    """Everything the scenario observed, for the tests below to check."""


class Processes:
    """The scenario's processes (tests/dagsters.py starts and stops each), each with a log file in ``logs``."""

    def __init__(self, logs):
        self.logs, self.started = logs, []

    def start(self, name, argv, env, cwd):
        proc = dagsters.start(argv, self.logs / f"{name}.log", cwd=cwd, env=env)
        self.started.append(proc)
        return proc

    def stop_one(self, proc):
        dagsters.stop(proc)
        self.started.remove(proc)

    def stop(self):
        while self.started:
            self.stop_one(self.started[-1])

    def tail(self, proc):
        return dagsters.log_tail(proc)


def _deployment(docs, name):
    return next(d.data for d in docs if d.kind == "Deployment" and d.labels().get(constants.LOCATION_LABEL) == name)


def _container_env(docs, container):
    """What the kubelet gives the code server: its own env ConfigMap's data, then the container's env values."""
    env = {}
    for ref in container.get("envFrom") or []:
        name = (ref.get("configMapRef") or {}).get("name", "")
        config = next((d.data for d in docs if d.kind == "ConfigMap" and d.name == name), {})
        if name.endswith("-user-env"):
            env.update(config.get("data") or {})
    env.update({item["name"]: item["value"] for item in container["env"] if "value" in item})
    return env


def _mount_hook(docs, name, tmp, env):
    """The branch hook's ConfigMap written where its volume would mount it; PYTHONPATH pointed there."""
    hook = next((d.data for d in docs if d.kind == "ConfigMap" and d.name.endswith(f"-{name}-branch-hook")), None)
    if hook is None:
        return env
    mount = tmp / "mounts" / name
    mount.mkdir(parents=True)
    (mount / constants.BRANCH_HOOK_FILE).write_text(hook["data"][constants.BRANCH_HOOK_FILE])
    return dict(env, PYTHONPATH=env["PYTHONPATH"].replace(constants.BRANCH_HOOK_DIR, str(mount)))


def _code_server(w, name, port=None):
    container = _deployment(w.docs, name)["spec"]["template"]["spec"]["containers"][0]
    args = list(container["args"])
    port = port or free_port()
    args[args.index("-h") + 1], args[args.index("-p") + 1] = "127.0.0.1", str(port)
    env = _mount_hook(w.docs, name, w.tmp, _container_env(w.docs, container)) if name not in w.env else w.env[name]
    w.env[name] = env
    argv = [w.install.exe(args[0])] + args[1:]
    proc = w.procs.start(name, argv, dict(clean_env(), PYTHONUNBUFFERED="1", **env), w.tmp)
    w.servers[name] = (port, proc)
    return port


def _ticks(w, location, kind_name):
    kind, name = kind_name
    repo = {"repositoryLocationName": location, "repositoryName": "__repository__"}
    variables = {"s": dict(repo, sensorName=name), "c": dict(repo, scheduleName=name)}
    data = w.post(TICKS, variables)["data"]
    found = data["scheduleOrError" if kind == "schedule" else "sensorOrError"]
    return ((found.get("scheduleState") or found.get("sensorState")) or {}).get("ticks") or []


def _runs(w, location=None):
    results = w.post(RUNS)["data"]["runsOrError"]["results"]
    return [r for r in results if location is None or r["repositoryOrigin"]["repositoryLocationName"] == location]


def _tags(run):
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def _until(condition, bound, what, interval=1.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {bound}s")


def _start(w):
    (w.tmp / "auto_defs.py").write_text(DEFS)
    registry = w.tmp / "dagster-locations.yaml"
    registry.write_text(LOCATIONS)
    w.docs = render_documents(registry)
    ports = {name: _code_server(w, name) for name in ("etl", *BRANCHES)}
    for port, proc in w.servers.values():
        wait_port(port, proc)
    config = next(d for d in w.docs if d.kind == "ConfigMap" and constants.WORKSPACE_KEY in (d.data.get("data") or {}))
    _, ours = workspace.split_entries(config.data["data"][constants.WORKSPACE_KEY])
    for item in ours:
        item["grpc_server"].update(host="127.0.0.1", port=ports[item["grpc_server"]["location_name"]])
    w.workspace = w.tmp / "workspace.yaml"
    w.workspace.write_text(json.dumps({"load_from": ours}))
    (w.tmp / "home").mkdir()
    (w.tmp / "home" / "dagster.yaml").write_text(INSTANCE)
    env = dict(clean_env(), DAGSTER_HOME=str(w.tmp / "home"), PYTHONUNBUFFERED="1")
    web_port = free_port()
    web = [w.install.exe("dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-w", str(w.workspace)]
    w.web = w.procs.start("webserver", web, env, w.tmp)
    wait_port(web_port, w.web)
    w.url = f"http://127.0.0.1:{web_port}"
    w.post = reloadhook.http_transport(w.url)
    loaded = lambda: all(s.get("status") == reloadhook.LOADED for s in _loaded(w).values())  # noqa: E731
    _until(loaded, BOUND, "every location LOADED")
    daemon = [w.install.exe("dagster-daemon"), "run", "-w", str(w.workspace)]
    w.daemon = w.procs.start("daemon", daemon, env, w.tmp)


def _loaded(w):
    try:
        found = reloadhook.status(w.post)
    except reloadhook.WebserverError:
        return {"webserver": {}}
    return {name: found.get(name, {}) for name in ("etl", *BRANCHES)}


def _fake_cluster(w):
    """The API server stand-in: the webserver's Service (proxied to the real one) and its rendered Deployment."""
    kube = FakeKube().start()
    w.kube = kube
    service = next(d for d in w.docs if d.kind == "Service" and d.labels().get("component") == "dagster-webserver")
    kube.add_service("dagster", service.name, 80, {"component": "dagster-webserver"}, target=w.url)
    webserver = next(
        d.data for d in w.docs if d.kind == "Deployment" and d.labels().get("component") == "dagster-webserver"
    )
    kube.put("deployments", "dagster", json.loads(json.dumps(webserver)))
    w.kubeconfig = kube.kubeconfig(w.tmp / "kubeconfig")


def _run_job(w):
    """The Job's container command, as its pod runs it; the Service name resolves to the real webserver."""
    (job,) = w.kube.jobs.values()
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    w.job, w.job_env = job, dict(env)
    env[constants.HOOK_ENV_URL] = w.url
    argv = [w.install.python] + container["command"][1:]
    return w.procs.start("automation-off-job", argv, dict(clean_env(), **env), w.tmp)


def _redeploy(w, name):
    """A new pod behind the same Service: the old code server goes, a new one serves the same port."""
    port, proc = w.servers[name]
    w.procs.stop_one(proc)
    dagsters.wait_port_free(port)
    _code_server(w, name, port)
    wait_port(port, w.servers[name][1])
    assert cli("reload", "--webserver-url", w.url, "--wait-for", name).code == 0


def _scenario(w):
    _start(w)
    _until(lambda: _ticks(w, "etl", ("sensor", "every_30s")), BOUND, "the daemon's first tick of etl")
    window_end = time.monotonic() + WINDOW
    w.before_tick = _runs(w, "feat-timed")
    w.tick = cli("automation", "feat-timed", "tick", "every_30s", "--webserver-url", w.url)
    w.after_tick = _runs(w, "feat-timed")
    _fake_cluster(w)
    w.on_for = cli("automation", "feat-timed", "on", "--all", "--for", f"{FOR}s", "--kubeconfig", w.kubeconfig)
    job = _run_job(w)
    w.timed_table = cli("automation", "feat-timed", "--kubeconfig", w.kubeconfig)
    w.kube.add_user("viewer-token", "viewer")
    w.kube.deny("list", "jobs", user="viewer")  # an observer without the automation Role: no deadlines, no error
    viewer = w.kube.kubeconfig(w.tmp / "viewer-kubeconfig", token="viewer-token")
    w.viewer_table = cli("automation", "feat-timed", "--kubeconfig", viewer)
    kube = ("--kubeconfig", w.kubeconfig)
    w.kept_for = cli("automation", "feat-kept", "on", "sensor/every_30s", "--for", "1h", *kube)
    w.kept_jobs = [j["metadata"]["name"] for j in w.kube.jobs.values() if "feat-kept" in j["metadata"]["name"]]
    w.kept_on = cli("automation", "feat-kept", "on", "sensor/every_30s", *kube)  # for good: its Job goes
    w.kept_jobs_after = [j["metadata"]["name"] for j in w.kube.jobs.values() if "feat-kept" in j["metadata"]["name"]]
    _until(lambda: _runs(w, "feat-kept"), BOUND, "a run of feat-kept's sensor")
    w.kept_before = {r["runId"] for r in _runs(w, "feat-kept")}
    _redeploy(w, "feat-kept")
    w.kept_listed = instigators.listing(w.post)["feat-kept"]
    new = lambda: {r["runId"] for r in _runs(w, "feat-kept")} - w.kept_before  # noqa: E731
    w.kept_after = _until(new, BOUND, "a run of feat-kept after the redeploy")
    w.job_exit = job.wait(timeout=float(w.job_env[constants.EXPIRY_ENV_UNTIL]) - time.time() + 600 + 60)
    w.job_log = w.procs.tail(job)
    w.stopped_at = time.time()
    w.timed_listed = instigators.listing(w.post)["feat-timed"]
    while time.monotonic() < window_end and not _runs(w, "feat-quiet"):
        time.sleep(5)  # watching: a run of feat-quiet ends it at once (and fails below)
    w.runs = _runs(w)
    w.ticks = {(loc, name): _ticks(w, loc, (kind, name)) for loc in ("etl", *BRANCHES) for kind, name in NAMES}
    w.listed = instigators.listing(w.post)
    w.status = cli("status", "--webserver-url", w.url)
    w.quiet_table = cli("automation", "feat-quiet", "--webserver-url", w.url)
    w.quiet_json = cli("automation", "feat-quiet", "--webserver-url", w.url, "-o", "json")
    before = {r["runId"] for r in _runs(w, "etl")}
    w.schedule_tick = cli("automation", "etl", "tick", "schedule/every_minute", "--webserver-url", w.url)
    w.schedule_runs = [r for r in _runs(w, "etl") if r["runId"] not in before]


@pytest.fixture(scope="module")
def world(tmp_path_factory, dagster_install):
    w = World()
    w.tmp, w.install = tmp_path_factory.mktemp("automation"), dagster_install
    (w.tmp / "logs").mkdir()
    w.procs, w.servers, w.env, w.kube = Processes(w.tmp / "logs"), {}, {}, None
    try:
        _scenario(w)
        yield w
    finally:
        w.procs.stop()
        if w.kube is not None:
            w.kube.stop()


def test_a_permanent_location_runs_and_a_branch_location_never_ticks(world):
    etl = [_tags(r) for r in world.runs if r["repositoryOrigin"]["repositoryLocationName"] == "etl"]
    assert any(t.get("dagster/sensor_name") == "every_30s" for t in etl), etl
    assert any(t.get("dagster/schedule_name") == "every_minute" for t in etl), etl
    assert [r for r in world.runs if r["repositoryOrigin"]["repositoryLocationName"] == "feat-quiet"] == []
    for _, name in NAMES:
        assert world.ticks[("feat-quiet", name)] == [], name
        assert world.ticks[("etl", name)], f"the daemon ticked etl's {name}"
    quiet = {(i["kind"], i["name"]): (i["status"], i["default"]) for i in world.listed["feat-quiet"]}
    assert quiet == {key: ("STOPPED", "STOPPED") for key in NAMES}
    etl_listed = {(i["kind"], i["name"]): (i["status"], i["default"]) for i in world.listed["etl"]}
    assert etl_listed == {key: ("RUNNING", "RUNNING") for key in NAMES}


def test_tick_launches_exactly_one_run(world):
    assert world.before_tick == []
    assert world.tick.code == 0, world.tick.stderr
    (line,) = world.tick.stdout.splitlines()
    (run,) = world.after_tick
    assert line == f"run/{run['runId']} launched by sensor/every_30s"
    tags = _tags(run)
    assert tags["dagster/sensor_name"] == "every_30s" and tags[constants.BRANCH_TAG] == "feat/timed"


def test_tick_evaluates_a_schedule_at_its_latest_tick(world):
    assert world.schedule_tick.code == 0, world.schedule_tick.stderr
    launched = [r for r in world.schedule_runs if "dagster/tick" not in _tags(r)]  # not the daemon's
    (run,) = launched
    assert world.schedule_tick.stdout == f"run/{run['runId']} launched by schedule/every_minute\n"
    tags = _tags(run)
    assert tags["dagster/schedule_name"] == "every_minute" and tags["dagster/scheduled_execution_time"]
    assert constants.BRANCH_TAG not in tags


def test_on_for_starts_them_and_the_job_stops_them_when_the_time_is_up(world):
    assert world.on_for.code == 0, world.on_for.stderr
    until = world.job["metadata"]["annotations"][constants.EXPIRY_UNTIL_ANNOTATION]
    assert sorted(world.on_for.stdout.splitlines()) == sorted(f"{k}/{n} started (until {until})" for k, n in NAMES)
    assert world.job_env[constants.HOOK_ENV_URL] == "http://dagster-dagster-webserver:80"
    assert world.timed_table.code == 0, world.timed_table.stderr
    assert world.viewer_table.code == 0, world.viewer_table.stderr
    assert {line.split()[-1] for line in world.viewer_table.stdout.splitlines()[1:]} == {"-"}
    assert {line.split()[0]: line.split()[-1] for line in world.timed_table.stdout.splitlines()[1:]} == {
        f"{k}/{n}": until for k, n in NAMES
    }
    assert {tuple(w[k] for k in ("kind", "name")) for w in json.loads(world.job_env[constants.EXPIRY_ENV_STOP])} == set(
        NAMES
    )
    assert world.job_exit == 0, world.job_log
    stopped = [line for line in world.job_log.splitlines() if line.endswith("of location feat-timed stopped")]
    assert sorted(stopped) == sorted(f"{k}/{n} of location feat-timed stopped" for k, n in NAMES), world.job_log
    daemon_runs = [r for r in world.runs if r["repositoryOrigin"]["repositoryLocationName"] == "feat-timed"]
    assert any("dagster/tick" in _tags(r) for r in daemon_runs), "the daemon launched runs while they were on"
    assert {(i["kind"], i["name"]): i["status"] for i in world.timed_listed} == {key: "STOPPED" for key in NAMES}
    for _, name in NAMES:
        assert all(t["timestamp"] < world.stopped_at for t in world.ticks[("feat-timed", name)]), name


def test_a_state_set_on_purpose_survives_a_redeploy(world):
    assert world.kept_for.code == 0, world.kept_for.stderr
    assert world.kept_for.stdout.startswith("sensor/every_30s started (until ") and len(world.kept_jobs) == 1
    assert world.kept_on.code == 0, world.kept_on.stderr
    assert world.kept_on.stdout == "sensor/every_30s unchanged (running)\n" and world.kept_jobs_after == []
    kept = {(i["kind"], i["name"]): (i["status"], i["default"]) for i in world.kept_listed}
    assert kept[("sensor", "every_30s")] == ("RUNNING", "STOPPED")
    assert kept[("schedule", "every_minute")] == ("STOPPED", "STOPPED")
    assert world.kept_after  # the daemon kept running it from the new code server


def test_branch_runs_carry_the_branch_tag_and_the_coordinator_holds_them(world):
    for run in world.runs:
        location = run["repositoryOrigin"]["repositoryLocationName"]
        assert _tags(run).get(constants.BRANCH_TAG) == BRANCHES.get(location), run
        if location in BRANCHES:
            assert run["status"] == "QUEUED", run
    assert any(r["status"] != "QUEUED" for r in world.runs if r["repositoryOrigin"]["repositoryLocationName"] == "etl")


def test_status_and_the_listing_show_the_automation(world):
    assert world.status.code == 0, world.status.stderr
    lines = world.status.stdout.splitlines()
    column = lines[0].split().index("AUTOMATION")
    cells = {line.split()[0]: line.split()[column] for line in lines[1:]}
    assert cells == {"etl": "3/3", "feat-quiet": "0/3", "feat-timed": "0/3", "feat-kept": "1/3"}
    assert world.quiet_table.code == 0
    rows = [line.split() for line in world.quiet_table.stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "DEFAULT", "TYPE", "UNTIL"]
    assert {row[0]: row[1:3] for row in rows[1:]} == {f"{k}/{n}": ["STOPPED", "STOPPED"] for k, n in NAMES}
    items = json.loads(world.quiet_json.stdout)["items"]
    assert {(i["kind"], i["name"]): (i["status"], i["until"]) for i in items} == {k: ("STOPPED", None) for k in NAMES}
