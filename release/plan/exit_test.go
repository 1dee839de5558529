package plan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/gitx"
)

// A remote that vanished between planning and pushing could not be asked:
// exit 3 with nothing pushed anywhere. One that moved refuses: exit 1.
func TestApplyExitCodesForVanishedAndMovedRemotes(t *testing.T) {
	t.Parallel()
	a, bareA, headA := repoWithRemote(t, "a")
	b, bareB, headB := repoWithRemote(t, "b")
	if err := os.RemoveAll(bareB); err != nil {
		t.Fatal(err)
	}
	err := (&Plan{Repos: []*Repo{bumpPlan(a, headA), bumpPlan(b, headB)}}).Apply(context.Background(), Options{})
	if err == nil || ExitCode(err) != ExitUndecided || !strings.Contains(err.Error(), "b: could not decide: checking origin before pushing") ||
		!strings.Contains(err.Error(), "a remote could not be asked, so nothing was pushed anywhere") {
		t.Fatalf("exit %d: %v", ExitCode(err), err)
	}
	if rev(t, bareA, "refs/heads/rel-1.0") != "" || rev(t, bareA, "refs/heads/master") != headA {
		t.Errorf("a was pushed although b's remote could not be asked")
	}

	c, _, headC := repoWithRemote(t, "c")
	pc := bumpPlan(c, headC)
	pc.Steps[2].Guards = []RefUpdate{{Ref: "refs/heads/master", Expect: strings.Repeat("1", 40)}}
	err = (&Plan{Repos: []*Repo{pc}}).Apply(context.Background(), Options{})
	if err == nil || ExitCode(err) != ExitFailed || !strings.Contains(err.Error(), "changed since the plan was made") {
		t.Fatalf("moved remote: exit %d: %v", ExitCode(err), err)
	}
}

// Git failing to reach a remote is "could not decide" whatever the step:
// a push to a remote that is gone, a fetch from a URL nobody serves. A
// push the remote rejects is a failure.
func TestExitCodeOfGitRemoteFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, bare, head := repoWithRemote(t, "a")
	gone := bare + "-gone"
	if err := os.Rename(bare, gone); err != nil {
		t.Fatal(err)
	}
	pushErr := gitx.Push(ctx, r.Dir, "origin", "refs/heads/master:refs/heads/master")
	fetchErr := gitx.Fetch(ctx, r.Dir, "http://127.0.0.1:9/none.git")
	for name, err := range map[string]error{"push to a vanished remote": pushErr, "fetch from a closed port": fetchErr,
		"wrapped and joined": errors.Join(errors.New("other"), fmt.Errorf("b: %w", pushErr))} {
		if err == nil || ExitCode(err) != ExitUndecided {
			t.Errorf("%s: exit %d: %v", name, ExitCode(err), err)
		}
	}
	if err := os.Rename(gone, bare); err != nil {
		t.Fatal(err)
	}
	// The remote moves on; our older master is rejected.
	other := t.TempDir()
	if _, err := gitx.Git(ctx, other, "clone", "-q", bare, "."); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "moved"}, {"push", "-q", "origin", "HEAD:master"}} {
		if _, err := gitx.Git(ctx, other, args...); err != nil {
			t.Fatal(err)
		}
	}
	r.Commit("local", map[string]string{"x": "1\n"})
	err := gitx.Push(ctx, r.Dir, "origin", "refs/heads/master:refs/heads/master")
	if err == nil || ExitCode(err) != ExitFailed {
		t.Errorf("rejected push: exit %d: %v (head %s)", ExitCode(err), err, head)
	}
}

// A release whose checks fail exits as the checks do (1 findings, 3 could
// not decide), wrapped or not; passing checks are no error.
func TestGateExitCodes(t *testing.T) {
	gate := func(code int) Gate {
		return func(_ context.Context, w io.Writer) (int, string) {
			fmt.Fprintf(w, "report %d\n", code)
			return code, fmt.Sprintf("summary %d", code)
		}
	}
	var report strings.Builder
	if err := RunGate(context.Background(), gate(ExitOK), &report); err != nil || report.String() != "report 0\n" {
		t.Errorf("passing checks: %v, report %q", err, report.String())
	}
	for _, code := range []int{ExitFailed, ExitUndecided} {
		err := RunGate(context.Background(), gate(code), nil)
		if ExitCode(err) != code || ExitCode(fmt.Errorf("wrapped: %w", err)) != code ||
			err.Error() != fmt.Sprintf("the release checks do not pass (summary %d); fix them or see go tool mage check:all", code) {
			t.Errorf("checks exiting %d: exit %d, %v", code, ExitCode(err), err)
		}
	}
}
