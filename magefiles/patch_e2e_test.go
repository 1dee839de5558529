//go:build mage

package main

import (
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
)

// -from and -use reach patch:charts and patch:component: an unmerged
// chart fix is refused until -from names its branch, and a -use outside
// the shipped line is refused naming why.
func TestPatchFromAndUseFlags(t *testing.T) {
	w := demoWorkspace(t)
	env := []string{"RELKIT_CONFIG=" + w.ConfigFile}
	if out, errOut, code := run(t, env, "release:branch", "2.1"); code != 0 {
		t.Fatalf("release:branch 2.1: exit %d\n%s%s", code, out, errOut)
	}
	r := w.Repos[demo.ChartsRepo]
	r.Checkout("fix/metrics-port", "master")
	fix := r.Commit("roc-api: expose the metrics port", map[string]string{"roc-api/templates/metrics.yaml": "# metrics\n"})
	r.Checkout("master", "")
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, env, "patch:charts", "2.1", fix, "-dryRun")
	if code != 1 || !strings.Contains(out, "is not on the main branch master; it is on fix/metrics-port") {
		t.Errorf("an unmerged fix: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "patch:charts", "2.1", fix, "-from=fix/metrics-port", "-dryRun")
	if code != 0 || !strings.Contains(out, "cherry-pick -x of "+fix[:7]) {
		t.Errorf("-from=fix/metrics-port: exit %d\n%s%s", code, out, errOut)
	}
	amf := w.Repos["amf"]
	head := amf.Head()
	out, errOut, code = run(t, env, "patch:component", "amf", "2.1", head, "-use=1.5.0", "-dryRun")
	if code != 1 || !strings.Contains(out, "-use=1.5.0 is not a release after 1.4.1 in the 1.4 line") {
		t.Errorf("-use outside the line: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = run(t, env, "-h", "patch:component")
	if code != 0 || !strings.Contains(out, "-use=X.Y.Z ships an existing release") || !strings.Contains(out, "-from") {
		t.Errorf("-h patch:component should document -use and -from:\n%s", out)
	}
}
