package patch

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
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
	ctx := context.Background()
	w, err := demo.Build(ctx, filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Load(w.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := branch.Run(ctx, ws, branch.Options{Line: line, Push: true}, io.Discard, plan.Text); err != nil {
		t.Fatalf("release:branch %s: %v", line, err)
	}
	return &fixture{t: t, ctx: ctx, w: w, ws: ws}
}

// git runs git in the repo named name and returns trimmed stdout.
func (f *fixture) git(name string, args ...string) string {
	f.t.Helper()
	out, err := gitx.Git(f.ctx, f.dir(name), args...)
	if err != nil {
		f.t.Fatalf("%s: %v", name, err)
	}
	return strings.TrimSpace(out)
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
	out, err := gitx.Git(f.ctx, f.dir(name), "show", rev+":"+file)
	if err != nil {
		f.t.Fatalf("%s: %s:%s: %v", name, rev, file, err)
	}
	return out
}

// commitOn commits edits (file -> old, new replacement pairs) on branch of
// repo name through the demo builder, and returns the commit. The builder's
// checkout ends back on master.
func (f *fixture) commitOn(name, br, msg string, edits map[string][2]string) string {
	f.t.Helper()
	r := f.w.Repos[name]
	if br != "master" {
		r.Checkout(br, "")
	}
	files := map[string]string{}
	for file, e := range edits {
		data, err := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(file)))
		cur := string(data)
		if err != nil {
			cur = ""
		}
		if e[0] == "" {
			files[file] = cur + e[1]
			continue
		}
		if !strings.Contains(cur, e[0]) {
			f.t.Fatalf("%s: %s on %s does not contain %q", name, file, br, e[0])
		}
		files[file] = strings.Replace(cur, e[0], e[1], 1)
	}
	h := r.Commit(msg, files)
	if br != "master" {
		r.Checkout("master", "")
	}
	if err := r.Err(); err != nil {
		f.t.Fatal(err)
	}
	return h
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
