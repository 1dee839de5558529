{{/*
The GUI image: global.image.registry, when set, overrides image.registry.
*/}}
{{- define "aether-roc-gui.image" -}}
{{- $registry := .Values.image.registry -}}
{{- if .Values.global.image.registry -}}
{{- $registry = .Values.global.image.registry -}}
{{- end -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) .Values.image.repository .Values.image.tag -}}
{{- end -}}
