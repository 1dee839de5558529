package checks

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/workspace"
)

// imgNeeds is a chart that renders only with a value nobody gives by
// default: one template needs it (required), one renders an image anyway.
var imgNeeds = map[string]string{
	"apps/needs/Chart.yaml":           "apiVersion: v2\nname: needs\nversion: 1.0.0\n",
	"apps/needs/values.yaml":          "image: org/needs:1.0.0\nsite: {}\n",
	"apps/needs/ci.yaml":              "site:\n  host: ci.example.org\n  image: org/site:2.0.0-dev\n",
	"apps/needs/templates/pod.yaml":   "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
	"apps/needs/templates/site.yaml":  "kind: Pod\nmetadata:\n  name: {{ required \"site.host is required\" .Values.site.host }}\nspec:\n  containers:\n    - image: {{ .Values.site.image }}\n",
	"apps/fails/Chart.yaml":           "apiVersion: v2\nname: fails\nversion: 1.0.0\n",
	"apps/fails/values.yaml":          "image: org/fails:1.0.0\n",
	"apps/fails/templates/pod.yaml":   "{{ if not .Values.token }}{{ fail \"set token: the chart has no default\" }}{{ end }}\nkind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
	"apps/bomb/Chart.yaml":            "apiVersion: v2\nname: bomb\nversion: 1.0.0\n",
	"apps/bomb/values.yaml":           "image: org/bomb:latest\n",
	"apps/bomb/templates/pod.yaml":    "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
	"apps/bomb/templates/repeat.yaml": "x: {{ repeat 1000000000 \"x\" }}\n",
}

func imgRender(t *testing.T, config string) (*report.Report, *workspace.Config) {
	t.Helper()
	// config continues the render: section imgWorkspace ends with (its
	// values: map first).
	ws := imgWorkspace(t, imgNeeds, config)
	return Images(context.Background(), ws, Options{Now: imgNow}), ws
}

// A chart that cannot render with its values (required, fail) hides its
// images: check:images cannot decide, and says which template needs what
// and the two ways out. A chart that crosses a render limit is a failed
// render; the other charts are checked either way.
func TestImagesChartNeedsValues(t *testing.T) {
	t.Parallel()
	rep, _ := imgRender(t, "")
	if rep.ExitCode() != report.ExitUndecided {
		t.Fatalf("exit %d; expected %d", rep.ExitCode(), report.ExitUndecided)
	}
	msg := rep.Err().Error()
	for _, w := range []string{
		"chart apps/needs cannot render with its values", "template apps/needs/templates/site.yaml", "site.host is required",
		"chart apps/fails cannot render with its values", "set token: the chart has no default",
		"render.values", "render.skip", "relkit.yaml",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("undecided %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, "apps/bomb") {
		t.Errorf("undecided names the bomb chart: %s", msg)
	}
	got := imgFindings(rep)
	wantAmong(t, got,
		// the template without the value still rendered and was checked
		"image-moving-tag error apps/bomb/values.yaml:1 org/bomb:latest",
		"chart-render-failed error apps/bomb/Chart.yaml:0 apps/bomb",
		// other charts are checked as before
		"image-not-release error omec/omec-control-plane/values.yaml:7 omecproject/mme:1.2.3-dev",
	)
	wantNone(t, got, "the undecided entry says it", func(g string) bool {
		return strings.Contains(g, "apps/needs") || strings.Contains(g, "apps/fails")
	})
	for _, f := range rep.Findings() {
		if f.Rule == "chart-render-failed" && f.Subject == "apps/bomb" && !strings.Contains(f.Message, "output larger than 64 MB") {
			t.Errorf("chart-render-failed should give the limit: %s", f.Message)
		}
	}
}

// With the values it needs (render.values) the chart renders and its
// images are checked; listed under render.skip it is not rendered and a
// warning names the config line and the reason, every run. A skip entry
// that names no chart is stale config.
func TestImagesRenderValuesAndSkip(t *testing.T) {
	t.Parallel()
	rep, _ := imgRender(t, "    apps/needs: [apps/needs/ci.yaml]\n  skip:\n    - chart: apps/fails\n      reason: takes a token only sites have\n    - chart: apps/gone\n      reason: renamed long ago\n")
	got := decidedImgFindings(t, rep)
	wantAmong(t, got,
		"chart-render-skipped warning apps/fails/Chart.yaml:0 apps/fails",
		"render-skip-stale warning relkit.yaml:24 apps/gone",
		// rendered with the values file: the template that needed it
		"image-not-release error apps/needs/ci.yaml:3 org/site:2.0.0-dev",
	)
	wantNone(t, got, "a skipped chart is not rendered, and apps/needs renders only org/site", func(g string) bool {
		return strings.Contains(g, "org/fails") || strings.Contains(g, "apps/needs") && !strings.Contains(g, "org/site")
	})
	for _, f := range rep.Findings() {
		switch f.Rule {
		case "chart-render-skipped":
			if !strings.Contains(f.Message, "relkit.yaml:22") || !strings.Contains(f.Message, "takes a token only sites have") {
				t.Errorf("chart-render-skipped should name the config line and reason: %s", f.Message)
			}
		case "render-skip-stale":
			if f.Repo != "" || !strings.Contains(f.Message, "apps/gone") {
				t.Errorf("render-skip-stale: repo %q message %s", f.Repo, f.Message)
			}
		}
	}
}

// imgSDCore has the SD-Core values shapes: tags joined to a registry
// prefix in the template, full references under images.tags, and one
// listed image no template renders.
var imgSDCore = map[string]string{
	"omec/sdcore/Chart.yaml": "apiVersion: v2\nname: sdcore\nversion: 1.0.0\n",
	"omec/sdcore/values.yaml": `images:
  repository: registry.aetherproject.org/omecproject/
  tags:
    amf: 5gc-amf:rel-1.2.3-dev
    smf: registry.aetherproject.org/omecproject/5gc-smf:master
    nrf: 5gc-nrf:master-abc1234
    upf: omecproject/upf:master-1
proxy: registry.example.org/proxy/
`,
	"omec/sdcore/templates/amf.yaml":     "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.images.repository }}{{ .Values.images.tags.amf }}\n",
	"omec/sdcore/templates/amf-job.yaml": "kind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - image: \"{{ .Values.images.repository }}{{ .Values.images.tags.amf }}\"\n",
	"omec/sdcore/templates/smf.yaml":     "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.images.tags.smf }}\n",
	"omec/sdcore/templates/upf.yaml":     "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.proxy }}{{ .Values.images.tags.upf }}\n",
	// A chart rendered on its own and as the subchart of an umbrella
	// that gives it a registry: one values line, two references.
	"omec/5gc/Chart.yaml":          "apiVersion: v2\nname: 5gc\nversion: 1.0.0\n",
	"omec/5gc/values.yaml":         "global:\n  registry: \"\"\nimages:\n  tags:\n    ausf: 5gc-ausf:rel-2.0.0-dev\n",
	"omec/5gc/templates/ausf.yaml": "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.global.registry }}{{ .Values.images.tags.ausf }}\n",
	"omec/umbrella/Chart.yaml":     "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n  - name: 5gc\n    version: 1.0.0\n    repository: file://../5gc\n",
	"omec/umbrella/values.yaml":    "global:\n  registry: registry.aetherproject.org/omecproject/\n",
}

// One finding per values line and rule, named by the reference the
// template rendered (registry prefix included), whichever shape the
// values use.
func TestImagesValuesLineReportedOnce(t *testing.T) {
	t.Parallel()
	ws := imgWorkspace(t, imgSDCore, "")
	rep := Images(context.Background(), ws, Options{Now: imgNow})
	var got []string
	for _, f := range rep.Findings() {
		if strings.HasPrefix(f.File, "omec/sdcore/") || strings.HasPrefix(f.File, "omec/5gc/") {
			got = append(got, imgKey(f))
		}
	}
	want := []string{
		"image-not-release error omec/5gc/values.yaml:5 registry.aetherproject.org/omecproject/5gc-ausf:rel-2.0.0-dev",
		"image-not-release error omec/sdcore/values.yaml:4 registry.aetherproject.org/omecproject/5gc-amf:rel-1.2.3-dev",
		"image-moving-tag error omec/sdcore/values.yaml:5 registry.aetherproject.org/omecproject/5gc-smf:master",
		"image-not-release error omec/sdcore/values.yaml:6 5gc-nrf:master-abc1234",
		"image-not-release error omec/sdcore/values.yaml:7 registry.example.org/proxy/omecproject/upf:master-1",
	}
	wantExactly(t, got, want)
	for _, f := range rep.Findings() {
		if f.File == "omec/sdcore/values.yaml" && strings.Contains(f.Subject, "5gc-amf") && (!strings.Contains(f.Message, "amf.yaml") || !strings.Contains(f.Message, "amf-job.yaml")) {
			t.Errorf("the amf finding should name both templates: %s", f.Message)
		}
		if f.File == "omec/5gc/values.yaml" && (!strings.Contains(f.Message, "also gives 5gc-ausf:rel-2.0.0-dev") || !strings.Contains(f.Message, "chart omec/umbrella (subchart 5gc)") || !strings.Contains(f.Message, "chart omec/5gc template")) {
			t.Errorf("the ausf finding should name the other reference and both charts: %s", f.Message)
		}
	}
}

// A waiver matches an image by the full name it renders to and by the
// name the values write (here a Docker Hub name behind a proxy prefix).
func TestImagesWaiverByRenderedAndWrittenName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, image string }{
		{"full", "registry.aetherproject.org/omecproject/5gc-amf"},
		{"written", "5gc-amf"},
		{"written, canonical hub name", "docker.io/omecproject/upf"},
		{"full, behind the proxy", "registry.example.org/proxy/omecproject/upf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			policy := "images:\n  waivers:\n    - image: " + tc.image + "\n      tag: \"*\"\n      reason: test\n      expires: 2099-01-01\n"
			ws := imgWorkspace(t, imgSDCore, policy)
			rep := Images(context.Background(), ws, Options{Now: imgNow})
			waived := 0
			for _, f := range rep.Findings() {
				if !strings.HasPrefix(f.File, "omec/sdcore/") {
					continue
				}
				if f.Rule == "image-waived" {
					waived++
					if !strings.Contains(f.Subject, strings.TrimPrefix(tc.image, "docker.io/")) {
						t.Errorf("waived %s; expected the image of %s", f.Subject, tc.image)
					}
				}
			}
			if waived != 1 {
				t.Errorf("%d images waived by %s; expected 1 in\n  %s", waived, tc.image, strings.Join(imgFindings(rep), "\n  "))
			}
		})
	}
}

// A tag that is a release in a project's own form says which form to add
// to images.releaseTagForms; a development tag does not.
func TestImagesReleaseFormHint(t *testing.T) {
	t.Parallel()
	extra := map[string]string{
		"apps/roc/Chart.yaml":         "apiVersion: v2\nname: roc\nversion: 1.0.0\n",
		"apps/roc/values.yaml":        "models: onosproject/aether-models:2.0.16-aether-2.0.x\ndev: onosproject/dev:2.0.16-dev\n",
		"apps/roc/templates/pod.yaml": "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.models }}\n    - image: {{ .Values.dev }}\n",
	}
	rep := Images(context.Background(), imgWorkspace(t, extra, ""), Options{Now: imgNow})
	hints := map[string]string{
		"registry.example.org/legacy/api:rel-1.2.3":     `add "rel-{version}" to images.releaseTagForms in relkit.yaml`,
		"onosproject/aether-models:2.0.16-aether-2.0.x": `add "{version}-aether-2.0.x" to images.releaseTagForms in relkit.yaml`,
		"onosproject/dev:2.0.16-dev":                    "",
		"omecproject/mme:1.2.3-dev":                     "",
	}
	seen := 0
	for _, f := range rep.Findings() {
		hint, ok := hints[f.Subject]
		if !ok || f.Rule != "image-not-release" {
			continue
		}
		seen++
		if hint != "" && !strings.Contains(f.Message, hint) {
			t.Errorf("%s: message lacks %q: %s", f.Subject, hint, f.Message)
		}
		if hint == "" && strings.Contains(f.Message, "releaseTagForms") {
			t.Errorf("%s: a development tag should not suggest a form: %s", f.Subject, f.Message)
		}
	}
	if seen != len(hints) {
		t.Errorf("%d of the %d image-not-release findings seen", seen, len(hints))
	}
}

// formWorkspace is a charts repo whose chart references the images of
// five components with their own image tag forms and git tags (ausf
// tagged v3.0.0 although its tagPrefix is empty: repos switch).
func formWorkspace(t *testing.T) *workspace.Config {
	t.Helper()
	root := t.TempDir()
	newRepo(t, filepath.Join(root, "charts"), map[string]string{
		"VERSION":         "1.0.0\n",
		"core/Chart.yaml": "apiVersion: v2\nname: core\nversion: 1.0.0\n",
		"core/values.yaml": "amf: registry.example.org/omec/5gc-amf:rel-1.2.3\n" +
			"smf: registry.example.org/omec/5gc-smf:v1.2.3\n" +
			"upf: registry.example.org/omec/upf:2.0.0-aether\n" +
			"nrf: registry.example.org/omec/nrf:rel-1.2.4\n" +
			"ausf: registry.example.org/omec/ausf:3.0.0\n",
		"core/templates/pod.yaml": "kind: Pod\nspec:\n  containers:\n" +
			"{{- range list .Values.amf .Values.smf .Values.upf .Values.nrf .Values.ausf }}\n    - image: {{ . }}\n{{- end }}\n",
	})
	for _, c := range []struct{ name, tag string }{{"amf", "v1.2.3"}, {"smf", "1.2.3"}, {"upf", "1.0.0"}, {"nrf", "1.2.3"}, {"ausf", "v3.0.0"}} {
		component(t, root, c.name, history(strings.TrimPrefix(c.tag, "v"), "tag "+c.tag))
	}
	cfg := `charts: {name: charts, path: charts}
components:
  - {name: amf, path: amf, tagPrefix: v, images: [registry.example.org/omec/5gc-amf], imageTagForm: "rel-{version}"}
  - {name: smf, path: smf, images: [registry.example.org/omec/5gc-smf]}
  - {name: upf, path: upf, images: [registry.example.org/omec/upf], imageTagForm: "v{version}"}
  - {name: nrf, path: nrf, images: [registry.example.org/omec/nrf], imageTagForm: "rel-{version}"}
  - {name: ausf, path: ausf, images: [registry.example.org/omec/ausf]}
images:
  releaseTagForms: ["{version}-aether"]
`
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// A chart referencing a component's image in another release form than
// the component's imageTagForm is warned about (image-tag-form); the form
// a component pushes counts as a release for its images; and the image
// tag maps back to the component's git tag through its form, with or
// without a v.
func TestImagesTagForm(t *testing.T) {
	t.Parallel()
	rep := Images(context.Background(), formWorkspace(t), Options{Now: imgNow})
	got := decidedImgFindings(t, rep)
	want := []string{
		"image-tag-form warning core/values.yaml:2 registry.example.org/omec/5gc-smf:v1.2.3",
		"image-tag-form warning core/values.yaml:3 registry.example.org/omec/upf:2.0.0-aether",
		"image-tag-not-in-repo error core/values.yaml:3 registry.example.org/omec/upf:2.0.0-aether",
		"image-tag-not-in-repo error core/values.yaml:4 registry.example.org/omec/nrf:rel-1.2.4",
	}
	wantExactly(t, got, want)
	for _, f := range rep.Findings() {
		switch {
		case f.Rule == "image-tag-form" && strings.Contains(f.Subject, "smf"):
			for _, w := range []string{"component smf", `form "v{version}"`, `imageTagForm is "{version}"`, `expected the charts to use "1.2.3"`} {
				if !strings.Contains(f.Message, w) {
					t.Errorf("image-tag-form message lacks %q: %s", w, f.Message)
				}
			}
		case f.Rule == "image-tag-not-in-repo" && strings.Contains(f.Subject, "nrf"):
			if !strings.Contains(f.Message, "no git tag 1.2.4 or v1.2.4") || !strings.Contains(f.Message, `"rel-{version}"`) {
				t.Errorf("image-tag-not-in-repo message should name both git tags and the form: %s", f.Message)
			}
		}
	}
}
