"""Every label key, annotation key, env var name and default the product uses, in one place."""

API_VERSION = "kubectl-dagster/v1alpha1"
KIND = "CodeLocations"

# Annotations and labels we write.
HELM4_FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"
LOCATION_LABEL = "kubectl-dagster.io/location"  # label on every object we create: its location name
SHARED_ENV_LOCATION = "shared.env"  # its value on the shared env ConfigMap we create when the chart has none
BRANCH_ANNOTATION = "kubectl-dagster.io/branch"
PULL_REQUEST_ANNOTATION = "kubectl-dagster.io/pull-request"
COMMIT_ANNOTATION = "kubectl-dagster.io/commit"
EXPIRES_ANNOTATION = "kubectl-dagster.io/expires-at"
GIT_URL_ANNOTATION = "kubectl-dagster.io/git-url"
BASE_ANNOTATION = "kubectl-dagster.io/base"  # the permanent location a branch location derives from
MANAGED_BY = "kubectl-dagster"  # the app.kubernetes.io/managed-by value of what we create

# The cluster registry: one ConfigMap per location.
REGISTRY_LABEL = "kubectl-dagster.io/registry"
REGISTRY_VALUE = "code-location"
REGISTRY_SELECTOR = f"{REGISTRY_LABEL}={REGISTRY_VALUE}"
REGISTRY_CONFIGMAP_PREFIX = "dagster-location-"
REGISTRY_DATA_KEY = "location.yaml"
ARGOCD_REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
# Every registry entry written says its format; a renderer leaves out an entry of a newer format than it reads.
# Absent: format 1 (entries written before the annotation existed). A writer stamps the oldest format that
# holds the entry, so upgrading the writers before the renderer strands nothing that needs no new key.
ENTRY_FORMAT_ANNOTATION = "kubectl-dagster.io/entry-format"
ENTRY_FORMAT = 1  # the newest format this version reads and writes
WRITTEN_BY_ANNOTATION = "kubectl-dagster.io/written-by"  # "kubectl-dagster <version>", for the message
POLICY_KIND = "LocationPolicy"
LOCATIONS_ENV = "KUBECTL_DAGSTER_LOCATIONS"
NAMESPACE_ENV = "KUBECTL_DAGSTER_NAMESPACE"
REGISTRY_NAMESPACE_ENV = "KUBECTL_DAGSTER_REGISTRY_NAMESPACE"
# The line that separates the chart's own workspace entries from the ones we add. It is a YAML
# comment, so Dagster ignores it, and a later render finds its own entries by it (idempotence).
WORKSPACE_MARKER = "# kubectl-dagster: entries below are added at render time from CodeLocations"

# Dagster chart facts (see ../shared/notes/dagster-chart-structure.md).
WORKSPACE_KEY = "workspace.yaml"
WORKSPACE_CHECKSUM = "checksum/dagster-workspace"
USER_DEPLOYMENT_CHECKSUM = "checksum/dagster-user-deployment"
USER_CHART_NAME = "dagster-user-deployments"
USER_COMPONENT = "user-deployments"
CONTAINER_NAME = "dagster-user-deployments"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_CHART = "helm.sh/chart"
LABEL_VERSION = "app.kubernetes.io/version"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
# The chart's own short labels (pre-Kubernetes-recommended names), read and written as the chart does.
LABEL_COMPONENT = "component"
LABEL_DEPLOYMENT = "deployment"
LABEL_APP = "app"
LABEL_CHART_SHORT = "chart"
LABEL_RELEASE = "release"
LABEL_HERITAGE = "heritage"
WEBSERVER_COMPONENT = "dagster-webserver"
DAEMON_COMPONENT = "dagster-daemon"
# The labels the chart's user-code Deployment selects its pods by (and ours): a location's own labels
# go on the pods too, so one of these names would change the selector's value.
SELECTOR_LABELS = (LABEL_NAME, LABEL_INSTANCE, LABEL_COMPONENT, LABEL_DEPLOYMENT, LOCATION_LABEL)
DEFAULT_DAGSTER_HOME = "/opt/dagster/dagster_home"
DEFAULT_CELERY_SECRET = "dagster-celery-config-secret"
GRPC_CONTEXT_ENV = "DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT"
CODE_SERVER_CONTEXT_ENV = "DAGSTER_CONTAINER_CONTEXT"
FIRST_PORT = 3030
PULL_POLICIES = ("Always", "IfNotPresent", "Never")

# Where created documents claim to come from (Helm 4 splits its output by this path).
SOURCE_TEMPLATE = "{chart}/templates/kubectl-dagster/{location}.yaml"

# Reads are bounded: a locations file, a registry file, an import or branch list (16 MiB is far more than
# thousands of locations), and the manifest stream on stdin (Helm keeps a release in one 1 MiB Secret,
# compressed, so no installable release comes near 64 MiB).
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_STREAM_BYTES = 64 * 1024 * 1024
# The reload hook (core/chart/hook.py) and its script (reloadhook.py, which cannot import this module and
# spells the same strings; tests/unit/test_hook.py checks they agree).
RELOAD_HOOK_LABEL = "kubectl-dagster.io/reload-hook"
NUDGE_ANNOTATION = "kubectl-dagster.io/workspace-nudge"  # updated on the pods: the kubelet re-syncs their volumes
STATE_ANNOTATION = "kubectl-dagster.io/reload-state"  # on the webserver pods: {location: [template, server id]}
HOOK_ENV_URL = "DAGSTER_WEBSERVER_URL"
HOOK_ENV_LOCATIONS = "KUBECTL_DAGSTER_LOCATIONS"
HOOK_ENV_NUDGE = "KUBECTL_DAGSTER_NUDGE"
HOOK_ENV_TIMEOUT = "KUBECTL_DAGSTER_TIMEOUT"
HOOK_ENV_INTERVAL = "KUBECTL_DAGSTER_INTERVAL"
READ_ONLY_COMPONENT = "dagster-webserver-read-only"  # the chart's dagsterWebserver.enableReadOnly Deployment

# Without --request-timeout, the seconds one command may wait for the API server, all requests together
# (kube.Budget); waits a flag bounds (--wait, reload, watch) are outside it.
API_BUDGET = 30.0

ROLLOUTS = ("reload", "restart", "none")
DEFAULT_ROLLOUT = "reload"
ON_CONFLICT = ("error", "replace")
MODES = ("auto", "full", "workspace", "objects")
BOOLEANS = ("true", "false")

# KRM functions (kpt, kustomize): the wire format and the annotations orchestrators track items by.
KRM_API_VERSION = "config.kubernetes.io/v1"
KRM_API_VERSIONS = (KRM_API_VERSION, "config.kubernetes.io/v1alpha1")  # v1alpha1: older orchestrators
KRM_KIND = "ResourceList"
KRM_PATH_ANNOTATION = "config.kubernetes.io/path"
KRM_INDEX_ANNOTATION = "config.kubernetes.io/index"
KRM_LOCAL_CONFIG_ANNOTATION = "config.kubernetes.io/local-config"
KRM_OUTPUT_DIR = "kubectl-dagster"  # where kpt writes the objects we add: <package>/kubectl-dagster/<location>.yaml
# A render option set on a CodeLocations functionConfig: kubectl-dagster.io/<option> (rollout, release, ...).
OPTION_ANNOTATION_PREFIX = "kubectl-dagster.io/"

# Helm 4 throws a post-renderer's stderr away: when we run as its plugin we also write the error here.
HELM_PLUGIN_ENV = "HELM_PLUGIN_NAME"
ERROR_FILE_ENV = "KUBECTL_DAGSTER_ERROR_FILE"

# Change tracking of branch locations against their base (``kubectl dagster diff``).
PROJECT_SEPARATOR = "--"  # ``project--branch``: the base of etl--feat-x is etl, when such a location exists
GITHUB_COMMENT_LIMIT = 65536  # characters in one GitHub issue or pull-request comment
SNAPSHOT_MAX_ASSETS = 2000  # assets in a recorded base snapshot (``add-location --base-snapshot``)
SNAPSHOT_MAX_BYTES = 256 * 1024  # its encoded size: the cluster registry keeps an entry in a 1 MiB ConfigMap

# The project config file read by `deploy` and `config view` (found like git finds .git).
PROJECT_KIND = "ProjectConfig"
PROJECT_CONFIG_FILES = (".kubectl-dagster.yaml", ".kubectl-dagster.yml")
CONFIG_ENV = "KUBECTL_DAGSTER_CONFIG"  # an explicit path to it
ENVIRONMENT_ENV = "KUBECTL_DAGSTER_ENVIRONMENT"  # the environment, when -e is not given
# Variables that set project config keys (the layer between the environment and the flags).
CONTEXT_ENV = "KUBECTL_DAGSTER_CONTEXT"
CLUSTER_ENV = "KUBECTL_DAGSTER_CLUSTER"
PROJECT_ENV = "KUBECTL_DAGSTER_PROJECT"
IMAGE_REPOSITORY_ENV = "KUBECTL_DAGSTER_IMAGE_REPOSITORY"
IMAGE_TAG_ENV = "KUBECTL_DAGSTER_IMAGE_TAG"
TTL_ENV = "KUBECTL_DAGSTER_TTL"
MAX_BRANCH_LOCATIONS_ENV = "KUBECTL_DAGSTER_MAX_BRANCH_LOCATIONS"
BRANCH_ENV_MODE_ENV = "KUBECTL_DAGSTER_BRANCH_ENV"
UI_URL_ENV = "KUBECTL_DAGSTER_UI_URL"
ARGOCD_APP_ENV = "KUBECTL_DAGSTER_ARGOCD_APP"
WEBSERVER_URL_ENV = "DAGSTER_WEBSERVER_URL"  # also --webserver-url's
BASE_ENV = "KUBECTL_DAGSTER_BASE"
PYPROJECT_TABLE = "kubectl-dagster"  # [tool.kubectl-dagster] in pyproject.toml: project = "etl"
# PROJECT_SEPARATOR (above): etl--feat-x, the project prefix, then the branch (dagster-uc's separator)

# Branch context in every branch location's code server and its runs (render adds them to `env`).
BRANCH_ENV_MODES = ("default", "dagster-cloud", "off")  # the entry's `branchEnv`: ours, ours + Dagster+'s, none
IS_BRANCH_DEPLOYMENT_ENV = "KUBECTL_DAGSTER_IS_BRANCH_DEPLOYMENT"
BRANCH_ENV = "KUBECTL_DAGSTER_BRANCH"
COMMIT_ENV = "KUBECTL_DAGSTER_COMMIT"
PULL_REQUEST_ENV = "KUBECTL_DAGSTER_PULL_REQUEST"
REPOSITORY_URL_ENV = "KUBECTL_DAGSTER_REPOSITORY_URL"
LOCATION_ENV = "KUBECTL_DAGSTER_LOCATION"
# The names Dagster+ sets in branch deployments (docs.dagster.io, "Built-in environment variables").
CLOUD_IS_BRANCH_DEPLOYMENT_ENV = "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT"
CLOUD_DEPLOYMENT_NAME_ENV = "DAGSTER_CLOUD_DEPLOYMENT_NAME"
CLOUD_GIT_SHA_ENV = "DAGSTER_CLOUD_GIT_SHA"
CLOUD_GIT_BRANCH_ENV = "DAGSTER_CLOUD_GIT_BRANCH"
CLOUD_GIT_REPO_ENV = "DAGSTER_CLOUD_GIT_REPO"
CLOUD_PULL_REQUEST_ID_ENV = "DAGSTER_CLOUD_PULL_REQUEST_ID"
CLOUD_PULL_REQUEST_STATUS_ENV = "DAGSTER_CLOUD_PULL_REQUEST_STATUS"

# Branch locations never act on their own: core/chart/branchhold.py renders, shells/branchhook.py runs in the code
# server and spells the env names itself (tests/unit/test_branchhold.py checks they agree). The entry's `automation`.
AUTOMATION_MODES = ("on", "off")  # on: Dagster's own default status; off (branch locations' default): stopped
AUTOMATION_ENV = "KUBECTL_DAGSTER_AUTOMATION"  # the project config's `automation` (deploy)
AUTOMATION_DEFAULT_ENV = "KUBECTL_DAGSTER_AUTOMATION_DEFAULT"  # in the code server: "stopped"
RUN_TAGS_ENV = "KUBECTL_DAGSTER_RUN_TAGS"  # in the code server: JSON tags for every run it creates
BRANCH_TAG = "kubectl-dagster.io/branch"  # the run tag of branch locations' runs (tag_concurrency_limits)
BRANCH_HOOK_SUFFIX = "-branch-hook"  # <fullname>-<location>-branch-hook: the ConfigMap holding the script
BRANCH_HOOK_FILE = "sitecustomize.py"
BRANCH_HOOK_DIR = "/opt/kubectl-dagster/branch-hook"  # mounted there, first on PYTHONPATH
BRANCH_HOOK_VOLUME = "kubectl-dagster-branch-hook"
BRANCH_HOOK_ANNOTATION = "kubectl-dagster.io/branch-hook"  # on the pod template: the script's hash (rolls on change)
# `automation on --for`: a Job per location stops what it started at a deadline (shells/instigators.py: its script).
EXPIRY_LABEL = "kubectl-dagster.io/automation-expiry"  # its value: the location
EXPIRY_UNTIL_ANNOTATION = "kubectl-dagster.io/automation-until"
EXPIRY_STOP_ANNOTATION = "kubectl-dagster.io/automation-stop"
EXPIRY_ENV_UNTIL = "KUBECTL_DAGSTER_AUTOMATION_UNTIL"
EXPIRY_ENV_STOP = "KUBECTL_DAGSTER_AUTOMATION_STOP"

# Lifecycle and pull-request feedback.
SUSPENDED_ANNOTATION = "kubectl-dagster.io/suspended"
EXPIRING_WITHIN_SECONDS = 86400  # list-locations flags locations that expire sooner than this
STATUS_COMMENT_MARKER = "<!-- kubectl-dagster:status -->"  # finds the sticky pull-request comment again
UI_LOCATION_PATH = "/locations/__repository__@{name}"  # the Dagster UI's page of a Definitions code location
