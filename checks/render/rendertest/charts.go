// Package rendertest generates charts repos for the benchmarks and tests of
// checks/render and check:images, and for checks/render/bench.
package rendertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ImagesPerGeneratedChart is the number of image references each chart
// of GenerateCharts renders (7 in the chart, 3 in its subchart).
const ImagesPerGeneratedChart = 10

// GenerateCharts writes a charts repo of n charts under dir for
// benchmarks: charts in nested groups, each with a vendored subchart
// (condition, parent override), a prefix+tag join, an appVersion default,
// a CronJob gated on the API version, init and ephemeral containers. It
// returns the chart directories (relative to dir).
func GenerateCharts(dir string, n int) ([]string, error) {
	var out []string
	for i := range n {
		rel := fmt.Sprintf("group%02d/app%03d", i%10, i)
		files := generatedChart(i)
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(rel), filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
		out = append(out, rel)
	}
	return out, nil
}

func generatedChart(i int) map[string]string {
	r := strings.NewReplacer("@N@", fmt.Sprintf("%03d", i), "@P@", fmt.Sprint(i%50), "@I@", fmt.Sprint(i))
	f := func(s string) string { return r.Replace(s) }
	return map[string]string{
		"Chart.yaml": f(`apiVersion: v2
name: app@N@
description: generated benchmark chart @I@
version: 1.0.@I@
appVersion: "1.@P@.0"
dependencies:
  - name: sub
    version: 0.1.0
    repository: file://charts/sub
    condition: sub.enabled
`),
		"values.yaml": f(`images:
  repository: registry.example.org/proxy/
  pullPolicy: IfNotPresent
  tags:
    api: org/api-@N@:1.2.@P@
    worker: org/worker-@N@:1.3.@P@
    migrate: org/migrate-@N@:v1.4.@P@
    cron: registry.example.org/tools/cron-@N@:2.0.@P@

image:
  repository: ghcr.io/example/ui-@N@
  tag: ""

sidecar:
  image:
    registry: docker.io
    repository: library/nginx
    tag: 1.25.@P@

debug:
  image: busybox:1.36.@P@

sub:
  enabled: true
  image:
    tag: 2.0.@P@
`),
		"templates/_helpers.tpl": `{{- define "app.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}
{{- define "app.sidecar" -}}
{{- printf "%s/%s:%s" .Values.sidecar.image.registry .Values.sidecar.image.repository (toString .Values.sidecar.image.tag) -}}
{{- end -}}
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Chart.Name }}
    spec:
      initContainers:
        - name: migrate
          image: "{{ .Values.images.repository }}{{ .Values.images.tags.migrate }}"
      containers:
        - name: api
          image: "{{ .Values.images.repository }}{{ .Values.images.tags.api }}"
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          ports:
            - containerPort: 8080
        - name: worker
          image: "{{ .Values.images.repository }}{{ .Values.images.tags.worker }}"
        - name: ui
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
        - name: proxy
          image: {{ include "app.sidecar" . | quote }}
      ephemeralContainers:
        - name: debug
          image: {{ .Values.debug.image }}
`,
		"templates/cronjob.yaml": `{{- if .Capabilities.APIVersions.Has "batch/v1/CronJob" }}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "app.fullname" . }}-cron
spec:
  schedule: "*/10 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: cron
              image: {{ .Values.images.tags.cron }}
{{- end }}
`,
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
spec:
  ports:
    - port: 80
      targetPort: 8080
`,
		"charts/sub/Chart.yaml": `apiVersion: v2
name: sub
version: 0.1.0
appVersion: "2.0.0"
`,
		"charts/sub/values.yaml": f(`image:
  repository: org/sub-@N@
  tag: 2.0.0
exporter:
  image: quay.io/example/exporter-@N@:0.@P@.1
job:
  image:
    repository: registry.example.org/jobs/sub-job-@N@
    tag: 3.1.@P@
`),
		"charts/sub/templates/daemonset.yaml": `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Release.Name }}-sub
spec:
  template:
    spec:
      containers:
        - name: sub
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        - name: exporter
          image: {{ .Values.exporter.image }}
`,
		"charts/sub/templates/job.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-sub-job
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: job
          image: "{{ .Values.job.image.repository }}:{{ .Values.job.image.tag }}"
`,
	}
}

// GenerateImageChart writes one chart under dir/big rendering n images
// (n even), the two shapes real charts use at scale: half as a registry
// prefix joined to references listed in images.tags, half as image maps
// {repository, tag} in a list of workloads (n up to 100k fits the SDK's
// cap on a values file). Every image has the same
// release tag, as the images of one platform release do.
func GenerateImageChart(dir string, n int) error {
	var v strings.Builder
	v.WriteString("images:\n  repository: registry.example.org/proxy/\n  tags:\n")
	for i := range n / 2 {
		fmt.Fprintf(&v, "    a%05d: org/a%05d:1.2.3\n", i, i)
	}
	// Flow mappings keep 100k images under the SDK's 5 MB cap on a
	// values file.
	v.WriteString("workloads:\n")
	for i := range n / 2 {
		fmt.Fprintf(&v, "  - {name: w%05d, image: {repository: org/w%05d, tag: 1.2.3}}\n", i, i)
	}
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: big\nversion: 1.0.0\n",
		"values.yaml": v.String(),
		"templates/apps.yaml": `{{- range $name, $ref := .Values.images.tags }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
spec:
  template:
    spec:
      containers:
        - name: {{ $name }}
          image: {{ $.Values.images.repository }}{{ $ref }}
{{- end }}
`,
		"templates/workloads.yaml": `{{- range .Values.workloads }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .name }}
spec:
  template:
    spec:
      containers:
        - name: {{ .name }}
          image: "{{ .image.repository }}:{{ .image.tag }}"
{{- end }}
`,
	}
	for name, content := range files {
		p := filepath.Join(dir, "big", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
