package manifest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/demo/demotest"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/gitx/gitxtest"
	"github.com/relkit/relkit/release/workspace"
)

// The demo workspace is built once per test binary and cloned per test.
var demoCache = &demotest.Cache{Prefix: "relkit-manifest-demo-"}

func TestMain(m *testing.M) { demoCache.Main(m) }

// fixture is a served demo workspace with the aether-2.1 release branch
// cut on the charts repo with plain git (master as it is), pushed to
// origin.
type fixture struct {
	w   *demo.Workspace
	svc *demo.Services
	ws  *workspace.Config
	// charts is the charts repo checkout (on master).
	charts string
	branch string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := demoCache.Clone(t)
	svc := demotest.Serve(t, w)
	ws := demotest.Load(t, w)
	fx := &fixture{w: w, svc: svc, ws: ws, charts: ws.Charts.Dir, branch: ws.ReleaseBranch("2.1")}
	fx.git(t, fx.charts, "branch", fx.branch, "master")
	fx.git(t, fx.charts, "push", "-q", "origin", fx.branch)
	return fx
}

// git runs git in dir and fails the test on error.
func (fx *fixture) git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return demotest.Git(t, dir, args...)
}

// rev resolves rev in the charts repo ("" when it names nothing).
func (fx *fixture) rev(t *testing.T, rev string) string {
	t.Helper()
	h, ok, err := gitx.RevCommit(context.Background(), fx.charts, rev)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return h
}

// checkoutUntouched asserts the user's charts checkout is still on master
// at head, clean, with no stray worktree.
func (fx *fixture) checkoutUntouched(t *testing.T, head string) {
	t.Helper()
	if got := fx.git(t, fx.charts, "symbolic-ref", "--short", "HEAD"); got != "master" {
		t.Errorf("charts checkout is on %q, want master", got)
	}
	if got := fx.rev(t, "HEAD"); got != head {
		t.Errorf("charts checkout HEAD moved: %s, want %s", got, head)
	}
	if st := fx.git(t, fx.charts, "status", "--porcelain"); st != "" {
		t.Errorf("charts checkout is not clean:\n%s", st)
	}
	if wts := fx.git(t, fx.charts, "worktree", "list", "--porcelain"); strings.Count(wts, "worktree ") != 1 {
		t.Errorf("scratch worktree left behind:\n%s", wts)
	}
}

// commitOnBranch commits files on the release branch through a temporary
// worktree of the test's own (plain git), leaving the checkout alone.
func (fx *fixture) commitOnBranch(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	wt := filepath.Join(t.TempDir(), "wt")
	fx.git(t, fx.charts, "worktree", "add", "-q", wt, fx.branch)
	defer fx.git(t, fx.charts, "worktree", "remove", "--force", wt)
	gitxtest.WriteTree(t, wt, files)
	fx.git(t, wt, "add", "-A")
	fx.git(t, wt, "commit", "-q", "-m", msg)
	return fx.git(t, wt, "rev-parse", "HEAD")
}

// readAt reads a file of the charts repo at rev.
func (fx *fixture) readAt(t *testing.T, rev, path string) string {
	t.Helper()
	return fx.git(t, fx.charts, "show", fmt.Sprintf("%s:%s", rev, path))
}

// commitIn writes one file in the checkout dir and commits it there.
func (fx *fixture) commitIn(t *testing.T, dir, msg, file, content string) string {
	t.Helper()
	gitxtest.WriteTree(t, dir, map[string]string{file: content})
	fx.git(t, dir, "add", "--", file)
	fx.git(t, dir, "commit", "-q", "-m", msg)
	return fx.git(t, dir, "rev-parse", "HEAD")
}

// editOnBranch replaces old by new in one file on the release branch and
// commits it (through a temporary worktree).
func (fx *fixture) editOnBranch(t *testing.T, msg, file, old, new string) string {
	t.Helper()
	content := fx.readAt(t, "refs/heads/"+fx.branch, file) + "\n"
	if !strings.Contains(content, old) {
		t.Fatalf("%s on %s does not contain %q:\n%s", file, fx.branch, old, content)
	}
	return fx.commitOnBranch(t, msg, map[string]string{file: strings.Replace(content, old, new, 1)})
}
