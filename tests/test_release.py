"""The release artifacts, built by the release workflow's own `make dist` step and checked as their
users receive them:

- the wheel and sdist (contents, metadata, `twine check`), installed into a fresh venv as pipx
  installs them (offline, from the locked runtime wheels of .tools/wheelhouse) and run on the bundled
  example;
- the Helm plugin tarballs, installed by the real Helm 3 and Helm 4 from a path and from a URL (a local
  HTTP server; Helm 3 takes a tarball only from a URL served as gzip, and GitHub serves release assets
  as application/octet-stream, which Helm 3 refuses: docs/release.md);
- the krew manifest, against krew's manifest schema (tests/krew-plugin.schema.json, written from
  krew's pkg/index/types.go and validation/validate.go: no krew binary comes from any registry here),
  and the archive for this machine installed the way krew installs it (sha256 checked, `files`
  moved, ~/.krew/bin/kubectl-dagster a relative link into the store), then run by the real kubectl
  with only a bare python3 on PATH, against the API-server stand-in;
- one version everywhere, the locks, the sidecar Dockerfile (hadolint; no Docker engine runs here)
  and the workflows (actionlint; every `run:` step is run here or is this suite itself).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile

import pytest
from conftest import EXAMPLES, MINI_CHART, ROOT, cli, run, tool
from ruamel.yaml import YAML

from kubectl_dagster import __version__

WORKFLOWS = ROOT / ".github" / "workflows"
WHEELHOUSE = (
    ROOT / ".tools" / "wheelhouse" / f"runtime-py{sys.version_info[0]}.{sys.version_info[1]}"
)  # bin/fetch-tools
SCHEMA = ROOT / "tests" / "krew-plugin.schema.json"
# Where docs and manifests spell the version: image tags, kustomize's newTag, Helm plugin tarball names.
VERSIONED = re.compile(
    r"kubectl-dagster-cmp:([\w.-]+)"
    r"|kubectl-dagster-cmp\n\s+newTag: ([\w.-]+)"
    r"|dagster(?:-postrenderer)?-(\d[\w.-]*)\.tgz"
)
LOCATIONS = """apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
locations:
  - branch: feature/Add_Location
    image: {repository: ghcr.io/acme/preview, tag: sha-1}
    pythonFile: defs.py
"""


def workflow(name):
    return YAML(typ="safe").load((WORKFLOWS / name).read_text())


def run_steps():
    """(workflow, job, step) for every step with `run:`."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_name, job in workflow(path.name)["jobs"].items():
            for step in job["steps"]:
                if "run" in step:
                    yield path.name, job_name, step


def dist_step():
    (step,) = [step for name, job, step in run_steps() if job == "dist"]
    return step


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The release workflow's `make dist` step, exactly as written, with the tag of this version."""
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "GITHUB_REF_NAME": f"v{__version__}", "DIST": str(out)}
    done = subprocess.run(["bash", "-e", "-c", dist_step()["run"]], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def editable_render():
    with open(EXAMPLES / "release.yaml", "rb") as stdin:
        return subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "kubectl-dagster"), "render", "--locations",
             str(EXAMPLES / "dagster-locations.yaml")],
            stdin=stdin, capture_output=True, check=True,
        ).stdout  # fmt: skip


# --- one version ----------------------------------------------------------------------------------


def test_one_version_everywhere():
    import importlib.metadata

    assert importlib.metadata.version("kubectl-dagster") == __version__
    assert cli("version").stdout == f"kubectl-dagster {__version__}\n"
    for plugin in sorted((ROOT / "helm-plugin").glob("*/plugin.yaml")):
        assert YAML(typ="safe").load(plugin.read_text())["version"] == __version__, plugin
    tagged = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("deploy/argocd/*")]
    found = [
        (path.name, "".join(tag)) for path in tagged if path.is_file() for tag in VERSIONED.findall(path.read_text())
    ]
    assert len(found) >= 10 and {tag for _, tag in found} == {__version__}, found  # 12 places today


def test_dist_refuses_a_tag_that_is_not_the_version(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "dist"), "--tag", "v9.9.9", "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    wanted = f"tag v9.9.9 does not match version {__version__} (kubectl_dagster/__init__.py); tag v{__version__}"
    assert done.stderr == f"error: {wanted}\n"
    assert not (tmp_path / "out").exists()


# --- locks ----------------------------------------------------------------------------------------


def pins(name):
    """{(project, marker): version} of requirements/<name>, each pin with its hashes."""
    text = (ROOT / "requirements" / name).read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        matched = re.match(r"([A-Za-z0-9._-]+)==(\S+?)(?: ; (.+?))? \\\n", block)
        if matched:
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), block
            found[(matched.group(1), matched.group(3))] = matched.group(2)
    return found


def resolved(lock, python):
    """{project: version} that pip installs from a lock on CPython `python` (3.x)."""
    from packaging.markers import Marker

    env = {"python_version": python, "python_full_version": f"{python}.0", "platform_python_implementation": "CPython"}
    return {
        name.lower(): version for (name, marker), version in lock.items() if not marker or Marker(marker).evaluate(env)
    }


def test_locks_have_hashes_agree_and_satisfy_pyproject():
    from packaging.requirements import Requirement

    locks = {name: pins(name) for name in ("runtime.txt", "test.txt", "build.txt")}
    headers = {name: (ROOT / "requirements" / name).read_text().splitlines()[1] for name in locks}
    assert len({re.search(r"--exclude-newer (\S+)", line).group(1) for line in headers.values()}) == 1, headers
    project = __import__("tomllib" if sys.version_info >= (3, 11) else "tomli").loads(
        (ROOT / "pyproject.toml").read_text()
    )["project"]
    declared = {"runtime.txt": project["dependencies"], "test.txt": project["optional-dependencies"]["test"]}
    for python in ("3.10", "3.11", "3.14"):
        versions = {name: resolved(lock, python) for name, lock in locks.items()}
        # what ships is what was tested: test.txt's versions (build.txt adds pip, which test.txt lacks)
        assert versions["runtime.txt"].items() <= versions["test.txt"].items(), python
        shared = versions["build.txt"].keys() & versions["test.txt"].keys()
        assert shared == {"setuptools"} and all(versions["build.txt"][n] == versions["test.txt"][n] for n in shared)
        env = {"python_version": python, "python_full_version": f"{python}.0"}
        for lock, wanted in declared.items():
            for requirement in map(Requirement, wanted):
                if requirement.marker is None or requirement.marker.evaluate(env):
                    name = re.sub(r"[._]", "-", requirement.name.lower())
                    assert requirement.specifier.contains(versions[lock][name]), (python, lock, requirement)


# --- wheel and sdist ------------------------------------------------------------------------------


def test_wheel_and_sdist_contents_and_metadata(dist):
    (wheel,) = dist.glob("kubectl_dagster-*.whl")
    (sdist,) = dist.glob("kubectl_dagster-*.tar.gz")
    assert wheel.name == f"kubectl_dagster-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.endswith("/reloadhook.py")], "the reload Job's script is not in the wheel"
    assert not [n for n in names if n.startswith(("tests/", "examples/", "bin/")) or "golden" in n or "fixtures" in n]
    assert {n.split("/")[0] for n in names} == {"kubectl_dagster", f"kubectl_dagster-{__version__}.dist-info"}
    meta = zipfile.ZipFile(wheel).read(f"kubectl_dagster-{__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {__version__}\n" in meta and "\nRequires-Python: >=3.10\n" in meta
    assert "\nDescription-Content-Type: text/markdown\n" in meta and "# kubectl-dagster" in meta
    requires = [line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert {r.split(";")[0].split(">")[0].strip() for r in requires if "extra ==" not in r} == {
        "click", "ruamel.yaml", "ruamel.yaml.clib", "kubernetes", "jsonpatch", "tomli"}  # fmt: skip
    entry = zipfile.ZipFile(wheel).read(f"kubectl_dagster-{__version__}.dist-info/entry_points.txt").decode()
    assert "kubectl-dagster = kubectl_dagster.cli:main" in entry
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    top = f"kubectl_dagster-{__version__}"
    assert {f"{top}/pyproject.toml", f"{top}/README.md", f"{top}/PKG-INFO"} <= set(members)
    assert [m for m in members if m.endswith("/reloadhook.py")]
    checked = run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)])
    assert checked.code == 0 and checked.stdout.count("PASSED") == 2, checked.stdout + checked.stderr


def test_wheel_installs_and_runs_in_a_fresh_venv_as_pipx_would(dist, tmp_path):
    """pipx makes a venv without pip, runs a pip from outside it, and lets pip resolve the wheel's own
    Requires-Dist; here from the locked runtime wheels only (no index), so a dependency missing from
    the metadata fails the run. (Bytecode is not compiled: pipx's only other difference.)"""
    (wheel,) = dist.glob("kubectl_dagster-*.whl")
    assert (WHEELHOUSE / "requirements.txt").exists(), f"{WHEELHOUSE} is missing: run bin/fetch-tools (CI does)"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile"]
    installed = run([*pip, "--disable-pip-version-check", "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)])
    assert installed.code == 0, installed.stderr
    where = run(
        [str(venv / "bin" / "python"), "-c", "import kubectl_dagster; print(kubectl_dagster.__file__)"], cwd=tmp_path
    )
    assert where.stdout.startswith(str(venv)), where
    version = run([str(venv / "bin" / "kubectl-dagster"), "version"], cwd=tmp_path)
    assert (version.code, version.stdout) == (0, f"kubectl-dagster {__version__}\n")
    with open(EXAMPLES / "release.yaml", "rb") as stdin:
        rendered = subprocess.run(
            [str(venv / "bin" / "kubectl-dagster"), "render", "--locations", str(EXAMPLES / "dagster-locations.yaml")],
            stdin=stdin, capture_output=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout == editable_render() and b"dagster-reload" in rendered.stdout


# --- Helm plugins ---------------------------------------------------------------------------------


class Serve:
    """A local HTTP server for dist/helm, sending one Content-Type for every file."""

    def __init__(self, directory, content_type):
        handler = type("Handler", (http.server.SimpleHTTPRequestHandler,), {
            "guess_type": lambda self, path: content_type, "log_message": lambda self, *args: None})  # fmt: skip
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=directory))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def helm_env(tmp_path, name):
    return {f"HELM_{kind}_HOME": str(tmp_path / name / kind.lower()) for kind in ("DATA", "CONFIG", "CACHE")}


@pytest.mark.parametrize(
    "helm, source, content_type",
    [("helm3", "url", "application/gzip"), ("helm4", "url", "application/octet-stream"), ("helm4", "path", None)],
)
def test_cli_plugin_tarball_installs(dist, tmp_path, helm, source, content_type):
    tarball = dist / "helm" / f"dagster-{__version__}.tgz"
    env = helm_env(tmp_path, helm)
    extra = ["--verify=false"] if helm == "helm4" else []  # Helm 4 wants a .prov unless told not to
    if source == "path":
        installed = run([tool(helm), "plugin", "install", str(tarball), *extra], env=env)
    else:
        with Serve(str(tarball.parent), content_type) as base:
            installed = run([tool(helm), "plugin", "install", f"{base}/{tarball.name}", *extra], env=env)
    assert installed.code == 0 and "Installed plugin: dagster" in installed.stdout + installed.stderr, installed
    version = run([tool(helm), "dagster", "version"], env=env)
    assert (version.code, version.stdout) == (0, f"kubectl-dagster {__version__}\n"), version


def test_helm3_refuses_a_tarball_served_as_octet_stream(dist, tmp_path):
    """Why docs/release.md tells Helm 3 users to unpack the release asset first."""
    env = helm_env(tmp_path, "helm3")
    with Serve(str(dist / "helm"), "application/octet-stream") as base:
        refused = run([tool("helm3"), "plugin", "install", f"{base}/dagster-{__version__}.tgz"], env=env)
    assert refused.code == 1 and "Cannot detect VCS" in refused.stderr


@pytest.mark.parametrize("source", ["path", "url"])
def test_postrenderer_plugin_tarball_installs_and_renders_under_helm4(dist, tmp_path, source):
    tarball = dist / "helm" / f"dagster-postrenderer-{__version__}.tgz"
    env = helm_env(tmp_path, "helm4")
    if source == "path":
        installed = run([tool("helm4"), "plugin", "install", str(tarball), "--verify=false"], env=env)
    else:
        with Serve(str(tarball.parent), "application/octet-stream") as base:
            installed = run([tool("helm4"), "plugin", "install", f"{base}/{tarball.name}", "--verify=false"], env=env)
    assert installed.code == 0, installed
    locations = tmp_path / "dagster-locations.yaml"
    locations.write_text(LOCATIONS)
    rendered = run([tool("helm4"), "template", "dagster", str(MINI_CHART), "-n", "previews", "--post-renderer",
                    "dagster-postrenderer", "--post-renderer-args", f"--locations={locations}"], env=env)  # fmt: skip
    assert rendered.code == 0, rendered.stderr
    assert "# Source: dagster/templates/kubectl-dagster/feature-add-location.yaml" in rendered.stdout


# --- krew -----------------------------------------------------------------------------------------


def manifest(dist):
    return json.loads(json.dumps(YAML(typ="safe").load((dist / "krew" / "dagster.yaml").read_text())))


def test_krew_manifest_matches_krews_schema_and_the_archives(dist):
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    plugin = manifest(dist)
    jsonschema.validate(plugin, schema)
    assert plugin["metadata"]["name"] == "dagster" and plugin["spec"]["version"] == f"v{__version__}"
    assert "Python 3.10" in plugin["spec"]["caveats"]
    platforms = {
        (p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]): p
        for p in plugin["spec"]["platforms"]
    }
    assert set(platforms) == {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")}
    for platform in platforms.values():
        archive = dist / "krew" / platform["uri"].rsplit("/", 1)[1]
        assert (
            platform["uri"].startswith("https://github.com/")
            and f"/releases/download/v{__version__}/" in platform["uri"]
        )
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == platform["sha256"]
    broken = json.loads(json.dumps(plugin))
    broken["spec"]["platforms"][0]["selector"] = {"matchLabels": {"distro": "debian"}}
    del broken["spec"]["platforms"][1]["bin"]
    errors = sorted(e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(broken))
    assert len(errors) == 2, errors  # the schema is not vacuous: krew refuses both


def krew_install(dist, krew_root):
    """What `kubectl krew install --manifest=… --archive=…` does (krew internal/installation:
    platform match, sha256 check, unpack, `files` moves, a relative link named kubectl-<name>)."""
    plugin = manifest(dist)
    (platform,) = [
        p for p in plugin["spec"]["platforms"] if p["selector"]["matchLabels"] == {"os": "linux", "arch": "amd64"}
    ]
    archive = dist / "krew" / platform["uri"].rsplit("/", 1)[1]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == platform["sha256"]
    staging, store = krew_root / "staging", krew_root / "store" / "dagster" / plugin["spec"]["version"]
    with tarfile.open(archive) as unpacked:
        unpacked.extractall(staging, filter="tar") if hasattr(tarfile, "data_filter") else unpacked.extractall(staging)
    for operation in platform["files"]:
        for found in sorted(staging.glob(operation["from"])):
            (store / operation["to"]).mkdir(parents=True, exist_ok=True)
            shutil.move(str(found), str(store / operation["to"] / found.name))
    (krew_root / "bin").mkdir()
    link = krew_root / "bin" / "kubectl-dagster"
    link.symlink_to(os.path.relpath(store / platform["bin"], link.parent))
    return link


def test_krew_install_runs_under_kubectl_with_a_bare_python(dist, tmp_path, kube):
    link = krew_install(dist, tmp_path / ".krew")
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    env = {"PATH": f"{link.parent}:{bare / 'bin'}:/usr/bin:/bin", "KUBECONFIG": kube.kubeconfig_path}
    kubectl = tool("kubectl")
    version = run([kubectl, "dagster", "version"], env=env, cwd=tmp_path)
    assert (version.code, version.stdout, version.stderr) == (0, f"kubectl-dagster {__version__}\n", "")
    rendered = run([kubectl, "dagster", "render", "--locations", str(EXAMPLES / "dagster-locations.yaml")],
                   stdin=(EXAMPLES / "release.yaml").read_text(), env=env, cwd=tmp_path)  # fmt: skip
    assert rendered.code == 0 and rendered.stdout.encode() == editable_render(), rendered.stderr
    added = run([kubectl, "dagster", "add-location", "feat-krew", "--image", "r:1", "-f", "a.py", "--cluster",
                 "-n", "dagster", "-o", "name"], env=env, cwd=tmp_path)  # fmt: skip
    assert (added.code, added.stdout, added.stderr) == (0, "location/feat-krew\n", "")
    listed = run([kubectl, "dagster", "list-locations", "--cluster", "--no-headers"], env=env, cwd=tmp_path)
    assert listed.code == 0 and listed.stdout.split()[0] == "feat-krew", listed


def test_krew_launcher_refuses_an_unsupported_python(tmp_path):
    """deploy/krew/kubectl-dagster on a Python outside 3.10-3.14 (faked: no other Python is at hand)."""
    code = "import runpy, sys; sys.version_info = (3, 9, 18); runpy.run_path(sys.argv[1], run_name='__main__')"
    refused = run([sys.executable, "-c", code, str(ROOT / "deploy" / "krew" / "kubectl-dagster")])
    assert (refused.code, refused.stdout) == (1, "")
    assert refused.stderr.startswith(
        "error: kubectl-dagster from krew runs on Python 3.10 to 3.14, and python3 is 3.9;"
    )


# --- sidecar image --------------------------------------------------------------------------------


def dockerfile():
    return (ROOT / "deploy" / "argocd" / "Dockerfile").read_text()


def test_dockerfile_passes_hadolint():
    linted = run(
        [os.path.join(os.path.dirname(sys.executable), "hadolint"), str(ROOT / "deploy" / "argocd" / "Dockerfile")]
    )
    assert (linted.code, linted.stdout, linted.stderr) == (0, "", "")


def test_dockerfile_pins_helm_by_sha256_installs_from_the_lock_and_runs_as_999():
    text = dockerfile()
    helm = re.search(r"^ARG HELM_VERSION=(v\S+)$", text, re.M).group(1)
    assert run([tool("helm3"), "version", "--short"]).stdout.startswith(helm + "+")  # the Helm the tests run
    sums = dict(
        reversed(line.split("  ")) for line in (ROOT / "deploy" / "argocd" / "helm.sha256").read_text().splitlines()
    )
    assert set(sums) == {f"helm-{helm}-linux-{arch}.tar.gz" for arch in ("amd64", "arm64")}
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in sums.values())
    assert "sha256sum --check --strict" in text and "--require-hashes -r /tmp/runtime.txt" in text
    assert re.search(r"pip install [^\n]*--no-deps /tmp/kubectl_dagster-\*-py3-none-any\.whl", text)
    assert re.findall(r"^USER (\S+)$", text, re.M)[-1] == "999" and "PYTHONDONTWRITEBYTECODE=1" in text
    ignored = [line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    for source in re.findall(r"^COPY (\S+) ", text, re.M):
        assert any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def test_sidecar_containers_run_as_999_with_a_read_only_root():
    documents = [doc for path in ("repo-server-sidecar.yaml", "watcher.yaml")
                 for doc in YAML(typ="safe").load_all((ROOT / "deploy" / "argocd" / path).read_text())]  # fmt: skip
    checked = 0
    for doc in documents:
        pod = ((doc or {}).get("spec") or {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            if "kubectl-dagster-cmp" in container.get("image", ""):
                context = {**(pod.get("securityContext") or {}), **container.get("securityContext", {})}
                assert context.get("runAsUser") == 999 and context.get("readOnlyRootFilesystem") is True, container
                checked += 1
    assert checked == 3


# --- workflows ------------------------------------------------------------------------------------


def test_workflows_pass_actionlint():
    linted = run(
        [os.path.join(os.path.dirname(sys.executable), "actionlint"), *map(str, sorted(WORKFLOWS.glob("*.yml")))]
    )
    assert (linted.code, linted.stdout, linted.stderr) == (0, "", "")


def test_every_workflow_script_step_is_run_by_the_tests():
    """`bash .ci/run` is this suite (it ends in `make test`); the `dist` fixture runs the other."""
    steps = sorted({step["run"].strip() for _, _, step in run_steps()})
    assert steps == ["bash .ci/run", 'make dist RELEASE_TAG="$GITHUB_REF_NAME"']
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("make test")


def test_release_workflow_publishes_what_the_issue_asks():
    jobs = workflow("release.yml")["jobs"]
    assert list(workflow("release.yml")["on"]["push"]["tags"]) == ["v*.*.*"]
    uses = {job: [step.get("uses", "").split("@")[0] for step in spec["steps"]] for job, spec in jobs.items()}
    assert "pypa/gh-action-pypi-publish" in uses["pypi"] and jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert not any("with" in step for step in jobs["pypi"]["steps"] if "pypi-publish" in step.get("uses", ""))
    (build,) = [step["with"] for step in jobs["image"]["steps"] if "build-push-action" in step.get("uses", "")]
    assert (build["platforms"], build["sbom"], build["provenance"]) == ("linux/amd64,linux/arm64", True, "mode=max")
    (release,) = [
        step["with"] for step in jobs["github-release"]["steps"] if "action-gh-release" in step.get("uses", "")
    ]
    assert {"assets/helm/*.tgz", "assets/krew/*"} <= set(release["files"].split())
    assert jobs["dist"]["needs"] == "test" and set(jobs["github-release"]["needs"]) == {"pypi", "image"}
