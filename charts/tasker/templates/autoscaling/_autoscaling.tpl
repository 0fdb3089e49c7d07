{{/*
The RabbitMQ vhost, from one place: the path of `credentials.rabbitmqUrl` when the chart has it,
`/` for the operator-managed cluster, else `autoscaling.keda.vhost` (needed only with an
existingSecret on another vhost). A `autoscaling.keda.vhost` that contradicts the URL is refused.
*/}}
{{- define "tasker.vhost" -}}
{{- $set := .Values.autoscaling.keda.vhost }}
{{- $fromUrl := "" }}
{{- if .Values.rabbitmqCluster.enabled }}
{{- $fromUrl = "/" }}
{{- else if and .Values.credentials.rabbitmqUrl (not .Values.credentials.existingSecret) }}
{{- $fromUrl = (urlParse .Values.credentials.rabbitmqUrl).path | trimPrefix "/" | replace "%2F" "/" | replace "%2f" "/" | default "/" }}
{{- end }}
{{- if and $set $fromUrl (ne $set $fromUrl) }}
{{- fail (printf "autoscaling.keda.vhost (%q) differs from the vhost of the RabbitMQ URL (%q): the vhost comes from the URL; remove autoscaling.keda.vhost" $set $fromUrl) }}
{{- end }}
{{- coalesce $fromUrl $set "/" }}
{{- end }}

{{/*
Refuses two enabled worker groups on one queue: both would scale on the same depth and the same
work, so together they would run up to twice the replicas the work needs.
*/}}
{{- define "tasker.refuseSharedQueues" -}}
{{- $owner := dict }}
{{- range $name, $group := .Values.workerGroups }}
{{- $g := include "tasker.workerGroup" (dict "root" $ "name" $name "group" $group) | fromYaml }}
{{- if $g.enabled }}
{{- range $g.queueNames }}
{{- if hasKey $owner . }}
{{- fail (printf "workerGroups.%s and workerGroups.%s both consume queue %s: each would scale on the whole queue; give each queue to one group (or disable one)" (get $owner .) $name .) }}
{{- end }}
{{- $_ := set $owner . $name }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The scaling-work query of a group (due pending + running tasks of its types); the same text as
services/core/tasks/scaling-work.ts `scalingWorkQuery` (the render test compares them).
*/}}
{{- define "tasker.scalingWorkQuery" -}}
{{- $types := .taskTypes | default .queues }}
{{- $quoted := list }}
{{- range $types }}{{ $quoted = append $quoted (printf "'%s'" .) }}{{ end }}
{{- printf "SELECT count(*) FROM tasks WHERE type IN (%s) AND (status = 'processing' OR (status = 'pending' AND run_after <= now()))" (join ", " $quoted) }}
{{- end }}

{{/* Work per replica: `targetWorkPerReplica`, or the group's concurrency. */}}
{{- define "tasker.targetWork" -}}
{{- .autoscaling.targetWorkPerReplica | default .concurrency }}
{{- end }}

{{/*
Scale-down behaviour (autoscaling/v2 `behavior`, also KEDA's advanced.horizontalPodAutoscalerConfig):
wait out the stabilisation window, then remove at most N pods a minute; scale up at once.
*/}}
{{- define "tasker.scalingBehavior" -}}
scaleDown:
  stabilizationWindowSeconds: {{ .autoscaling.scaleDownStabilizationSeconds }}
  policies:
    - type: Pods
      value: {{ .autoscaling.scaleDownPodsPerMinute }}
      periodSeconds: 60
scaleUp:
  stabilizationWindowSeconds: 0
  policies:
    - type: Percent
      value: 100
      periodSeconds: 15
    - type: Pods
      value: 4
      periodSeconds: 15
  selectPolicy: Max
{{- end }}
