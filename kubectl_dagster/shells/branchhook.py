"""The ``sitecustomize`` of a branch location's code server: the preview never acts on its own.

Render mounts this file (from a ConfigMap) into the code server of every location with ``branch``
and puts its folder first on ``PYTHONPATH``, so every Python process of that container loads it at
start-up: ``dagster api grpc``, ``dagster code-server start`` and the server process it spawns, the
health check, runs launched in that container. Standard library only, and no imports from this
package (it runs in the user's image, whatever is installed there).

It does nothing until ``dagster`` is imported. Right after Dagster's package has loaded, and before
any user code defines a schedule or a sensor:

- ``KUBECTL_DAGSTER_AUTOMATION_DEFAULT=stopped``: ``default_status`` of every schedule and every sensor (asset,
  multi-asset, run-status, automation-condition and auto-materialize sensors are all sensors)
  reports STOPPED. Dagster runs an instigator with no stored state by its default status, so the
  daemon never ticks one until somebody starts it; a state set on purpose (start or stop) is stored
  by location, repository and name, and wins over the default on every later load.
- ``KUBECTL_DAGSTER_RUN_TAGS`` (a JSON object): added to every job's tags and run tags (what the
  daemon and the webserver put on the runs they create) and to the run tags of automation-condition
  sensors (what the asset daemon puts on its runs).

When Dagster's classes are not where this expects them, the import of ``dagster`` fails with one
line saying so: a branch location that cannot be held still does not load at all.
"""

import importlib.machinery
import importlib.util
import json
import os
import sys

AUTOMATION_ENV = "KUBECTL_DAGSTER_AUTOMATION_DEFAULT"
RUN_TAGS_ENV = "KUBECTL_DAGSTER_RUN_TAGS"
# Sensor classes that carry run tags of their own, by Dagster version (1.9+, then 1.6 to 1.8).
AUTOMATION_SENSORS = (
    ("dagster._core.definitions.automation_condition_sensor_definition", "AutomationConditionSensorDefinition"),
    ("dagster._core.definitions.auto_materialize_sensor_definition", "AutoMaterializeSensorDefinition"),
)
HERE = os.path.dirname(os.path.abspath(__file__))


class HookError(ImportError):
    """Dagster's definitions are not what this hook knows how to hold still."""


def stopped_status(cls, stopped):
    """Make ``cls.default_status`` (and that of subclasses that define their own) report ``stopped``."""

    def default_status(self):
        return stopped

    def init_subclass(sub, **kwargs):
        if own is not None:
            own.__get__(None, sub)(**kwargs)
        else:
            super(cls, sub).__init_subclass__(**kwargs)
        if "default_status" in vars(sub):
            sub.default_status = property(default_status)

    if not isinstance(vars(cls).get("default_status"), property):
        raise HookError("{}.default_status is not a property".format(cls.__name__))
    own = vars(cls).get("__init_subclass__")
    cls.default_status = property(default_status)
    cls.__init_subclass__ = classmethod(init_subclass)
    for sub in all_subclasses(cls):
        if "default_status" in vars(sub):
            sub.default_status = property(default_status)


def all_subclasses(cls):
    found = []
    for sub in cls.__subclasses__():
        found += [sub] + all_subclasses(sub)
    return found


def tagged(cls, name, tags):
    """Make the mapping property ``cls.<name>`` include ``tags`` (over a value of the same key)."""
    original = vars(cls).get(name)
    if original is None or not hasattr(original, "__get__"):
        raise HookError("{}.{} is not a property".format(cls.__name__, name))

    def value(self):
        return {**(original.__get__(self, type(self)) or {}), **tags}

    setattr(cls, name, property(value))


def patch(dagster):
    """Apply what the environment asks for to the freshly imported ``dagster`` package."""
    if os.environ.get(AUTOMATION_ENV) == "stopped":
        stopped_status(dagster.ScheduleDefinition, dagster.DefaultScheduleStatus.STOPPED)
        stopped_status(dagster.SensorDefinition, dagster.DefaultSensorStatus.STOPPED)
    tags = json.loads(os.environ.get(RUN_TAGS_ENV) or "{}")
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise HookError("{} is not a JSON object of strings".format(RUN_TAGS_ENV))
    if not tags:
        return
    job = dagster.JobDefinition
    for name in ("tags", "run_tags"):  # run_tags: Dagster 1.9+
        if name in vars(job):
            tagged(job, name, tags)
    for module_name, class_name in AUTOMATION_SENSORS:
        if importlib.util.find_spec(module_name) is not None:
            tagged(getattr(importlib.import_module(module_name), class_name), "run_tags", tags)
            break


class PatchingLoader:
    """Runs the real loader of ``dagster``, then ``patch``; anything else is the real loader's."""

    def __init__(self, loader, finder):
        self.loader, self.finder = loader, finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        try:
            patch(module)
        except Exception as exc:
            message = "kubectl-dagster: cannot hold this branch location's automation still ({}: {})".format(
                type(exc).__name__, exc
            )
            sys.stderr.write(message + "; set `automation: on` on the location to run it as is\n")
            raise HookError(message) from exc
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)  # patched once, for good

    def __getattr__(self, name):
        return getattr(self.loader, name)


class DagsterFinder:
    """Finds ``dagster`` through the finders after this one and wraps its loader, until it is imported.
    (``python -m dagster``, as ``dagster code-server start`` runs its server, asks for the spec once
    before it imports the package: every request gets a wrapped loader.)"""

    def __init__(self):
        self.busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "dagster" or self.busy:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        if spec is not None and spec.loader is not None:
            spec.loader = PatchingLoader(spec.loader, self)
        return spec


def chain():
    """Run the ``sitecustomize`` this one shadows (the next one on sys.path), as Python would have."""
    path = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def install():
    if os.environ.get(AUTOMATION_ENV) == "stopped" or os.environ.get(RUN_TAGS_ENV):
        sys.meta_path.insert(0, DagsterFinder())
    chain()


if __name__ == "sitecustomize":  # imported as kubectl_dagster.branchhook (tests, render), it only defines
    install()
