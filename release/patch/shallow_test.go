package patch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo/demotest"
	"github.com/relkit/relkit/release/plan"
)

// TestPatchChartsInAShallowClone: which fixes the branch already has is
// history; in a --depth 1 clone of the charts repo a dry run cannot decide
// (exit 3, naming the command) and writes nothing, while a real run fetches
// the history first and says so.
func TestPatchChartsInAShallowClone(t *testing.T) {
	f := newFixture(t)
	charts := f.Dir(f.WS.Charts.Name)
	fix := f.Git(f.WS.Charts.Name, "rev-parse", "master")
	remote := f.Git(f.WS.Charts.Name, "remote", "get-url", "origin")
	if err := os.RemoveAll(charts); err != nil {
		t.Fatal(err)
	}
	demotest.Git(t, filepath.Dir(charts), "clone", "-q", "--depth", "1", "--no-single-branch", "file://"+remote, charts)
	f.Git(f.WS.Charts.Name, "branch", "aether-2.1", "origin/aether-2.1")
	before := f.Snapshot(f.WS.Charts.Name)
	var out bytes.Buffer
	err := RunCharts(f.ctx, f.WS, Options{Line: line, Commits: []string{fix}, DryRun: true}, &out, plan.Text)
	if plan.ExitCode(err) != plan.ExitUndecided || !strings.Contains(out.String(), "could not decide: "+f.WS.Charts.Name+" is a shallow clone; run git fetch --unshallow in "+charts) {
		t.Fatalf("want exit 3 naming the shallow clone, got %v\n%s", err, out.String())
	}
	if f.Snapshot(f.WS.Charts.Name) != before {
		t.Errorf("the dry run wrote to the charts repo")
	}
	p, _ := PlanCharts(f.ctx, f.WS, Options{Line: line, Commits: []string{fix}})
	if p == nil || !strings.Contains(strings.Join(p.Repos[0].Notes, "\n"), "the checkout was a shallow clone; fetched its full history from origin") {
		t.Errorf("a real run does not fetch the history and say so: %+v", p)
	}
	if _, err := os.Stat(filepath.Join(charts, ".git", "shallow")); err == nil {
		t.Errorf("still shallow after planning a real run")
	}
}
