package checks

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
)

// kubeChart is a chart whose Chart.yaml has kubeVersion on line 7.
func kubeChart(name, constraint string) map[string]string {
	c := chart(name, name, "1.0.0")
	c[name+"/Chart.yaml"] += fmt.Sprintf("kubeVersion: %q\n", constraint)
	return c
}

func TestChartsKubeVersion(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	constraints := map[string]string{
		"atleast":     ">=1.20.0",
		"dashzero":    ">=1.20.0-0", // helm's idiom to admit cloud builds like v1.30.1-gke.1
		"tilde":       "~1.34.0",
		"range":       ">=1.25.0-0, <1.35.0-0",
		"either":      "<1.20.0 || >=1.30.0",
		"spaced":      ">= 1.21.0",
		"old":         "<1.30.0-0",
		"future":      ">=1.35.0",
		"exactold":    "1.28.0",
		"notsemver":   "kubernetes-1.x",
		"prereleased": ">=1.34.1-0",
	}
	var files []map[string]string
	for name, c := range constraints {
		files = append(files, kubeChart(name, c))
	}
	files = append(files, chart("plain", "plain", "1.0.0"))
	chartsRepo(t, root, func(r *demo.Repo) { r.Commit("Add charts", merged(files...)) })

	// Default render.kubeVersion: v1.34.0.
	rep := runCharts(t, chartsConfig(t, root, ""), "")
	wantFindings(t, rep,
		"chart-kube-version old/Chart.yaml:7 old@1.0.0",
		"chart-kube-version future/Chart.yaml:7 future@1.0.0",
		"chart-kube-version exactold/Chart.yaml:7 exactold@1.0.0",
		"chart-kube-version notsemver/Chart.yaml:7 notsemver@1.0.0",
		"chart-kube-version prereleased/Chart.yaml:7 prereleased@1.0.0",
	)
	wantContains(t, findingMessage(t, rep, "chart-kube-version", "old/Chart.yaml"),
		`kubeVersion "<1.30.0-0" excludes Kubernetes v1.34.0 (render.kubeVersion)`, "helm template --kube-version v1.34.0", "relkit.yaml")
	wantContains(t, findingMessage(t, rep, "chart-kube-version", "notsemver/Chart.yaml"), "not a constraint helm can read")

	// Another render.kubeVersion: the same constraints judged against it.
	cfg := "charts:\n  path: charts\n  mainBranch: main\nrender:\n  kubeVersion: \"1.28\"\n"
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	rep = runCharts(t, ws, "")
	wantFindings(t, rep,
		"chart-kube-version tilde/Chart.yaml:7 tilde@1.0.0",
		"chart-kube-version either/Chart.yaml:7 either@1.0.0",
		"chart-kube-version future/Chart.yaml:7 future@1.0.0",
		"chart-kube-version notsemver/Chart.yaml:7 notsemver@1.0.0",
		"chart-kube-version prereleased/Chart.yaml:7 prereleased@1.0.0",
	)
	wantContains(t, findingMessage(t, rep, "chart-kube-version", "tilde/Chart.yaml"), `"~1.34.0" excludes Kubernetes v1.28 `)
}

func TestChartsChartYAMLLayoutOnlyIsNoChange(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	names := []string{"blank", "comment", "order", "quotes", "value", "typed", "withvalues", "docs"}
	var files []map[string]string
	for _, n := range names {
		files = append(files, chart(n, n, "1.0.0"))
	}
	r := chartsRepo(t, root, func(r *demo.Repo) {
		all := merged(files...)
		// The real-repo shape: a trailing blank line that a later commit drops.
		all["blank/Chart.yaml"] += "\n"
		r.Commit("Add charts", all)
	})
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Commit("Tidy Chart.yaml files", map[string]string{
			"blank/Chart.yaml":   chartYAML("blank", "1.0.0"),
			"comment/Chart.yaml": "# The comment chart.\n" + chartYAML("comment", "1.0.0") + "# end\n",
			"order/Chart.yaml":   "version: 1.0.0\nname: order\napiVersion: v2\nappVersion: \"1.0\"\ntype: application\ndescription: order test chart\n",
			"quotes/Chart.yaml":  "apiVersion: 'v2'\nname: \"quotes\"\ndescription: quotes test chart\ntype: application\nversion: \"1.0.0\"\nappVersion: '1.0'\n",
			// Real changes: a value, a type (the string "1.0" becomes the number 1), another file, a second document.
			"value/Chart.yaml":       strings.Replace(chartYAML("value", "1.0.0"), "value test chart", "value chart, reworded", 1),
			"typed/Chart.yaml":       strings.Replace(chartYAML("typed", "1.0.0"), `appVersion: "1.0"`, "appVersion: 1.0", 1),
			"withvalues/Chart.yaml":  "\n" + chartYAML("withvalues", "1.0.0"),
			"withvalues/values.yaml": "replicas: 2\n",
			"docs/Chart.yaml":        chartYAML("docs", "1.0.0") + "---\nextra: document\n",
		})
	})
	ws := chartsConfig(t, root, "")
	rep := runCharts(t, ws, "")
	wantFindings(t, rep,
		"chart-not-bumped value/Chart.yaml:5 value@1.0.0",
		"chart-not-bumped typed/Chart.yaml:5 typed@1.0.0",
		"chart-not-bumped withvalues/Chart.yaml:6 withvalues@1.0.0",
		"chart-not-bumped docs/Chart.yaml:5 docs@1.0.0",
	)
	wantContains(t, findingMessage(t, rep, "chart-not-bumped", "withvalues/Chart.yaml"), "Chart.yaml, values.yaml")

	// The same edits uncommitted in the worktree are judged the same way.
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature2", "main")
		r.Write(map[string]string{"blank/Chart.yaml": chartYAML("blank", "1.0.0"), "value/Chart.yaml": chartYAML("value", "1.0.0") + "home: https://example.org\n"})
	})
	wantFindings(t, runCharts(t, ws, ""), "chart-not-bumped value/Chart.yaml:5 value@1.0.0")
}

func TestSameYAML(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"a: 1\nb: x\n", "b: x\n\n# c\na: 1\n", true},
		{"a: 1\n", "a: '1'\n", false},
		{"a: [1, 2]\n", "a:\n  - 1\n  - 2\n", true},
		{"a: &x {k: v}\nb: *x\n", "a: {k: v}\nb: {k: v}\n", true},
		{"a: 1\n", "a: 1\n---\nb: 2\n", false},
		{"a: 1\n", "a: 1\na: 2\n", false}, // a duplicate key does not parse
		{"a: [\n", "a: [\n", false},       // nor does this, even unchanged
	} {
		if got := sameYAML([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("sameYAML(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
