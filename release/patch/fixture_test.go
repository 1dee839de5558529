package patch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/demo/demotest"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/workspace"
)

// fixture is the demo workspace after release:branch 2.1 was cut and
// pushed: real repos with bare remotes.
type fixture struct {
	t   *testing.T
	ctx context.Context
	w   *demo.Workspace
	ws  *workspace.Config
}

const line = "2.1"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := demotest.Build(t)
	ws := demotest.Load(t, w)
	demotest.Cut(t, ws, line)
	return &fixture{t: t, ctx: context.Background(), w: w, ws: ws}
}

// git runs git in the repo named name and returns trimmed stdout.
func (f *fixture) git(name string, args ...string) string {
	f.t.Helper()
	return demotest.Git(f.t, f.dir(name), args...)
}

func (f *fixture) dir(name string) string {
	r, ok := f.ws.Repo(name)
	if !ok {
		f.t.Fatalf("no repo %s", name)
	}
	return r.Dir
}

// show reads a file at a revision.
func (f *fixture) show(name, rev, file string) string {
	f.t.Helper()
	return demotest.Show(f.t, f.dir(name), rev, file)
}

// commitOn commits edits (file -> old, new replacement pairs) on branch of
// repo name through the demo builder, and returns the commit. The builder's
// checkout ends back on master.
func (f *fixture) commitOn(name, br, msg string, edits map[string][2]string) string {
	f.t.Helper()
	return demotest.CommitOn(f.t, f.w, name, br, msg, edits)
}

// snapshot is everything a refused run must leave as it was: refs, the
// checkout's HEAD, status and files' index state, and the worktree list.
func (f *fixture) snapshot(name string) string {
	f.t.Helper()
	dir := f.dir(name)
	var b strings.Builder
	for _, args := range [][]string{
		{"for-each-ref", "--format=%(refname) %(objectname)"},
		{"rev-parse", "HEAD"},
		{"symbolic-ref", "HEAD"},
		{"status", "--porcelain=v1", "--untracked-files=all"},
		{"worktree", "list", "--porcelain"},
		{"stash", "list"},
	} {
		out, _ := gitx.Git(f.ctx, dir, args...)
		b.WriteString(strings.Join(args, " ") + ":\n" + out + "\n")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, ".git", "worktrees"))
	for _, e := range entries {
		b.WriteString("worktree admin dir " + e.Name() + "\n")
	}
	return b.String()
}
