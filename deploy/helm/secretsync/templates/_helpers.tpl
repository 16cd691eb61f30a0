{{/*
fullname: the release name, with the chart's name added when the release
name does not already hold it; "secretsync" in a release named secretsync.
*/}}
{{- define "secretsync.fullname" -}}
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

{{/*
controllerName names the controller's objects: secretsync-controller in a
release named secretsync, as config/ names them.
*/}}
{{- define "secretsync.controllerName" -}}
{{- printf "%s-controller" (include "secretsync.fullname" . | trunc 52 | trimSuffix "-") -}}
{{- end -}}

{{- define "secretsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "secretsync.controllerName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "secretsync.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "secretsync.labels" -}}
{{ include "secretsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
image: the tag defaults to the chart's appVersion, so an upgrade of the
chart is an upgrade of the controller, and nothing runs "latest".
*/}}
{{- define "secretsync.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "secretsync.leaseNamespace" -}}
{{- default .Release.Namespace .Values.controller.leaderElection.namespace -}}
{{- end -}}

{{/*
rules prints the rules of the object of the given kind in one of the files
hack/generate.sh copies from config/rbac, so the chart grants exactly what
`kubectl apply -k config/default` does. Only the rules are taken: names,
namespaces and subjects come from this release.
*/}}
{{- define "secretsync.rules" -}}
{{- $file := index . 0 -}}
{{- $kind := index . 1 -}}
{{- $ctx := index . 2 -}}
{{- $found := false -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" ($ctx.Files.Get $file) -1 -}}
{{- $obj := fromYaml $doc -}}
{{- if and (not $found) (eq ($obj.kind | default "") $kind) -}}
{{- $found = true -}}
{{- toYaml $obj.rules -}}
{{- end -}}
{{- end -}}
{{- if not $found -}}
{{- fail (printf "no %s in %s" $kind $file) -}}
{{- end -}}
{{- end -}}

{{/*
args: one flag of `controller run` per value under controller, in the
order of its --help. Strings are left out when empty, which is each such
flag's default.
*/}}
{{- define "secretsync.args" -}}
{{- $c := .Values.controller -}}
- run
{{- if .Values.namespaceScoped }}
- {{ printf "--namespace=%s" .Release.Namespace | quote }}
{{- end }}
{{- with $c.controllerClass }}
- {{ printf "--controller-class=%s" . | quote }}
{{- end }}
- {{ printf "--workers=%d" (int64 $c.workers) | quote }}
- {{ printf "--first-sync-workers=%d" (int64 $c.firstSyncWorkers) | quote }}
- {{ printf "--status-workers=%d" (int64 $c.statusWorkers) | quote }}
- {{ printf "--metrics-addr=:%d" (int64 .Values.metrics.port) | quote }}
- {{ printf "--profiling=%t" $c.profiling | quote }}
- {{ printf "--leader-elect=%t" $c.leaderElection.enabled | quote }}
- {{ printf "--leader-election-namespace=%s" (include "secretsync.leaseNamespace" .) | quote }}
- {{ printf "--leader-election-id=%s" (default (include "secretsync.controllerName" .) $c.leaderElection.id) | quote }}
- {{ printf "--kube-api-qps=%v" $c.kubeAPIQPS | quote }}
- {{ printf "--kube-api-burst=%d" (int64 $c.kubeAPIBurst) | quote }}
- {{ printf "--deny-unconditioned-cluster-stores=%t" $c.denyUnconditionedClusterStores | quote }}
- {{ printf "--rollout=%t" $c.rollout.enabled | quote }}
- {{ printf "--rollout-coalesce=%v" $c.rollout.coalesce | quote }}
{{- with $c.memoryLimit }}
- {{ printf "--memory-limit=%s" . | quote }}
{{- end }}
- {{ printf "--unsafe-allow-generic-targets=%t" $c.unsafeAllowGenericTargets | quote }}
- {{ printf "--generator-renew-fraction=%v" $c.generatorRenewFraction | quote }}
- {{ printf "--generator-revoke-grace=%v" $c.generatorRevokeGrace | quote }}
{{- with $c.auditLog }}
- {{ printf "--audit-log=%s" . | quote }}
{{- end }}
{{- if $c.refresh.port }}
- {{ printf "--refresh-addr=:%d" (int64 $c.refresh.port) | quote }}
{{- end }}
{{- with $c.refresh.tokenFile }}
- {{ printf "--refresh-token-file=%s" . | quote }}
{{- end }}
{{- with $c.refresh.hmacKeyFile }}
- {{ printf "--refresh-hmac-key-file=%s" . | quote }}
{{- end }}
- {{ printf "--refresh-rate=%v" $c.refresh.rate | quote }}
{{- with $c.sharding.by }}
- {{ printf "--shard-by=%s" . | quote }}
{{- end }}
{{- with $c.sharding.identity }}
- {{ printf "--shard-identity=%s" . | quote }}
{{- end }}
- {{ printf "--shard-lease-duration=%v" $c.sharding.leaseDuration | quote }}
- {{ printf "--v=%d" (int64 $c.verbosity) | quote }}
{{- range $c.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}
