"""Real Helm 3 (v3.17.3) and Helm 4 (v4.1.4) run our shipped helm-plugin/ directories against a
small chart shaped like the Dagster chart (tests/charts/mini-dagster).

Covers: the Helm 3 exec post-renderer (PATH lookup, --post-renderer-args), the Helm 4
postrenderer/v1 plugin installed from helm-plugin/dagster-postrenderer under a temporary
HELM_DATA_HOME (filename annotations, hooks passed through), failures on both versions (non-zero
exit, nothing rendered; Helm 4 hides stderr so the error file must hold the message), the
Helm-3-style CLI plugin (`helm dagster …`) on both versions, and the two calls of Helm 4.2's
`separate` post-render strategy (built from what the real Helm 4.1 sends in one call)."""

import json

import pytest
from conftest import CHART_FIXTURES, MINI_CHART, ROOT, VERSIONS, cli, run, tool

from kubectl_dagster.base import constants
from kubectl_dagster.core.chart import manifests

LOCATIONS = """apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
locations:
  - branch: feature/Add_Location
    image: {repository: ghcr.io/acme/preview, tag: sha-1}
    pythonFile: defs.py
    port: 3031
"""


@pytest.fixture
def helm_home(tmp_path):
    home = {name: str(tmp_path / name) for name in ("data", "config", "cache")}
    return {"HELM_DATA_HOME": home["data"], "HELM_CONFIG_HOME": home["config"], "HELM_CACHE_HOME": home["cache"]}


@pytest.fixture
def locations_file(tmp_path):
    path = tmp_path / "dagster-locations.yaml"
    path.write_text(LOCATIONS)
    return path


def _install(helm, plugin, env):
    result = run([tool(helm), "plugin", "install", str(ROOT / "helm-plugin" / plugin)], env=env)
    assert result.code == 0, result.stderr


def test_helm3_post_renderer(locations_file, helm_home):
    result = run(
        [
            tool("helm3"),
            "template",
            "dagster",
            str(MINI_CHART),
            "-n",
            "previews",
            "--post-renderer",
            "kubectl-dagster",
            "--post-renderer-args",
            "render",
            "--post-renderer-args",
            f"--locations={locations_file}",
        ],
        env=helm_home,
    )
    assert result.code == 0, result.stderr
    assert "name: feature-add-location\n" in result.stdout
    assert "name: dagster-dagster-user-deployments-feature-add-location\n" in result.stdout
    assert "location_name: feature-add-location" in result.stdout
    assert "name: chart-location\n" in result.stdout  # the chart's own location stays
    assert "helm.sh/hook: pre-upgrade" in result.stdout  # Helm 3 prints hooks itself, unchanged


def test_helm3_post_renderer_failure_shows_our_error(tmp_path, helm_home):
    bad = tmp_path / "bad.yaml"
    bad.write_text(LOCATIONS.replace("    pythonFile: defs.py\n", ""))
    result = run(
        [
            tool("helm3"),
            "template",
            "dagster",
            str(MINI_CHART),
            "--post-renderer",
            "kubectl-dagster",
            "--post-renderer-args",
            "render",
            "--post-renderer-args",
            f"--locations={bad}",
        ],
        env=helm_home,
    )
    assert result.code != 0
    assert result.stdout == ""
    assert "no code source" in result.stderr


def test_helm4_postrenderer_plugin(locations_file, helm_home):
    _install("helm4", "dagster-postrenderer", helm_home)
    listed = run([tool("helm4"), "plugin", "list"], env=helm_home)
    assert "dagster-postrenderer" in listed.stdout and "postrenderer/v1" in listed.stdout
    result = run(
        [
            tool("helm4"),
            "template",
            "dagster",
            str(MINI_CHART),
            "-n",
            "previews",
            "--post-renderer",
            "dagster-postrenderer",
            "--post-renderer-args",
            f"--locations={locations_file}",
            "--post-renderer-args",
            "--rollout=restart",
        ],
        env=helm_home,
    )
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "# Source: dagster/templates/kubectl-dagster/feature-add-location.yaml" in out
    assert "postrenderer.helm.sh/postrender-filename" not in out  # Helm removed the annotation again
    assert "location_name: feature-add-location" in out
    assert "helm.sh/hook: pre-upgrade" in out  # Helm 4 sent the hook through us; we kept it


def test_helm4_failure_is_visible_despite_discarded_stderr(tmp_path, helm_home):
    _install("helm4", "dagster-postrenderer", helm_home)
    bad = tmp_path / "bad.yaml"
    bad.write_text(LOCATIONS.replace("feature/Add_Location", "x").replace("port: 3031", "port: 0"))
    error_file = tmp_path / "last-error.log"
    env = {**helm_home, "KUBECTL_DAGSTER_ERROR_FILE": str(error_file)}
    result = run(
        [
            tool("helm4"),
            "template",
            "dagster",
            str(MINI_CHART),
            "--post-renderer",
            "dagster-postrenderer",
            "--post-renderer-args",
            f"--locations={bad}",
        ],
        env=env,
    )
    assert result.code != 0
    assert result.stdout == ""
    assert 'plugin "dagster-postrenderer" exited with error' in result.stderr
    assert "port must be an integer" not in result.stderr  # Helm 4 really does discard it
    assert "port must be an integer from 1 to 65535, got 0" in error_file.read_text()
    shown = run(["kubectl-dagster", "last-error"], env=env)
    assert shown.code == 0 and "port must be an integer" in shown.stdout


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_cli_plugin_on_both_versions(helm, helm_home, locations_file):
    _install(helm, "dagster", helm_home)
    if helm == "helm4":  # both plugins side by side: two directories, two names
        _install(helm, "dagster-postrenderer", helm_home)
    version = run([tool(helm), "dagster", "version"], env=helm_home)
    assert version.code == 0, version.stderr
    assert version.stdout.startswith("kubectl-dagster ")
    chart = run([tool(helm), "template", "dagster", str(MINI_CHART)], env=helm_home)
    merged = run([tool(helm), "dagster", "render", f"--locations={locations_file}"], stdin=chart.stdout, env=helm_home)
    assert merged.code == 0, merged.stderr
    assert "name: feature-add-location\n" in merged.stdout


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_reload_hook_job_survives_helm(helm, locations_file, helm_home):
    """The default rollout adds the reload Job. Helm 4 takes it back as a hook (printed after the
    manifests, annotation intact); Helm 3 never sends hooks to a post-renderer and keeps what it gets
    back as a plain resource, which is why the Job's name changes with the workspace."""
    if helm == "helm4":
        _install("helm4", "dagster-postrenderer", helm_home)
        args = ["--post-renderer", "dagster-postrenderer"]
    else:
        args = ["--post-renderer", "kubectl-dagster", "--post-renderer-args", "render"]
    result = run(
        [
            tool(helm),
            "template",
            "dagster",
            str(MINI_CHART),
            *args,
            "--post-renderer-args",
            f"--locations={locations_file}",
        ],
        env=helm_home,
    )
    assert result.code == 0, result.stderr
    docs = result.stdout.split("\n---\n")
    (job,) = [d for d in docs if "kind: Job" in d and "kubectl-dagster.io/reload-hook" in d]
    assert "# Source: dagster/templates/kubectl-dagster/reload-hook.yaml" in job
    assert 'helm.sh/hook: "post-install,post-upgrade"' in job
    assert 'image: "ghcr.io/acme/dagster-webserver:1.11.10"' in job or "dagster-webserver" in job
    from kubectl_dagster.base import yamlio

    container = yamlio.make_yaml().load(job)["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert sorted(json.loads(env["KUBECTL_DAGSTER_LOCATIONS"])) == ["chart-location", "feature-add-location"]
    assert env["DAGSTER_WEBSERVER_URL"] == "http://dagster-webserver:80"
    if helm == "helm4":  # a hook: printed after every plain manifest
        assert docs.index(next(d for d in docs if "kubectl-dagster.io/reload-hook" in d)) > max(
            i for i, d in enumerate(docs) if "\nkind: Service\n" in d
        )


def _capture_plugin(tmp_path, helm_home):
    """A post-renderer plugin that writes what Helm 4 sends it to a file and passes it on unchanged."""
    plugin = tmp_path / "capture-stdin"
    plugin.mkdir()
    (plugin / "plugin.yaml").write_text(
        "apiVersion: v1\ntype: postrenderer/v1\nname: capture-stdin\nversion: 0.1.0\n"
        "runtime: subprocess\nruntimeConfig:\n  platformCommand:\n"
        "    - command: ${HELM_PLUGIN_DIR}/capture.sh\n"
    )
    (plugin / "capture.sh").write_text('#!/bin/sh\nif [ -n "$1" ]; then tee "$1"; else cat; fi\n')
    (plugin / "capture.sh").chmod(0o755)
    result = run([tool("helm4"), "plugin", "install", str(plugin)], env=helm_home)
    assert result.code == 0, result.stderr


def separate_calls(stdin: str):
    """The two streams Helm 4.2's ``separate`` strategy (helm #32049) sends: the chart's manifests,
    then its hooks alone, each in the form Helm 4 writes one stream (documents joined by ``---``
    lines, filename annotations). Built from what Helm 4.1 sends in one call; no hooks, no second call."""
    docs = manifests.split(stdin).documents
    hooks = [d.text for d in docs if "helm.sh/hook" in d.annotations()]
    plain = [d.text for d in docs if "helm.sh/hook" not in d.annotations()]
    return ["---\n".join(group) for group in (plain, hooks) if group]


def test_helm4_separate_strategy_two_calls(tmp_path, helm_home, locations_file):
    """The mini chart has a hook: the manifests call merges as usual (our reload hook included), the
    hooks-only call passes through byte for byte with exit 0."""
    _capture_plugin(tmp_path, helm_home)
    captured = tmp_path / "stdin.yaml"
    result = run(
        [
            tool("helm4"),
            "template",
            "dagster",
            str(MINI_CHART),
            "--post-renderer",
            "capture-stdin",
            "--post-renderer-args",
            str(captured),
        ],
        env=helm_home,
    )
    assert result.code == 0, result.stderr
    manifests_call, hooks_call = separate_calls(captured.read_text())
    assert "helm.sh/hook: pre-upgrade" in hooks_call and "helm.sh/hook" not in manifests_call
    merged = cli("render", f"--locations={locations_file}", stdin=manifests_call)
    assert merged.code == 0, merged.stderr
    assert "location_name: feature-add-location" in merged.stdout and constants.RELOAD_HOOK_LABEL in merged.stdout
    passed = cli("render", f"--locations={locations_file}", "--summary", stdin=hooks_call)
    assert passed.code == 0, passed.stderr
    assert passed.stdout == hooks_call
    assert passed.stderr == "passed a stream of Helm hooks alone through unchanged\n"


@pytest.mark.parametrize("version", VERSIONS)
def test_helm4_separate_strategy_on_the_dagster_chart(version, locations_file):
    """The Dagster chart fixtures render no hooks, so Helm 4.2 makes only the manifests call: exactly
    the Helm 4 stdin fixture. A hooks-only call built from our own output (the reload hook's documents
    as Helm 4 writes them) passes through unchanged."""
    stdin = (CHART_FIXTURES / version / "helm4-postrender" / "b.stdin.yaml").read_text()
    calls = separate_calls(stdin)
    assert calls == [stdin]
    merged = cli("render", f"--locations={locations_file}", stdin=stdin)
    assert merged.code == 0, merged.stderr
    ours = [d.text for d in manifests.split(merged.stdout).documents if constants.RELOAD_HOOK_LABEL in d.text]
    hooks_only = "---\n".join(ours)
    again = cli("render", f"--locations={locations_file}", stdin=hooks_only)
    assert again.code == 0, again.stderr
    assert again.stdout == hooks_only
