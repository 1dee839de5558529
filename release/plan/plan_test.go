package plan

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
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/testutil"
)

// repoWithRemote makes a repo with one commit (VERSION 1.0.0) and a bare
// remote; it returns the repo, the remote dir and main's commit.
func repoWithRemote(t *testing.T, name string) (*demo.Repo, string, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := demo.NewRepo(context.Background(), filepath.Join(dir, name), "master")
	if err != nil {
		t.Fatal(err)
	}
	head := r.Commit("init", map[string]string{"VERSION": "1.0.0\n"})
	bare := filepath.Join(dir, name+".git")
	r.AddBareRemote(bare)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return r, bare, head
}

func rev(t *testing.T, dir, ref string) string {
	t.Helper()
	out, err := gitx.Git(context.Background(), dir, "rev-parse", "-q", "--verify", ref)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// bumpPlan is a plan for one repo: a branch, a commit setting VERSION to
// 1.1.0-dev, and an atomic push of both.
func bumpPlan(r *demo.Repo, head string) *Repo {
	return &Repo{Name: filepath.Base(r.Dir), Dir: r.Dir, Steps: []Step{
		{Kind: CreateBranch, Ref: "refs/heads/rel-1.0", Commit: head},
		{Kind: Commit, Branch: "master", Parent: head, Message: "Bump\n\nTrailer: x\n", Files: []File{{
			Path: "VERSION", Old: []byte("1.0.0\n"), New: []byte("1.1.0-dev\n"),
			Changes: []Change{{Line: 1, Field: "version", Old: "1.0.0", New: "1.1.0-dev"}}}}},
		{Kind: Push, Remote: "origin",
			Updates: []RefUpdate{{Ref: "refs/heads/master", Local: "refs/heads/master", Expect: head}, {Ref: "refs/heads/rel-1.0", Local: "refs/heads/rel-1.0"}},
			Guards:  []RefUpdate{{Ref: "refs/heads/master", Expect: head}}},
	}}
}

func TestApplyBranchCommitPush(t *testing.T) {
	t.Parallel()
	r, bare, head := repoWithRemote(t, "a")
	p := &Plan{Action: "test", Repos: []*Repo{bumpPlan(r, head)}}
	var progress bytes.Buffer
	id := gitx.Ident{Name: "Bot", Email: "bot@example.org"}
	if err := p.Apply(context.Background(), Options{Ident: id, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	if got := rev(t, r.Dir, "refs/heads/rel-1.0"); got != head {
		t.Errorf("branch at %q, want %s", got, head)
	}
	newHead := rev(t, r.Dir, "refs/heads/master")
	if rev(t, r.Dir, "master^1") != head || rev(t, bare, "refs/heads/master") != newHead || rev(t, bare, "refs/heads/rel-1.0") != head {
		t.Errorf("commit or push missing: local master %s, remote master %s, remote branch %s",
			newHead, rev(t, bare, "refs/heads/master"), rev(t, bare, "refs/heads/rel-1.0"))
	}
	data, _ := os.ReadFile(filepath.Join(r.Dir, "VERSION"))
	if string(data) != "1.1.0-dev\n" {
		t.Errorf("VERSION is %q", data)
	}
	out, _ := gitx.Git(context.Background(), r.Dir, "log", "-1", "--format=%an <%ae>|%B", "master")
	if out != "Bot <bot@example.org>|Bump\n\nTrailer: x\n\n" {
		t.Errorf("commit %q", out)
	}
	testutil.ContainsAll(t, "progress", progress.String(), "a: created branch rel-1.0 at "+head[:7], "a: committed ", "a: pushed master, rel-1.0 to origin")
}

func TestApplyRefusesPlanWithProblems(t *testing.T) {
	t.Parallel()
	r, _, head := repoWithRemote(t, "a")
	pr := bumpPlan(r, head)
	pr.Problemf("something is wrong")
	err := (&Plan{Repos: []*Repo{pr}}).Apply(context.Background(), Options{})
	var refused *Refused
	if !errors.As(err, &refused) || ExitCode(err) != ExitFailed {
		t.Fatalf("got %v, want a refusal with exit 1", err)
	}
	if rev(t, r.Dir, "refs/heads/rel-1.0") != "" {
		t.Errorf("a refused plan created a branch")
	}
}

func TestCommitNeverOverwritesAChangedFile(t *testing.T) {
	t.Parallel()
	r, _, head := repoWithRemote(t, "a")
	os.WriteFile(filepath.Join(r.Dir, "VERSION"), []byte("9.9.9\n"), 0o644)
	pr := bumpPlan(r, head)
	pr.Steps = pr.Steps[1:2]
	applyFails(t, []*Repo{pr}, "VERSION changed since the plan was made; it was not overwritten")
	if data, _ := os.ReadFile(filepath.Join(r.Dir, "VERSION")); string(data) != "9.9.9\n" {
		t.Errorf("the file was overwritten: %q", data)
	}
	if rev(t, r.Dir, "master") != head {
		t.Errorf("a commit was made")
	}
}

// applyFails applies a plan of repos and fails the test unless Apply
// fails with an error that says each of wants.
func applyFails(t *testing.T, repos []*Repo, wants ...string) {
	t.Helper()
	err := (&Plan{Repos: repos}).Apply(context.Background(), Options{})
	if err == nil {
		t.Fatalf("applied; want an error saying %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("got %v; want it to say %q", err, w)
		}
	}
}

func TestCommitRefusesAMovedBranch(t *testing.T) {
	t.Parallel()
	r, _, head := repoWithRemote(t, "a")
	r.Commit("someone else", map[string]string{"x": "y\n"})
	pr := bumpPlan(r, head)
	pr.Steps = pr.Steps[1:2]
	applyFails(t, []*Repo{pr}, "master moved since the plan was made")
}

// TestGuardStopsEveryPush: one remote differs from what the plan read, so
// no repo pushes, though each did its local steps.
func TestGuardStopsEveryPush(t *testing.T) {
	t.Parallel()
	a, bareA, headA := repoWithRemote(t, "a")
	b, bareB, headB := repoWithRemote(t, "b")
	pa, pb := bumpPlan(a, headA), bumpPlan(b, headB)
	pb.Steps[2].Guards = []RefUpdate{{Ref: "refs/heads/master", Expect: strings.Repeat("1", 40)}}
	applyFails(t, []*Repo{pa, pb}, "b: origin changed since the plan was made: master is "+headB[:7]+", expected 1111111", "nothing was pushed anywhere")
	if rev(t, bareA, "refs/heads/rel-1.0") != "" || rev(t, bareB, "refs/heads/rel-1.0") != "" || rev(t, bareA, "refs/heads/master") != headA {
		t.Errorf("something was pushed")
	}
	if rev(t, a.Dir, "refs/heads/rel-1.0") != headA {
		t.Errorf("local steps were not done")
	}
}

// TestLocalFailureStopsEveryPush: a repo whose branch already exists fails
// its local steps; the other repo keeps its local work but pushes nothing.
func TestLocalFailureStopsEveryPush(t *testing.T) {
	t.Parallel()
	a, bareA, headA := repoWithRemote(t, "a")
	b, _, headB := repoWithRemote(t, "b")
	b.Git("branch", "rel-1.0", headB)
	applyFails(t, []*Repo{bumpPlan(a, headA), bumpPlan(b, headB)}, "b: create-branch:", "nothing was pushed")
	if rev(t, bareA, "refs/heads/master") != headA {
		t.Errorf("a pushed although b failed")
	}
	if rev(t, a.Dir, "master^1") != headA {
		t.Errorf("a's local commit is missing")
	}
}

func TestPrint(t *testing.T) {
	t.Parallel()
	r, _, head := repoWithRemote(t, "a")
	pr := bumpPlan(r, head)
	pr.Donef("something already done")
	pr.Notef("worth knowing")
	done := &Repo{Name: "b", Dir: "/b"}
	p := &Plan{Action: "release:branch 1.0", DryRun: true, Author: "Bot <bot@example.org>", Repos: []*Repo{pr, done}}
	var text bytes.Buffer
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`Plan for release:branch 1.0 (dry run: nothing will be written)
Author and committer: Bot <bot@example.org>

a  %s
  done: something already done
  would create branch rel-1.0 at %s
  would commit on master (after %s): "Bump"
    VERSION:1  version 1.0.0 -> 1.1.0-dev
  would push to origin, all or nothing: master (%s -> master), rel-1.0 (new rel-1.0)
  note: worth knowing

b  /b
  nothing to do

1 branch(es) to create, 1 commit(s), 1 push(es).
`, r.Dir, head[:7], head[:7], head[:7])
	if text.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), want)
	}
	// The plan of a real run says what it will do, without "would".
	p.DryRun = false
	text.Reset()
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	real := strings.ReplaceAll(strings.Replace(want, " (dry run: nothing will be written)", "", 1), "  would ", "  ")
	if text.String() != real {
		t.Errorf("text of a real run:\n%s\nwant:\n%s", text.String(), real)
	}
	p.DryRun = true
	var js bytes.Buffer
	if err := p.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Count(Commit) != 1 || back.Repos[0].Steps[1].Files[0].Changes[0].New != "1.1.0-dev" || back.Repos[0].Done[0] != "something already done" {
		t.Errorf("JSON round trip lost data: %s", js.String())
	}
	if strings.Contains(js.String(), "MS4wLjA") {
		t.Errorf("JSON carries file contents")
	}
	empty := &Plan{Action: "release:tag", Repos: []*Repo{done}}
	if s := empty.Summary(); s != "Nothing to do: release:tag is already complete in all 1 repo(s)." {
		t.Errorf("summary %q", s)
	}
}

func TestExitCodesAndFormat(t *testing.T) {
	t.Parallel()
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 1 || ExitCode(fmt.Errorf("w: %w", &Undecided{Err: errors.New("x")})) != 3 ||
		ExitCode(&Refused{}) != 1 || ExitCode(&gitx.CmdError{Err: errors.New("exit status 128")}) != 1 ||
		ExitCode(fmt.Errorf("a: %w", &gitx.ShallowError{Dir: "/a"})) != 3 || ExitCode(&gitx.LockedError{Dir: "/a"}) != 1 {
		t.Errorf("exit codes wrong")
	}
	for v, want := range map[string]Format{"": Text, "text": Text, "JSON": JSON, " json\n": JSON} {
		if f, err := ParseFormat(v); err != nil || f != want {
			t.Errorf("ParseFormat(%q): %v %v", v, f, err)
		}
	}
	if _, err := ParseFormat("junit"); err == nil || !strings.Contains(err.Error(), `"junit": expected text or json`) {
		t.Errorf("junit: %v; want an error naming it and the choices", err)
	}
}

// TestApplyTakesEveryLockFirst: a repo another run is writing into stops
// the whole apply before anything is written anywhere, naming the lock;
// once released, the same plan applies.
func TestApplyTakesEveryLockFirst(t *testing.T) {
	t.Parallel()
	a, bareA, headA := repoWithRemote(t, "a")
	b, _, headB := repoWithRemote(t, "b")
	other, err := gitx.LockRepo(context.Background(), b.Dir, gitx.LockOptions{Command: "relkit release:tag -push"})
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Action: "release:branch 1.0", Repos: []*Repo{bumpPlan(a, headA), bumpPlan(b, headB)}}
	err = p.Apply(context.Background(), Options{})
	var le *gitx.LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "b: ") || !strings.Contains(err.Error(), "relkit.lock") ||
		!strings.Contains(err.Error(), "release:tag -push") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("want a LockedError naming b's lock and its holder, got %v", err)
	}
	if rev(t, a.Dir, "refs/heads/rel-1.0") != "" || rev(t, a.Dir, "master") != headA || rev(t, bareA, "refs/heads/master") != headA {
		t.Errorf("a was written although b was locked")
	}
	if _, held, _ := gitx.HeldBy(a.Dir); held {
		t.Errorf("a's lock was not released after the refusal")
	}
	other.Release()
	if err := p.Apply(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*demo.Repo{a, b} {
		if _, held, _ := gitx.HeldBy(r.Dir); held {
			t.Errorf("%s: the lock outlived the apply", r.Dir)
		}
	}
}

// TestApplyTakesOverAStaleLock: a lock left by a killed run (its pid is
// gone) is taken over, and the apply says so.
func TestApplyTakesOverAStaleLock(t *testing.T) {
	t.Parallel()
	a, _, headA := repoWithRemote(t, "a")
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	stale := fmt.Sprintf(`{"pid":%d,"host":%q,"command":"relkit release:branch 1.0 -push","since":"2024-01-02T03:04:05Z"}`, cmd.Process.Pid, host)
	if err := os.WriteFile(filepath.Join(a.Dir, ".git", gitx.LockName), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	p := &Plan{Action: "release:branch 1.0", Repos: []*Repo{bumpPlan(a, headA)}}
	if err := p.Apply(context.Background(), Options{Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "a: took over the stale lock") || !strings.Contains(progress.String(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Errorf("the takeover is not reported:\n%s", progress.String())
	}
	if rev(t, a.Dir, "refs/heads/rel-1.0") != headA {
		t.Errorf("the plan was not applied")
	}
}

// TestRunRefusesARepoMidOperation: a checkout with a stale index.lock or
// a merge in progress is a problem of the plan, shown by a dry run too,
// and the run writes nothing.
func TestRunRefusesARepoMidOperation(t *testing.T) {
	t.Parallel()
	for _, dryRun := range []bool{true, false} {
		a, _, headA := repoWithRemote(t, "a")
		if err := os.WriteFile(filepath.Join(a.Dir, ".git", "index.lock"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		b, _, headB := repoWithRemote(t, "b")
		if err := os.WriteFile(filepath.Join(b.Dir, ".git", "MERGE_HEAD"), []byte(headB+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := &Plan{Action: "release:branch 1.0", DryRun: dryRun, Repos: []*Repo{bumpPlan(a, headA), bumpPlan(b, headB)}}
		var out bytes.Buffer
		err := Run(context.Background(), p, &out, Text, Options{})
		var refused *Refused
		if !errors.As(err, &refused) {
			t.Fatalf("dryRun=%v: want a refusal, got %v\n%s", dryRun, err, out.String())
		}
		testutil.ContainsAll(t, fmt.Sprintf("dryRun=%v: output", dryRun), out.String(),
			"PROBLEM: "+filepath.Join(a.Dir, ".git", "index.lock")+" exists", "PROBLEM: the checkout is in the middle of a merge", "git merge --abort")
		if rev(t, a.Dir, "refs/heads/rel-1.0") != "" || rev(t, b.Dir, "refs/heads/rel-1.0") != "" {
			t.Errorf("dryRun=%v: a refused run wrote", dryRun)
		}
	}
}

// TestBranchMoveReadsAsAMove: a push to the repo itself (how relkit moves
// a release branch nobody has checked out) prints and reports as a
// fast-forward move, not as a publication.
func TestBranchMoveReadsAsAMove(t *testing.T) {
	t.Parallel()
	r, bare, head := repoWithRemote(t, "a")
	r.Git("branch", "rel-1.0", head)
	next := r.Commit("fix", map[string]string{"f.txt": "fix\n"})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	pr := &Repo{Name: "a", Dir: r.Dir, Steps: []Step{{Kind: Push, Remote: r.Dir,
		Updates: []RefUpdate{{Ref: "refs/heads/rel-1.0", Local: next, Expect: head, Note: next[:7] + ": the fix"}}}}}
	p := &Plan{Action: "patch:charts 1.0 x", DryRun: true, Repos: []*Repo{pr}}
	var text bytes.Buffer
	p.WriteText(&text)
	want := "  would move branch rel-1.0 " + head[:7] + " -> " + next[:7] + ": the fix (fast-forward only)\n"
	if !strings.Contains(text.String(), want) || !strings.Contains(text.String(), "\n1 branch move(s).\n") || strings.Contains(text.String(), "push") {
		t.Errorf("text:\n%s\nwant the line %q and one branch move, no push", text.String(), want)
	}
	var progress bytes.Buffer
	p.DryRun = false
	if err := p.Apply(context.Background(), Options{Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	if progress.String() != "a: moved rel-1.0\n" {
		t.Errorf("progress %q, want the move", progress.String())
	}
	if rev(t, r.Dir, "refs/heads/rel-1.0") != next || rev(t, bare, "refs/heads/rel-1.0") != "" {
		t.Errorf("the branch did not move locally, or was published")
	}
}
