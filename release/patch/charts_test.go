package patch

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
)

const chartsRepo = demo.ChartsRepo

func (f *fixture) runCharts(opt Options) (*plan.Plan, string, error) {
	f.t.Helper()
	opt.Line = line
	var out strings.Builder
	err := RunCharts(f.ctx, f.WS, opt, &out, plan.Text)
	p, _ := PlanCharts(f.ctx, f.WS, Options{Line: line, Commits: opt.Commits, DryRun: true})
	return p, out.String(), err
}

// changedLines lists the lines of b that differ from a (same line count
// expected).
func changedLines(t *testing.T, a, b string) []string {
	t.Helper()
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(al) != len(bl) {
		t.Fatalf("line count changed from %d to %d:\n%s\n---\n%s", len(al), len(bl), a, b)
	}
	var out []string
	for i := range al {
		if al[i] != bl[i] {
			out = append(out, bl[i])
		}
	}
	return out
}

// A fix that does not touch the version line picks cleanly; the chart gets
// the branch's next patch version and the umbrella's exact file:// pin
// (and so the umbrella's own version) follows. The dry run writes nothing.
func TestChartsCleanPickBumpsAndPinsFollow(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn(chartsRepo, "master", "roc-api: expose the metrics port", map[string][2]string{
		"roc-api/templates/service.yaml": {"    - port: {{ .Values.service.port }}\n", "    - port: {{ .Values.service.port }}\n    - port: 9090\n"},
	})
	before, gitBefore := f.Snapshot(chartsRepo), f.GitFiles(chartsRepo)
	tip := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	umbrellaBefore := f.Show(chartsRepo, tip, "aether-roc-umbrella/Chart.yaml")

	var out strings.Builder
	if err := RunCharts(f.ctx, f.WS, Options{Line: line, Commits: []string{fix[:10]}, DryRun: true}, &out, plan.Text); err != nil {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	// Not a byte of .git either (read before Snapshot's git status
	// refreshes the index): the picks and the bump commit the plan shows
	// were made in a scratch repository of their own.
	if after := f.GitFiles(chartsRepo); after != gitBefore {
		t.Fatalf("the dry run wrote into .git:\nbefore:\n%s\nafter:\n%s", gitBefore, after)
	}
	if after := f.Snapshot(chartsRepo); after != before {
		t.Fatalf("the dry run changed the repo:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	testutil.ContainsAll(t, "the dry run", out.String(), "dry run", "cherry-pick -x of "+fix[:7], "roc-api/Chart.yaml:8 version 0.10.1 -> 0.10.2",
		"aether-roc-umbrella/Chart.yaml:8 version 2.2.1 -> 2.2.2", "dependency roc-api version 0.10.1 -> 0.10.2", "move branch aether-2.1 "+tip[:7]+" ->")

	out.Reset()
	if err := RunCharts(f.ctx, f.WS, Options{Line: line, Commits: []string{fix}}, &out, plan.Text); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	newTip := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	log := f.Git(chartsRepo, "log", "--format=%s%n%b%x00", tip+".."+newTip)
	if n := strings.Count(log, "\x00"); n != 2 {
		t.Fatalf("expected 2 new commits (pick and bump) on aether-2.1, got %d:\n%s", n, log)
	}
	if !strings.Contains(log, cherry.PickTrailer(fix)) || !strings.Contains(log, "Relkit-Patch: aether-2.1") {
		t.Errorf("the pick needs the -x trailer and the bump the Relkit-Patch trailer:\n%s", log)
	}
	if got := f.Show(chartsRepo, "aether-2.1", "roc-api/templates/service.yaml"); !strings.Contains(got, "port: 9090") {
		t.Errorf("the fix is not on the branch:\n%s", got)
	}
	umbrellaAfter := f.Show(chartsRepo, "aether-2.1", "aether-roc-umbrella/Chart.yaml")
	got := changedLines(t, umbrellaBefore, umbrellaAfter)
	if strings.Join(got, "|") != "version: 2.2.2|    version: 0.10.2" {
		t.Errorf("the umbrella should change only its version and the roc-api pin, changed: %q", got)
	}
	if v := f.Show(chartsRepo, "aether-2.1", "roc-api/Chart.yaml"); !strings.Contains(v, "\nversion: 0.10.2\n") {
		t.Errorf("roc-api should be 0.10.2 on the branch:\n%s", v)
	}
	// The checkout (on master) and master itself are untouched; the
	// remote is not pushed without -push; no worktree is left.
	if got := f.Git(chartsRepo, "symbolic-ref", "--short", "HEAD"); got != "master" {
		t.Errorf("the checkout moved to %s", got)
	}
	if st := f.Git(chartsRepo, "status", "--porcelain"); st != "" {
		t.Errorf("the checkout is dirty:\n%s", st)
	}
	if wt := f.Git(chartsRepo, "worktree", "list"); strings.Count(wt, "\n") != 0 {
		t.Errorf("a scratch worktree was left:\n%s", wt)
	}
	if remote := f.Git(chartsRepo, "ls-remote", "origin", "refs/heads/aether-2.1"); !strings.HasPrefix(remote, tip) {
		t.Errorf("without -push the remote must keep %s, has %s", tip[:7], remote)
	}
}

// Main bumped the chart's version line in the same fix: the conflict on
// that line is settled with the branch's version, then bumped as the
// branch needs (0.14.1 -> 0.14.2, whatever main says).
func TestChartsVersionLineConflictResolved(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn(chartsRepo, "master", "omec-control-plane: wait longer for the NRF", map[string][2]string{
		"omec/omec-control-plane/templates/amf.yaml": {"sleep 2", "sleep 5"},
		"omec/omec-control-plane/Chart.yaml":         {"version: 0.15.0 #", "version: 0.15.1 #"},
	})
	_, out, err := f.runCharts(Options{Commits: []string{fix}, Push: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "branch's versions kept in omec/omec-control-plane/Chart.yaml") {
		t.Errorf("the plan should say the version conflict was settled:\n%s", out)
	}
	chart := f.Show(chartsRepo, "aether-2.1", "omec/omec-control-plane/Chart.yaml")
	if !strings.Contains(chart, "version: 0.14.2 # bump on every change") {
		t.Errorf("expected version 0.14.2 with its comment kept:\n%s", chart)
	}
	if tmpl := f.Show(chartsRepo, "aether-2.1", "omec/omec-control-plane/templates/amf.yaml"); !strings.Contains(tmpl, "sleep 5") {
		t.Errorf("the fix is not on the branch")
	}
	// The pick itself carries the fix only; the version comes from the bump.
	pick := f.Git(chartsRepo, "log", "-1", "--format=%H", "--grep", "cherry picked from commit "+fix, "aether-2.1")
	if files := f.Git(chartsRepo, "diff-tree", "--no-commit-id", "--name-only", "-r", pick); files != "omec/omec-control-plane/templates/amf.yaml" {
		t.Errorf("the pick should change the template only, changed:\n%s", files)
	}
	local := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	if remote := f.Git(chartsRepo, "ls-remote", "origin", "refs/heads/aether-2.1"); !strings.HasPrefix(remote, local) {
		t.Errorf("-push: origin has %q, expected %s", remote, local)
	}
}

// A conflict beyond the version line aborts: the branch, every ref, the
// checkout and the worktree list stay exactly as they were, and the
// problem names the files and the commands to finish by hand.
func TestChartsConflictLeavesEverythingUntouched(t *testing.T) {
	f := newFixture(t)
	f.CommitOn(chartsRepo, "aether-2.1", "omec-control-plane: wait 3s on 2.1", map[string][2]string{
		"omec/omec-control-plane/templates/amf.yaml": {"sleep 2", "sleep 3"},
		"omec/omec-control-plane/Chart.yaml":         {"version: 0.14.1 #", "version: 0.14.2 #"},
	})
	clean := f.CommitOn(chartsRepo, "master", "roc-api: expose the metrics port", map[string][2]string{
		"roc-api/templates/service.yaml": {"    - port: {{ .Values.service.port }}\n", "    - port: {{ .Values.service.port }}\n    - port: 9090\n"},
	})
	fix := f.CommitOn(chartsRepo, "master", "omec-control-plane: wait 5s", map[string][2]string{
		"omec/omec-control-plane/templates/amf.yaml": {"sleep 2", "sleep 5"},
	})
	before := f.Snapshot(chartsRepo)
	branchTree := f.Git(chartsRepo, "rev-parse", "aether-2.1^{tree}")
	_, out, err := f.runCharts(Options{Commits: []string{clean, fix}, Push: true})
	var refused *plan.Refused
	if !errors.As(err, &refused) || plan.ExitCode(err) != plan.ExitFailed {
		t.Fatalf("expected a refusal (exit 1), got %v\n%s", err, out)
	}
	testutil.ContainsAll(t, "the refusal", out, "conflicts in: omec/omec-control-plane/templates/amf.yaml", "git cherry-pick -x "+fix,
		"git switch aether-2.1", "git cherry-pick --continue", "Nothing was changed")
	if after := f.Snapshot(chartsRepo); after != before {
		t.Fatalf("a refused patch changed the repo:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if tree := f.Git(chartsRepo, "rev-parse", "aether-2.1^{tree}"); tree != branchTree {
		t.Errorf("the branch's tree changed")
	}
}

// The same patch twice: the second run finds the -x trailer on the branch
// and does nothing, even with -push; several commits go in order in one
// run.
func TestChartsTwiceIsANoOp(t *testing.T) {
	f := newFixture(t)
	a := f.CommitOn(chartsRepo, "master", "edge-monitoring: scrape every 30s", map[string][2]string{
		"edge-monitoring/values.yaml": {"listen: \":9273\"", "listen: \":9273\"\n          interval: 30s"},
	})
	b := f.CommitOn(chartsRepo, "master", "edge-monitoring: scrape every 20s", map[string][2]string{
		"edge-monitoring/values.yaml": {"interval: 30s", "interval: 20s"},
	})
	commits := SplitCommits(a + ", " + b[:12])
	if _, out, err := f.runCharts(Options{Commits: commits, Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if v := f.Show(chartsRepo, "aether-2.1", "edge-monitoring/Chart.yaml"); !strings.Contains(v, "version: '0.7.1'") {
		t.Errorf("edge-monitoring should be bumped once to '0.7.1' (quotes kept):\n%s", v)
	}
	if subj := f.Git(chartsRepo, "log", "-3", "--format=%s", "aether-2.1"); !strings.HasPrefix(subj, "Bump chart versions") ||
		!strings.Contains(subj, "every 20s\nedge-monitoring: scrape every 30s") {
		t.Errorf("expected the picks in order, then one bump:\n%s", subj)
	}
	before := f.Snapshot(chartsRepo)
	p, out, err := f.runCharts(Options{Commits: commits, Push: true})
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if !p.Empty() || !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "is already picked onto aether-2.1 as") {
		t.Errorf("the second run should do nothing and say the fixes are picked:\n%s", out)
	}
	if after := f.Snapshot(chartsRepo); after != before {
		t.Errorf("the second run changed the repo")
	}
	// A commit that is on the branch already (made before the cut).
	old := f.Git(chartsRepo, "rev-parse", "master~3")
	if _, out, err := f.runCharts(Options{Commits: []string{old}}); err != nil || !strings.Contains(out, "is already on aether-2.1") {
		t.Errorf("a commit from before the cut is on the branch already: %v\n%s", err, out)
	}
}

// Unknown commits and a missing branch are refusals that name them.
func TestChartsRefusals(t *testing.T) {
	f := newFixture(t)
	_, out, err := f.runCharts(Options{Commits: []string{"no-such-commit"}})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, `"no-such-commit" names no commit`) {
		t.Errorf("an unknown commit: %v\n%s", err, out)
	}
	err = RunCharts(f.ctx, f.WS, Options{Line: "3.7", Commits: []string{"master"}}, io.Discard, plan.Text)
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(err.Error(), "no branch aether-3.7") {
		t.Errorf("a missing release branch should be refused naming it, got %v", err)
	}
	if _, err := PlanCharts(f.ctx, f.WS, Options{Line: "2.x", Commits: []string{"master"}}); err == nil {
		t.Errorf("a malformed release line must be an error")
	}
	// A checked-out release branch is never moved under its worktree.
	fix := f.CommitOn(chartsRepo, "master", "roc-api: port", map[string][2]string{
		"roc-api/values.yaml": {"port: 8181", "port: 8182"},
	})
	wt := t.TempDir() + "/wt"
	f.Git(chartsRepo, "worktree", "add", "--quiet", wt, "aether-2.1")
	_, out, err = f.runCharts(Options{Commits: []string{fix}})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "aether-2.1 is checked out in "+wt) {
		t.Errorf("a checked-out branch should be refused: %v\n%s", err, out)
	}
}
