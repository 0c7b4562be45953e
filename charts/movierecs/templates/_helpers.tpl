{{/*
Naming. Kubernetes names are DNS labels: at most 63 characters.
Components (api, consumer, ui, operator, mlflow) get distinct *names* ("<chart>-<component>") so
that selectors stay app.kubernetes.io/name + app.kubernetes.io/instance only (STYLE rule 15)
while still selecting one component each.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "movierecs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified release prefix: "<release>-<name>", or "<release>" when it already contains the name. */}}
{{- define "movierecs.fullname" -}}
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

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "movierecs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* app.kubernetes.io/name of a component: (dict "root" $ "component" "api") -> "movierecs-api". */}}
{{- define "movierecs.componentName" -}}
{{- printf "%s-%s" (include "movierecs.name" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Resource name of a component: (dict "root" $ "component" "api") -> "<fullname>-api". The prefix is
shortened, never the component, so names stay distinct; optional "max" (default 63) leaves room
for names an operator derives from it.
*/}}
{{- define "movierecs.componentFullname" -}}
{{- $max := int (default 63 .max) -}}
{{- $prefix := include "movierecs.fullname" .root | trunc (int (sub $max (add1 (len .component)))) | trimSuffix "-" -}}
{{- printf "%s-%s" $prefix .component -}}
{{- end -}}

{{/* Selector labels: name + instance only. (dict "root" $ "component" "api") */}}
{{- define "movierecs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "movierecs.componentName" . }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Full label set (never used in selectors). (dict "root" $ "component" "api") */}}
{{- define "movierecs.labels" -}}
helm.sh/chart: {{ include "movierecs.chart" .root }}
{{ include "movierecs.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: {{ include "movierecs.name" .root }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* Image reference of the one movierecs image. */}}
{{- define "movierecs.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Shared ServiceAccount of the application pods. */}}
{{- define "movierecs.serviceAccountName" -}}
{{- default (include "movierecs.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "movierecs.operatorServiceAccountName" -}}
{{- include "movierecs.componentFullname" (dict "root" . "component" "operator") -}}
{{- end -}}

{{/* ---------- endpoints of the platform services ---------- */}}

{{- define "movierecs.kafkaName" -}}
{{- include "movierecs.componentFullname" (dict "root" . "component" "kafka" "max" 40) -}}
{{- end -}}

{{- define "movierecs.clickhouseName" -}}
{{- include "movierecs.componentFullname" (dict "root" . "component" "ch" "max" 40) -}}
{{- end -}}

{{- define "movierecs.postgresqlName" -}}
{{- include "movierecs.componentFullname" (dict "root" . "component" "pg" "max" 40) -}}
{{- end -}}

{{- define "movierecs.eventBusUrl" -}}
{{- if .Values.kafka.enabled -}}
kafka://{{ include "movierecs.kafkaName" . }}-kafka-bootstrap:9092
{{- else -}}
{{- required "kafka.enabled=false needs external.eventBusUrl (kafka://host:9092)" .Values.external.eventBusUrl -}}
{{- end -}}
{{- end -}}

{{/* ClickHouse URL without the password: the processes read CLICKHOUSE_PASSWORD themselves (Settings). */}}
{{- define "movierecs.interactionsUrl" -}}
{{- if .Values.clickhouse.enabled -}}
clickhouse://{{ .Values.clickhouse.user }}@clickhouse-{{ include "movierecs.clickhouseName" . }}:9000/{{ .Values.clickhouse.database }}
{{- else -}}
{{- required "clickhouse.enabled=false needs external.interactionsUrl (clickhouse://host:9000/db)" .Values.external.interactionsUrl -}}
{{- end -}}
{{- end -}}

{{- define "movierecs.catalogUrl" -}}
{{- if .Values.postgresql.enabled -}}
postgresql://{{ .Values.postgresql.owner }}@{{ include "movierecs.postgresqlName" . }}-rw:5432/{{ .Values.postgresql.database }}
{{- else -}}
{{- required "postgresql.enabled=false needs external.catalogUrl (postgresql://user@host:5432/db)" .Values.external.catalogUrl -}}
{{- end -}}
{{- end -}}

{{- define "movierecs.mlflowUrl" -}}
{{- if .Values.mlflow.enabled -}}
http://{{ include "movierecs.componentFullname" (dict "root" . "component" "mlflow") }}:{{ .Values.mlflow.port }}
{{- else -}}
{{- required "mlflow.enabled=false needs external.mlflowTrackingUri (http://host:5000)" .Values.external.mlflowTrackingUri -}}
{{- end -}}
{{- end -}}

{{/* ---------- secrets (names and keys; values never pass through values.yaml) ---------- */}}

{{- define "movierecs.adminTokenSecret" -}}
{{- default (include "movierecs.componentFullname" (dict "root" . "component" "admin-token")) .Values.adminToken.existingSecret -}}
{{- end -}}

{{- define "movierecs.clickhouseSecret" -}}
{{- default (include "movierecs.componentFullname" (dict "root" . "component" "clickhouse")) .Values.clickhouse.password.existingSecret -}}
{{- end -}}

{{/* Secret with the PostgreSQL owner password: an existing basic-auth Secret or CloudNativePG's "<cluster>-app". */}}
{{- define "movierecs.postgresqlSecret" -}}
{{- default (printf "%s-app" (include "movierecs.postgresqlName" .)) .Values.postgresql.existingSecret -}}
{{- end -}}

{{/* Secret with the API's keys file (hashes only), mounted into the api pod. */}}
{{- define "movierecs.apiKeysSecret" -}}
{{- default (include "movierecs.componentFullname" (dict "root" . "component" "api-keys")) .Values.apiKeys.existingSecret -}}
{{- end -}}

{{/* Secret with the plain keys of the chart's own clients (admin, ui, helm-test); generated, or apiKeys.clientsSecretName. */}}
{{- define "movierecs.apiClientsSecret" -}}
{{- if .Values.apiKeys.existingSecret -}}
{{- .Values.apiKeys.clientsSecretName -}}
{{- else -}}
{{- include "movierecs.componentFullname" (dict "root" . "component" "api-clients") -}}
{{- end -}}
{{- end -}}

{{/* Secret with MLflow's admin credentials (basic-auth app) and its Flask secret key. */}}
{{- define "movierecs.mlflowAuthSecret" -}}
{{- default (include "movierecs.componentFullname" (dict "root" . "component" "mlflow-auth")) .Values.mlflow.auth.existingSecret -}}
{{- end -}}

{{/* MLflow client credentials (api, operator): MLFLOW_TRACKING_USERNAME/PASSWORD from the auth Secret. */}}
{{- define "movierecs.mlflowClientEnv" -}}
- name: MLFLOW_TRACKING_URI
  value: {{ include "movierecs.mlflowUrl" . | quote }}
- name: MLFLOW_REGISTRY_URI
  value: {{ include "movierecs.mlflowUrl" . | quote }}
{{- if and .Values.mlflow.enabled .Values.mlflow.auth.enabled }}
- name: MLFLOW_TRACKING_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "movierecs.mlflowAuthSecret" . }}
      key: {{ .Values.mlflow.auth.usernameKey }}
- name: MLFLOW_TRACKING_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "movierecs.mlflowAuthSecret" . }}
      key: {{ .Values.mlflow.auth.passwordKey }}
{{- else if and (not .Values.mlflow.enabled) .Values.external.mlflowAuth.existingSecret }}
- name: MLFLOW_TRACKING_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.external.mlflowAuth.existingSecret }}
      key: {{ .Values.external.mlflowAuth.usernameKey }}
- name: MLFLOW_TRACKING_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.external.mlflowAuth.existingSecret }}
      key: {{ .Values.external.mlflowAuth.passwordKey }}
{{- end }}
{{- end -}}

{{/* basic-auth Secret of Airflow's metadata role (CloudNativePG managed role). */}}
{{- define "movierecs.airflowDbSecret" -}}
{{- include "movierecs.componentFullname" (dict "root" . "component" "airflow-db") -}}
{{- end -}}

{{/*
A random credential that survives upgrades: reuse the value already in the cluster (lookup; empty
under `helm template`), otherwise generate one. (dict "root" $ "name" "<secret>" "key" "<key>")
*/}}
{{- define "movierecs.stableRandom" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}

{{/* ---------- pod building blocks ---------- */}}

{{/* Environment of the api and consumer containers (DESIGN.md §3 Settings): the event bus and the
interaction store (CLICKHOUSE_PASSWORD), which both use. Each other credential is added only where
it is used: movierecs.apiEnv (catalog, registry, admin token, keys file) for the api. */}}
{{- define "movierecs.env" -}}
- name: OPENBLAS_NUM_THREADS
  value: "1"
- name: HOME
  value: /tmp/movierecs
- name: MOVIERECS_HOME
  value: /tmp/movierecs
- name: MOVIERECS_DATA_DIR
  value: /tmp/movierecs/data
- name: MPLCONFIGDIR
  value: /tmp/movierecs/matplotlib
- name: MOVIERECS_LOG_JSON
  value: "true"
- name: MOVIERECS_MODEL_NAME
  value: {{ .Values.model.name | quote }}
- name: MOVIERECS_MODEL_ALIAS
  value: {{ .Values.model.alias | quote }}
- name: MOVIERECS_EVENT_BUS_URL
  value: {{ include "movierecs.eventBusUrl" . | quote }}
{{- if .Values.kafka.enabled }}
- name: MOVIERECS_KAFKA_PARTITIONS
  value: {{ .Values.kafka.topics.interactions.partitions | quote }}
{{- end }}
{{- if .Values.clickhouse.enabled }}
- name: CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "movierecs.clickhouseSecret" . }}
      key: {{ .Values.clickhouse.password.key }}
{{- else if .Values.external.interactionsPassword.existingSecret }}
- name: CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.external.interactionsPassword.existingSecret }}
      key: {{ .Values.external.interactionsPassword.key }}
{{- end }}
- name: MOVIERECS_INTERACTIONS_URL
  value: {{ include "movierecs.interactionsUrl" . | quote }}
{{- end -}}

{{/* The api's own settings and credentials: catalog (PGPASSWORD), registry (MLflow credentials),
admin token and API keys file. */}}
{{- define "movierecs.apiEnv" -}}
- name: MOVIERECS_CATALOG_URL
  value: {{ include "movierecs.catalogUrl" . | quote }}
{{- if .Values.postgresql.enabled }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "movierecs.postgresqlSecret" . }}
      key: password
{{- else if .Values.external.catalogPassword.existingSecret }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.external.catalogPassword.existingSecret }}
      key: {{ .Values.external.catalogPassword.key }}
{{- end }}
{{ include "movierecs.mlflowClientEnv" . }}
- name: MOVIERECS_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "movierecs.adminTokenSecret" . }}
      key: {{ .Values.adminToken.key }}
{{- if .Values.apiKeys.enabled }}
- name: MOVIERECS_API_KEYS_FILE
  value: /etc/movierecs/api-keys/keys
{{- end }}
{{- end -}}

{{/* Pod-level fields every movierecs pod shares. (dict "root" $ "values" .Values.api "component" "api") */}}
{{- define "movierecs.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $preset := default "none" .values.podAntiAffinityPreset }}
{{- if eq $preset "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "movierecs.selectorLabels" . | nindent 14 }}
{{- else if eq $preset "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "movierecs.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end -}}

{{/* /tmp emptyDir: HOME, MOVIERECS_HOME and MPLCONFIGDIR live under it (read-only root FS). */}}
{{- define "movierecs.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end -}}

{{- define "movierecs.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* httpGet probe from a probe value block. (dict "probe" .Values.api.livenessProbe "port" "http") */}}
{{- define "movierecs.httpProbe" -}}
httpGet:
  path: {{ .probe.path }}
  port: {{ .port }}
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end -}}

{{/* Extra env entries (name/value). */}}
{{- define "movierecs.extraEnv" -}}
{{- range . }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- end }}
{{- end -}}
