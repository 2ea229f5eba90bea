"""kustomize. Real `kubectl kustomize` (kubectl 1.33, kustomize v5.6 inside) runs legacy exec plugins but skips exec
KRM functions (../shared/README.md), and no standalone kustomize binary is available from the registries here. So:

- the legacy exec plugin (kustomize-plugin/.../CodeLocations) runs under the real `kubectl kustomize`;
- the exec KRM function contract of standalone `kustomize build --enable-alpha-plugins --enable-exec` is tested at
  the boundary: the ResourceList kustomize v5.6 builds (api/internal/plugins/fnplugin/fnplugin.go: every item gets
  `kustomize.config.k8s.io/id`, the functionConfig gets `config.kubernetes.io/local-config: "true"`; kyaml's runfn
  adds `config.kubernetes.io/index`; the exec spec has a path and no arguments; the working directory is the
  kustomization's) goes to bin/dagster-krm-fn, and what comes back must keep every id, so that kustomize's
  UpdateResMapValues can match the items back, and add new items without one.
"""

import os
import shutil

from conftest import CHART_FIXTURES, ROOT, cli, run, tool

from kubectl_dagster.base import yamlio

RELEASE = CHART_FIXTURES / "1.11.10" / "b.yaml"
ID = "kustomize.config.k8s.io/id"
LOCATIONS = """\
apiVersion: kubectl-dagster/v1alpha1
kind: CodeLocations
metadata:
  name: previews
locations:
  - name: pr-7
    image: {repository: ghcr.io/acme/etl, tag: sha-7}
    pythonFile: definitions.py
    port: 3032
"""
FUNCTION = "    config.kubernetes.io/function: |\n      exec:\n        path: ./dagster-krm-fn\n"


def docs(text):
    return [d for d in yamlio.make_yaml("safe").load_all(text) if d]


def by_key(documents):
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}


def normal(documents):
    for doc in documents:
        annotations = doc["metadata"].pop("annotations", None) or {}
        annotations.pop("postrenderer.helm.sh/postrender-filename", None)
        if annotations:
            doc["metadata"]["annotations"] = annotations
    return by_key(documents)


def kustomization(tmp_path, config):
    (tmp_path / "dagster.yaml").write_text(RELEASE.read_text())
    (tmp_path / "locations.yaml").write_text(config)
    (tmp_path / "kustomization.yaml").write_text("resources: [dagster.yaml]\ntransformers: [locations.yaml]\n")
    return tmp_path


def test_kubectl_kustomize_runs_the_legacy_exec_plugin(tmp_path):
    root = kustomization(tmp_path, LOCATIONS)
    built = run(
        [tool("kubectl"), "kustomize", "--enable-alpha-plugins", str(root)],
        env={"KUSTOMIZE_PLUGIN_HOME": str(ROOT / "kustomize-plugin")},
    )
    assert built.code == 0, built.stderr
    rendered = cli("render", "--locations", str(root / "locations.yaml"), stdin=RELEASE.read_text())
    # kustomize reorders documents, drops empty annotations and `# Source:` comments (so the Helm 4 filename
    # annotation of what we add names the default chart path); apart from that the objects are the same.
    assert normal(docs(built.stdout)) == normal(docs(rendered.stdout))
    assert ("Service", "pr-7") in by_key(docs(built.stdout))


def test_kubectl_kustomize_skips_an_exec_krm_function(tmp_path):
    """Why the docs send kubectl users to the legacy plugin or kpt: the function never runs, and kustomize exits 0."""
    config = LOCATIONS.replace("  name: previews\n", "  name: previews\n  annotations:\n" + FUNCTION)
    root = kustomization(tmp_path, config)
    shutil.copy(ROOT / "bin" / "dagster-krm-fn", root / "dagster-krm-fn")
    built = run([tool("kubectl"), "kustomize", "--enable-alpha-plugins", str(root)])
    assert built.code == 0, built.stderr
    assert ("Service", "pr-7") not in by_key(docs(built.stdout))
    assert len(docs(built.stdout)) == len(docs(RELEASE.read_text()))


def resid(doc):
    group, _, version = doc["apiVersion"].rpartition("/")
    fields = {
        "group": group,
        "kind": doc["kind"],
        "name": doc["metadata"]["name"],
        "namespace": doc["metadata"].get("namespace", ""),
        "version": version,
    }
    return "".join(f"{k}: {v}\n" for k, v in fields.items() if v)


def kustomize_resource_list():
    """What kustomize v5.6 hands an exec transformer: no `# Source:` comments (it prints resources anew)."""
    items = []
    for index, doc in enumerate(docs(RELEASE.read_text())):
        meta = doc["metadata"]
        tracking = {
            ID: resid(doc),
            "config.kubernetes.io/index": str(index),
            "internal.config.kubernetes.io/index": str(index),
        }
        meta["annotations"] = {**(meta.get("annotations") or {}), **tracking}
        items.append(doc)
    config = docs(LOCATIONS)[0]
    config["metadata"]["annotations"] = {
        "config.kubernetes.io/function": "exec:\n  path: ./dagster-krm-fn\n",
        "config.kubernetes.io/local-config": "true",
    }
    return {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items, "functionConfig": config}


def test_exec_krm_function_contract_of_standalone_kustomize(tmp_path):
    given = kustomize_resource_list()
    shutil.copy(ROOT / "bin" / "dagster-krm-fn", tmp_path / "dagster-krm-fn")
    result = run([str(tmp_path / "dagster-krm-fn")], stdin=yamlio.dump(given), cwd=str(tmp_path))  # no arguments
    assert result.code == 0, result.stderr
    output = yamlio.make_yaml("safe").load(result.stdout)
    returned = output["items"]
    ids = [item["metadata"]["annotations"][ID] for item in given["items"]]
    kept = [item for item in returned if ID in (item["metadata"].get("annotations") or {})]
    assert [item["metadata"]["annotations"][ID] for item in kept] == ids  # every item matched back, in order
    for before, after in zip(given["items"], kept, strict=False):
        assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    added = [item for item in returned if item not in kept]
    assert ("Service", "pr-7") in by_key(added)
    assert all("config.kubernetes.io/path" not in (i["metadata"].get("annotations") or {}) for i in added)
    assert "CodeLocations" not in [item["kind"] for item in returned]  # the config is not an output resource


def test_exec_function_failure_in_kustomize_terms(tmp_path):
    given = kustomize_resource_list()
    del given["functionConfig"]["locations"][0]["image"]
    shutil.copy(ROOT / "bin" / "dagster-krm-fn", tmp_path / "dagster-krm-fn")
    result = run([str(tmp_path / "dagster-krm-fn")], stdin=yamlio.dump(given), cwd=str(tmp_path))
    assert result.code == 1
    output = yamlio.make_yaml("safe").load(result.stdout)
    assert output["items"] == []
    (first,) = output["results"]
    assert first["severity"] == "error" and "image.repository is required" in first["message"]
    assert result.stderr.startswith("error: invalid locations: functionConfig: location 'pr-7'")
    assert os.access(ROOT / "bin" / "dagster-krm-fn", os.X_OK)
