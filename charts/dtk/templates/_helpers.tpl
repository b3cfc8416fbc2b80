{{/* Chart name, or nameOverride. */}}
{{- define "dtk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Prefix of every object name: `<release>-<chart>`, or just the release when it already contains the chart name,
kept within the 63-character limit of label values and DNS names.
*/}}
{{- define "dtk.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the operator pods; they never change after install (a selector is immutable). */}}
{{- define "dtk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dtk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels on every object of the release. part-of=dtk is also what the e2e tests' local kubelet selects. */}}
{{- define "dtk.commonLabels" -}}
app.kubernetes.io/name: {{ include "dtk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: dtk
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Labels of the operator's objects. */}}
{{- define "dtk.labels" -}}
{{ include "dtk.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The operator's ServiceAccount. */}}
{{- define "dtk.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dtk.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference: a digest pins the exact image and wins over the tag. */}}
{{- define "dtk.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Name of the leader-election Lease. */}}
{{- define "dtk.leaseName" -}}
{{- default (printf "%s-leader" (include "dtk.fullname" .)) .Values.operator.leaderElection.leaseName -}}
{{- end -}}
