"""dagster-uc's config as a ProjectConfig. The inputs follow dagster-uc's README (the nested layout of
current releases, github.com/ASML-Labs/dagster-uc) and the flat layout of its older releases
(dagster_uc/config.py: one section per environment, every key at the top of it)."""

from kubectl_dagster.base import yamlio
from kubectl_dagster.core.branches import projectconfig, ucimport

NESTED = """
defaults:
  repository_root: "."
  code_path: example/repo.py
  dagster_version: 1.11.16
  cicd: false
  use_project_name: True
  use_latest_chart_version: True
  docker:
    docker_root: "."
    docker_env_vars: [FOO]
    docker_build_args: ["BAR='string'"]
    image_prefix: "example"
    use_az_login: True
    container_registry_chart_path: "helm/dagster/dagster-user-deployments"
  helm:
    skip_schema_validation: True
  kubernetes:
    namespace: dagster
    node: cpunode
    requests: {cpu: 150m, memory: 750Mi}
    limits: {cpu: 4000m, memory: 2000Mi}
    user_code_deployment_env_secrets:
      - name: dagster-storage-secret
    pull_policy: Always
  chart: {}
dev:
  environment: dev
  dagster_gui_url: "http://dagster.dev"
  docker:
    dockerfile: "docker/dev.Dockerfile"
    container_registry: dagster-uc.dev.acr.io
  kubernetes:
    context: "aks-dev"
    user_code_deployment_env:
      - {name: ON_K8S, value: '1'}
      - {name: TOKEN, value: '${DEV_TOKEN}'}
    pull_policy: IfNotPresent
acc:
  environment: acc
  dagster_gui_url: "http://dagster.acc"
  project_name_override: 'example-acc'
  docker:
    dockerfile: "docker/acc.Dockerfile"
    container_registry: dagster-uc.acc.acr.io
  kubernetes:
    context: "aks-acc"
    pod_labels: {team: data}
    include_config_in_launched_runs: False
"""

FLAT = """
dev:
  environment: dev
  container_registry: myacr.azurecr.io
  dockerfile: ./Dockerfile
  image_prefix: team
  namespace: dagster
  node: pool1
  code_path: defs.py
  docker_root: app
  repository_root: .
  dagster_version: 1.9.0
  user_code_deployment_env_secrets: [{name: creds}]
  user_code_deployment_env: [{name: ON_K8S, value: "True"}]
  cicd: false
  limits: {cpu: "2", memory: 2Gi}
  requests: {cpu: "1", memory: 1Gi}
  kubernetes_context: aks
  docker_env_vars: []
  dagster_gui_url: http://dagster
  use_az_login: true
  use_project_name: false
  user_code_deployments_configmap_name: dagster-user-deployments-values-yaml
  dagster_workspace_yaml_configmap_name: dagster-workspace-yaml
  uc_deployment_semaphore_name: dagster-uc-semaphore
  colour: red
"""


def _translate(text):
    return ucimport.translate(yamlio.make_yaml().load(text))


def test_nested_layout():
    document, notes = _translate(NESTED)
    assert projectconfig.check_document(document) == []
    assert document["defaultEnvironment"] == "dev"
    assert document["defaults"] == {
        "registry": {"cluster": True},
        "useProjectName": True,
        "namespace": "dagster",
        "image": {"pullPolicy": "Always"},
        "envSecrets": ["dagster-storage-secret"],
        "resources": {"requests": {"cpu": "150m", "memory": "750Mi"}, "limits": {"cpu": "4000m", "memory": "2000Mi"}},
        "location": {
            "nodeSelector": {"agentpool": "cpunode"},
            "tolerations": [{"key": "agentpool", "operator": "Equal", "value": "cpunode", "effect": "NoSchedule"}],
        },
        "codeSource": {"pythonFile": "example/repo.py"},
    }
    dev, acc = document["environments"]["dev"], document["environments"]["acc"]
    assert dev == {
        "uiUrl": "http://dagster.dev",
        "context": "aks-dev",
        "env": {"ON_K8S": "1"},
        "image": {
            "pullPolicy": "IfNotPresent",
            "repository": "dagster-uc.dev.acr.io/example/{name}",
            "tag": "{short_commit}",
        },
    }
    assert acc["project"] == "example-acc"
    assert acc["location"] == {"labels": {"team": "data"}, "includeConfigInLaunchedRuns": {"enabled": False}}
    assert acc["image"]["repository"] == "dagster-uc.acc.acr.io/example/{name}"
    # every key that is not carried over is named, with where it was written
    for where in (
        "defaults.repository_root",
        "defaults.dagster_version",
        "defaults.cicd",
        "defaults.use_latest_chart_version",
        "defaults.docker.docker_env_vars",
        "defaults.docker.docker_build_args",
        "defaults.docker.use_az_login",
        "defaults.docker.container_registry_chart_path",
        "defaults.helm.skip_schema_validation",
        "dev.environment",
        "dev.docker.dockerfile",
        "acc.docker.dockerfile",
    ):
        assert any(note.startswith(where + " not carried over: ") for note in notes), where
    assert any(
        note.startswith("dev.kubernetes.user_code_deployment_env.TOKEN is filled in from the environment")
        for note in notes
    )
    assert all("DEV_TOKEN" not in str(value) for value in dev.values())


def test_flat_layout_of_older_releases():
    document, notes = _translate(FLAT)
    assert projectconfig.check_document(document) == []
    dev = document["environments"]["dev"]
    assert dev["context"] == "aks" and dev["namespace"] == "dagster" and dev["useProjectName"] is False
    assert dev["image"]["repository"] == "myacr.azurecr.io/team/{name}"
    assert dev["codeSource"] == {"pythonFile": "app/defs.py"}  # dagster-uc runs -f <docker_root>/<code_path>
    assert dev["envSecrets"] == ["creds"] and dev["env"] == {"ON_K8S": "True"}
    assert dev["location"]["nodeSelector"] == {"agentpool": "pool1"}
    for key in (
        "user_code_deployments_configmap_name",
        "dagster_workspace_yaml_configmap_name",
        "uc_deployment_semaphore_name",
        "use_az_login",
        "dockerfile",
        "docker_env_vars",
    ):
        assert any(note.startswith(f"dev.{key} not carried over: ") for note in notes), key
    assert "dev.colour not carried over: no equivalent in kubectl-dagster" in notes


def test_not_a_dagster_uc_config():
    assert ucimport.translate(["a"]) == (None, [])
    assert ucimport.translate({"defaults": {"namespace": "x"}})[0] is None


def test_code_path_joins_as_dagster_uc_does():
    assert ucimport._join(".", "example/repo.py") == "example/repo.py"
    assert ucimport._join("/app", "../defs.py") == "/defs.py"
    assert ucimport._join("", "defs.py") == "defs.py"
