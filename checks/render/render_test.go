package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/render/rendertest"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx/gitxtest"
	"github.com/relkit/relkit/release/yamledit"
)

const fixtures = "../testdata/charts"

var fixtureOpts = Options{
	APIVersions: []string{"batch/v1/CronJob"},
	Values:      map[string][]string{"apps/webui": {"apps/webui/ci-values.yaml"}},
}

func renderAll(t *testing.T, root string, o Options) map[string]Result {
	t.Helper()
	res, err := All(context.Background(), root, o)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, r := range res {
		out[r.Chart.Dir] = r
	}
	return out
}

// want is an expected image: "ref | subchart | template | valuesFile:line | path | holds | source".
func describe(i Image) string {
	return fmt.Sprintf("%s | %s | %s | %s:%d | %s | %s | %s", i.Ref, i.Subchart, i.Template, i.ValuesFile, i.ValuesLine, i.ValuesPath, i.ValuesHolds, i.Source)
}

func TestRenderFixtureImages(t *testing.T) {
	got := renderAll(t, fixtures, fixtureOpts)
	want := map[string][]string{
		"omec/omec-control-plane": {
			// prefix + tag joined in the template; the values hold the suffix
			"registry.example.org/proxy/omecproject/5gc-amf:master-771c0c3 |  | omec/omec-control-plane/templates/amf.yaml | omec/omec-control-plane/values.yaml:6 | images.tags.amf | ref | template",
			// only rendered because the config adds batch/v1/CronJob
			"registry.example.org/proxy/omec/cleanup:stable |  | omec/omec-control-plane/templates/cleanup-cronjob.yaml | omec/omec-control-plane/values.yaml:9 | images.tags.cleanup | ref | template",
			// init container
			"quay.io/stackanetes/kubernetes-entrypoint:v0.3.1 |  | omec/omec-control-plane/templates/hss.yaml | omec/omec-control-plane/values.yaml:8 | images.tags.depCheck | ref | template",
			// full reference in images.tags
			"registry.example.org/proxy/omec/hss:1.2.3 |  | omec/omec-control-plane/templates/hss.yaml | omec/omec-control-plane/values.yaml:5 | images.tags.hss | ref | template",
			// hard-coded in a template gated on the Kubernetes version
			"curlimages/curl:7.77.0 |  | omec/omec-control-plane/templates/probe-job.yaml | :0 |  |  | template",
			// in values, not rendered with the default values
			"omecproject/mme:1.2.3-dev |  |  | omec/omec-control-plane/values.yaml:7 | images.tags.mme | ref | values",
		},
		"apps/webui": {
			// tag "" | default .Chart.AppVersion
			"ghcr.io/example/webui:2.0.1 |  | apps/webui/templates/deployment.yaml | apps/webui/Chart.yaml:5 | appVersion | appVersion | template",
			// tag "{{ .Chart.AppVersion }}" through tpl
			"ghcr.io/example/webui-exporter:2.0.1 |  | apps/webui/templates/deployment.yaml | apps/webui/Chart.yaml:5 | appVersion | appVersion | template",
			// enabled and re-tagged by the config's extra values file
			"docker.io/library/nginx:1.25.4 |  | apps/webui/templates/deployment.yaml | apps/webui/ci-values.yaml:5 | sidecar.image.tag | tag | template",
			// ephemeral container
			"busybox:1.36.1 |  | apps/webui/templates/deployment.yaml | apps/webui/values.yaml:17 | debug.image | ref | template",
		},
		"apps/global-helpers": {
			// image.{registry,repository,tag} joined in _helpers.tpl, registry with a port
			"registry:5000/team/app:1.0.0 |  | apps/global-helpers/templates/daemonset.yaml | apps/global-helpers/values.yaml:9 | image.tag | tag | template",
			"registry:5000/team/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef |  | apps/global-helpers/templates/daemonset.yaml | apps/global-helpers/values.yaml:12 | tool.image | ref | template",
			"registry:5000/team/agent:latest@sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789 |  | apps/global-helpers/templates/daemonset.yaml | apps/global-helpers/values.yaml:15 | agent.image | ref | template",
			"registry:5000/team/bare |  | apps/global-helpers/templates/daemonset.yaml | apps/global-helpers/values.yaml:18 | untagged.image | ref | template",
		},
		"legacy/v1chart": {
			// aliased subchart (requirements.yaml) re-tagged from the parent
			"registry.example.org/legacy/worker:rel-1.2.3 | jobs | legacy/v1chart/charts/worker/templates/job.yaml | legacy/v1chart/values.yaml:6 | jobs.image.tag | tag | template",
			"registry.example.org/legacy/api:rel-1.2.3 |  | legacy/v1chart/templates/api.yaml | legacy/v1chart/values.yaml:2 | api.image | ref | template",
		},
		"umbrella/aether": {
			// subchart from a vendored archive
			"docker.io/bitnami/redis:7.0.5-debian-11-r0 | redis | umbrella/aether/charts/redis-17.0.0.tgz#redis/templates/statefulset.yaml | umbrella/aether/charts/redis-17.0.0.tgz#redis/values.yaml:4 | image.tag | tag | template",
			// subchart override telegraf.image.tag in the parent
			"telegraf:1.17 | telegraf | umbrella/aether/charts/telegraf/templates/daemonset.yaml | umbrella/aether/values.yaml:7 | telegraf.image.tag | tag | template",
			// list items
			"org/step-fetch:1.2.3 |  | umbrella/aether/templates/workflow.yaml | umbrella/aether/values.yaml:15 | workflow.steps[0].image | ref | template",
			"org/step-build:1.2.3 |  | umbrella/aether/templates/workflow.yaml | umbrella/aether/values.yaml:17 | workflow.steps[1].image | ref | template",
			// aliased archive subchart disabled by its condition
			"grafana/grafana:latest | dashboards |  | umbrella/aether/charts/grafana-6.0.0.tgz#grafana/values.yaml:3 | image.tag | tag | values",
		},
		"broken/nodeps": {
			"registry.example.org/broken/app:1.0.0 |  |  | broken/nodeps/values.yaml:1 | image | ref | values",
		},
	}
	for dir, imgs := range want {
		r, ok := got[dir]
		if !ok {
			t.Errorf("chart %s not rendered", dir)
			continue
		}
		var have []string
		for _, i := range r.Images {
			have = append(have, describe(i))
		}
		for _, w := range imgs {
			if !slices.Contains(have, w) {
				t.Errorf("%s: missing image\n  %s\nhave:\n  %s", dir, w, strings.Join(have, "\n  "))
			}
		}
		if len(have) != len(imgs) {
			t.Errorf("%s: %d images, expected %d:\n  %s", dir, len(have), len(imgs), strings.Join(have, "\n  "))
		}
	}
}

func TestRenderDependencyProblems(t *testing.T) {
	got := renderAll(t, fixtures, fixtureOpts)
	u := got["umbrella/aether"]
	if u.Err != nil {
		t.Fatalf("umbrella/aether: %v; expected a partial render", u.Err)
	}
	if len(u.Deps) != 1 || u.Deps[0].Name != "mongodb" || u.Deps[0].File != "umbrella/aether/Chart.yaml" || u.Deps[0].Line != 21 || !u.Deps[0].Enabled {
		t.Errorf("umbrella/aether deps = %+v; expected mongodb missing at umbrella/aether/Chart.yaml:21", u.Deps)
	}
	if len(u.Failed) != 1 || u.Failed[0].Template != "umbrella/aether/templates/db-config.yaml" || !strings.Contains(u.Failed[0].Err.Error(), "mongodb.fullname") {
		t.Errorf("umbrella/aether failed templates = %+v; expected db-config.yaml needing mongodb.fullname", u.Failed)
	}
	b := got["broken/nodeps"]
	if b.Err == nil || b.Rendered != 0 {
		t.Errorf("broken/nodeps: err %v, %d rendered; expected nothing rendered", b.Err, b.Rendered)
	}
	if len(b.Deps) != 1 || b.Deps[0].Name != "base" || b.Deps[0].Repository != "https://charts.example.org/stable" {
		t.Errorf("broken/nodeps deps = %+v; expected base missing", b.Deps)
	}
}

func TestRenderCapabilities(t *testing.T) {
	// An old cluster without the CronJob kind: the probe job (kubeVersion
	// >= 1.25) and the CronJob are not rendered; the CronJob's image is
	// still found in the values.
	got := renderAll(t, fixtures, Options{KubeVersion: "v1.20.0"})
	var have []string
	for _, i := range got["omec/omec-control-plane"].Images {
		have = append(have, i.Ref+" "+string(i.Source))
	}
	for _, w := range []string{"registry.example.org/proxy/omec/cleanup:stable values"} {
		if !slices.Contains(have, w) {
			t.Errorf("expected %q with kubeVersion v1.20.0 and no extra API versions; have %q", w, have)
		}
	}
	for _, i := range got["omec/omec-control-plane"].Images {
		if strings.HasPrefix(i.Ref, "curlimages/curl") {
			t.Errorf("probe-job rendered on v1.20.0: %s", describe(i))
		}
	}
	if _, err := capabilities(Options{KubeVersion: "one.two"}); err == nil || !strings.Contains(err.Error(), "one.two") {
		t.Errorf("capabilities(one.two) err = %v; expected it to name the bad version", err)
	}
}

func TestRenderMissingValuesFile(t *testing.T) {
	c, err := charts.ReadChart(fixtures, "apps/webui")
	if err != nil {
		t.Fatal(err)
	}
	r := Render(context.Background(), fixtures, c, Options{Values: map[string][]string{"apps/webui": {"apps/webui/nope.yaml"}}})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "apps/webui/nope.yaml") || !strings.Contains(r.Err.Error(), "render.values") {
		t.Errorf("err = %v; expected it to name the missing file and the config key", r.Err)
	}
}

// A vendored subchart whose version drifted from the pin in Chart.yaml is
// rendered under its own name (the SDK keeps it) and reported.
func TestRenderVersionDrift(t *testing.T) {
	root := t.TempDir()
	gitxtest.WriteTree(t, root, map[string]string{
		"app/Chart.yaml":                     "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 2.0.0\n    repository: https://example.org\n",
		"app/templates/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"app/charts/lib/Chart.yaml":          "apiVersion: v2\nname: lib\nversion: 1.9.0\n",
		"app/charts/lib/values.yaml":         "image: org/lib:1.9.0\n",
		"app/charts/lib/templates/pod.yaml":  "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
		"app/charts/lib/templates/NOTES.txt": "image: not/an:image\n",
	})
	r := renderAll(t, root, Options{})["app"]
	if len(r.Deps) != 1 || r.Deps[0].Found != "1.9.0" || r.Deps[0].Version != "2.0.0" || r.Deps[0].Line != 6 {
		t.Errorf("deps = %+v; expected lib 2.0.0 wanted, 1.9.0 found, line 6", r.Deps)
	}
	if len(r.Images) != 1 || describe(r.Images[0]) != "org/lib:1.9.0 | lib | app/charts/lib/templates/pod.yaml | app/charts/lib/values.yaml:1 | image | ref | template" {
		var have []string
		for _, i := range r.Images {
			have = append(have, describe(i))
		}
		t.Errorf("images = %q; expected org/lib:1.9.0 from the drifted subchart", have)
	}
}

// Two images with the same tag: the sibling repository decides; a tag
// that appears twice with nothing to tell them apart is not traced.
func TestTraceAmbiguity(t *testing.T) {
	root := t.TempDir()
	gitxtest.WriteTree(t, root, map[string]string{
		"app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
		"app/values.yaml": "a:\n  image:\n    repository: org/a\n    tag: 1.2.3\nb:\n  image:\n    repository: org/b\n    tag: 1.2.3\n" +
			"c: 4.5.6\nd: 4.5.6\n",
		"app/templates/pod.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n" +
			"    - image: {{ .Values.a.image.repository }}:{{ .Values.a.image.tag }}\n" +
			"    - image: {{ .Values.b.image.repository }}:{{ .Values.b.image.tag }}\n" +
			"    - image: org/c:{{ .Values.c }}\n",
	})
	r := renderAll(t, root, Options{})["app"]
	want := map[string]string{"org/a:1.2.3": "app/values.yaml:4", "org/b:1.2.3": "app/values.yaml:8", "org/c:4.5.6": ":0"}
	for _, i := range r.Images {
		if w, ok := want[i.Ref]; !ok || fmt.Sprintf("%s:%d", i.ValuesFile, i.ValuesLine) != w {
			t.Errorf("%s traced to %s:%d; expected %q", i.Ref, i.ValuesFile, i.ValuesLine, w)
		}
	}
	if len(r.Images) != 3 {
		t.Errorf("%d images; expected 3", len(r.Images))
	}
}

func TestCollectImages(t *testing.T) {
	m := "a: 1\n---\nkind: X\nspec:\n  image: {registry: r.io, repository: org/x, tag: 1.0.0}\n  other:\n    - image: org/y:2.0.0\n    - image: null\n    - image: ''\n---\n"
	got := collectImages(m)
	if !slices.Equal(got, []string{"r.io/org/x:1.0.0", "org/y:2.0.0"}) {
		t.Errorf("collectImages = %q", got)
	}
	bad := "kind: X\n  image: org/z:1.0.0\n bad: [\n- image: \"org/w:2.0.0\"\n"
	if got := collectImages(bad); !slices.Equal(got, []string{"org/z:1.0.0", "org/w:2.0.0"}) {
		t.Errorf("collectImages(invalid YAML) = %q; expected the line scan to find both", got)
	}
}

// The benchmark generator's charts render every image, each traced to a
// values line (or appVersion) except none.
func TestGenerateCharts(t *testing.T) {
	dir := t.TempDir()
	if _, err := rendertest.GenerateCharts(dir, 3); err != nil {
		t.Fatal(err)
	}
	res, err := All(context.Background(), dir, Options{APIVersions: []string{"batch/v1/CronJob"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d charts; expected 3", len(res))
	}
	for _, r := range res {
		if r.Err != nil || len(r.Failed) > 0 || len(r.Deps) > 0 {
			t.Errorf("%s: err %v failed %v deps %v", r.Chart.Dir, r.Err, r.Failed, r.Deps)
		}
		if len(r.Images) != rendertest.ImagesPerGeneratedChart {
			t.Errorf("%s: %d images; expected %d", r.Chart.Dir, len(r.Images), rendertest.ImagesPerGeneratedChart)
		}
		for _, i := range r.Images {
			if i.ValuesFile == "" || i.Source != FromTemplate {
				t.Errorf("%s: untraced or unrendered image %s", r.Chart.Dir, describe(i))
			}
		}
	}
}

// BenchmarkRenderAll renders 200 generated charts (2,000 images).
func BenchmarkRenderAll(b *testing.B) {
	dir := b.TempDir()
	if _, err := rendertest.GenerateCharts(dir, 200); err != nil {
		b.Fatal(err)
	}
	o := Options{APIVersions: []string{"batch/v1/CronJob"}}
	for b.Loop() {
		res, err := All(context.Background(), dir, o)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, r := range res {
			n += len(r.Images)
		}
		if n != 200*rendertest.ImagesPerGeneratedChart {
			b.Fatalf("%d images; expected %d", n, 200*rendertest.ImagesPerGeneratedChart)
		}
	}
}

// Every traced values line can be read back (and so edited) with
// yamledit through ValuesKeys: the value there is the tag, the digest or a
// reference ending with the tag, on ValuesLine.
func TestValuesKeysMatchYamledit(t *testing.T) {
	n := 0
	for _, r := range renderAll(t, fixtures, fixtureOpts) {
		for _, img := range r.Images {
			if img.ValuesFile == "" || img.InArchive() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(fixtures, filepath.FromSlash(img.ValuesFile)))
			if err != nil {
				t.Fatal(err)
			}
			val, line, err := yamledit.Get(data, img.ValuesKeys...)
			if err != nil {
				t.Errorf("%s: yamledit.Get(%s, %q): %v", img.Ref, img.ValuesFile, img.ValuesKeys, err)
				continue
			}
			if line != img.ValuesLine || !strings.HasSuffix(img.Ref, val) && !strings.Contains(img.Ref, ":"+val) {
				t.Errorf("%s: %s %s is %q on line %d; expected the tag on line %d", img.Ref, img.ValuesFile, img.ValuesPath, val, line, img.ValuesLine)
			}
			n++
		}
	}
	if n < 15 {
		t.Errorf("only %d traced images checked; expected the fixtures' 15 or more", n)
	}
}

// A document too long to decode is scanned line by line and gives the
// same images as decoding it, block scalars included.
func TestCollectImagesLargeDocument(t *testing.T) {
	doc := `kind: List
items:
  - kind: Pod
    spec:
      containers:
        - name: a
          image: org/a:1.0.0
        - image: "org/b:2.0.0"   # quoted, with a comment
          name: b
        - name: c
          image:
            registry: r.io/
            repository: org/c
            tag: "3.0.0"
          args: [x]
        - {name: d, image: org/inline:9}
        - name: e
          image: {repository: org/e, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
      initContainers:
        - image: 'org/f:4.0.0'
  - kind: ConfigMap
    data:
      dashboard.json: |
        {"panels": [{"image": "not/deployed:1"}]}
        image: not/deployed:2
      script: >-
        image: not/deployed:3
    image: org/g:5.0.0
  - image: ~
  - image: null
`
	want := []string{"org/a:1.0.0", "org/b:2.0.0", "r.io/org/c:3.0.0", "org/inline:9",
		"org/e@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "org/f:4.0.0", "org/g:5.0.0"}
	decoded := collectImages(doc)
	var scanned []string
	scanLarge(doc, func(s string) { scanned = append(scanned, s) })
	// The flow sequence item {name: d, image: ...} is beyond the line
	// scanner: it is the one difference.
	if !slices.Equal(decoded, want) {
		t.Errorf("decoded %q; expected %q", decoded, want)
	}
	if w := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "org/inline:9" }); !slices.Equal(scanned, w) {
		t.Errorf("scanned %q; expected %q", scanned, w)
	}
	big := "---\n" + doc + strings.Repeat("  - kind: Filler\n", maxDecodedLines) + "---\nimage: org/next:1.0.0\n"
	got := collectImages(big)
	if !slices.Equal(got, append(slices.Clone(scanned), "org/next:1.0.0")) {
		t.Errorf("collectImages(large) = %q; expected the line scan's images and the next document's", got)
	}
}
