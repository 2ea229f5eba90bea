"""Every label key, annotation key, env var name and default the product uses, in one place."""

API_VERSION = "kubectl-dagster/v1alpha1"
KIND = "CodeLocations"

# Annotations and labels we write.
HELM4_FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"
LOCATION_LABEL = "kubectl-dagster.io/location"  # label on every object we create: its location name
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
LOCATIONS_ENV = "KUBECTL_DAGSTER_LOCATIONS"
NAMESPACE_ENV = "KUBECTL_DAGSTER_NAMESPACE"
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
DEFAULT_DAGSTER_HOME = "/opt/dagster/dagster_home"
DEFAULT_CELERY_SECRET = "dagster-celery-config-secret"
GRPC_CONTEXT_ENV = "DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT"
CODE_SERVER_CONTEXT_ENV = "DAGSTER_CONTAINER_CONTEXT"
FIRST_PORT = 3030
PULL_POLICIES = ("Always", "IfNotPresent", "Never")

# Where created documents claim to come from (Helm 4 splits its output by this path).
SOURCE_TEMPLATE = "{chart}/templates/kubectl-dagster/{location}.yaml"

ROLLOUTS = ("reload", "restart", "none")
DEFAULT_ROLLOUT = "reload"
ON_CONFLICT = ("error", "replace")
MODES = ("auto", "full", "workspace", "objects")

# Helm 4 throws a post-renderer's stderr away: when we run as its plugin we also write the error here.
HELM_PLUGIN_ENV = "HELM_PLUGIN_NAME"
ERROR_FILE_ENV = "KUBECTL_DAGSTER_ERROR_FILE"

# Change tracking of branch locations against their base (``kubectl dagster diff``).
PROJECT_SEPARATOR = "--"  # ``project--branch``: the base of etl--feat-x is etl, when such a location exists
GITHUB_COMMENT_LIMIT = 65536  # characters in one GitHub issue or pull-request comment
SNAPSHOT_MAX_ASSETS = 2000  # assets in a recorded base snapshot (``add-location --base-snapshot``)
SNAPSHOT_MAX_BYTES = 256 * 1024  # its encoded size: the cluster registry keeps an entry in a 1 MiB ConfigMap
