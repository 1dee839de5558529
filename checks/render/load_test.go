package render

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx/gitxtest"
	"github.com/relkit/relkit/release/testutil"
)

// files lists a loaded chart tree as "chart path: file" lines, templates,
// raw files and values included, so two loads can be compared.
func fileNames(c *chart.Chart) []string {
	var out []string
	var walk func(c *chart.Chart)
	walk = func(c *chart.Chart) {
		for _, f := range c.Raw {
			out = append(out, c.ChartFullPath()+": raw "+f.Name+" "+string(f.Data))
		}
		for _, f := range c.Templates {
			out = append(out, c.ChartFullPath()+": template "+f.Name)
		}
		out = append(out, c.ChartFullPath()+": version "+c.Metadata.Version)
		for _, d := range c.Dependencies() {
			walk(d)
		}
	}
	walk(c)
	slices.Sort(out)
	return out
}

// TestLoadChartMatchesHelm: on charts without hostile content, loading
// through repofs gives what Helm's own directory loader gives (vendored
// archives, .helmignore and symlinks that stay in the repo included).
func TestLoadChartMatchesHelm(t *testing.T) {
	root := t.TempDir()
	testutil.CopyTree(t, fixtures, root)
	// A chart whose templates and a subchart are symlinks inside the repo.
	gitxtest.WriteTree(t, root, map[string]string{
		"linked/Chart.yaml":            "apiVersion: v2\nname: linked\nversion: 0.1.0\n",
		"linked/.helmignore":           "*.md\nskip/\n",
		"linked/README.md":             "ignored\n",
		"linked/skip/x.yaml":           "ignored\n",
		"shared/templates/pod.yaml":    "kind: Pod\n",
		"shared/sub/Chart.yaml":        "apiVersion: v2\nname: sub\nversion: 0.2.0\n",
		"shared/sub/templates/cm.yaml": "kind: ConfigMap\n",
	})
	gitxtest.Symlink(t, "../shared/templates", filepath.Join(root, "linked/templates"))
	gitxtest.Symlink(t, "../../shared/sub", filepath.Join(root, "linked/charts/sub"))

	list, err := charts.Discover(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range list {
		if c.Err != nil {
			continue
		}
		ours, err := loadChart(context.Background(), root, c.Dir)
		helm, herr := loader.LoadDir(filepath.Join(root, filepath.FromSlash(c.Dir)))
		if (err == nil) != (herr == nil) {
			t.Errorf("%s: relkit %v, helm %v", c.Dir, err, herr)
			continue
		}
		if err != nil {
			continue
		}
		n++
		if got, want := fileNames(ours), fileNames(helm); !slices.Equal(got, want) {
			t.Errorf("%s: relkit loads\n%q\nhelm loads\n%q", c.Dir, got, want)
		}
	}
	if n < 5 {
		t.Errorf("compared %d charts, expected the fixtures and the linked chart", n)
	}
}
