{{- define "telegraf.fullname" -}}{{ .Release.Name }}-telegraf{{- end -}}
