"""Schedules and sensors over Dagster's GraphQL API: list them with their state, start and stop them,
evaluate one once and launch what it requests. Run as a script (``python -c <this file>``, in the
webserver's own image), it is the Job that ``kubectl dagster automation on --for`` creates: it
sleeps until an absolute deadline, then stops exactly the schedules and sensors it was given, if
they still run.

Standard library only, and no imports from this package: the same file is the Job's script.

Every field used exists, with the same meaning, from Dagster 1.6 to 1.13 (read from the GraphQL
schemas of 1.6.14 and 1.13.28): ``workspaceOrError`` and, per repository, ``schedules`` and
``sensors`` with ``defaultStatus``, ``sensorType``, ``jobOriginId`` and the ``InstigationState``
(``id`` is the origin id, ``selectorId``, ``status``, ``SensorData.lastCursor``);
``startSchedule``/``startSensor`` (a selector), ``stopRunningSchedule(scheduleOriginId,
scheduleSelectorId)``, ``stopSensor(jobOriginId, jobSelectorId)`` (1.13 also takes ``id``, 1.6
does not), ``sensorDryRun``, ``scheduleDryRun``, ``Schedule.potentialTickTimestamps``,
``setSensorCursor``, ``launchRun`` and ``runsOrError(filter: {tags})``. ``launchMultipleRuns``
(absent in 1.6) is not used.

Job environment: ``DAGSTER_WEBSERVER_URL``; ``KUBECTL_DAGSTER_AUTOMATION_UNTIL`` (Unix seconds);
``KUBECTL_DAGSTER_AUTOMATION_STOP``: JSON ``[{"location", "repository", "kind", "name"}]``;
``KUBECTL_DAGSTER_AUTOMATION_GIVE_UP`` (seconds after the deadline to keep trying, default 600).
"""

import datetime
import json
import os
import sys
import time
import urllib.error
import urllib.request

SCHEDULE, SENSOR = "schedule", "sensor"
RUNNING, STOPPED = "RUNNING", "STOPPED"
DAEMON_SENSORS = ("AUTO_MATERIALIZE", "AUTOMATION")  # evaluated by the asset daemon: no dry run
SENSOR_NAME_TAG, SCHEDULE_NAME_TAG = "dagster/sensor_name", "dagster/schedule_name"
RUN_KEY_TAG, SCHEDULED_TIME_TAG = "dagster/run_key", "dagster/scheduled_execution_time"
STATE = "id selectorId status"
LISTING = (
    "query KubectlDagsterInstigators { workspaceOrError { __typename ... on Workspace { locationEntries { name "
    "locationOrLoadError { __typename ... on RepositoryLocation { repositories { name "
    "schedules { name cronSchedule pipelineName defaultStatus scheduleState { " + STATE + " } } "
    "sensors { name jobOriginId sensorType defaultStatus targets { pipelineName } sensorState { "
    + STATE
    + " typeSpecificData { __typename ... on SensorData { lastCursor } } } } } } } } } "
    "... on PythonError { message } } }"
)
FAILURES = "... on PythonError { message } ... on UnauthorizedError { message }"
START_SCHEDULE = (
    "mutation KubectlDagsterStartSchedule($selector: ScheduleSelector!) { startSchedule(scheduleSelector: "
    "$selector) { __typename ... on ScheduleStateResult { scheduleState { status } } " + FAILURES + " } }"
)
STOP_SCHEDULE = (
    "mutation KubectlDagsterStopSchedule($origin: String!, $selector: String!) { stopRunningSchedule("
    "scheduleOriginId: $origin, scheduleSelectorId: $selector) { __typename "
    "... on ScheduleStateResult { scheduleState { status } } " + FAILURES + " } }"
)
START_SENSOR = (
    "mutation KubectlDagsterStartSensor($selector: SensorSelector!) { startSensor(sensorSelector: $selector) "
    "{ __typename ... on Sensor { sensorState { status } } ... on SensorNotFoundError { message } " + FAILURES + " } }"
)
STOP_SENSOR = (
    "mutation KubectlDagsterStopSensor($origin: String!, $selector: String!) { stopSensor(jobOriginId: $origin, "
    "jobSelectorId: $selector) { __typename ... on StopSensorMutationResult { instigationState { status } } "
    + FAILURES
    + " } }"
)
REQUESTS = (
    "{ __typename ... on DryRunInstigationTick { evaluationResult { skipReason cursor "
    "error { message } runRequests { runKey runConfigYaml jobName tags { key value } assetSelection { path } } } } "
    "... on PythonError { message } "  # no UnauthorizedError: 1.6's dry-run results do not have it
)
DRY_RUN_SENSOR = (
    "mutation KubectlDagsterTickSensor($selector: SensorSelector!, $cursor: String) { "
    "sensorDryRun(selectorData: $selector, cursor: $cursor) " + REQUESTS + "... on SensorNotFoundError { message } } }"
)
DRY_RUN_SCHEDULE = (
    "mutation KubectlDagsterTickSchedule($selector: ScheduleSelector!, $timestamp: Float) { "
    "scheduleDryRun(selectorData: $selector, timestamp: $timestamp) "
    + REQUESTS
    + "... on ScheduleNotFoundError { message } } }"
)
LAST_TICK = (
    "query KubectlDagsterLastTick($selector: ScheduleSelector!, $now: Float) { scheduleOrError(scheduleSelector: "
    "$selector) { __typename ... on Schedule { potentialTickTimestamps(startTimestamp: $now, lowerLimit: 1, "
    "upperLimit: 1) } ... on ScheduleNotFoundError { message } ... on PythonError { message } } }"
)
SET_CURSOR = (
    "mutation KubectlDagsterSetCursor($selector: SensorSelector!, $cursor: String) { setSensorCursor("
    "sensorSelector: $selector, cursor: $cursor) { __typename " + FAILURES + " } }"
)
LAUNCH = (
    "mutation KubectlDagsterLaunch($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename "
    "... on LaunchRunSuccess { run { runId } } ... on RunConfigValidationInvalid { errors { message } } "
    "... on PipelineNotFoundError { message } ... on InvalidSubsetError { message } " + FAILURES + " } }"
)
RUNS_WITH_KEY = (
    "query KubectlDagsterRunKey($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}, limit: 20) { "
    "__typename ... on Runs { results { runId repositoryOrigin { repositoryLocationName } } } "
    "... on PythonError { message } } }"
)


class AutomationError(Exception):
    """The webserver refused, or answered something this cannot use."""


def _field(answer, field):
    if answer.get("errors"):
        raise AutomationError("GraphQL error: " + "; ".join(str(e.get("message")) for e in answer["errors"]))
    result = (answer.get("data") or {}).get(field)
    if not isinstance(result, dict):
        raise AutomationError(f"the webserver answered no {field}")
    if result.get("__typename") in (
        "PythonError",
        "UnauthorizedError",
        "SensorNotFoundError",
        "ScheduleNotFoundError",
        "PipelineNotFoundError",
        "InvalidSubsetError",
    ):
        raise AutomationError(f"{field}: {first_line(result.get('message')) or result['__typename']}")
    return result


def first_line(text):
    return next((line.strip() for line in str(text or "").splitlines() if line.strip()), "")


def listing(post):
    """{location: [instigator]} for every LOADED location; an instigator is a dict with location,
    repository, kind, name, status, default, type (cron or sensor type), origin, selector, cursor."""
    workspace = _field(post(LISTING), "workspaceOrError")
    if workspace.get("__typename") != "Workspace":
        raise AutomationError("workspaceOrError: " + first_line(workspace.get("message")))
    found = {}
    for entry in workspace.get("locationEntries") or []:
        location = entry.get("locationOrLoadError") or {}
        if location.get("__typename") == "RepositoryLocation":
            found[entry["name"]] = _location(entry["name"], location)
    return found


def _location(name, location):
    out = []
    for repository in location.get("repositories") or []:
        for schedule in repository.get("schedules") or []:
            out.append(_one(name, repository["name"], SCHEDULE, schedule, schedule.get("scheduleState") or {}))
        for sensor in repository.get("sensors") or []:
            out.append(_one(name, repository["name"], SENSOR, sensor, sensor.get("sensorState") or {}))
    return sorted(out, key=lambda item: (item["kind"], item["name"], item["repository"]))


def _one(location, repository, kind, data, state):
    specific = state.get("typeSpecificData") or {}
    return {
        "location": location,
        "repository": repository,
        "kind": kind,
        "name": data["name"],
        "status": state.get("status") or STOPPED,
        "default": data.get("defaultStatus") or STOPPED,
        "type": data.get("cronSchedule") if kind == SCHEDULE else data.get("sensorType"),
        "origin": data.get("jobOriginId") or state.get("id"),
        "selector": state.get("selectorId"),
        "cursor": specific.get("lastCursor"),
        "job": data.get("pipelineName") if kind == SCHEDULE else _only_target(data.get("targets")),
    }


def _only_target(targets):
    """The job a sensor targets, when it targets exactly one (what a run request without a job name means)."""
    names = {target.get("pipelineName") for target in targets or []}
    return names.pop() if len(names) == 1 else None


def selector(item):
    key = "scheduleName" if item["kind"] == SCHEDULE else "sensorName"
    return {"repositoryLocationName": item["location"], "repositoryName": item["repository"], key: item["name"]}


def start(post, item):
    """Start one schedule or sensor; its status afterwards."""
    if item["kind"] == SCHEDULE:
        result = _field(post(START_SCHEDULE, {"selector": selector(item)}), "startSchedule")
        return (result.get("scheduleState") or {}).get("status")
    result = _field(post(START_SENSOR, {"selector": selector(item)}), "startSensor")
    return (result.get("sensorState") or {}).get("status")


def stop(post, item):
    """Stop one schedule or sensor; its status afterwards."""
    ids = {"origin": item["origin"], "selector": item["selector"]}
    if item["kind"] == SCHEDULE:
        result = _field(post(STOP_SCHEDULE, ids), "stopRunningSchedule")
        return (result.get("scheduleState") or {}).get("status")
    result = _field(post(STOP_SENSOR, ids), "stopSensor")
    return (result.get("instigationState") or {}).get("status") or STOPPED


def evaluate(post, item, timestamp):
    """(run requests, new cursor, skip reason) of one evaluation (a schedule's: of its tick at ``timestamp``)."""
    if item["kind"] == SENSOR:
        variables = {"selector": selector(item), "cursor": item.get("cursor")}
        tick = _field(post(DRY_RUN_SENSOR, variables), "sensorDryRun")
    else:
        variables = {"selector": selector(item), "timestamp": timestamp}
        tick = _field(post(DRY_RUN_SCHEDULE, variables), "scheduleDryRun")
    result = tick.get("evaluationResult") or {}
    if result.get("error"):
        raise AutomationError(f"{item['kind']} {item['name']} failed: {first_line(result['error'].get('message'))}")
    return result.get("runRequests") or [], result.get("cursor"), result.get("skipReason")


def last_tick(post, item, now):
    """The schedule's latest tick time at or before ``now`` (what the scheduler would evaluate)."""
    found = _field(post(LAST_TICK, {"selector": selector(item), "now": now}), "scheduleOrError")
    times = [t for t in found.get("potentialTickTimestamps") or [] if t <= now]
    return max(times) if times else now


def tags_for(item, request, timestamp):
    """The tags a real tick gives the run: the request's, the instigator's name, the run key."""
    tags = {tag["key"]: tag["value"] for tag in request.get("tags") or []}
    if item["kind"] == SENSOR:
        tags[SENSOR_NAME_TAG] = item["name"]
    else:
        tags[SCHEDULE_NAME_TAG] = item["name"]
        moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
        tags.setdefault(SCHEDULED_TIME_TAG, moment.isoformat())
    if request.get("runKey"):
        tags[RUN_KEY_TAG] = request["runKey"]
    return tags


def has_run(post, item, run_key):
    """Whether this instigator already launched a run with this key (the daemon skips such requests)."""
    name_tag = SENSOR_NAME_TAG if item["kind"] == SENSOR else SCHEDULE_NAME_TAG
    tags = [{"key": name_tag, "value": item["name"]}, {"key": RUN_KEY_TAG, "value": run_key}]
    runs = _field(post(RUNS_WITH_KEY, {"tags": tags}), "runsOrError")
    return any(
        (run.get("repositoryOrigin") or {}).get("repositoryLocationName") == item["location"]
        for run in runs.get("results") or []
    )


def launch(post, item, request, tags):
    """Launch one run request; its run id."""
    job_name = request.get("jobName") or item.get("job")
    if not job_name:
        raise AutomationError(f"{item['kind']} {item['name']} requested a run without saying of which job")
    job = {"repositoryLocationName": item["location"], "repositoryName": item["repository"], "jobName": job_name}
    if request.get("assetSelection"):
        job["assetSelection"] = [{"path": key["path"]} for key in request["assetSelection"]]
    params = {
        "selector": job,
        "runConfigData": request.get("runConfigYaml") or "{}",
        "executionMetadata": {"tags": [{"key": k, "value": str(v)} for k, v in sorted(tags.items())]},
    }
    result = _field(post(LAUNCH, {"params": params}), "launchRun")
    if result.get("__typename") != "LaunchRunSuccess":
        problems = [e.get("message") for e in result.get("errors") or []] or [result.get("__typename")]
        raise AutomationError(f"launching {job_name} failed: {first_line('; '.join(problems))}")
    return result["run"]["runId"]


def tick(post, item, now, log):
    """Evaluate one schedule or sensor once and launch what it requests, as one tick would; run ids."""
    if item["kind"] == SENSOR and item["type"] in DAEMON_SENSORS:
        raise AutomationError(f"sensor {item['name']} is evaluated by the asset daemon and cannot be ticked by hand")
    timestamp = last_tick(post, item, now) if item["kind"] == SCHEDULE else now
    requests, cursor, skipped = evaluate(post, item, timestamp)
    launched = []
    for request in requests:
        if request.get("runKey") and has_run(post, item, request["runKey"]):
            log(f"run key {request['runKey']} skipped: {item['kind']} {item['name']} already launched a run with it")
            continue
        launched.append(launch(post, item, request, tags_for(item, request, timestamp)))
    if item["kind"] == SENSOR and cursor is not None and cursor != item.get("cursor"):
        _field(post(SET_CURSOR, {"selector": selector(item), "cursor": cursor}), "setSensorCursor")
    if not requests and skipped:
        log(f"{item['kind']} {item['name']} skipped: {first_line(skipped)}")
    return launched


# -- the Job of `automation on --for` -------------------------------------------------------------------------
def http_transport(url, timeout=15.0):
    endpoint = url.rstrip("/") + "/graphql"

    def post(document, variables=None):
        body = json.dumps({"query": document, **({"variables": variables} if variables else {})}).encode("utf-8")
        request = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:  # Dagster answers a mutation's PythonError with HTTP 500
            try:
                return json.loads(exc.read().decode("utf-8"))
            except (ValueError, OSError):
                raise AutomationError(f"{endpoint} answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise AutomationError(f"cannot reach {endpoint}: {getattr(exc, 'reason', exc)}") from exc

    return post


def stop_due(post, wanted, log):
    """Stop what ``wanted`` names and still runs; True when every location was there to ask."""
    found = listing(post)
    complete = True
    for entry in wanted:
        items = [i for i in found.get(entry["location"], []) if _same(i, entry)]
        if entry["location"] not in found:
            log(f"location {entry['location']} is not loaded; trying again")
            complete = False
        elif not items:
            log(f"{entry['kind']} {entry['name']} is gone from location {entry['location']}; nothing to stop")
        elif items[0]["status"] == RUNNING:
            stop(post, items[0])
            log(f"{entry['kind']}/{entry['name']} of location {entry['location']} stopped")
        else:
            log(f"{entry['kind']}/{entry['name']} of location {entry['location']} was already stopped")
    return complete


def _same(item, entry):
    return all(item[key] == entry[key] for key in ("repository", "kind", "name"))


def main(environ=None, log=None, clock=time.time, sleep=time.sleep):
    environ = os.environ if environ is None else environ
    log = log or (lambda line: print(line, flush=True))
    until = float(environ["KUBECTL_DAGSTER_AUTOMATION_UNTIL"])
    wanted = json.loads(environ["KUBECTL_DAGSTER_AUTOMATION_STOP"])
    give_up = until + float(environ.get("KUBECTL_DAGSTER_AUTOMATION_GIVE_UP", "600"))
    post = http_transport(environ["DAGSTER_WEBSERVER_URL"])
    moment = datetime.datetime.fromtimestamp(until, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    log(f"stopping {len(wanted)} schedule(s) and sensor(s) at {moment}")
    while clock() < until:
        sleep(min(until - clock(), 60.0))
    while True:
        try:
            if stop_due(post, wanted, log):
                return 0
        except AutomationError as exc:
            log(f"warning: {exc}")
        if clock() >= give_up:
            log(f"error: could not stop everything within {give_up - until:g}s of {moment}")
            return 1
        sleep(10.0)


if __name__ == "__main__":
    sys.exit(main())
