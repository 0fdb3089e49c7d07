{{/*
A worker group's drain budget in seconds (DRAIN_TIMEOUT_MS): long enough for the longest attempt the
group may be running when it is told to stop, so a scale-down never cuts a task. `drainTimeoutSeconds`
0 (the default) derives it from `maxTaskSeconds` plus a margin for the outcome write; an explicit
value shorter than `maxTaskSeconds` is refused. Call with the group (from tasker.workerGroup).
*/}}
{{- define "tasker.workerDrainSeconds" -}}
{{- $max := int .maxTaskSeconds }}
{{- $drain := int .drainTimeoutSeconds }}
{{- if eq $drain 0 }}
{{- $drain = add $max 5 }}
{{- else if lt $drain $max }}
{{- fail (printf "workerGroups.%s: drainTimeoutSeconds (%d) is shorter than maxTaskSeconds (%d): a scale-down would cut the group's longest tasks; raise it or set 0 to derive it" .name $drain $max) }}
{{- end }}
{{- $drain }}
{{- end }}

{{/*
The pod's grace period: preStop + drain + 5 s for releasing what is left and closing the broker
and database. After it the kubelet sends SIGKILL; an attempt still running then comes back through
its lease (the reaper) and runs again elsewhere, so it is never lost, but it is counted.
*/}}
{{- define "tasker.workerGraceSeconds" -}}
{{- add (int .preStopSleepSeconds) (include "tasker.workerDrainSeconds" . | int) 5 }}
{{- end }}
