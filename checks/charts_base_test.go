package checks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/workspace"
)

// chartsConfigAt is chartsConfig for a charts repo at root/path.
func chartsConfigAt(t *testing.T, root, path string) *workspace.Config {
	t.Helper()
	cfg := fmt.Sprintf("branchPrefix: aether-\ncharts:\n  path: %s\n  mainBranch: main\n", path)
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// gitIn runs git in dir (with an identity for merges) and fails the test on
// an error.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitx.Git(context.Background(), dir, append([]string{"-c", "user.name=CI", "-c", "user.email=ci@example.org"}, args...)...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(out)
}

// baseHistory builds the charts repo every base test clones, and its bare
// remote under root/remotes:
//
//	main:       m1 add a, b, c (1.0.0) - m2 a changed, no bump - m3 b bumped to 1.0.1 - m4 b bumped to 1.1.0
//	feature:    from m3: f1 c changed, no bump
//	aether-2.1: from m2: r1 c changed, no bump (already on the release branch)
//	fix:        from r1: x1 a changed and bumped to 1.0.1
func baseHistory(t *testing.T, root string) {
	chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("m1: add charts", merged(chart("a", "a", "1.0.0"), chart("b", "b", "1.0.0"), chart("c", "c", "1.0.0")))
		r.Commit("m2: a, no bump", map[string]string{"a/values.yaml": "replicas: 2\n"})
		r.Checkout("aether-2.1", "main")
		r.Commit("r1: c, no bump", map[string]string{"c/values.yaml": "replicas: 3\n"})
		r.Checkout("fix", "aether-2.1")
		r.Commit("x1: a, bumped", map[string]string{"a/values.yaml": "replicas: 4\n", "a/Chart.yaml": chartYAML("a", "1.0.1")})
		r.Checkout("main", "")
		r.Commit("m3: b, bumped", map[string]string{"b/values.yaml": "replicas: 2\n", "b/Chart.yaml": chartYAML("b", "1.0.1")})
		r.Checkout("feature", "main")
		r.Commit("f1: c, no bump", map[string]string{"c/values.yaml": "replicas: 5\n"})
		r.Checkout("main", "")
		r.Commit("m4: b, bumped", map[string]string{"b/templates/deployment.yaml": "kind: StatefulSet\n", "b/Chart.yaml": chartYAML("b", "1.1.0")})
	})
}

// ciCheckout clones the bare remote into root/name with cloneArgs, runs the
// setup git commands there and leaves HEAD detached, as CI does.
func ciCheckout(t *testing.T, root, name string, cloneArgs []string, setup ...[]string) {
	t.Helper()
	args := append(append([]string{"clone", "-q"}, cloneArgs...), filepath.Join(root, "remotes", "charts.git"), name)
	gitIn(t, root, args...)
	dir := filepath.Join(root, name)
	for _, s := range setup {
		gitIn(t, dir, s...)
	}
	if out, err := gitx.Git(context.Background(), dir, "symbolic-ref", "-q", "HEAD"); err == nil {
		t.Fatalf("%s: HEAD is on branch %s; the setup should detach it", name, out)
	}
}

func TestChartsBaseOfADetachedHEAD(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	baseHistory(t, root)
	detach := func(rev string) []string { return []string{"checkout", "-q", "--detach", rev} }
	dropMain := []string{"branch", "-q", "-D", "main"}

	tests := []struct {
		name  string
		clone []string
		setup [][]string
		want  []string
		// desc is part of the base description the findings carry.
		desc string
	}{
		{
			// Before: the merge base of HEAD and origin/main was HEAD, and
			// nothing was compared.
			name:  "a merged commit of main: what it changed",
			setup: [][]string{detach("origin/main~2"), dropMain},
			want:  []string{"chart-not-bumped a/Chart.yaml:5 a@1.0.0"},
			desc:  "HEAD^, HEAD is on main's history, so what its commit changed, ",
		},
		{
			name:  "the tip of main: only the last merge",
			setup: [][]string{detach("origin/main")},
		},
		{
			name:  "a work branch commit: from the merge base with origin/main, not its tip",
			setup: [][]string{detach("origin/feature"), dropMain},
			want:  []string{"chart-not-bumped c/Chart.yaml:5 c@1.0.0"},
			desc:  "merge-base of HEAD and main, ",
		},
		{
			name: "a pull request's merge commit into main: from its first parent",
			setup: [][]string{{"checkout", "-q", "-b", "pr", "origin/main"}, {"merge", "-q", "--no-ff", "-m", "Merge PR", "origin/feature"},
				{"checkout", "-q", "--detach"}, {"branch", "-q", "-D", "pr"}, dropMain},
			want: []string{"chart-not-bumped c/Chart.yaml:5 c@1.0.0"},
			desc: "HEAD^, the first parent of the merge commit HEAD (a pull request's merge",
		},
		{
			// The merge base with main would be m2 and blame r1's change of
			// c on the pull request.
			name: "a pull request's merge commit into a release branch: from the branch tip",
			setup: [][]string{{"checkout", "-q", "-b", "pr", "origin/aether-2.1"}, {"merge", "-q", "--no-ff", "-m", "Merge PR", "origin/fix"},
				{"checkout", "-q", "--detach"}, {"branch", "-q", "-D", "pr"}},
		},
		{
			// Its first parent would judge only what main brought in, and
			// miss c.
			name: "a work branch that merged main in: from the merge base, not the first parent",
			setup: [][]string{{"checkout", "-q", "-b", "feat", "origin/feature"}, {"merge", "-q", "--no-ff", "-m", "Merge main", "origin/main"},
				{"checkout", "-q", "--detach"}, {"branch", "-q", "-D", "feat"}},
			want: []string{"chart-not-bumped c/Chart.yaml:5 c@1.0.0"},
			desc: "merge-base of HEAD and main, ",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("ci%d", i)
			ciCheckout(t, root, name, tt.clone, tt.setup...)
			rep := runCharts(t, chartsConfigAt(t, root, name), "")
			wantFindings(t, rep, tt.want...)
			for _, f := range rep.Findings() {
				wantContains(t, f.Message, "(base "+tt.desc)
			}
		})
	}
}

func TestChartsBaseUndecidedWithoutMain(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	baseHistory(t, root)
	// A clone of the work branch alone: no main, no origin/main.
	ciCheckout(t, root, "ci", []string{"--single-branch", "--branch", "feature"}, []string{"checkout", "-q", "--detach"})
	ws := chartsConfigAt(t, root, "ci")
	rep := runCharts(t, ws, "")
	if rep.ExitCode() != report.ExitUndecided {
		t.Fatalf("exit %d (findings %q); want %d: nothing to compare with", rep.ExitCode(), summary(rep), report.ExitUndecided)
	}
	wantContains(t, rep.Err().Error(), "neither main nor origin/main exists", "RELKIT_BASE")

	// The way out it names: RELKIT_BASE.
	m3 := gitIn(t, filepath.Join(root, "ci"), "rev-parse", "HEAD~1")
	wantFindings(t, runCharts(t, ws, m3), "chart-not-bumped c/Chart.yaml:5 c@1.0.0")

	// A merge commit there is taken for a pull request's merge: its first
	// parent is the target.
	gitIn(t, filepath.Join(root, "ci"), "checkout", "-q", "-b", "target", "HEAD~1")
	gitIn(t, filepath.Join(root, "ci"), "merge", "-q", "--no-ff", "-m", "Merge PR", "origin/feature")
	gitIn(t, filepath.Join(root, "ci"), "checkout", "-q", "--detach")
	gitIn(t, filepath.Join(root, "ci"), "branch", "-q", "-D", "target")
	wantFindings(t, runCharts(t, ws, ""), "chart-not-bumped c/Chart.yaml:5 c@1.0.0")
}

func TestChartsBaseOfABranchWithoutCommits(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	baseHistory(t, root)
	ciCheckout(t, root, "dev", nil, []string{"checkout", "-q", "--detach"})
	dir := filepath.Join(root, "dev")
	gitIn(t, dir, "checkout", "-q", "-b", "new-work", "origin/main")
	ws := chartsConfigAt(t, root, "dev")
	// Nothing of its own yet: main's commits are not the branch's.
	wantFindings(t, runCharts(t, ws, ""))
	// Its uncommitted changes are what it changes, and the base says so.
	step(t, &demo.Repo{Dir: dir}, func(r *demo.Repo) { r.Write(map[string]string{"c/values.yaml": "replicas: 7\n"}) })
	rep := runCharts(t, ws, "")
	wantNotBumped(t, rep, "c/Chart.yaml:5 c@1.0.0", "new-work has no commits of its own since main")
}
