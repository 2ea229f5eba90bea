"""``kubectl dagster automation``: which schedules and sensors a command means, what ``status`` shows of
them, and the Job that stops what ``on --for`` started when the time is up. Pure: instigators (as
``shells/instigators.py`` lists them), Job objects and times in; selections, rows and Job objects out.

Why a Job: the stop must happen even when nobody runs kubectl at that moment (a laptop closed, a CI
job long finished). A Kubernetes Job in the release's namespace, running ``shells/instigators.py``
with ``python -c`` in the webserver's own image (nothing new to pull; it only talks to the webserver's
Service), sleeps until an absolute deadline and stops exactly the schedules and sensors it names, if
they still run. A restarted pod sleeps until the same deadline. One Job per location and deadline;
a later ``on`` or ``off`` of a name takes it out of the Jobs that would stop it (Jobs are immutable:
such a Job is replaced by one with the remaining names and the same deadline, or deleted).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ...base import constants as c
from ...base import errors, naming

KINDS = ("schedule", "sensor")
GIVE_UP = 600  # seconds after the deadline the Job keeps trying (the webserver restarting, the location loading)
KEEP_FINISHED = 86400  # a finished Job (and its log) stays a day
IDENTITY = ("location", "repository", "kind", "name")


class Expiry(NamedTuple):
    """One Job of ``on --for``: its name, when it stops, and what (identities of instigators)."""

    name: str
    until: float
    wanted: List[Dict[str, str]]


# -- which ones ---------------------------------------------------------------------------------------------------
def select(items: Sequence[Dict[str, Any]], names: Sequence[str], every: bool, location: str) -> List[Dict[str, Any]]:
    """The instigators ``NAME...`` or ``--all`` mean; ``NAME`` may be ``schedule/NAME`` or ``sensor/NAME``."""
    if every == bool(names):
        raise errors.UsageError(
            "name the schedules and sensors, or pass --all (not both)", "e.g. `on sensor/my_sensor`"
        )
    if every:
        return list(items)
    chosen: List[Dict[str, Any]] = []
    for name in names:
        kind, _, bare = name.rpartition("/") if "/" in name else ("", "", name)
        found = [i for i in items if i["name"] == bare and kind in ("", i["kind"])]
        if kind and kind not in KINDS:
            raise errors.UsageError(
                f"{name!r}: {kind} is not schedule or sensor", "use NAME, schedule/NAME or sensor/NAME"
            )
        if not found:
            raise errors.InputError(
                f"location {location} has no schedule or sensor {name!r}",
                f"list them: kubectl dagster automation {location}",
            )
        if len(found) > 1:
            shown = ", ".join(f"{i['kind']}/{i['name']} ({i['repository']})" for i in found)
            raise errors.InputError(
                f"{name!r} names more than one: {shown}", "qualify it: schedule/NAME or sensor/NAME"
            )
        chosen += [i for i in found if i not in chosen]
    return chosen


def identity(item: Dict[str, Any]) -> Dict[str, str]:
    return {key: str(item[key]) for key in IDENTITY}


def label(item: Dict[str, Any]) -> str:
    return f"{item['kind']}/{item['name']}"


# -- what status shows -------------------------------------------------------------------------------------------
def counts(items: Sequence[Dict[str, Any]]) -> Dict[str, int]:
    """How many schedules and sensors a location has, and how many run."""
    return {
        "schedules": sum(1 for i in items if i["kind"] == "schedule"),
        "sensors": sum(1 for i in items if i["kind"] == "sensor"),
        "running": sum(1 for i in items if i["status"] == "RUNNING"),
    }


def fraction(found: Optional[Dict[str, int]]) -> str:
    """``1/3`` (running of all schedules and sensors) for status's AUTOMATION column; ``-`` when unknown."""
    if not found:
        return "-"
    return f"{found['running']}/{found['schedules'] + found['sensors']}"


def sentence(found: Optional[Dict[str, int]]) -> str:
    """``1 of 3 running (1 schedule, 2 sensors)`` for a pull-request comment; ``none``; ``—`` when unknown."""
    if not found:
        return "—"
    total = found["schedules"] + found["sensors"]
    if not total:
        return "none"
    parts = [_plural(found["schedules"], "schedule"), _plural(found["sensors"], "sensor")]
    return f"{found['running']} of {total} running ({', '.join(parts)})"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def rows(items: Sequence[Dict[str, Any]], expiries: Optional[Sequence[Expiry]]) -> List[Dict[str, Any]]:
    """One row per instigator: its state, default, and when a Job stops it (None: not looked up)."""
    out = []
    for item in items:
        until = None if expiries is None else stops_at(expiries, item)
        out.append(
            {**{k: item[k] for k in ("kind", "name", "repository", "status", "default", "type")}, "until": until}
        )
    return out


def stops_at(expiries: Sequence[Expiry], item: Dict[str, Any]) -> Optional[str]:
    wanted = identity(item)
    times = [e.until for e in expiries if wanted in e.wanted]
    return rfc3339(min(times)) if times else None


def rfc3339(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the Jobs ----------------------------------------------------------------------------------------------------
def parse_expiry(job: Dict[str, Any]) -> Optional[Expiry]:
    """The Expiry a Job of ours holds (None for anything else, or one whose annotations do not parse)."""
    meta = job.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    try:
        until = datetime.datetime.strptime(annotations[c.EXPIRY_UNTIL_ANNOTATION], "%Y-%m-%dT%H:%M:%SZ")
        wanted = json.loads(annotations[c.EXPIRY_STOP_ANNOTATION])
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(wanted, list) or not all(isinstance(w, dict) for w in wanted):
        return None
    return Expiry(str(meta.get("name")), until.replace(tzinfo=datetime.timezone.utc).timestamp(), wanted)


def release(expiries: Iterable[Expiry], items: Sequence[Dict[str, Any]]) -> List[Tuple[Expiry, Optional[Expiry]]]:
    """Jobs that would stop one of ``items``: (old, replacement with the rest, or None to delete it)."""
    taken = [identity(i) for i in items]
    changes: List[Tuple[Expiry, Optional[Expiry]]] = []
    for expiry in expiries:
        rest = [w for w in expiry.wanted if w not in taken]
        if len(rest) != len(expiry.wanted):
            changes.append((expiry, Expiry("", expiry.until, rest) if rest else None))
    return changes


def job(location: str, expiry: Expiry, url: str, webserver: Dict[str, Any], script: str, now: float) -> Dict[str, Any]:
    """The Job that stops ``expiry.wanted`` at ``expiry.until``, in the webserver's image and pod settings."""
    pod = ((webserver.get("spec") or {}).get("template") or {}).get("spec") or {}
    container = (pod.get("containers") or [{}])[0]
    if not container.get("image"):
        raise errors.ClusterError("the webserver Deployment has no image", "check the release's webserver")
    wanted = json.dumps(expiry.wanted, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{expiry.until}\n{wanted}".encode()).hexdigest()[:8]
    name = f"{naming.truncate(location + '-automation-off', 63 - 9)}-{digest}"
    labels = {c.LABEL_MANAGED_BY: c.MANAGED_BY, c.EXPIRY_LABEL: location}
    annotations = {c.EXPIRY_UNTIL_ANNOTATION: rfc3339(expiry.until), c.EXPIRY_STOP_ANNOTATION: wanted}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": max(int(expiry.until - now), 0) + GIVE_UP + 300,
            "ttlSecondsAfterFinished": KEEP_FINISHED,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": _pod(pod, container, url, expiry, wanted, script),
            },
        },
    }


def _pod(pod, container, url, expiry: Expiry, wanted: str, script: str) -> Dict[str, Any]:
    env = [
        {"name": c.HOOK_ENV_URL, "value": url},
        {"name": c.EXPIRY_ENV_UNTIL, "value": str(int(expiry.until))},
        {"name": c.EXPIRY_ENV_STOP, "value": wanted},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    main: Dict[str, Any] = {"name": "automation-off", "image": container["image"]}
    if container.get("imagePullPolicy"):
        main["imagePullPolicy"] = container["imagePullPolicy"]
    main.update(
        command=["python", "-c", script],
        env=env,
        resources={"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    )
    if container.get("securityContext"):
        main["securityContext"] = copy.deepcopy(container["securityContext"])
    spec: Dict[str, Any] = {"restartPolicy": "OnFailure", "automountServiceAccountToken": False}
    for key in ("imagePullSecrets", "securityContext", "nodeSelector", "tolerations"):
        if pod.get(key):
            spec[key] = copy.deepcopy(pod[key])
    spec["containers"] = [main]
    return spec
