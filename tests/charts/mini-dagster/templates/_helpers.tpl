{{- define "mini.userLabels" -}}
helm.sh/chart: dagster-user-deployments-{{ .Chart.Version }}
app.kubernetes.io/name: dagster-user-deployments
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
