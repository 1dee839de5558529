{{- define "app.image" -}}
{{- $registry := .Values.global.image.registry | default .Values.image.registry -}}
{{- $tag := .Values.global.image.tag | default .Values.image.tag -}}
{{- printf "%s/%s:%s" $registry .Values.image.repository (toString $tag) -}}
{{- end -}}
