#!/bin/sh
# Helm removes its own global flags (-n, --kube-context) and passes them as HELM_NAMESPACE and
# HELM_KUBECONTEXT; hand the namespace back to kubectl-dagster (it reads KUBECTL_DAGSTER_NAMESPACE).
if [ -n "${HELM_NAMESPACE:-}" ]; then
  KUBECTL_DAGSTER_NAMESPACE="$HELM_NAMESPACE"
  export KUBECTL_DAGSTER_NAMESPACE
fi
exec kubectl-dagster "$@"
