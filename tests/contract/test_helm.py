"""Real Helm 3 (v3.17.3) and Helm 4 (v4.1.4) run our shipped helm-plugin/ directories against a
small chart shaped like the Dagster chart (tests/charts/mini-dagster).

Covers: the Helm 3 exec post-renderer (PATH lookup, --post-renderer-args), the Helm 4
postrenderer/v1 plugin installed from helm-plugin/dagster-postrenderer under a temporary
HELM_DATA_HOME (filename annotations, hooks passed through), failures on both versions (non-zero
exit, nothing rendered; Helm 4 hides stderr so the error file must hold the message), and the
Helm-3-style CLI plugin (`helm dagster …`) on both versions."""
import json

import pytest

from conftest import MINI_CHART, ROOT, run, tool

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
    result = run([tool("helm3"), "template", "dagster", str(MINI_CHART), "-n", "previews",
                  "--post-renderer", "kubectl-dagster", "--post-renderer-args", "render",
                  "--post-renderer-args", f"--locations={locations_file}"], env=helm_home)
    assert result.code == 0, result.stderr
    assert "name: feature-add-location\n" in result.stdout
    assert "name: dagster-dagster-user-deployments-feature-add-location\n" in result.stdout
    assert "location_name: feature-add-location" in result.stdout
    assert "name: chart-location\n" in result.stdout  # the chart's own location stays
    assert "helm.sh/hook: pre-upgrade" in result.stdout  # Helm 3 prints hooks itself, unchanged


def test_helm3_post_renderer_failure_shows_our_error(tmp_path, helm_home):
    bad = tmp_path / "bad.yaml"
    bad.write_text(LOCATIONS.replace("    pythonFile: defs.py\n", ""))
    result = run([tool("helm3"), "template", "dagster", str(MINI_CHART), "--post-renderer", "kubectl-dagster",
                  "--post-renderer-args", "render", "--post-renderer-args", f"--locations={bad}"], env=helm_home)
    assert result.code != 0
    assert result.stdout == ""
    assert "no code source" in result.stderr


def test_helm4_postrenderer_plugin(locations_file, helm_home):
    _install("helm4", "dagster-postrenderer", helm_home)
    listed = run([tool("helm4"), "plugin", "list"], env=helm_home)
    assert "dagster-postrenderer" in listed.stdout and "postrenderer/v1" in listed.stdout
    result = run([tool("helm4"), "template", "dagster", str(MINI_CHART), "-n", "previews",
                  "--post-renderer", "dagster-postrenderer", "--post-renderer-args", f"--locations={locations_file}",
                  "--post-renderer-args", "--rollout=restart"], env=helm_home)
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
    result = run([tool("helm4"), "template", "dagster", str(MINI_CHART), "--post-renderer", "dagster-postrenderer",
                  "--post-renderer-args", f"--locations={bad}"], env=env)
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
    result = run([tool(helm), "template", "dagster", str(MINI_CHART), *args,
                  "--post-renderer-args", f"--locations={locations_file}"], env=helm_home)
    assert result.code == 0, result.stderr
    docs = result.stdout.split("\n---\n")
    (job,) = [d for d in docs if "kind: Job" in d and "kubectl-dagster.io/reload-hook" in d]
    assert "# Source: dagster/templates/kubectl-dagster/reload-hook.yaml" in job
    assert "helm.sh/hook: \"post-install,post-upgrade\"" in job
    assert "image: \"ghcr.io/acme/dagster-webserver:1.11.10\"" in job or "dagster-webserver" in job
    from kubectl_dagster import yamlio

    container = yamlio.make_yaml().load(job)["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert sorted(json.loads(env["KUBECTL_DAGSTER_LOCATIONS"])) == ["chart-location", "feature-add-location"]
    assert env["DAGSTER_WEBSERVER_URL"] == "http://dagster-webserver:80"
    if helm == "helm4":  # a hook: printed after every plain manifest
        assert docs.index(next(d for d in docs if "kubectl-dagster.io/reload-hook" in d)) > max(
            i for i, d in enumerate(docs) if "\nkind: Service\n" in d)
