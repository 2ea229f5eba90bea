"""Every GraphQL document ``automation`` and its Job send (shells/instigators.py) is valid against the schema of
the real Dagster webserver under test: ``dagster_graphql``'s own schema, built in that Dagster's Python
(``dagster_install``: every release of the matrix, tests/dagsters.py), checked with the
``graphql`` library the webserver validates requests with. A field or union member a version lacks fails here
with the webserver's own message, before any process has to run."""

import json
import subprocess

import pytest

from kubectl_dagster.shells import instigators

pytestmark = pytest.mark.every_dagster

VALIDATE = """
import json, sys
from dagster_graphql.schema import create_schema
from graphql import parse, validate
schema = create_schema()
schema = getattr(schema, "graphql_schema", schema)
found = {}
for name, text in json.load(sys.stdin).items():
    found[name] = [error.message for error in validate(schema, parse(text))]
print(json.dumps(found))
"""
DOCUMENTS = {
    name: getattr(instigators, name)
    for name in (
        "LISTING",
        "START_SCHEDULE",
        "STOP_SCHEDULE",
        "START_SENSOR",
        "STOP_SENSOR",
        "DRY_RUN_SENSOR",
        "DRY_RUN_SCHEDULE",
        "LAST_TICK",
        "SET_CURSOR",
        "LAUNCH",
        "RUNS_WITH_KEY",
    )
}


def test_every_document_is_valid_against_the_webservers_schema(dagster_install):
    proc = subprocess.run(
        [dagster_install.python, "-c", VALIDATE], input=json.dumps(DOCUMENTS).encode(), capture_output=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert json.loads(proc.stdout) == {name: [] for name in DOCUMENTS}
