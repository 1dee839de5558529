package demo

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/relkit/relkit/release/workspace"
)

// TestChartsRenderTheListedImages renders every master chart offline with
// Helm's engine and the workspace's render settings, and compares the
// images found in the manifests with Workspace.Charts[].Images, so the list
// the checks' tests rely on is the truth.
func TestChartsRenderTheListedImages(t *testing.T) {
	w := build(t)
	cfg, err := workspace.Load(w.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	root := w.RepoDir(ChartsRepo)
	for _, c := range w.Charts {
		t.Run(c.Dir, func(t *testing.T) {
			got := renderImages(t, root, c.Dir, cfg)
			if !slices.Equal(got, c.Images) {
				t.Errorf("%s renders\n  %s\nWorkspace lists\n  %s", c.Dir, strings.Join(got, "\n  "), strings.Join(c.Images, "\n  "))
			}
		})
	}
	// Without the CronJob capability, the digest-pinned image disappears:
	// the chart really is gated on it.
	noCron := *cfg
	noCron.Render.APIVersions = nil
	got := renderImages(t, root, "omec/omec-control-plane", &noCron)
	for _, ref := range got {
		if strings.Contains(ref, "@sha256:") {
			t.Errorf("rendered %s without batch/v1/CronJob", ref)
		}
	}
}

// TestPublishedPackagesLoad loads every package of the chart repository
// with Helm's loader: each is a real chart of the name and version the
// index gives.
func TestPublishedPackagesLoad(t *testing.T) {
	w := build(t)
	for _, p := range w.Published {
		ch, err := loader.Load(filepath.Join(w.ChartRepoDir, p.File))
		if err != nil {
			t.Errorf("%s: %v", p.File, err)
			continue
		}
		if ch.Metadata.Name != p.Name || ch.Metadata.Version != p.Version || len(ch.Templates) == 0 && p.Name != "aether-roc-umbrella" {
			t.Errorf("%s: loaded %s %s with %d templates", p.File, ch.Metadata.Name, ch.Metadata.Version, len(ch.Templates))
		}
		if p.Name == "edge-monitoring" && (len(ch.Dependencies()) != 1 || ch.Dependencies()[0].Metadata.Version != "1.8.0") {
			t.Errorf("%s: want the vendored telegraf 1.8.0 subchart, got %d dependencies", p.File, len(ch.Dependencies()))
		}
	}
}

func renderImages(t *testing.T, root, dir string, cfg *workspace.Config) []string {
	t.Helper()
	ch, err := loader.Load(filepath.Join(root, dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ch.Metadata.Dependencies {
		local, ok := strings.CutPrefix(d.Repository, "file://")
		if !ok {
			continue // vendored under charts/
		}
		sub, err := loader.Load(filepath.Join(root, dir, local))
		if err != nil {
			t.Fatal(err)
		}
		ch.AddDependency(sub)
	}
	vals := chartutil.Values{}
	for _, f := range cfg.Render.Values[dir] {
		v, err := chartutil.ReadValuesFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		vals = chartutil.CoalesceTables(v, vals)
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		t.Fatal(err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	kv := strings.TrimPrefix(cfg.Render.KubeVersion, "v")
	parts := strings.Split(kv, ".")
	caps.KubeVersion = chartutil.KubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1]}
	caps.APIVersions = append(caps.APIVersions, cfg.Render.APIVersions...)
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "demo", Namespace: "default", IsInstall: true}, caps)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	set := map[string]bool{}
	for name, text := range out {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(text, "\n---") {
			var m any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatalf("%s: rendered %s is not YAML: %v\n%s", dir, name, err, doc)
			}
			collectImages(m, set)
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func collectImages(v any, set map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "image" {
				set[s] = true
				continue
			}
			collectImages(e, set)
		}
	case []any:
		for _, e := range x {
			collectImages(e, set)
		}
	}
}
