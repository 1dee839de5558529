package branch

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/plan"
)

// TestRefusals: every precondition that fails is reported with the repo,
// the file and line where there is one, and the run writes nothing.
func TestRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, fx *fixture)
		opts  Options
		want  []string
	}{
		{
			name: "release branch already elsewhere",
			setup: func(t *testing.T, fx *fixture) {
				fx.git(t, "docs", "-c", "user.name=D", "-c", "user.email=d@x", "commit", "-q", "--allow-empty", "-m", "more docs")
				fx.git(t, "docs", "branch", "aether-2.1", "master~1")
			},
			want: []string{"docs (docs)", "PROBLEM: branch aether-2.1 already exists at", "relkit does not move branches"},
		},
		{
			name: "charts VERSION not in the line",
			opts: Options{Line: "2.0"},
			want: []string{"PROBLEM: VERSION:1: the charts repo is at 2.1.3-dev, not in the 2.0 line; cutting aether-2.0 needs 2.0.z or 2.0.z-dev on master"},
		},
		{
			name: "docs VERSION on another release line",
			setup: func(t *testing.T, fx *fixture) {
				fx.repos["docs"].SetVersion("2.0.5\n")
			},
			want: []string{"docs (docs)", "PROBLEM: repos/docs/VERSION:1: the docs repo's VERSION is 2.0.5, not on the release line of repos/charts/VERSION, which is 2.1.3-dev on master; cutting aether-2.1 needs the docs at 2.1.z or 2.1.z-dev on master"},
		},
		{
			name: "docs already bumped by hand",
			setup: func(t *testing.T, fx *fixture) {
				fx.repos["docs"].SetVersion("2.2.0-dev\n")
			},
			want: []string{"PROBLEM: VERSION:1: master is already at 2.2.0-dev, at or past 2.2.0-dev, and no relkit commit for aether-2.1 was found"},
		},
		{
			name: "a range pin that would not accept the new version",
			setup: func(t *testing.T, fx *fixture) {
				f := "omec/omec-control-plane/Chart.yaml"
				fx.repos["charts"].Commit("narrow pin", map[string]string{f: strings.Replace(chartFiles[f], `"^1.0.0"`, `"~1.0.0"`, 1)})
			},
			want: []string{`PROBLEM: omec/omec-control-plane/Chart.yaml:11: dependency mme (file://../../apps/mme): the range "~1.0.0" does not accept the chart's new version 1.1.0 (from 1.0.4)`},
		},
		{
			name: "an anchored chart version",
			setup: func(t *testing.T, fx *fixture) {
				fx.repos["charts"].Commit("anchor", map[string]string{"apps/spgw/Chart.yaml": "apiVersion: v2\nname: spgw\nversion: &v 0.9.1\nappVersion: *v\n"})
			},
			want: []string{"PROBLEM: apps/spgw/Chart.yaml:3: version: carries the anchor &v"},
		},
		{
			name: "not a SemVer chart version",
			setup: func(t *testing.T, fx *fixture) {
				fx.repos["charts"].Commit("bad", map[string]string{"apps/spgw/Chart.yaml": "apiVersion: v2\nname: spgw\nversion: v0.9\n"})
			},
			want: []string{`PROBLEM: apps/spgw/Chart.yaml:3: chart version "v0.9" is not SemVer`},
		},
		{
			name: "checkout on another branch",
			setup: func(t *testing.T, fx *fixture) {
				fx.git(t, "comp-00", "switch", "-q", "-c", "feature")
			},
			want: []string{"comp-00 (component)", "PROBLEM: the checkout is on branch feature; check out master first"},
		},
		{
			name: "local commits not on the remote",
			setup: func(t *testing.T, fx *fixture) {
				fx.repos["comp-01"].Commit("unpushed", map[string]string{"x.go": "package x\n"})
			},
			opts: Options{Push: true},
			want: []string{"PROBLEM: master has 1 commit(s) that origin/master does not have; push or drop them first"},
		},
		{
			name: "remote ahead",
			setup: func(t *testing.T, fx *fixture) {
				other := filepath.Join(fx.root, "other")
				fx.git(t, fx.root, "clone", "-q", fx.remotes["system-tests"], other)
				fx.git(t, other, "-c", "user.name=O", "-c", "user.email=o@x", "commit", "-q", "--allow-empty", "-m", "new test")
				fx.git(t, other, "push", "-q", "origin", "master")
				fx.git(t, "docs", "push", "-q", "origin", "master:refs/heads/aether-2.1")
			},
			opts: Options{Push: true},
			want: []string{"system-tests (branched)", "is not on origin/master, so pushing aether-2.1 would publish commits nobody reviewed"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fx := buildFixture(t, dir, fixtureOpts{components: 2})
			if c.setup != nil {
				c.setup(t, fx)
			}
			before := hashTree(t, dir)
			out, err := run(t, fx, c.opts)
			var refused *plan.Refused
			if !errors.As(err, &refused) {
				t.Fatalf("want a refusal, got %v\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if hashTree(t, dir) != before {
				t.Errorf("a refused run wrote to the workspace")
			}
		})
	}
}

// TestDoneStaysDoneWhenRemotesMoveOn: after a pushed cut, people push more
// work; once pulled, a re-run is still a no-op.
func TestDoneStaysDoneWhenRemotesMoveOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fx := buildFixture(t, dir, fixtureOpts{components: 1})
	mustRun(t, fx, Options{Push: true})
	for _, name := range []string{"charts", "comp-00", "system-tests"} {
		other := filepath.Join(dir, "clone-"+name)
		fx.git(t, dir, "clone", "-q", fx.remotes[name], other)
		fx.git(t, other, "-c", "user.name=O", "-c", "user.email=o@x", "commit", "-q", "--allow-empty", "-m", "later work")
		fx.git(t, other, "push", "-q", "origin", "master")
	}
	for _, name := range []string{"charts", "comp-00", "system-tests"} {
		fx.git(t, name, "pull", "-q", "--ff-only")
	}
	out := mustRun(t, fx, Options{Push: true})
	if !strings.Contains(out, "Nothing to do") {
		t.Errorf("re-run after the remotes moved on is not a no-op:\n%s", out)
	}
	// Without pulling, relkit cannot see that the remote still has the
	// bump commit under the new work, and asks for a pull.
	other := filepath.Join(dir, "clone-charts")
	fx.git(t, other, "-c", "user.name=O", "-c", "user.email=o@x", "commit", "-q", "--allow-empty", "-m", "even later")
	fx.git(t, other, "push", "-q", "origin", "master")
	if out, err := run(t, fx, Options{Push: true}); err == nil || !strings.Contains(out, "charts (charts)") || !strings.Contains(out, "pull first") {
		t.Errorf("want a request to pull the charts repo, got %v\n%s", err, out)
	}
}

// TestLocalCutThenPush cuts without -push, then pushes in a second run.
func TestLocalCutThenPush(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 2})
	remote := fx.rev(fx.remotes["charts"], "refs/heads/master")
	mustRun(t, fx, Options{})
	if got := fx.rev(fx.remotes["charts"], "refs/heads/master"); got != remote {
		t.Fatalf("a cut without -push pushed")
	}
	p, err := Plan(context.Background(), fx.ws, Options{Line: line, Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count(plan.Push) != 5 || p.Count(plan.Commit) != 0 || p.Count(plan.CreateBranch) != 0 {
		t.Errorf("the second run should only push (5 repos): %s", p.Summary())
	}
	mustRun(t, fx, Options{Push: true})
	if fx.rev(fx.remotes["charts"], "refs/heads/master") != fx.rev("charts", "refs/heads/master") {
		t.Errorf("charts master not pushed")
	}
}

// TestAuthor: Options.Author (RELKIT_GIT_AUTHOR in the targets) overrides
// relkit.yaml; with neither, the repo's git config is used.
func TestAuthor(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	mustRun(t, fx, Options{Author: "CI Robot <ci@example.org>"})
	if who := fx.git(t, "comp-00", "log", "-1", "--format=%an <%ae> %cn <%ce>", "master"); who != "CI Robot <ci@example.org> CI Robot <ci@example.org>" {
		t.Errorf("author %q, want the RELKIT_GIT_AUTHOR identity", who)
	}

	fx2 := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	fx2.ws.GitAuthor = ""
	mustRun(t, fx2, Options{})
	if who := fx2.git(t, "comp-00", "log", "-1", "--format=%an <%ae>", "master"); who != "Demo Developer <dev@example.org>" {
		t.Errorf("author %q, want the repo's git config identity", who)
	}

	if _, err := Plan(context.Background(), fx2.ws, Options{Line: line, Author: "no email"}); err == nil || !strings.Contains(err.Error(), plan.AuthorEnv) {
		t.Errorf("a malformed %s should be an error naming it, got %v", plan.AuthorEnv, err)
	}
}

func TestBadLine(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	for _, l := range []string{"2.1.0", "v2.1", "2", "02.1", ""} {
		if _, err := Plan(context.Background(), fx.ws, Options{Line: l}); err == nil || !strings.Contains(err.Error(), "MAJOR.MINOR") {
			t.Errorf("line %q: got %v, want an error asking for MAJOR.MINOR", l, err)
		}
	}
}

// TestSuccessiveCuts cuts 2.1 then 2.2; re-running 2.1 afterwards finds
// every repo done, and cutting 2.1 in a workspace where 2.2 was cut first
// is refused.
func TestSuccessiveCuts(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	mustRun(t, fx, Options{Push: true})
	mustRun(t, fx, Options{Line: "2.2", Push: true})
	if v := readFile(t, fx, "comp-00", "VERSION"); v != "1.4.0-dev\n" {
		t.Errorf("comp-00 VERSION %q after two cuts, want 1.4.0-dev", v)
	}
	if v := readFile(t, fx, "charts", "apps/hss/Chart.yaml"); !strings.Contains(v, "version: 1.4.0   #") {
		t.Errorf("hss chart after two cuts:\n%s", v)
	}
	// aether-2.2 starts at 2.1's bump commit, whose parent is aether-2.1.
	if fx.rev("charts", "aether-2.2^1") != fx.rev("charts", "aether-2.1") {
		t.Errorf("aether-2.2 should be at the 2.1 bump commit")
	}
	if out := mustRun(t, fx, Options{Push: true}); !strings.Contains(out, "Nothing to do") {
		t.Errorf("re-running 2.1 after 2.2 is not a no-op:\n%s", out)
	}

	// A later line cut first.
	fx2 := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	fx2.repos["comp-00"].Commit("Start 1.3 development after cutting aether-2.2\n\nRelkit-Release-Branch: aether-2.2", map[string]string{"VERSION": "1.3.0-dev\n"})
	out, err := run(t, fx2, Options{})
	if err == nil || !strings.Contains(out, "PROBLEM: master was already moved on by relkit when aether-2.2 was cut") {
		t.Errorf("want a refusal to cut an older line, got %v\n%s", err, out)
	}
}

// TestCutByHandIsNotTakenAsDone: a branch and a bump commit made by hand
// (no trailer), exactly where relkit would have made them, are still not
// relkit's work: the run is refused, saying what is there, and nothing
// moves.
func TestCutByHandIsNotTakenAsDone(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	head := fx.rev("docs", "master")
	fx.git(t, "docs", "branch", "aether-2.1")
	fx.repos["docs"].SetVersion("2.2.0-dev\n")
	before := hashTree(t, fx.root)
	out, err := run(t, fx, Options{DryRun: true})
	var refused *plan.Refused
	if !errors.As(err, &refused) {
		t.Fatalf("want a refusal, got %v\n%s", err, out)
	}
	want := "PROBLEM: branch aether-2.1 already exists at " + head[:7] + " (an ancestor of master), made outside relkit (no commit of master carries the trailer \"Relkit-Release-Branch: aether-2.1\", and relkit did not create it in this clone)"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "done: branch aether-2.1") {
		t.Errorf("a hand-made branch was taken as done:\n%s", out)
	}
	if hashTree(t, fx.root) != before || fx.rev("docs", "aether-2.1") != head {
		t.Errorf("a refused run wrote")
	}
}
