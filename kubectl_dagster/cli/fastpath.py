"""A click-free parse of ``render``'s options, for the path Helm runs on every upgrade.

click costs about a third of a render's wall time (mostly its import). This parser accepts only
fully valid, unambiguous invocations and hands them to the same ``render_run.run`` the click
command calls; anything else (--help, an unknown option, a bad choice, a stray argument) returns
None and goes through click, which then prints the usual usage error. tests/unit/test_cli.py
checks that both parsers give the same parameters.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

from .. import constants

VALUE = {"--locations": "locations", "--release": "release", "--namespace": "namespace", "-n": "namespace",
         "--rollout": "rollout", "--on-conflict": "on_conflict", "--mode": "mode", "--kubeconfig": "kubeconfig",
         "--context": "context"}
FLAGS = {"--summary": "summary", "--from-cluster": "from_cluster", "--debug": "debug"}
CHOICES = {"rollout": constants.ROLLOUTS, "on_conflict": constants.ON_CONFLICT, "mode": constants.MODES}
NAMESPACE_ENV = "KUBECTL_DAGSTER_NAMESPACE"


def defaults() -> Dict[str, object]:
    return {"locations": (), "release": None, "namespace": os.environ.get(NAMESPACE_ENV) or None, "rollout": None,
            "on_conflict": "error", "mode": "auto", "summary": False, "from_cluster": False, "kubeconfig": None,
            "context": None, "debug": False}


def parse(args: List[str]) -> Optional[Dict[str, object]]:
    """``render``'s parameters from its arguments, or None to let click handle them."""
    params = defaults()
    locations: List[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in FLAGS:
            params[FLAGS[arg]] = True
            index += 1
            continue
        name, eq, value = arg.partition("=")
        if name not in VALUE:
            return None
        if not eq:
            if index + 1 >= len(args):
                return None
            value = args[index + 1]
            index += 2
        else:
            if name == "-n":  # click reads "-n=x" as the value "=x"; leave such spellings to it
                return None
            index += 1
        key = VALUE[name]
        if key in CHOICES and value not in CHOICES[key]:
            return None
        if key == "locations":
            locations.append(value)
        else:
            params[key] = value
    params["locations"] = tuple(locations)
    return params
