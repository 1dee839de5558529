package checks

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
)

func demoWorkspace(t *testing.T) (*demo.Workspace, *workspace.Config) {
	t.Helper()
	w, err := demo.Build(context.Background(), filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Load(w.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	return w, ws
}

// The demo umbrella reaches roc-api and the GUI (alias gui) through
// file:// dependencies that are not vendored: check:images renders them
// from their directories instead of warning, and an override only the
// umbrella's values set under the alias key is checked where it is
// written.
func TestImagesDemoUmbrellaFollowsFileDependencies(t *testing.T) {
	t.Parallel()
	w, ws := demoWorkspace(t)
	ctx := context.Background()

	results, err := render.All(ctx, ws.Charts.Dir, render.OptionsFrom(ws.Render))
	if err != nil {
		t.Fatal(err)
	}
	var umb render.Result
	for _, r := range results {
		if r.Chart.Dir == "aether-roc-umbrella" {
			umb = r
		}
	}
	if umb.Err != nil || len(umb.Deps) != 0 || len(umb.Failed) != 0 {
		t.Fatalf("umbrella: err %v, deps %+v, failed %+v; expected a full render", umb.Err, umb.Deps, umb.Failed)
	}
	var gui, api []string
	for _, img := range umb.Images {
		at := img.Ref + " " + img.ValuesFile
		switch img.Subchart {
		case "gui":
			gui = append(gui, at)
		case "roc-api":
			api = append(api, at)
		}
	}
	// global.image.registry of the umbrella prefixes the GUI's image; the
	// tag comes from the GUI chart's own values.
	if want := "registry.aetherproject.org/onosproject/aether-roc-gui:v2.1.4 aether-roc-gui/values.yaml"; !slices.Equal(gui, []string{want}) {
		t.Errorf("umbrella images through the alias gui = %q; expected [%s]", gui, want)
	}
	if !slices.Contains(api, "onosproject/config-model-registry:master-8d5c3a1 roc-api/values.yaml") {
		t.Errorf("umbrella images of roc-api = %q; expected the model registry traced to roc-api/values.yaml", api)
	}
	wantImages, _ := w.Chart("aether-roc-umbrella")
	var refs []string
	for _, img := range umb.Images {
		if img.Source == render.FromTemplate && !slices.Contains(refs, img.Ref) {
			refs = append(refs, img.Ref)
		}
	}
	slices.Sort(refs)
	if !slices.Equal(refs, wantImages.Images) {
		t.Errorf("umbrella renders\n  %s\nthe demo lists\n  %s", strings.Join(refs, "\n  "), strings.Join(wantImages.Images, "\n  "))
	}

	// A moving tag set only in the umbrella's values file for the alias.
	charts := w.Repos[demo.ChartsRepo]
	charts.Commit("gui: try the master build", map[string]string{
		"aether-roc-umbrella/values-gui.yaml": "gui:\n  enabled: true\n  image:\n    tag: master\n",
	})
	if err := charts.Err(); err != nil {
		t.Fatal(err)
	}
	rep := Images(ctx, ws, Options{Now: imgNow})
	if err := rep.Err(); err != nil {
		t.Fatalf("could not decide: %v", err)
	}
	var moving *report.Finding
	for _, f := range rep.Findings() {
		if f.Rule == "chart-dependency-missing" {
			t.Errorf("unexpected %s: %s", imgKey(f), f.Message)
		}
		if f.Rule == "image-moving-tag" {
			moving = &f
		}
		if f.Rule == "image-waived" && f.Subject == "onosproject/config-model-registry:master-8d5c3a1" &&
			(f.File != "roc-api/values.yaml" || !strings.Contains(f.Message, "chart aether-roc-umbrella (subchart roc-api)")) {
			t.Errorf("waived model registry: %s: %s; expected roc-api/values.yaml, used by the umbrella too", imgKey(f), f.Message)
		}
	}
	if moving == nil {
		t.Fatalf("no image-moving-tag for the gui override in %q", imgFindings(rep))
	}
	if got := imgKey(*moving); got != "image-moving-tag error aether-roc-umbrella/values-gui.yaml:4 registry.aetherproject.org/onosproject/aether-roc-gui:master" {
		t.Errorf("moving tag finding = %q; expected it at aether-roc-umbrella/values-gui.yaml:4", got)
	}
	if !strings.Contains(moving.Message, "chart aether-roc-umbrella (subchart gui) template aether-roc-gui/templates/deployment.yaml") {
		t.Errorf("message should say the umbrella renders it through the alias: %s", moving.Message)
	}
}

// A Chart.yaml that does not parse is a chart-invalid error at its file
// and line; every other chart is still checked.
func TestImagesInvalidChart(t *testing.T) {
	t.Parallel()
	ws := imgWorkspace(t, map[string]string{
		"apps/broken/Chart.yaml":  "apiVersion: v2\nname: broken\nversion: 1.0.0\n  appVersion: 1.0\n",
		"apps/broken/values.yaml": "image: org/broken:latest\n",
	}, imgPolicy)
	rep := Images(context.Background(), ws, Options{Now: imgNow})
	got := decidedImgFindings(t, rep)
	wantAmong(t, got,
		"chart-invalid error apps/broken/Chart.yaml:4 apps/broken",
		// the other charts are checked as usual
		"image-untagged error apps/global-helpers/values.yaml:18 registry:5000/team/bare",
		"waiver-expired error umbrella/aether/values.yaml:7 telegraf:1.17",
	)
	for _, f := range rep.Findings() {
		if strings.Contains(f.Subject, "org/broken") || f.Rule == "chart-render-failed" && f.Subject == "apps/broken" {
			t.Errorf("unexpected %s: the invalid chart is reported once, as chart-invalid", imgKey(f))
		}
		if f.Rule == "chart-invalid" && !strings.Contains(f.Message, "mapping values are not allowed") {
			t.Errorf("chart-invalid message lacks the YAML problem: %s", f.Message)
		}
	}
	if rep.ExitCode() != report.ExitFindings {
		t.Errorf("exit %d; expected %d", rep.ExitCode(), report.ExitFindings)
	}
}

func TestChartsInvalidChartYAML(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(
			chart("apps/ok", "ok", "1.0.0"),
			chart("apps/bad", "bad", "latest"),
			map[string]string{
				"apps/list/Chart.yaml":  "# a list by mistake\n- name: list\n",
				"apps/list/values.yaml": "{}\n",
			},
		))
	})
	rep := runCharts(t, chartsConfig(t, root, ""), "")
	wantFindings(t, rep,
		"chart-invalid apps/list/Chart.yaml:2 apps/list",
		"chart-version-invalid apps/bad/Chart.yaml:5 bad@latest",
	)
	wantContains(t, findingMessage(t, rep, "chart-invalid", "apps/list/Chart.yaml"), "found a sequence", "expected a YAML mapping")
}
