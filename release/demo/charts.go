package demo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// chartState is the set of values that change through the charts repo's
// history: chart versions and the image tags the charts use. Keys are the
// @@placeholders@@ of the chart templates.
type chartState map[string]string

func (s chartState) with(kv ...string) chartState {
	n := maps.Clone(s)
	for i := 0; i+1 < len(kv); i += 2 {
		n[kv[i]] = kv[i+1]
	}
	return n
}

// fill replaces every @@key@@ in text by its value.
func fill(text string, vals map[string]string) string {
	if !strings.Contains(text, "@@") {
		return text
	}
	args := make([]string, 0, 2*len(vals))
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		args = append(args, "@@"+k+"@@", vals[k])
	}
	out := strings.NewReplacer(args...).Replace(text)
	if i := strings.Index(out, "@@"); i >= 0 {
		panic("demo: unfilled placeholder near " + out[i:min(len(out), i+30)])
	}
	return out
}

// chartDef is one chart of the charts repo.
type chartDef struct {
	Dir, Name string
	// VersionKey is the state key of the chart version.
	VersionKey string
	Files      map[string]string
}

const spdx = "# SPDX-FileCopyrightText: 2022-present Open Networking Foundation <info@opennetworking.org>\n# SPDX-License-Identifier: Apache-2.0\n"

var chartDefs = []chartDef{
	{Dir: "omec/omec-control-plane", Name: "omec-control-plane", VersionKey: "cp.version", Files: map[string]string{
		"Chart.yaml": spdx + `
apiVersion: v2
name: omec-control-plane
description: OMEC 5G core control plane (AMF and SMF)
type: application
icon: https://guide.opencord.org/logos/cord.svg
version: @@cp.version@@ # bump on every change; CI rejects a published version
maintainers:
  - name: Aether Core Team
    email: aether-core@aetherproject.org
`,
		"values.yaml": spdx + `
images:
  # Registry prefix (with its trailing slash), joined to every tag below by
  # the templates.
  repository: "registry.aetherproject.org/"
  tags:
    init: omecproject/pod-init:rel-1.1.2
    amf: omecproject/5gc-amf:@@cp.amf@@
    smf: omecproject/5gc-smf:@@cp.smf@@
  pullPolicy: IfNotPresent

config:
  amf:
    deploy: true
    replicas: 1
    ngapPort: 38412
  smf:
    deploy: true
    replicas: 1
    pfcpPort: 8805
  # Nightly subscriber-database cleanup; only scheduled on clusters that
  # serve batch/v1 CronJob.
  dbCleanup:
    enabled: true
    schedule: "0 3 * * *"
    image: @@busybox@@
  # Post-install hook that registers the core with the ROC.
  registration:
    enabled: true
    rocUrl: http://aether-roc-api:8181
`,
		"templates/_helpers.tpl": `{{/*
SPDX-License-Identifier: Apache-2.0
*/}}
{{- define "omec-control-plane.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}
`,
		"templates/amf.yaml": `{{- if .Values.config.amf.deploy }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: amf
  labels:
    {{- include "omec-control-plane.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.config.amf.replicas }}
  selector:
    matchLabels:
      app: amf
  template:
    metadata:
      labels:
        app: amf
    spec:
      initContainers:
        - name: amf-init
          image: {{ .Values.images.repository }}{{ .Values.images.tags.init }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          command: ["/bin/sh", "-c", "until nslookup nrf; do sleep 2; done"]
      containers:
        - name: amf
          image: {{ .Values.images.repository }}{{ .Values.images.tags.amf }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          ports:
            - name: ngap
              containerPort: {{ .Values.config.amf.ngapPort }}
              protocol: SCTP
{{- end }}
`,
		"templates/smf.yaml": `{{- if .Values.config.smf.deploy }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smf
  labels:
    {{- include "omec-control-plane.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.config.smf.replicas }}
  selector:
    matchLabels:
      app: smf
  template:
    metadata:
      labels:
        app: smf
    spec:
      containers:
        - name: smf
          image: {{ .Values.images.repository }}{{ .Values.images.tags.smf }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          ports:
            - name: pfcp
              containerPort: {{ .Values.config.smf.pfcpPort }}
              protocol: UDP
{{- end }}
`,
		"templates/db-cleanup.yaml": `{{- if and .Values.config.dbCleanup.enabled (.Capabilities.APIVersions.Has "batch/v1/CronJob") }}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: db-cleanup
spec:
  schedule: {{ .Values.config.dbCleanup.schedule | quote }}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: cleanup
              image: {{ .Values.config.dbCleanup.image }}
              command: ["/bin/sh", "-c", "echo pruning stale sessions"]
{{- end }}
`,
		"templates/register-hook.yaml": `{{- if .Values.config.registration.enabled }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-register
  annotations:
    "helm.sh/hook": post-install,post-upgrade
    "helm.sh/hook-delete-policy": hook-succeeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: register
          image: curlimages/curl:7.77.0
          args: ["-fsS", "-X", "POST", "{{ .Values.config.registration.rocUrl }}/register"]
{{- end }}
`,
	}},
	{Dir: "omec/omec-user-plane", Name: "omec-user-plane", VersionKey: "up.version", Files: map[string]string{
		"Chart.yaml": spdx + `
apiVersion: v2
name: omec-user-plane
description: OMEC user plane function (BESS datapath and PFCP agent)
type: application
version: "@@up.version@@"
appVersion: "@@up.upf@@"
`,
		"values.yaml": spdx + `
images:
  # Full references, one per container.
  tags:
    bess: ghcr.io/omec-project/upf:@@up.upf@@
    pfcpiface: ghcr.io/omec-project/upf-pfcpiface:@@up.upf@@
  pullPolicy: IfNotPresent

config:
  upf:
    hugepages: false
    cpiface:
      hostname: upf
`,
		"templates/upf.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: upf
spec:
  serviceName: upf
  selector:
    matchLabels:
      app: upf
  template:
    metadata:
      labels:
        app: upf
    spec:
      containers:
        - name: bessd
          image: {{ .Values.images.tags.bess | quote }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          {{- if .Values.config.upf.hugepages }}
          resources:
            limits:
              hugepages-1Gi: 2Gi
          {{- end }}
        - name: pfcp-agent
          image: {{ .Values.images.tags.pfcpiface | quote }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          args: ["-hostname", {{ .Values.config.upf.cpiface.hostname | quote }}]
`,
	}},
	{Dir: "roc-api", Name: "roc-api", VersionKey: "api.version", Files: map[string]string{
		"Chart.yaml": spdx + `
apiVersion: v2
name: roc-api
description: Aether ROC REST API
type: application
version: @@api.version@@
appVersion: "@@api.app@@" # the image tag when image.tag is empty
`,
		"values.yaml": spdx + `
image:
  repository: registry.aetherproject.org/onosproject/aether-roc-api
  # Empty: the chart's appVersion.
  tag: ""
  pullPolicy: IfNotPresent

# Upstream publishes master builds only (waived in relkit.yaml).
modelRegistry:
  image: onosproject/config-model-registry:master-8d5c3a1

sidecars:
  - name: exporter
    image: onosproject/aether-roc-exporter:0.4.2
  - name: audit
    image: registry:5000/aether/audit-proxy:1.0.0

service:
  port: 8181
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-roc-api
spec:
  selector:
    matchLabels:
      app: roc-api
  template:
    metadata:
      labels:
        app: roc-api
    spec:
      initContainers:
        - name: model-registry
          image: {{ .Values.modelRegistry.image }}
      containers:
        - name: roc-api
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - containerPort: {{ .Values.service.port }}
        {{- range .Values.sidecars }}
        - name: {{ .name }}
          image: {{ .image }}
        {{- end }}
`,
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-roc-api
spec:
  selector:
    app: roc-api
  ports:
    - port: {{ .Values.service.port }}
`,
	}},
	{Dir: "aether-roc-gui", Name: "aether-roc-gui", VersionKey: "gui.version", Files: map[string]string{
		"Chart.yaml": spdx + `
apiVersion: v2
name: aether-roc-gui
description: Aether ROC web GUI
type: application
version: '@@gui.version@@'
appVersion: v2.1.4
`,
		"values.yaml": spdx + `
global:
  image:
    # An umbrella chart sets this to pull every image from one registry.
    registry: ""

image:
  registry: docker.io
  repository: onosproject/aether-roc-gui
  tag: v2.1.4
  pullPolicy: IfNotPresent
`,
		"templates/_helpers.tpl": `{{/*
The GUI image: global.image.registry, when set, overrides image.registry.
*/}}
{{- define "aether-roc-gui.image" -}}
{{- $registry := .Values.image.registry -}}
{{- if .Values.global.image.registry -}}
{{- $registry = .Values.global.image.registry -}}
{{- end -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) .Values.image.repository .Values.image.tag -}}
{{- end -}}
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-gui
spec:
  selector:
    matchLabels:
      app: aether-roc-gui
  template:
    metadata:
      labels:
        app: aether-roc-gui
    spec:
      containers:
        - name: gui
          image: {{ include "aether-roc-gui.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
`,
	}},
	{Dir: "aether-roc-umbrella", Name: "aether-roc-umbrella", VersionKey: "umb.version", Files: map[string]string{
		"Chart.yaml": spdx + `
apiVersion: v2
name: aether-roc-umbrella
description: Aether ROC (API and GUI) as one release
type: application
version: @@umb.version@@
dependencies:
  - name: roc-api
    version: @@api.version@@
    repository: file://../roc-api
  - name: aether-roc-gui
    alias: gui
    condition: gui.enabled
    version: "@@gui.version@@"
    repository: "file://../aether-roc-gui"
`,
		"values.yaml": spdx + `
global:
  image:
    registry: registry.aetherproject.org

roc-api:
  service:
    port: 8181

# The GUI is optional; values-gui.yaml turns it on.
gui:
  enabled: false
`,
		"values-gui.yaml": "gui:\n  enabled: true\n",
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-roc
data:
  api: http://{{ .Release.Name }}-roc-api:{{ index .Values "roc-api" "service" "port" }}
`,
	}},
	{Dir: "edge-monitoring", Name: "edge-monitoring", VersionKey: "edge.version", Files: map[string]string{
		"Chart.yaml": spdx + `
apiVersion: v1
name: edge-monitoring
description: Edge site monitoring (metrics server and telegraf)
version: '@@edge.version@@'   # quoted on purpose: CI treats it as a string
appVersion: 1.2.1
`,
		"requirements.yaml": `dependencies:
  - name: telegraf
    version: 1.8.0
    repository: https://helm.influxdata.com/
    condition: telegraf.enabled
`,
		"values.yaml": spdx + `
image:
  repository: registry.aetherproject.org/aether/edge-monitoring-server
  # Rendered through tpl: the chart's appVersion unless overridden.
  tag: "{{ .Chart.AppVersion }}"

telegraf:
  enabled: true
  image:
    tag: "1.17.3"
  config:
    outputs:
      - prometheus_client:
          listen: ":9273"
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-edge-monitoring
spec:
  selector:
    matchLabels:
      app: edge-monitoring
  template:
    metadata:
      labels:
        app: edge-monitoring
    spec:
      containers:
        - name: server
          image: "{{ .Values.image.repository }}:{{ tpl .Values.image.tag . }}"
`,
		"charts/telegraf-1.8.0.tgz": "", // filled by chartFiles
	}},
}

// telegrafChart is the upstream chart vendored (as a package) under
// edge-monitoring/charts: a minimal real chart whose image tag the parent
// overrides.
var telegrafChart = map[string]string{
	"Chart.yaml": `apiVersion: v1
name: telegraf
version: 1.8.0
appVersion: 1.17.0
description: Telegraf is an agent written in Go for collecting, processing, aggregating, and writing metrics.
home: https://www.influxdata.com/time-series-platform/telegraf/
`,
	"values.yaml": `image:
  repo: telegraf
  tag: "1.16.3"
  pullPolicy: IfNotPresent
config:
  outputs: []
`,
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-telegraf
spec:
  selector:
    matchLabels:
      app: telegraf
  template:
    metadata:
      labels:
        app: telegraf
    spec:
      containers:
        - name: telegraf
          image: "{{ .Values.image.repo }}:{{ .Values.image.tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
`,
}

// telegrafPackage is the vendored telegraf-1.8.0.tgz.
var telegrafPackage = sync.OnceValue(func() []byte { return packChart("telegraf", telegrafChart) })

// chartFiles is the content of the charts repo's chart dirs in state st,
// as repo-relative path -> content.
func chartFiles(st chartState) map[string]string {
	out := map[string]string{}
	for _, c := range chartDefs {
		for f, text := range c.Files {
			p := c.Dir + "/" + f
			if f == "charts/telegraf-1.8.0.tgz" {
				out[p] = string(telegrafPackage())
				continue
			}
			out[p] = fill(text, st)
		}
	}
	return out
}

// chartDirFiles is one chart's files (chart-relative paths) in state st.
func chartDirFiles(c chartDef, st chartState) map[string]string {
	all := chartFiles(st)
	out := map[string]string{}
	for p, text := range all {
		if rel, ok := strings.CutPrefix(p, c.Dir+"/"); ok {
			out[rel] = text
		}
	}
	return out
}

// packChart makes a chart package (.tgz) the way `helm package` lays it
// out: every file under "<name>/". Fixed modes and times keep the bytes,
// and so the digest, reproducible.
func packChart(name string, files map[string]string) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, f := range slices.Sorted(maps.Keys(files)) {
		body := files[f]
		hdr := &tar.Header{Name: path.Join(name, f), Mode: 0o644, Size: int64(len(body)),
			ModTime: Epoch, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err) // writing to memory
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// Published is one chart package of the static chart repository.
type Published struct {
	Name, Version, APIVersion, AppVersion string
	// File is the package file name inside the chart repository dir.
	File   string
	Digest string // sha256 hex of the file
	// Created is the index's creation time of the entry.
	Created time.Time
}

// chartRepository packages the charts as they were in each published
// state (oldest first) and returns the files of a static chart repository
// (index.yaml and the packages) and the entries.
func chartRepository(states []chartState) (map[string][]byte, []Published) {
	files := map[string][]byte{}
	var pubs []Published
	seen := map[string]bool{}
	created := Epoch.Add(30 * 24 * time.Hour)
	for _, st := range states {
		for _, c := range chartDefs {
			v := st[c.VersionKey]
			if seen[c.Name+"-"+v] {
				continue
			}
			seen[c.Name+"-"+v] = true
			dir := chartDirFiles(c, st)
			meta := chartMeta(dir["Chart.yaml"])
			data := packChart(c.Name, dir)
			sum := sha256.Sum256(data)
			file := c.Name + "-" + v + ".tgz"
			files[file] = data
			created = created.Add(time.Hour)
			pubs = append(pubs, Published{Name: c.Name, Version: v, APIVersion: meta["apiVersion"],
				AppVersion: meta["appVersion"], File: file, Digest: hex.EncodeToString(sum[:]), Created: created})
		}
	}
	files["index.yaml"] = indexYAML(pubs, created.Add(time.Hour))
	return files, pubs
}

// chartMeta reads the top-level scalar keys of a Chart.yaml the demo wrote
// (enough for the index: no nesting needed).
func chartMeta(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == ' ' || line[0] == '#' || line[0] == '-' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v, _, _ = strings.Cut(v, " #")
		m[k] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return m
}

// indexYAML writes index.yaml in Helm's documented layout: entries by
// chart name (sorted), newest version first.
func indexYAML(pubs []Published, generated time.Time) []byte {
	byName := map[string][]Published{}
	for _, p := range pubs {
		byName[p.Name] = append(byName[p.Name], p)
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n")
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		fmt.Fprintf(&b, "  %s:\n", n)
		list := byName[n]
		for i := len(list) - 1; i >= 0; i-- {
			p := list[i]
			fmt.Fprintf(&b, "  - apiVersion: %s\n", p.APIVersion)
			if p.AppVersion != "" {
				fmt.Fprintf(&b, "    appVersion: %q\n", p.AppVersion)
			}
			fmt.Fprintf(&b, "    created: %q\n", p.Created.Format(time.RFC3339Nano))
			fmt.Fprintf(&b, "    digest: %s\n", p.Digest)
			fmt.Fprintf(&b, "    name: %s\n", p.Name)
			fmt.Fprintf(&b, "    urls:\n    - %s\n", p.File)
			fmt.Fprintf(&b, "    version: %s\n", p.Version)
		}
	}
	fmt.Fprintf(&b, "generated: %q\n", generated.Format(time.RFC3339Nano))
	return []byte(b.String())
}
