{{- define "neuronode.name" -}}{{ .Release.Name }}{{- end -}}

{{- define "neuronode.labels" -}}
app.kubernetes.io/name: neuronode
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "neuronode.selector" -}}
app.kubernetes.io/name: neuronode
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Non-root, read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "neuronode.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}
{{- define "neuronode.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "neuronode.image" -}}{{ printf "%s:%s" .repository .tag }}{{- end -}}

{{- define "neuronode.secret" -}}
valueFrom:
  secretKeyRef:
    name: {{ .name }}
    key: {{ .key }}
    {{- if .optional }}
    optional: true
    {{- end }}
{{- end -}}

{{/* The application's environment (API and workers): addresses from values, secrets from the Secret. */}}
{{- define "neuronode.appEnv" -}}
- name: NODE_ENV
  value: production
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: LITELLM_URL
  value: {{ printf "http://%s-litellm:%v" (include "neuronode.name" .) .Values.litellm.port | quote }}
- name: NEO4J_URL
  value: {{ .Values.neo4j.url | quote }}
- name: NEO4J_USER
  value: {{ .Values.neo4j.user | quote }}
- name: CHROMA_URL
  value: {{ .Values.chroma.url | quote }}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: TEMPORAL_UI_URL
  value: {{ .Values.temporal.uiUrl | quote }}
- name: TASK_QUEUE_PREFIX
  value: {{ .Values.temporal.taskQueuePrefix | quote }}
{{- if .Values.temporal.tls.enabled }}
- name: TEMPORAL_TLS_CERT_FILE
  value: /etc/neuronode/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY_FILE
  value: /etc/neuronode/temporal-tls/tls.key
{{- if .Values.temporal.tls.withCA }}
- name: TEMPORAL_TLS_CA_FILE
  value: /etc/neuronode/temporal-tls/ca.crt
{{- end }}
{{- if .Values.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .Values.temporal.tls.serverName | quote }}
{{- end }}
{{- end }}
- name: DEFAULT_PROFILE
  value: {{ .Values.config.defaultProfile | quote }}
- name: CORS_ORIGINS
  value: {{ .Values.config.corsOrigins | quote }}
{{- if .Values.config.adminEmail }}
- name: NEURONODE_ADMIN_EMAIL
  value: {{ .Values.config.adminEmail | quote }}
- name: NEURONODE_ADMIN_PASSWORD
  {{- include "neuronode.secret" (dict "name" .Values.secrets.name "key" "NEURONODE_ADMIN_PASSWORD") | nindent 2 }}
{{- end }}
- name: JWT_SECRET_KEY
  {{- include "neuronode.secret" (dict "name" .Values.secrets.name "key" "JWT_SECRET_KEY") | nindent 2 }}
- name: LITELLM_MASTER_KEY
  {{- include "neuronode.secret" (dict "name" .Values.secrets.name "key" "LITELLM_MASTER_KEY") | nindent 2 }}
- name: DATABASE_URL
  {{- include "neuronode.secret" (dict "name" .Values.secrets.name "key" "DATABASE_URL") | nindent 2 }}
- name: REDIS_URL
  {{- include "neuronode.secret" (dict "name" .Values.secrets.name "key" "REDIS_URL") | nindent 2 }}
- name: NEO4J_PASSWORD
  {{- include "neuronode.secret" (dict "name" .Values.secrets.name "key" "NEO4J_PASSWORD") | nindent 2 }}
{{- end -}}

{{- define "neuronode.temporalTlsVolume" -}}
{{- if .Values.temporal.tls.enabled }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.secretName }}
    defaultMode: 0400
{{- end }}
{{- end -}}
{{- define "neuronode.temporalTlsMount" -}}
{{- if .Values.temporal.tls.enabled }}
- name: temporal-tls
  mountPath: /etc/neuronode/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* One PodDisruptionBudget. */}}
{{- define "neuronode.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "neuronode.name" .root }}-{{ .component }}
  labels:
    {{- include "neuronode.labels" .root | nindent 4 }}
spec:
  minAvailable: {{ .minAvailable }}
  selector:
    matchLabels:
      {{- include "neuronode.selector" . | nindent 6 }}
{{- end -}}
