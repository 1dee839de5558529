package branch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

const line = "2.1"

func run(t *testing.T, fx *fixture, o Options) (string, error) {
	t.Helper()
	if o.Line == "" {
		o.Line = line
	}
	var out bytes.Buffer
	err := Run(context.Background(), fx.ws, o, &out, plan.Text)
	return out.String(), err
}

// mustRun runs a cut that must succeed.
func mustRun(t *testing.T, fx *fixture, o Options) string {
	t.Helper()
	out, err := run(t, fx, o)
	if err != nil {
		t.Fatalf("cut failed: %v\n%s", err, out)
	}
	return out
}

// repoSnap is the state of one repo that a cut decides.
type repoSnap struct {
	Branch, RemoteBranch   string // release branch commit, local and remote
	MainTree, MainMessage  string // main's tree and message
	MainParent             string
	RemoteMainTree         string
	RemoteMainEqualsLocal  bool
	MainIsBumpOfBranchHead bool
}

// cleanCut is the state one uninterrupted release:branch -push leaves in
// a fresh fixture built with opts: what a rerun after any failure must
// end in.
func cleanCut(t *testing.T, opts fixtureOpts) map[string]repoSnap {
	t.Helper()
	clean := buildFixture(t, t.TempDir(), opts)
	mustRun(t, clean, Options{Push: true})
	return snapshot(t, clean)
}

func snapshot(t *testing.T, fx *fixture) map[string]repoSnap {
	t.Helper()
	snaps := map[string]repoSnap{}
	for _, r := range fx.ws.Repos() {
		var s repoSnap
		s.Branch = fx.rev(r.Name, "refs/heads/aether-2.1")
		s.RemoteBranch = fx.rev(fx.remotes[r.Name], "refs/heads/aether-2.1")
		info := fx.git(t, r.Name, "log", "-1", "--format=%T%n%P%n%B", "refs/heads/master")
		parts := strings.SplitN(info, "\n", 3)
		s.MainTree, s.MainParent, s.MainMessage = parts[0], parts[1], parts[2]
		s.RemoteMainTree = fx.git(t, fx.remotes[r.Name], "rev-parse", "refs/heads/master^{tree}")
		s.RemoteMainEqualsLocal = fx.rev(r.Name, "refs/heads/master") == fx.rev(fx.remotes[r.Name], "refs/heads/master")
		s.MainIsBumpOfBranchHead = s.Branch != "" && s.MainParent == s.Branch
		snaps[r.Name] = s
	}
	return snaps
}

// refsOf lists every ref of every repo and remote, to prove nothing moved.
func refsOf(t *testing.T, fx *fixture) string {
	t.Helper()
	var b strings.Builder
	for _, r := range fx.ws.Repos() {
		for _, dir := range []string{r.Dir, fx.remotes[r.Name]} {
			fmt.Fprintf(&b, "%s\n%s\n", dir, fx.git(t, dir, "for-each-ref", "--format=%(refname) %(objectname)"))
		}
	}
	return b.String()
}

func readFile(t *testing.T, fx *fixture, repo, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fx.repos[repo].Dir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestFullCut cuts 2.1 with pushes (two repos over authenticated smart
// HTTP), checks every file and ref, then runs again and expects nothing.
func TestFullCut(t *testing.T) {
	t.Parallel()
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 4, httpRepos: []string{"charts", "comp-01"}})
	before := map[string]string{}
	for _, r := range fx.ws.Repos() {
		before[r.Name] = fx.rev(r.Name, "refs/heads/master")
	}
	out := mustRun(t, fx, Options{Push: true})
	if !strings.Contains(out, "charts: pushed master, aether-2.1 to origin") || !strings.Contains(out, "Done.") {
		t.Errorf("output does not report the charts push:\n%s", out)
	}
	if fx.server.denied.Load() == 0 {
		t.Errorf("the HTTP remote never challenged for the token; the auth path was not exercised")
	}

	// Branches at main's pre-cut head, locally and on the remotes.
	for _, name := range []string{"charts", "docs", "system-tests"} {
		if got := fx.rev(name, "refs/heads/aether-2.1"); got != before[name] {
			t.Errorf("%s: aether-2.1 at %q, want main's pre-cut head %s", name, got, before[name])
		}
		if got := fx.rev(fx.remotes[name], "refs/heads/aether-2.1"); got != before[name] {
			t.Errorf("%s: remote aether-2.1 at %q, want %s", name, got, before[name])
		}
	}
	for _, name := range []string{"comp-00", "comp-01", "comp-02", "comp-03"} {
		if got := fx.rev(name, "refs/heads/aether-2.1"); got != "" {
			t.Errorf("%s: a component got branch aether-2.1 at %s; components branch lazily", name, got)
		}
	}
	if got := fx.rev("system-tests", "refs/heads/master"); got != before["system-tests"] {
		t.Errorf("system-tests: master moved to %s; a branched repo only gets the branch", got)
	}

	// One bump commit per repo, exactly the expected files, by the
	// configured author, with the trailer.
	wantFiles := map[string]string{
		"charts": "VERSION\napps/hss/Chart.yaml\napps/mme/Chart.yaml\napps/spgw/Chart.yaml\nlegacy/old/Chart.yaml\nlegacy/old/requirements.yaml\nomec/omec-control-plane/Chart.yaml",
		"docs":   "VERSION", "comp-00": "VERSION", "comp-01": "VERSION", "comp-02": "VERSION", "comp-03": "VERSION",
	}
	for name, files := range wantFiles {
		parent := fx.git(t, name, "rev-parse", "master^1")
		if parent != before[name] {
			t.Errorf("%s: bump commit's parent %s, want %s", name, parent, before[name])
		}
		got := fx.git(t, name, "diff-tree", "-r", "--name-only", "--no-commit-id", "master")
		if got != files {
			t.Errorf("%s: bump commit changes\n%s\nwant\n%s", name, got, files)
		}
		who := fx.git(t, name, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "master")
		if who != "Release Bot <release-bot@example.org>|Release Bot <release-bot@example.org>" {
			t.Errorf("%s: bump commit by %q, want the configured author and committer", name, who)
		}
		msg := fx.git(t, name, "log", "-1", "--format=%B", "master")
		if !strings.Contains(msg, "after cutting aether-2.1") || !strings.Contains(msg, "relkit release:branch 2.1") || !strings.HasSuffix(msg, "Relkit-Release-Branch: aether-2.1") {
			t.Errorf("%s: bump message does not name the release and carry the trailer:\n%s", name, msg)
		}
		if fx.rev(name, "refs/heads/master") != fx.rev(fx.remotes[name], "refs/heads/master") {
			t.Errorf("%s: remote master is not the bump commit", name)
		}
	}

	// Only the version bytes changed, in every file shape.
	wantContent := map[[2]string]string{
		{"charts", "VERSION"}:              "2.2.0-dev\n",
		{"charts", "apps/hss/Chart.yaml"}:  strings.Replace(chartFiles["apps/hss/Chart.yaml"], "version: 1.2.3   #", "version: 1.3.0   #", 1),
		{"charts", "apps/mme/Chart.yaml"}:  "apiVersion: v2\r\nname: mme\r\nversion: \"1.1.0\"\r\nappVersion: v1.0.4\r\n",
		{"charts", "apps/spgw/Chart.yaml"}: "apiVersion: v2\nname: spgw\nversion: '0.10.0'",
		{"charts", "omec/omec-control-plane/Chart.yaml"}: "apiVersion: v2\nname: omec-control-plane\nversion: 3.1.0\n" +
			"dependencies:\n" +
			"  - name: hss\n    version: 1.3.0 # exact pin\n    repository: file://../../apps/hss\n    condition: hss.enabled\n" +
			"  - name: mme\n    alias: mme-a\n    version: \"^1.0.0\"\n    repository: \"file://../../apps/mme\"\n" +
			"  - name: spgw\n    version: '0.10.0'\n    repository: file://../../apps/spgw\n" +
			"  - name: redis\n    version: ~17.0.0\n    repository: https://charts.bitnami.com/bitnami\n" +
			"  - name: common\n    version: 2.0.0\n    repository: oci://registry.example.org/charts\n",
		{"charts", "legacy/old/Chart.yaml"}:                              "apiVersion: v1\nname: old\nversion: 0.5.0\n",
		{"charts", "legacy/old/requirements.yaml"}:                       "dependencies:\n- name: hss\n  version: \"1.3.0\"\n  repository: file://../../apps/hss\n",
		{"charts", "omec/omec-control-plane/charts/vendored/Chart.yaml"}: chartFiles["omec/omec-control-plane/charts/vendored/Chart.yaml"],
		{"docs", "VERSION"}:                                              "2.2.0-dev\n",
		{"comp-00", "VERSION"}:                                           "1.3.0-dev\n",
		{"comp-01", "VERSION"}:                                           "1.5.0-dev\r\n",
		{"comp-02", "VERSION"}:                                           "0.4.0-dev",
		{"comp-03", "VERSION"}:                                           "2.1.0-dev\n",
	}
	for k, want := range wantContent {
		if got := readFile(t, fx, k[0], k[1]); got != want {
			t.Errorf("%s %s:\n got %q\nwant %q", k[0], k[1], got, want)
		}
	}
	for _, r := range fx.ws.Repos() {
		if st := fx.git(t, r.Name, "status", "--porcelain"); st != "" {
			t.Errorf("%s: worktree not clean after the cut:\n%s", r.Name, st)
		}
	}

	// Running again does nothing and says so.
	refs := refsOf(t, fx)
	out = mustRun(t, fx, Options{Push: true})
	if !strings.Contains(out, "Nothing to do: release:branch 2.1 -push is already complete in all 7 repo(s).") {
		t.Errorf("re-run did not say there is nothing to do:\n%s", out)
	}
	if refsOf(t, fx) != refs {
		t.Errorf("re-run moved refs")
	}
}

// TestDryRunWritesNothing hashes the whole workspace, .git directories and
// bare remotes included, around a dry run.
func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fx := buildFixture(t, dir, fixtureOpts{components: 4, httpRepos: []string{"comp-00"}})
	before := hashTree(t, dir)
	out := mustRun(t, fx, Options{DryRun: true, Push: true})
	if after := hashTree(t, dir); after != before {
		t.Fatalf("the dry run changed the workspace")
	}
	testutil.ContainsAll(t, "dry-run output", out,
		"Plan for release:branch 2.1 -push (dry run: nothing will be written)",
		"create branch aether-2.1 at ",
		"apps/hss/Chart.yaml:8                  version 1.2.3 -> 1.3.0",
		"omec/omec-control-plane/Chart.yaml:14  dependency spgw version 0.9.0 -> 0.10.0",
		"note: omec/omec-control-plane/Chart.yaml:14: the pin 0.9.0 of spgw did not match the chart (0.9.1)",
		"VERSION:1  version 1.4.0-dev -> 1.5.0-dev",
		"push to origin, all or nothing: master (",
		"3 branch(es) to create, 6 commit(s), 7 push(es).",
	)
	if strings.Contains(out, "Applying") {
		t.Errorf("a dry run applied steps:\n%s", out)
	}

	// The same plan as JSON.
	var buf bytes.Buffer
	if err := Run(context.Background(), fx.ws, Options{Line: line, DryRun: true}, &buf, plan.JSON); err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(buf.Bytes(), &p); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, buf.String())
	}
	if !p.DryRun || len(p.Repos) != 7 || p.Count(plan.Commit) != 6 || p.Count(plan.CreateBranch) != 3 {
		t.Errorf("JSON plan: dryRun=%v repos=%d commits=%d branches=%d; want true, 7, 6, 3", p.DryRun, len(p.Repos), p.Count(plan.Commit), p.Count(plan.CreateBranch))
	}
	if after := hashTree(t, dir); after != before {
		t.Fatalf("the JSON dry run changed the workspace")
	}
}

// TestRejectedPushThenRerun makes one remote's pre-receive hook refuse the
// push: the other repos are pushed, the refused one is untouched, and
// after the hook is gone a re-run ends where a clean run ends.
func TestRejectedPushThenRerun(t *testing.T) {
	t.Parallel()
	opts := fixtureOpts{components: 3}
	want := cleanCut(t, opts)
	fx := buildFixture(t, t.TempDir(), opts)
	hook := writeHook(t, fx.remotes["comp-01"], "pre-receive", "echo 'policy: pushes to comp-01 are frozen' >&2\nexit 1\n")
	remoteBefore := fx.rev(fx.remotes["comp-01"], "refs/heads/master")
	out, err := run(t, fx, Options{Push: true})
	if err == nil || plan.ExitCode(err) != plan.ExitFailed {
		t.Fatalf("want a failed run (exit 1), got %v\n%s", err, out)
	}
	if !strings.Contains(err.Error(), "comp-01: push to origin rejected") || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("error does not name the repo and the hook's reason: %v", err)
	}
	if got := fx.rev(fx.remotes["comp-01"], "refs/heads/master"); got != remoteBefore {
		t.Errorf("the refused remote moved to %s", got)
	}
	if got := fx.rev(fx.remotes["charts"], "refs/heads/aether-2.1"); got == "" {
		t.Errorf("the other repos were not pushed")
	}

	// The re-run with the hook still there plans only the push that is left.
	p, err := Plan(context.Background(), fx.ws, Options{Line: line, Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count(plan.Push) != 1 || p.Count(plan.Commit) != 0 || p.Count(plan.CreateBranch) != 0 {
		t.Errorf("after the failure the plan should be one push; got %s", p.Summary())
	}
	if err := os.Remove(hook); err != nil {
		t.Fatal(err)
	}
	mustRun(t, fx, Options{Push: true})
	compareSnaps(t, want, snapshot(t, fx))
	if out := mustRun(t, fx, Options{Push: true}); !strings.Contains(out, "Nothing to do") {
		t.Errorf("third run is not a no-op:\n%s", out)
	}
}

func compareSnaps(t *testing.T, want, got map[string]repoSnap) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		// The fixtures are built identically, so pre-cut commits match;
		// relkit's own commits differ only by their dates.
		if g.Branch != w.Branch || g.RemoteBranch != w.RemoteBranch || g.MainTree != w.MainTree ||
			g.MainMessage != w.MainMessage || g.RemoteMainTree != w.RemoteMainTree ||
			g.RemoteMainEqualsLocal != w.RemoteMainEqualsLocal || g.MainIsBumpOfBranchHead != w.MainIsBumpOfBranchHead {
			t.Errorf("%s: state differs from a clean run:\n got %+v\nwant %+v", name, g, w)
		}
	}
}

// TestRemoteMovedBeforePush lets someone push to one remote while the cut
// runs (from the local repo's post-commit hook): the guard check sees it
// and nothing is pushed anywhere.
func TestRemoteMovedBeforePush(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fx := buildFixture(t, dir, fixtureOpts{components: 2})
	other := filepath.Join(dir, "other-clone")
	fx.git(t, dir, "clone", "-q", fx.remotes["comp-00"], other)
	fx.git(t, other, "-c", "user.name=Other", "-c", "user.email=o@example.org", "commit", "-q", "--allow-empty", "-m", "Someone else's change")
	script := fmt.Sprintf("unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\ncd %q && git push -q origin master\n", other)
	hook := writeHook(t, filepath.Join(fx.repos["comp-00"].Dir, ".git"), "post-commit", script)
	remotes := map[string]string{}
	for _, r := range fx.ws.Repos() {
		remotes[r.Name] = fx.git(t, fx.remotes[r.Name], "for-each-ref")
	}
	out, err := run(t, fx, Options{Push: true})
	if err == nil || !strings.Contains(err.Error(), "changed since the plan was made") || !strings.Contains(err.Error(), "nothing was pushed anywhere") {
		t.Fatalf("want a remote-moved failure, got %v\n%s", err, out)
	}
	for _, r := range fx.ws.Repos() {
		if r.Name == "comp-00" {
			continue
		}
		if got := fx.git(t, fx.remotes[r.Name], "for-each-ref"); got != remotes[r.Name] {
			t.Errorf("%s: remote changed although the guard failed", r.Name)
		}
	}
	// The local work is kept; the next run refuses until comp-00 is pulled.
	if err := os.Remove(hook); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, fx, Options{Push: true}); err == nil || !strings.Contains(out, "comp-00") || !strings.Contains(out, "pull first") {
		t.Fatalf("want a refusal asking to pull comp-00, got %v\n%s", err, out)
	}
	fx.git(t, "comp-00", "-c", "user.name=Dev", "-c", "user.email=d@example.org", "pull", "-q", "--rebase", "origin", "master")
	mustRun(t, fx, Options{Push: true})
	if out := mustRun(t, fx, Options{Push: true}); !strings.Contains(out, "Nothing to do") {
		t.Errorf("not converged:\n%s", out)
	}
	log := fx.git(t, fx.remotes["comp-00"], "log", "--format=%s", "master")
	if !strings.HasPrefix(log, "Start 1.3 development after cutting aether-2.1\nSomeone else's change\n") {
		t.Errorf("comp-00 remote history:\n%s", log)
	}
}

// TestDirtyWorktreeRefusesEverything: one dirty repo stops the whole cut
// before anything is written anywhere.
func TestDirtyWorktreeRefusesEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fx := buildFixture(t, dir, fixtureOpts{components: 2})
	fx.repos["comp-01"].Write(map[string]string{"main.go": "package main // edited\n", "notes.txt": "x\n"})
	before := hashTree(t, dir)
	out, err := run(t, fx, Options{Push: true})
	var refused *plan.Refused
	if !errors.As(err, &refused) || plan.ExitCode(err) != plan.ExitFailed {
		t.Fatalf("want a refusal, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "comp-01") || !strings.Contains(out, "PROBLEM: the worktree is not clean ( M main.go, ?? notes.txt)") {
		t.Errorf("output does not show the dirty repo:\n%s", out)
	}
	if hashTree(t, dir) != before {
		t.Fatalf("a refused run wrote to the workspace")
	}
	fx.git(t, "comp-01", "checkout", "--", "main.go")
	os.Remove(filepath.Join(fx.repos["comp-01"].Dir, "notes.txt"))
	mustRun(t, fx, Options{Push: true})
	if out := mustRun(t, fx, Options{Push: true}); !strings.Contains(out, "Nothing to do") {
		t.Errorf("not converged:\n%s", out)
	}
}

// TestResumeAfterInterruption puts the workspace in the states a killed
// run leaves (a branch made but no bump, bump files half written, a bump
// committed but not pushed, a repo fully pushed) and checks that the next
// run finishes the job exactly like a clean run.
func TestResumeAfterInterruption(t *testing.T) {
	t.Parallel()
	opts := fixtureOpts{components: 3}
	want := cleanCut(t, opts)
	fx := buildFixture(t, t.TempDir(), opts)
	p, err := Plan(context.Background(), fx.ws, Options{Line: line, Push: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range p.Repos {
		switch r.Name {
		case "charts":
			// Killed after creating the branch.
			only := &plan.Plan{Action: "x", Repos: []*plan.Repo{{Name: r.Name, Dir: r.Dir, Steps: r.Steps[:1]}}}
			if err := only.Apply(ctx, plan.Options{}); err != nil {
				t.Fatal(err)
			}
		case "docs":
			// Killed while writing files: the new VERSION is in the
			// worktree, staged, nothing committed.
			for _, s := range r.Steps {
				if s.Kind == plan.Commit {
					f := s.Files[0]
					os.WriteFile(filepath.Join(r.Dir, f.Path), f.New, 0o644)
					fx.git(t, r.Name, "add", f.Path)
				}
			}
		case "comp-00":
			// Killed before the push.
			local := &plan.Plan{Action: "x", Repos: []*plan.Repo{{Name: r.Name, Dir: r.Dir, Steps: r.Steps[:1]}}}
			if err := local.Apply(ctx, plan.Options{Ident: mustIdent(t)}); err != nil {
				t.Fatal(err)
			}
		case "comp-01":
			// Done and pushed.
			one := &plan.Plan{Action: "x", Repos: []*plan.Repo{r}}
			if err := one.Apply(ctx, plan.Options{Ident: mustIdent(t)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := mustRun(t, fx, Options{Push: true})
	testutil.ContainsAll(t, "resumed run output", out, "1 file(s) already hold the planned content", "done: branch aether-2.1 at")
	compareSnaps(t, want, snapshot(t, fx))
	if out := mustRun(t, fx, Options{Push: true}); !strings.Contains(out, "Nothing to do") {
		t.Errorf("not converged:\n%s", out)
	}
}

func mustIdent(t *testing.T) gitx.Ident {
	id, err := gitx.ParseIdent("Release Bot <release-bot@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestHTTPRemoteNeedsTheToken: without its token the smart-HTTP remote
// turns relkit away, which is "could not decide" (exit 3) and writes
// nothing; with the token the same run pushes.
func TestHTTPRemoteNeedsTheToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fx := buildFixture(t, dir, fixtureOpts{components: 1, httpRepos: []string{"comp-00"}})
	key := "http." + fx.server.URL + "/.extraHeader"
	fx.git(t, "comp-00", "config", "--unset", key)
	before := hashTree(t, dir)
	out, err := run(t, fx, Options{Push: true})
	if plan.ExitCode(err) != plan.ExitUndecided || !strings.Contains(err.Error(), "comp-00: asking origin") {
		t.Fatalf("want could-not-decide naming comp-00's remote, got %v\n%s", err, out)
	}
	if hashTree(t, dir) != before {
		t.Errorf("a run that could not decide wrote to the workspace")
	}
	fx.git(t, "comp-00", "config", key, "Authorization: Bearer "+fx.server.token)
	mustRun(t, fx, Options{Push: true})
	if fx.rev("comp-00", "master") != fx.rev(fx.remotes["comp-00"], "refs/heads/master") {
		t.Errorf("comp-00 not pushed over HTTP")
	}
}

// TestHelperCut is not a test: TestKilledMidRun runs the test binary with
// RELKIT_TEST_CUT_CONFIG set to cut in a separate process it can kill.
func TestHelperCut(t *testing.T) {
	cfg := os.Getenv("RELKIT_TEST_CUT_CONFIG")
	if cfg == "" {
		t.Skip("helper process for TestKilledMidRun")
	}
	ws, err := workspace.Load(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	err = Run(context.Background(), ws, Options{Line: line, Push: true}, os.Stdout, plan.Text)
	fmt.Fprintln(os.Stderr, err)
	os.Exit(plan.ExitCode(err))
}

// TestKilledMidRun kills a real cut (SIGKILL, from a post-commit hook of
// one repo, so mid-way through the local steps) and checks that running
// again ends exactly where a clean run ends.
func TestKilledMidRun(t *testing.T) {
	t.Parallel()
	opts := fixtureOpts{components: 3}
	want := cleanCut(t, opts)
	fx := buildFixture(t, t.TempDir(), opts)
	// The hook's parent is git commit; git commit's parent is relkit.
	hook := writeHook(t, filepath.Join(fx.repos["comp-00"].Dir, ".git"), "post-commit",
		"relkit=$(awk '{print $4}' /proc/$PPID/stat)\nkill -9 \"$relkit\"\n")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCut$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RELKIT_TEST_CUT_CONFIG="+fx.ws.File)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the cut was not killed: %v\n%s", err, out)
	}
	// Git commands the killed run had started go on as orphans; wait for
	// them (as a person would see their terminal come back) before the
	// re-run. A re-run racing them is refused safely, not corrupted.
	waitForProcessesIn(t, fx.root)
	if got := fx.rev("comp-00", "master^1"); got == "" {
		t.Fatalf("comp-00's commit (whose hook killed the run) is missing")
	}
	if err := os.Remove(hook); err != nil {
		t.Fatal(err)
	}
	// The killed run's locks are left behind; its pid is gone, so the
	// re-run takes them over and says so.
	if _, held, _ := gitx.HeldBy(fx.repos["comp-00"].Dir); !held {
		t.Errorf("the killed run left no lock in comp-00")
	}
	rerun := mustRun(t, fx, Options{Push: true})
	if !strings.Contains(rerun, "comp-00: took over the stale lock "+filepath.Join(fx.repos["comp-00"].Dir, ".git", gitx.LockName)) {
		t.Errorf("the re-run does not say it took over the killed run's lock:\n%s", rerun)
	}
	for _, r := range fx.ws.Repos() {
		if _, held, _ := gitx.HeldBy(r.Dir); held {
			t.Errorf("%s: a lock is left after the re-run", r.Name)
		}
	}
	compareSnaps(t, want, snapshot(t, fx))
	if out := mustRun(t, fx, Options{Push: true}); !strings.Contains(out, "Nothing to do") {
		t.Errorf("not converged:\n%s", out)
	}
}

// waitForProcessesIn waits (bounded) until no process has its working
// directory under dir.
func waitForProcessesIn(t *testing.T, dir string) {
	t.Helper()
	for range 400 {
		busy := ""
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
			if err == nil && strings.HasPrefix(cwd, dir) {
				busy = e.Name()
				break
			}
		}
		if busy == "" {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("processes still running in %s after 10s", dir)
}
