"""The reload hook's resources (ServiceAccount, Role, RoleBinding, Job) as the real kubectl (v1.33)
validates them: `kubectl apply --dry-run=client --validate=strict`, with kubectl's own schema
validation of every field.

kubectl needs an API server for that (discovery, and the OpenAPI v2 schema its validator reads); none
can run here, so it talks to the stand-in (tests/fakekube.py) serving the Kubernetes 1.33 API
definitions (tests/openapi_v2.py). The stand-in answers no `/openapi/v3`, so kubectl validates on its
side rather than leaving it to the server. Covered: every chart fixture that gets a hook, plain and
Helm 4 stdin forms, with and without the nudge; that the validation really runs (unknown fields and
wrong types in each kind are refused)."""

import openapi_v2
import pytest
from conftest import CHART_FIXTURES, EXAMPLES, VERSIONS, cli, run, tool
from fakekube import FakeKube

from kubectl_dagster.base import constants
from kubectl_dagster.core.chart import manifests

FORMS = {"plain": "{s}.yaml", "helm4": "helm4-postrender/{s}.stdin.yaml"}
CASES = [(v, s, f, n) for v in VERSIONS for s in ("b", "c", "e") for f in FORMS for n in ("true", "false")]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The stand-in with discovery and the OpenAPI document. kubectl sends no bearer token to a
    plain-HTTP server, so requests without one are let in."""
    tmp = tmp_path_factory.mktemp("kubectl")
    with FakeKube() as fake:
        fake.anonymous = "system:anonymous"
        fake.openapi_v2 = openapi_v2.document()
        fake.kubeconfig_path = fake.kubeconfig(tmp / "kubeconfig")
        fake.home = tmp / "home"
        yield fake


def hook_text(stdin: str, *args: str) -> str:
    result = cli("render", "--locations", str(EXAMPLES / "dagster-locations.yaml"), "-n", "dagster", *args, stdin=stdin)
    assert result.code == 0, result.stderr
    docs = [d for d in manifests.split(result.stdout).documents if d.kind and constants.RELOAD_HOOK_LABEL in d.text]
    assert docs, "no reload hook in the output"
    return "".join("---\n" + d.text.lstrip("-\n") for d in docs)


def kubectl_apply(api, tmp_path, text: str):
    path = tmp_path / "hook.yaml"
    path.write_text(text)
    return run(
        [
            tool("kubectl"),
            "--kubeconfig",
            api.kubeconfig_path,
            "apply",
            "--dry-run=client",
            "--validate=strict",
            "-n",
            "dagster",
            "-f",
            str(path),
        ],
        env={"HOME": str(api.home)},
    )


@pytest.mark.parametrize("version,scenario,form,nudge", CASES, ids=[f"{v}-{s}-{f}-nudge-{n}" for v, s, f, n in CASES])
def test_hook_resources_pass_strict_validation(api, tmp_path, version, scenario, form, nudge):
    stdin = (CHART_FIXTURES / version / FORMS[form].format(s=scenario)).read_text()
    text = hook_text(stdin, f"--reload-nudge={nudge}")
    result = kubectl_apply(api, tmp_path, text)
    assert result.code == 0, result.stderr
    created = [line.split()[0].split("/")[0] for line in result.stdout.splitlines()]
    expected = ["serviceaccount", "role.rbac.authorization.k8s.io", "rolebinding.rbac.authorization.k8s.io"]
    assert created == (expected if nudge == "true" else []) + ["job.batch"]
    assert all(line.endswith("created (dry run)") for line in result.stdout.splitlines())


BROKEN = [
    (
        "ServiceAccount",
        "automountServiceAccountToken: false\n",
        "automountServiceAccountToken: false\nsecretz: []\n",
        'unknown field "secretz"',
    ),
    ("Role", "      - patch\n", "      - patch\n    resourceNamez: [x]\n", 'unknown field "resourceNamez"'),
    (
        "RoleBinding",
        "    name: dagster-dagster-reload\n---",
        "    name: dagster-dagster-reload\n    namespace: [x]\n---",
        "namespace",
    ),
    ("Job", "  backoffLimit: 0\n", '  backoffLimit: "zero"\n', "backoffLimit"),
    (
        "Job",
        "      restartPolicy: Never\n",
        "      restartPolicy: Never\n      restartPolicyz: Never\n",
        'unknown field "restartPolicyz"',
    ),
]


@pytest.mark.parametrize("kind,old,new,message", BROKEN, ids=[f"{b[0]}-{i}" for i, b in enumerate(BROKEN)])
def test_validation_really_runs(api, tmp_path, kind, old, new, message):
    text = hook_text((CHART_FIXTURES / "1.11.10" / "b.yaml").read_text())
    assert old in text
    result = kubectl_apply(api, tmp_path, text.replace(old, new, 1))
    assert result.code != 0
    assert "ValidationError" in result.stderr and message in result.stderr, result.stderr
