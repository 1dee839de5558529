package branch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// handCutRemote gives the charts repo the history of a line cut by hand
// years ago: VERSION set to 2.1.0 and tagged, main moving on, and
// aether-2.1 pushed to the remote only, at the 2.1.0 tag commit. With
// patch, the remote branch also carries a 2.1.1 release (tagged on the
// remote) that this clone never fetched.
func handCutRemote(t *testing.T, fx *fixture, patch bool) (tagCommit, tip string) {
	t.Helper()
	ch := fx.repos["charts"]
	tagCommit = ch.SetVersion("2.1.0\n")
	ch.Tag("2.1.0", "Release 2.1.0", "")
	ch.Commit("More work on main", map[string]string{"README.md": "# charts, later\n"})
	ch.SetVersion("2.1.3-dev\n")
	ch.Git("push", "-q", "origin", "master", "2.1.0", tagCommit+":refs/heads/aether-2.1")
	if err := ch.Err(); err != nil {
		t.Fatal(err)
	}
	tip = tagCommit
	if patch {
		other := filepath.Join(fx.root, "other-charts")
		fx.git(t, fx.root, "clone", "-q", "-b", "aether-2.1", fx.remotes["charts"], other)
		if err := os.WriteFile(filepath.Join(other, "VERSION"), []byte("2.1.1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		fx.git(t, other, "-c", "user.name=Old", "-c", "user.email=old@x", "commit", "-q", "-am", "Release 2.1.1")
		fx.git(t, other, "-c", "user.name=Old", "-c", "user.email=old@x", "tag", "-a", "-m", "2.1.1", "2.1.1")
		fx.git(t, other, "push", "-q", "origin", "aether-2.1", "2.1.1")
		tip = fx.git(t, other, "rev-parse", "HEAD")
	}
	return tagCommit, tip
}

// TestRemoteBranchCutByHandIsRefused: a dry run reads the remotes as a
// push does, finds the hand-made aether-2.1 there and refuses, naming its
// commit, the tags at it and whether main has it; it never plans creating
// the branch, and writes nothing.
func TestRemoteBranchCutByHandIsRefused(t *testing.T) {
	t.Parallel()
	for _, patch := range []bool{false, true} {
		t.Run(fmt.Sprintf("patched=%v", patch), func(t *testing.T) {
			fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
			tagCommit, tip := handCutRemote(t, fx, patch)
			before := hashTree(t, fx.root)
			for _, o := range []Options{{DryRun: true}, {DryRun: true, Push: true}, {}} {
				out, err := run(t, fx, o)
				var refused *plan.Refused
				if !errors.As(err, &refused) || plan.ExitCode(err) != plan.ExitFailed {
					t.Fatalf("%+v: want a refusal (exit 1), got %v\n%s", o, err, out)
				}
				var want string
				if patch {
					want = "PROBLEM: origin already has branch aether-2.1 at " + tip[:7] + " (tag(s) 2.1.1 at it; a commit this clone does not have (fetch it to look)), made outside relkit"
				} else {
					want = "PROBLEM: origin already has branch aether-2.1 at " + tagCommit[:7] + " (tag(s) 2.1.0 at it; an ancestor of master), made outside relkit"
				}
				if !strings.Contains(out, want) {
					t.Errorf("%+v: output lacks %q:\n%s", o, want, out)
				}
				charts, _, _ := strings.Cut(out[strings.Index(out, "charts (charts)"):], "\n\n")
				if strings.Contains(charts, "create branch aether-2.1") {
					t.Errorf("%+v: the hand-made branch was planned as created:\n%s", o, out)
				}
				if hashTree(t, fx.root) != before {
					t.Fatalf("%+v: a refused run wrote", o)
				}
			}
			// Fetched, the tags on the branch that main lacks are named too.
			if patch {
				fx.git(t, "charts", "fetch", "-q", "origin", "aether-2.1")
				out, _ := run(t, fx, Options{DryRun: true})
				if want := "at " + tip[:7] + " (tag(s) 2.1.1 at it; not an ancestor of master)"; !strings.Contains(out, want) {
					t.Errorf("after a fetch, output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestUnreachableRemoteIsUndecidedInADryRun: without -push, a dry run still
// asks every remote; one that cannot be reached is exit 3.
func TestUnreachableRemoteIsUndecidedInADryRun(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	fx.git(t, "docs", "remote", "set-url", "origin", filepath.Join(fx.root, "nowhere.git"))
	out, err := run(t, fx, Options{DryRun: true})
	if plan.ExitCode(err) != plan.ExitUndecided || !strings.Contains(err.Error(), "docs: asking origin") {
		t.Fatalf("want could-not-decide naming docs' remote, got %v\n%s", err, out)
	}
}

// TestFreshClonesResumeRelkitsCut: after a pushed cut, fresh clones of
// every remote (CI, another machine) recognise the cut by relkit's commit
// trailer: nothing is refused or cut again; only the local release
// branches are made, and then nothing is left.
func TestFreshClonesResumeRelkitsCut(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 2})
	mustRun(t, fx, Options{Push: true})

	clones := cloneWorkspace(t, fx)
	root, ws := clones.root, clones.ws
	p, err := Plan(context.Background(), ws, Options{Line: line, Push: true, DryRun: true})
	if err != nil || len(p.Problems()) > 0 {
		t.Fatalf("fresh clones: %v %v", err, p.Problems())
	}
	if p.Count(plan.CreateBranch) != 3 || p.Count(plan.Commit) != 0 || p.Count(plan.Push) != 0 {
		t.Errorf("fresh clones should only make the 3 local branches: %s", p.Summary())
	}
	var out strings.Builder
	if err := Run(context.Background(), ws, Options{Line: line, Push: true}, &out, plan.Text); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, name := range []string{"charts", "docs", "system-tests"} {
		dir := filepath.Join(root, "repos", name)
		if got, want := clones.rev(dir, "refs/heads/aether-2.1"), fx.rev(fx.remotes[name], "refs/heads/aether-2.1"); got != want {
			t.Errorf("%s: local aether-2.1 at %q, want the remote's %s", name, got, want)
		}
	}
	out.Reset()
	if err := Run(context.Background(), ws, Options{Line: line, Push: true}, &out, plan.Text); err != nil || !strings.Contains(out.String(), "Nothing to do") {
		t.Errorf("not converged: %v\n%s", err, out.String())
	}
}

// cloneWorkspace makes a workspace of fresh clones of fx's remotes, with
// fx's relkit.yaml (as CI or another machine has it).
func cloneWorkspace(t *testing.T, fx *fixture) *fixture {
	t.Helper()
	root := t.TempDir()
	for name, bare := range fx.remotes {
		fx.git(t, root, "clone", "-q", bare, filepath.Join(root, "repos", name))
	}
	cfg, err := os.ReadFile(fx.ws.File)
	if err != nil {
		t.Fatal(err)
	}
	ws := workspacetest.Load(t, root, string(cfg))
	return &fixture{root: root, ws: ws, repos: map[string]*demo.Repo{}, remotes: fx.remotes}
}

// TestShallowCloneCut: a dry run in a --depth 1 clone cannot decide (exit
// 3, naming the repo and the command); a real run fetches the history,
// says so, and cuts as in a full clone.
func TestShallowCloneCut(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	dir := fx.repos["charts"].Dir
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	fx.git(t, fx.root, "clone", "-q", "--depth", "1", "file://"+fx.remotes["charts"], dir)
	before := hashTree(t, fx.root)
	out, err := run(t, fx, Options{DryRun: true, Push: true})
	var sh *gitx.ShallowError
	if plan.ExitCode(err) != plan.ExitUndecided || !errors.As(err, &sh) || !strings.Contains(out, "could not decide: charts is a shallow clone; run git fetch --unshallow in "+dir) {
		t.Fatalf("want exit 3 naming the shallow clone, got %v\n%s", err, out)
	}
	if hashTree(t, fx.root) != before {
		t.Fatalf("the dry run wrote")
	}
	fx.git(t, dir, "config", "user.name", "Charts Dev")
	fx.git(t, dir, "config", "user.email", "dev@example.org")
	out = mustRun(t, fx, Options{Push: true})
	if !strings.Contains(out, "note: the checkout was a shallow clone; fetched its full history from origin") {
		t.Errorf("the deepening is not said:\n%s", out)
	}
	if fx.rev(fx.remotes["charts"], "refs/heads/aether-2.1") == "" {
		t.Errorf("the cut was not pushed")
	}
}

// blockingHook makes the next commit in gitDir's repo wait (at most a
// minute) until the test lets it go, after saying it started: a run is
// then held mid-way through its local steps, holding its locks.
func blockingHook(t *testing.T, gitDir string) (started, release string) {
	t.Helper()
	dir := t.TempDir()
	started, release = filepath.Join(dir, "started"), filepath.Join(dir, "go")
	writeHook(t, gitDir, "post-commit", fmt.Sprintf("touch %q\ni=0\nwhile [ ! -e %q ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n", started, release))
	return started, release
}

func waitFor(t *testing.T, path string) {
	t.Helper()
	for range 600 {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within a minute", path)
}

// TestConcurrentCutsInTwoProcesses: two release:branch -push processes on
// the same workspace. The first is held mid-way (a post-commit hook waits)
// while the second runs: the second is refused with a clear error naming
// relkit's lock and the first run's pid, and writes nothing; the first
// then finishes, and the workspace ends exactly as after one clean run.
func TestConcurrentCutsInTwoProcesses(t *testing.T) {
	t.Parallel()
	opts := fixtureOpts{components: 2}
	want := cleanCut(t, opts)
	fx := buildFixture(t, t.TempDir(), opts)
	started, release := blockingHook(t, filepath.Join(fx.repos["comp-00"].Dir, ".git"))
	helper := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCut$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RELKIT_TEST_CUT_CONFIG="+fx.ws.File)
		return cmd
	}
	first := helper()
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.WriteFile(release, nil, 0o644)
		first.Process.Kill()
		first.Wait()
	}()
	waitFor(t, started)

	// The first run pushes nothing while it is held; its local steps in
	// other repos may still be going on.
	remoteRefs := func() string {
		var b strings.Builder
		for _, name := range slices.Sorted(maps.Keys(fx.remotes)) {
			fmt.Fprintf(&b, "%s\n%s\n", name, fx.git(t, fx.remotes[name], "for-each-ref", "--format=%(refname) %(objectname)"))
		}
		return b.String()
	}
	refs := remoteRefs()
	out, err := helper().CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != plan.ExitFailed {
		t.Fatalf("the second run: want exit 1, got %v\n%s", err, out)
	}
	for _, w := range []string{"PROBLEM: another relkit run is writing here: ", "is held by pid " + strconv.Itoa(first.Process.Pid) + " on ", "relkit release:branch 2.1 -push", gitx.LockName} {
		if !strings.Contains(string(out), w) {
			t.Errorf("the second run's output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "fatal:") || strings.Contains(string(out), "cannot lock ref") {
		t.Errorf("the second run shows a raw git error:\n%s", out)
	}
	if now := remoteRefs(); now != refs {
		t.Errorf("a remote moved while the first run was held:\n%s\nnow:\n%s\nfirst run:\n%s", refs, now, firstOut.String())
	}

	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first run failed: %v\n%s", err, firstOut.String())
	}
	if err := os.Remove(filepath.Join(fx.repos["comp-00"].Dir, ".git", "hooks", "post-commit")); err != nil {
		t.Fatal(err)
	}
	compareSnaps(t, want, snapshot(t, fx))
	if out := mustRun(t, fx, Options{Push: true}); !strings.Contains(out, "Nothing to do") {
		t.Errorf("not converged:\n%s", out)
	}
}

// TestConcurrentCutsInOneProcess: the same with two goroutines of one
// process; the lock is held per run, not per process.
func TestConcurrentCutsInOneProcess(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	started, release := blockingHook(t, filepath.Join(fx.repos["comp-00"].Dir, ".git"))
	done := make(chan error, 1)
	go func() {
		_, err := run(t, fx, Options{Push: true})
		done <- err
	}()
	waitFor(t, started)
	out, err := run(t, fx, Options{Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "another relkit run is writing here: ") || !strings.Contains(out, "is held by pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("the second run: want a refusal naming the lock, got %v\n%s", err, out)
	}
	os.WriteFile(release, nil, 0o644)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the first run failed: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the first run did not end")
	}
}

// TestRerunAfterPatches: relkit's own release branch, moved on since the
// cut (a fix picked onto it and pushed, as patch:charts does), is still
// relkit's: a re-run is a no-op, not a refusal; the branch never moves.
func TestRerunAfterPatches(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 1})
	mustRun(t, fx, Options{Push: true})
	wt := filepath.Join(t.TempDir(), "wt")
	fx.git(t, "charts", "worktree", "add", "-q", wt, "aether-2.1")
	if err := os.WriteFile(filepath.Join(wt, "apps/hss/values.yaml"), []byte("image:\n  tag: \"1.2.4\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.git(t, wt, "-c", "user.name=P", "-c", "user.email=p@x", "commit", "-q", "-am", "Fix hss on 2.1")
	fx.git(t, "charts", "worktree", "remove", wt)
	fx.git(t, "charts", "push", "-q", "origin", "aether-2.1")
	patched := fx.rev("charts", "aether-2.1")
	out := mustRun(t, fx, Options{Push: true})
	if !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "done: branch aether-2.1 at "+patched[:7]+", moved on since the cut at") {
		t.Errorf("re-run after a patch:\n%s", out)
	}
	if fx.rev("charts", "aether-2.1") != patched {
		t.Errorf("the branch moved")
	}
	// Fresh clones see relkit's branch on the remote, moved on, and only
	// make their local branch there.
	clones := cloneWorkspace(t, fx)
	p, err := Plan(context.Background(), clones.ws, Options{Line: line, Push: true, DryRun: true})
	if err != nil || len(p.Problems()) > 0 {
		t.Fatalf("fresh clones after a patch: %v %v", err, p.Problems())
	}
	for _, r := range p.Repos {
		for _, st := range r.Steps {
			if st.Kind != plan.CreateBranch {
				t.Errorf("%s: unexpected step %s", r.Name, st.Kind)
			}
			if r.Name == "charts" && st.Commit != patched {
				t.Errorf("charts: local branch planned at %s, want the remote's %s", st.Commit, patched)
			}
		}
	}
}
