{{/* Names, labels and the checks that fail a render with a clear message. */}}

{{- define "kitaru.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kitaru.fullname" -}}
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

{{- define "kitaru.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kitaru.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kitaru.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kitaru.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "kitaru.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kitaru.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name an existing ServiceAccount when serviceAccount.create=false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kitaru.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The runtime namespaces: the release namespace unless listed. */}}
{{- define "kitaru.runtimeNamespaces" -}}
{{- $namespaces := .Values.runtime.namespaces | default (list .Release.Namespace) -}}
{{- toJson (uniq $namespaces) -}}
{{- end -}}

{{- define "kitaru.postgresql" -}}
{{- if eq .Values.database.type "postgresql" -}}true{{- end -}}
{{- end -}}

{{/* Refuse configurations that cannot work, naming the value to change. */}}
{{- define "kitaru.validate" -}}
{{- $pg := eq .Values.database.type "postgresql" -}}
{{- if and (not $pg) (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "replicaCount=%d needs PostgreSQL: SQLite keeps the database on one ReadWriteOnce volume with a single writer. Set database.type=postgresql and secrets.existingSecret to a Secret holding the URL under key %q, or set replicaCount=1." (int .Values.replicaCount) .Values.secrets.keys.databaseUrl) -}}
{{- end -}}
{{- if and (not $pg) .Values.autoscaling.enabled -}}
{{- fail "autoscaling.enabled=true needs PostgreSQL: SQLite allows a single server. Set database.type=postgresql and secrets.existingSecret, or disable autoscaling." -}}
{{- end -}}
{{- if and $pg (not .Values.secrets.existingSecret) -}}
{{- fail (printf "database.type=postgresql reads the database URL from an existing Secret: create one (kubectl create secret generic kitaru-server --from-literal=%s='postgresql+psycopg://USER:PASSWORD@HOST:5432/DB') and set secrets.existingSecret=kitaru-server." (default "database-url" .Values.secrets.keys.databaseUrl)) -}}
{{- end -}}
{{- if and $pg (not .Values.secrets.keys.databaseUrl) -}}
{{- fail "database.type=postgresql needs secrets.keys.databaseUrl: the key of the database URL in secrets.existingSecret." -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas." -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the server and the migration Job: the database and keys from the Secret. */}}
{{- define "kitaru.secretEnv" -}}
{{- $secret := .Values.secrets.existingSecret -}}
{{- $keys := .Values.secrets.keys -}}
{{- if eq .Values.database.type "postgresql" }}
- name: KITARU_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ $secret | quote }}, key: {{ $keys.databaseUrl | quote }}}
{{- else }}
- name: KITARU_DATABASE_URL
  value: "sqlite:////var/lib/kitaru/server.db"
{{- end }}
{{- if $secret }}
{{- if $keys.signingKey }}
- name: KITARU_SERVER_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: {{ $secret | quote }}, key: {{ $keys.signingKey | quote }}}
{{- end }}
{{- if $keys.previousSigningKeys }}
- name: KITARU_SERVER_PREVIOUS_SECRET_KEYS
  valueFrom:
    secretKeyRef: {name: {{ $secret | quote }}, key: {{ $keys.previousSigningKeys | quote }}, optional: true}
{{- end }}
{{- if $keys.encryptionKey }}
- name: KITARU_SERVER_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef: {name: {{ $secret | quote }}, key: {{ $keys.encryptionKey | quote }}}
{{- end }}
{{- end }}
{{- end -}}

{{/* The container security context every Kitaru container gets (not configurable on purpose). */}}
{{- define "kitaru.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kitaru.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}
