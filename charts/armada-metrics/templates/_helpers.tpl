{{/* Labels of every object of the release; selectors use app.kubernetes.io/name and instance alone. */}}
{{- define "armada-metrics.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "armada-metrics.labels" -}}
{{ include "armada-metrics.selector" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/part-of: armada
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
