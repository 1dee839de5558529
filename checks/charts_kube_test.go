package checks

import (
	"fmt"
	"path/filepath"
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
