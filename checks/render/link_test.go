package render

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx/gitxtest"
)

const podTemplate = `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Chart.Name }}
spec:
  containers:
    - name: main
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
    {{- with .Values.sidecar }}
    - name: sidecar
      image: {{ . }}
    {{- end }}
`

// linkRepo writes a charts repo whose umbrella reaches its subcharts only
// through file:// dependencies (nothing vendored in charts/), next to a
// chart directory outside the repo. It returns the repo root.
func linkRepo(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "repo")
	gitxtest.WriteTree(t, base, map[string]string{
		// A real chart, but outside the charts repo.
		"elsewhere/outside/Chart.yaml":         "apiVersion: v2\nname: outside\nversion: 1.0.0\n",
		"elsewhere/outside/values.yaml":        "image:\n  repository: org/outside\n  tag: 1.0.0\n",
		"elsewhere/outside/templates/pod.yaml": podTemplate,
		"repo/umb/templates/cm.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: umb\n",
		"repo/api/templates/pod.yaml":          podTemplate,
		"repo/lib/templates/pod.yaml":          podTemplate,
		"repo/gui/templates/pod.yaml":          podTemplate,
		"repo/good/templates/pod.yaml":         podTemplate,
		"repo/bad/templates/pod.yaml":          podTemplate,
		"repo/umb/Chart.yaml": `apiVersion: v2
name: umb
version: 1.0.0
dependencies:
  - name: api
    version: 1.0.0
    repository: file://../api
  - name: gui
    alias: web
    condition: web.enabled
    version: "~2.0.0"
    repository: "file://../gui"
  - name: outside
    version: 1.0.0
    repository: file://../../elsewhere/outside
  - name: nothere
    version: 1.0.0
    repository: file://../nothere
  - name: renamed
    version: 1.0.0
    repository: file://../api
`,
		"repo/umb/values.yaml": `web:
  enabled: true
  image:
    tag: 3.0.1
`,
		// api depends on lib, which depends back on api: a cycle.
		"repo/api/Chart.yaml":  "apiVersion: v2\nname: api\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n",
		"repo/api/values.yaml": "image:\n  repository: org/api\n  tag: 1.0.0\n",
		"repo/lib/Chart.yaml":  "apiVersion: v2\nname: lib\nversion: 0.1.0\ndependencies:\n  - name: api\n    version: 1.0.0\n    repository: file://../api\n",
		"repo/lib/values.yaml": "image:\n  repository: org/lib\n  tag: 0.1.0\n",
		"repo/gui/Chart.yaml":  "apiVersion: v2\nname: gui\nversion: 3.0.0\n",
		"repo/gui/values.yaml": "image:\n  repository: org/gui\n  tag: 3.0.0\nsidecar: org/gui-sidecar:3.0.0\nexporter:\n  image: org/gui-exporter:3.0.0\n",
		// An absolute file:// path inside the repo is followed.
		"repo/abs/Chart.yaml":       "apiVersion: v2\nname: abs\nversion: 1.0.0\ndependencies:\n  - name: gui\n    version: 3.0.0\n    repository: file://" + filepath.ToSlash(filepath.Join(root, "gui")) + "\n",
		"repo/abs/templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: abs\n",
		"repo/good/Chart.yaml":      "apiVersion: v2\nname: good\nversion: 1.0.0\n",
		"repo/good/values.yaml":     "image:\n  repository: org/good\n  tag: 1.0.0\n",
		"repo/bad/Chart.yaml":       "apiVersion: v2\nname: bad\nversion: [1.0.0\n",
		"repo/bad/values.yaml":      "image:\n  repository: org/bad\n  tag: 1.0.0\n",
	})
	return root
}

func TestRenderFollowsFileDependencies(t *testing.T) {
	got := renderAll(t, linkRepo(t), Options{})
	u := got["umb"]
	if u.Err != nil {
		t.Fatalf("umb: %v", u.Err)
	}
	var have []string
	for _, i := range u.Images {
		have = append(have, describe(i))
	}
	want := []string{
		// a file:// subchart: provenance in its own directory
		"org/api:1.0.0 | api | api/templates/pod.yaml | api/values.yaml:3 | image.tag | tag | template",
		// its own file:// dependency, one level down
		"org/lib:0.1.0 | api/lib | lib/templates/pod.yaml | lib/values.yaml:3 | image.tag | tag | template",
		// reached only through the alias, the tag overridden by the parent
		// under the alias key; the pin (~2.0.0) does not match 3.0.0 but the
		// chart is rendered all the same, alias and condition applied
		"org/gui:3.0.1 | web | gui/templates/pod.yaml | umb/values.yaml:4 | web.image.tag | tag | template",
		"org/gui-sidecar:3.0.0 | web | gui/templates/pod.yaml | gui/values.yaml:4 | sidecar | ref | template",
		// in the file:// chart's values only
		"org/gui-exporter:3.0.0 | web |  | gui/values.yaml:6 | exporter.image | ref | values",
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("umb images:\n  %s\nexpected:\n  %s", strings.Join(have, "\n  "), strings.Join(want, "\n  "))
	}

	type dep struct {
		parent, name, file string
		line               int
		reason             string
	}
	var deps []dep
	for _, d := range u.Deps {
		deps = append(deps, dep{d.Parent, d.Name, d.File, d.Line, d.Reason})
	}
	wantDeps := []struct {
		parent, name, file string
		line               int
		reason             string
	}{
		{"", "outside", "umb/Chart.yaml", 14, "file://../../elsewhere/outside is outside the charts repo"},
		{"", "nothere", "umb/Chart.yaml", 17, "loading nothere"},
		{"", "renamed", "umb/Chart.yaml", 20, `api/Chart.yaml holds chart "api", not "renamed"`},
		{"api/lib", "api", "lib/Chart.yaml", 6, "file:// dependencies form a cycle: api -> lib -> api"},
	}
	if len(deps) != len(wantDeps) {
		t.Errorf("umb deps = %+v; expected %d problems (no pin mismatch for gui)", deps, len(wantDeps))
	}
	for _, w := range wantDeps {
		i := slices.IndexFunc(deps, func(d dep) bool { return d.name == w.name && d.parent == w.parent })
		if i < 0 {
			t.Errorf("no dependency problem for %s (parent %q) in %+v", w.name, w.parent, deps)
			continue
		}
		d := deps[i]
		if d.file != w.file || d.line != w.line || !strings.Contains(d.reason, w.reason) {
			t.Errorf("%s: %s:%d %q; expected %s:%d and a reason containing %q", w.name, d.file, d.line, d.reason, w.file, w.line, w.reason)
		}
	}
	for _, d := range u.Deps {
		if !d.Enabled {
			t.Errorf("%s reported disabled; every dependency of umb is enabled", d.Name)
		}
	}

	// The absolute path inside the repo is followed too.
	a := got["abs"]
	if len(a.Deps) != 0 || len(a.Images) != 3 || a.Images[0].Subchart != "gui" || a.Images[0].ValuesFile != "gui/values.yaml" {
		t.Errorf("abs: deps %+v, images %+v; expected gui's three images from gui/values.yaml", a.Deps, a.Images)
	}
}

// With the alias's condition off, the file:// chart is still scanned for
// images in its values, under the alias.
func TestRenderFileDependencyDisabled(t *testing.T) {
	root := linkRepo(t)
	gitxtest.WriteTree(t, root, map[string]string{"umb/off.yaml": "web:\n  enabled: false\n"})
	u := renderAll(t, root, Options{Values: map[string][]string{"umb": {"umb/off.yaml"}}})["umb"]
	var web []string
	for _, i := range u.Images {
		if i.Subchart == "web" {
			web = append(web, describe(i))
		}
	}
	want := "org/gui-exporter:3.0.0 | web |  | gui/values.yaml:6 | exporter.image | ref | values"
	if !slices.Contains(web, want) {
		t.Errorf("web images = %q; expected %q", web, want)
	}
	for _, i := range u.Images {
		if i.Subchart == "web" && i.Source == FromTemplate {
			t.Errorf("rendered %s although web.enabled is false", describe(i))
		}
	}
}

// A Chart.yaml that does not parse is that chart's error; the others
// render.
func TestRenderInvalidChart(t *testing.T) {
	got := renderAll(t, linkRepo(t), Options{})
	var ce *charts.ChartError
	if b := got["bad"]; !errors.As(b.Err, &ce) || ce.File != "bad/Chart.yaml" || ce.Line != 3 || len(b.Images) != 0 {
		t.Errorf("bad: err %v (%#v); expected a *charts.ChartError at bad/Chart.yaml:3", b.Err, ce)
	}
	g := got["good"]
	if g.Err != nil || len(g.Images) != 1 || g.Images[0].Ref != "org/good:1.0.0" {
		t.Errorf("good: err %v, images %+v; expected org/good:1.0.0", g.Err, g.Images)
	}
}
