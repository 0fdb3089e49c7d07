{{/* Names, labels and the pieces shared by the API, worker and migration pods, so they cannot drift. */}}

{{- define "tasker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tasker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every resource; call with (dict "root" $ "component" "api"). */}}
{{- define "tasker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "tasker.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tasker
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Immutable selector labels; worker groups add tasker.dev/worker-group. */}}
{{- define "tasker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tasker.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- with .group }}
tasker.dev/worker-group: {{ . }}
{{- end }}
{{- end }}

{{/*
The migration Job's ServiceAccount: a pre-install hook runs before the release's ServiceAccount
exists, so hook mode gets a hook-time one (templates/migrate/hook-serviceaccount.yaml).
*/}}
{{- define "tasker.migrateServiceAccountName" -}}
{{- if and .Values.migrations.hook .Values.serviceAccount.create }}
{{- include "tasker.fullname" . }}-migrate
{{- else }}
{{- include "tasker.serviceAccountName" . }}
{{- end }}
{{- end }}

{{- define "tasker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tasker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tasker.image" -}}
{{- $img := .Values.image }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{- define "tasker.secretName" -}}
{{- default (include "tasker.fullname" .) .Values.credentials.existingSecret }}
{{- end }}
{{- define "tasker.rabbitmqClusterName" -}}{{ include "tasker.fullname" . }}-rabbitmq{{- end }}
{{- define "tasker.postgresClusterName" -}}{{ include "tasker.fullname" . }}-pg{{- end }}

{{/*
Fails rendering, with a message that says what to set, when the app could not reach its database or
broker: there are no default credentials anywhere in the chart.
*/}}
{{- define "tasker.validate" -}}
{{- $c := .Values.credentials }}
{{- if not (or $c.existingSecret .Values.postgresCluster.enabled) }}
{{- $_ := required "credentials.databaseUrl is required: set it, or credentials.existingSecret, or postgresCluster.enabled=true" $c.databaseUrl }}
{{- end }}
{{- if not (or $c.existingSecret .Values.rabbitmqCluster.enabled) }}
{{- $_ := required "credentials.rabbitmqUrl is required: set it, or credentials.existingSecret, or rabbitmqCluster.enabled=true" $c.rabbitmqUrl }}
{{- if eq .Values.autoscaling.mode "keda" }}
{{- $_ := required "credentials.rabbitmqManagementUrl is required with autoscaling.mode=keda (the KEDA trigger reads queue depth over the management API): set it, or credentials.existingSecret, or rabbitmqCluster.enabled=true" $c.rabbitmqManagementUrl }}
{{- end }}
{{- end }}
{{- if and .Values.migrations.enabled .Values.migrations.hook .Values.postgresCluster.enabled }}
{{- fail "migrations.hook=true cannot be combined with postgresCluster.enabled=true: a pre-install hook runs before the chart's PostgreSQL Cluster exists. Set migrations.hook=false (the Job then runs alongside the pods, which stay not-ready until the schema is current)." }}
{{- end }}
{{- $np := .Values.networkPolicy }}
{{- if and $np.enabled (or .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled) (not $np.metricsFrom) }}
{{- fail "networkPolicy.metricsFrom is empty while metrics.serviceMonitor/podMonitor are on: the NetworkPolicies would block Prometheus from scraping /metrics, so no alert could fire. Set networkPolicy.metricsFrom to your Prometheus pods, e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]" }}
{{- end }}
{{- if and .Values.migrations.enabled (ge (int .Values.migrations.databaseWaitSeconds) (int .Values.migrations.activeDeadlineSeconds)) }}
{{- fail (printf "migrations.databaseWaitSeconds (%v) must be below migrations.activeDeadlineSeconds (%v): the Job would be killed while still waiting for the database" .Values.migrations.databaseWaitSeconds .Values.migrations.activeDeadlineSeconds) }}
{{- end }}
{{- if and .Values.otel.enabled (not .Values.otel.endpoint) }}
{{- fail "otel.endpoint is required when otel.enabled=true (e.g. http://jaeger-collector.observability:4318)" }}
{{- end }}
{{- end }}

{{/*
DATABASE_URL and RABBITMQ_URL as env entries. With the operators, the URLs come from their generated
Secrets; the AMQP URL is composed by Kubernetes' $(VAR) expansion from the default user's keys, because
the RabbitMQ operator's Secret has no ready-made amqp:// URL.
*/}}
{{- define "tasker.credentialsEnv" -}}
{{- $secret := include "tasker.secretName" . }}
{{- if .Values.postgresCluster.enabled }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ include "tasker.postgresClusterName" . }}-app, key: uri}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ $secret }}, key: {{ .Values.credentials.keys.databaseUrl }}}
{{- end }}
{{- if .Values.rabbitmqCluster.enabled }}
{{- $rmq := include "tasker.rabbitmqClusterName" . }}
- name: TASKER_RABBITMQ_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ $rmq }}-default-user, key: username}
- name: TASKER_RABBITMQ_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $rmq }}-default-user, key: password}
- name: RABBITMQ_URL
  value: {{ printf "amqp://$(TASKER_RABBITMQ_USERNAME):$(TASKER_RABBITMQ_PASSWORD)@%s.%s.svc:5672/" $rmq .Release.Namespace | quote }}
{{- else }}
- name: RABBITMQ_URL
  valueFrom:
    secretKeyRef: {name: {{ $secret }}, key: {{ .Values.credentials.keys.rabbitmqUrl }}}
{{- end }}
{{- end }}

{{/*
Optional secret settings of the API: the management URL (unacknowledged-messages gauge) and the JWT
secret. From an existingSecret they are `optional`, so a Secret without those keys still works.
*/}}
{{- define "tasker.apiSecretEnv" -}}
{{- $c := .Values.credentials }}
{{- $secret := include "tasker.secretName" . }}
{{- if .Values.rabbitmqCluster.enabled }}
- name: RABBITMQ_MANAGEMENT_URL
  value: {{ printf "http://$(TASKER_RABBITMQ_USERNAME):$(TASKER_RABBITMQ_PASSWORD)@%s.%s.svc:15672/" (include "tasker.rabbitmqClusterName" .) .Release.Namespace | quote }}
{{- else if or $c.existingSecret $c.rabbitmqManagementUrl }}
- name: RABBITMQ_MANAGEMENT_URL
  valueFrom:
    secretKeyRef: {name: {{ $secret }}, key: {{ $c.keys.rabbitmqManagementUrl }}, optional: {{ not $c.rabbitmqManagementUrl }}}
{{- end }}
{{- if or $c.existingSecret $c.authJwtSecret }}
- name: AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $secret }}, key: {{ $c.keys.authJwtSecret }}, optional: {{ not $c.authJwtSecret }}}
{{- end }}
{{- if or $c.existingSecret $c.webhookSecret }}
- name: WEBHOOK_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $secret }}, key: {{ $c.keys.webhookSecret }}, optional: {{ not $c.webhookSecret }}}
{{- end }}
{{- end }}

{{/*
The node arguments of an entry point, call with (dict "root" $ "script" "api"): the OpenTelemetry
bootstrap is --import-ed first. `devWatch` (Tilt) prepends --watch for the long-running API and
workers only: under --watch node never exits, so a migration Job would never complete.
*/}}
{{- define "tasker.nodeArgs" -}}
{{- $args := list "--import" "/app/dist/services/core/telemetry/bootstrap.js" (printf "/app/dist/services/%s/main.js" .script) }}
{{- if and .root.Values.devWatch (ne .script "migrate") }}{{ $args = prepend $args "--watch" }}{{ end }}
{{- toJson $args }}
{{- end }}

{{/* OTEL_* variables for one component; call with (dict "root" $ "service" "tasker-api"). */}}
{{- define "tasker.otelEnv" -}}
{{- $o := .root.Values.otel }}
{{- if $o.enabled }}
- name: OTEL_SERVICE_NAME
  value: {{ .service }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $o.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $o.protocol | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=%s,service.version=%s" .root.Release.Namespace .root.Chart.AppVersion | quote }}
{{- range $k, $v := $o.extraEnv }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The hardened container securityContext (values: containerSecurityContext). */}}
{{- define "tasker.containerSecurityContext" -}}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end }}

{{/* Pod-level fields every Tasker pod shares; call with (dict "root" $ "serviceAccount" name). */}}
{{- define "tasker.podCommon" -}}
serviceAccountName: {{ .serviceAccount }}
automountServiceAccountToken: {{ .root.Values.serviceAccount.automountServiceAccountToken }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The read-only root filesystem leaves /tmp as the only writable path. */}}
{{- define "tasker.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
{{- define "tasker.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Probes on a named container port; call with (dict "root" $ "port" "http"). */}}
{{- define "tasker.probes" -}}
{{- $p := .root.Values.probes }}
startupProbe:
  httpGet: {path: /health, port: {{ .port }}}
  periodSeconds: {{ $p.startup.periodSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet: {path: /health, port: {{ .port }}}
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet: {path: /ready, port: {{ .port }}}
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end }}

{{/*
Topology spread: the component's own `topologySpreadConstraints` when set, else one constraint on
its selector labels from `topologySpread`; call like tasker.selectorLabels plus "constraints".
*/}}
{{- define "tasker.topologySpread" -}}
{{- $t := .root.Values.topologySpread }}
{{- if .constraints }}
topologySpreadConstraints:
  {{- toYaml .constraints | nindent 2 }}
{{- else if $t.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ $t.maxSkew }}
    topologyKey: {{ $t.topologyKey }}
    whenUnsatisfiable: {{ $t.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "tasker.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end }}

{{/*
Terminating pods get preStop sleep + drain budget + 5 s of margin, so Kubernetes never SIGKILLs a
drain that is still within DRAIN_TIMEOUT_MS (DESIGN.md "Timeouts everywhere").
*/}}
{{- define "tasker.gracePeriod" -}}
{{- add .preStopSleepSeconds .drainTimeoutSeconds 5 }}
{{- end }}

{{/*
A worker group's settings: the `worker` defaults overlaid with the group's own keys, as YAML.
Call with (dict "root" $ "name" $name "group" $group); read back with fromYaml.
*/}}
{{- define "tasker.workerGroup" -}}
{{- $merged := mergeOverwrite (deepCopy .root.Values.worker) (deepCopy .group) }}
{{- $_ := set $merged "name" .name }}
{{- $_ := set $merged "fullname" (printf "%s-worker-%s" (include "tasker.fullname" .root) .name | trunc 63 | trimSuffix "-") }}
{{- if not (hasKey $merged "enabled") }}{{ $_ := set $merged "enabled" true }}{{ end }}
{{- if not (hasKey $merged "taskTypes") }}{{ $_ := set $merged "taskTypes" (list) }}{{ end }}
{{- /* Only types the image registers (files/task-types.yaml) or the operator's extensions declare. */}}
{{- $queueOf := dict }}
{{- range concat (.root.Files.Get "files/task-types.yaml" | fromYamlArray) .root.Values.extensionTaskTypes }}
{{- $_ := set $queueOf .name .queue }}
{{- end }}
{{- range $merged.taskTypes }}
{{- if not (hasKey $queueOf .) }}
{{- fail (printf "workerGroups.%s.taskTypes: unknown task type %q; the image registers %s (types of EXTENSIONS modules go in extensionTaskTypes)" $.name . (join ", " (keys $queueOf | sortAlpha))) }}
{{- end }}
{{- end }}
{{- if not $merged.queues }}
{{- if not $merged.taskTypes }}
{{- fail (printf "workerGroups.%s: set taskTypes, or queues when the group runs every type (the autoscaler must know which queues to watch)" .name) }}
{{- end }}
{{- /* The autoscaler watches the queue groups of the group's types. */}}
{{- $qs := list }}
{{- range $merged.taskTypes }}{{ $qs = append $qs (get $queueOf .) }}{{ end }}
{{- $_ := set $merged "queues" (uniq $qs) }}
{{- end }}
{{- range $merged.queues }}
{{- if not (has . (values $queueOf)) }}
{{- fail (printf "workerGroups.%s.queues: unknown queue group %q; the registered task types use %s" $.name . (join ", " (values $queueOf | uniq | sortAlpha))) }}
{{- end }}
{{- end }}
{{- $prefix := default "tasker" .root.Values.config.AMQP_PREFIX }}
{{- $names := list }}
{{- range $merged.queues }}{{ $names = append $names (printf "%s.q.%s" $prefix .) }}{{ end }}
{{- $_ := set $merged "queueNames" $names }}
{{- toYaml $merged }}
{{- end }}

{{/*
Operator knobs shared by the API, worker and migration pods, so the three cannot drift. Each takes
(dict "root" $ "v" <component values>): extraEnv / extraEnvFrom / extraVolumeMounts are list items
appended to the container's own; extraVolumes to the pod's; initContainers get the hardened
containerSecurityContext unless they bring their own.
*/}}
{{- define "tasker.extraEnv" -}}
{{- with .v.extraEnv }}{{ toYaml . }}{{ end }}
{{- end }}
{{- define "tasker.extraEnvFrom" -}}
{{- with .v.extraEnvFrom }}{{ toYaml . }}{{ end }}
{{- end }}
{{- define "tasker.extraVolumeMounts" -}}
{{- with .v.extraVolumeMounts }}{{ toYaml . }}{{ end }}
{{- end }}
{{- define "tasker.extraVolumes" -}}
{{- with .v.extraVolumes }}{{ toYaml . }}{{ end }}
{{- end }}
{{- define "tasker.podScheduling" -}}
{{- $root := .root }}
{{- with .v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .v.initContainers }}
initContainers:
{{- range . }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "securityContext") }}{{ $_ := set $c "securityContext" (deepCopy $root.Values.containerSecurityContext) }}{{ end }}
  - {{ toYaml $c | nindent 4 | trim }}
{{- end }}
{{- end }}
{{- end }}

{{/* Roll the pods when the chart's settings or credentials change (env is read at container start only). */}}
{{- define "tasker.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
