{{- define "omec.prefixed" -}}
{{ .Values.images.repository }}{{ .image }}
{{- end -}}
