// Package demotest builds the demo workspace (release/demo) for the tests
// of the release targets: built fresh or cloned from one build per test
// binary, served on loopback, loaded as a workspace, with the release
// line cut; and the small git helpers those tests share. Everything it
// makes lives in the test's temp dirs and is cleaned up with the test.
package demotest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Cache builds the demo workspace once per test binary (it takes seconds)
// and hands each test its own clone. Call Remove from TestMain after
// m.Run.
type Cache struct {
	// Prefix names the temp dir of the one build ("relkit-status-demo-").
	Prefix string

	once sync.Once
	dir  string
	base *demo.Workspace
	err  error
}

// Clone returns a fresh clone of the demo workspace in t's temp dir,
// building the demo first if this is the binary's first call.
func (c *Cache) Clone(t testing.TB) *demo.Workspace {
	t.Helper()
	ctx := context.Background()
	c.once.Do(func() {
		c.dir, c.err = os.MkdirTemp("", c.Prefix)
		if c.err == nil {
			c.base, c.err = demo.Build(ctx, filepath.Join(c.dir, "ws"))
		}
	})
	if c.err != nil {
		t.Fatalf("building the demo workspace: %v", c.err)
	}
	w, err := c.base.Clone(ctx, filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatalf("cloning the demo workspace: %v", err)
	}
	return w
}

// Remove deletes the one build (nothing when none was made).
func (c *Cache) Remove() {
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// Main is the whole of a TestMain that uses c: it runs the tests, removes
// the one build and exits with the tests' code.
func (c *Cache) Main(m *testing.M) {
	code := m.Run()
	c.Remove()
	os.Exit(code)
}

// Build builds a fresh demo workspace in t's temp dir.
func Build(t testing.TB) *demo.Workspace {
	t.Helper()
	w, err := demo.Build(context.Background(), filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatalf("building the demo workspace: %v", err)
	}
	return w
}

// Serve serves w's chart repository and registry on loopback until the
// test ends.
func Serve(t testing.TB, w *demo.Workspace) *demo.Services {
	t.Helper()
	svc, err := demo.Serve(context.Background(), w)
	if err != nil {
		t.Fatalf("serving the demo workspace: %v", err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// Load loads w's relkit.yaml.
func Load(t testing.TB, w *demo.Workspace) *workspace.Config {
	t.Helper()
	ws, err := workspace.Load(w.ConfigFile)
	if err != nil {
		t.Fatalf("loading %s: %v", w.ConfigFile, err)
	}
	return ws
}

// Cut runs release:branch line -push on ws, as a person cutting the
// release line would.
func Cut(t testing.TB, ws *workspace.Config, line string) {
	t.Helper()
	if err := branch.Run(context.Background(), ws, branch.Options{Line: line, Push: true}, io.Discard, plan.Text); err != nil {
		t.Fatalf("release:branch %s: %v", line, err)
	}
}

// Repos reaches the repos of a loaded workspace (the demo's or one a test
// built) by name, failing T when the workspace has no such repo.
type Repos struct {
	T  testing.TB
	WS *workspace.Config
}

// Dir is the checkout of repo name.
func (r Repos) Dir(name string) string {
	r.T.Helper()
	repo, ok := r.WS.Repo(name)
	if !ok {
		r.T.Fatalf("no repo %s", name)
	}
	return repo.Dir
}

// Git runs git in repo name and returns its trimmed output.
func (r Repos) Git(name string, args ...string) string {
	r.T.Helper()
	return Git(r.T, r.Dir(name), args...)
}

// Show returns file at rev in repo name, untrimmed.
func (r Repos) Show(name, rev, file string) string {
	r.T.Helper()
	return Show(r.T, r.Dir(name), rev, file)
}

// Snapshot is everything of repo name a refused run must leave as it
// was: refs, the checkout's HEAD, its status and files' index state, the
// worktree list (and their admin dirs) and the stash.
func (r Repos) Snapshot(name string) string {
	r.T.Helper()
	dir := r.Dir(name)
	var b strings.Builder
	for _, args := range [][]string{
		{"for-each-ref", "--format=%(refname) %(objectname)"},
		{"rev-parse", "HEAD"},
		{"symbolic-ref", "HEAD"},
		{"status", "--porcelain=v1", "--untracked-files=all"},
		{"worktree", "list", "--porcelain"},
		{"stash", "list"},
	} {
		out, _ := gitx.Git(context.Background(), dir, args...)
		b.WriteString(strings.Join(args, " ") + ":\n" + out + "\n")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, ".git", "worktrees"))
	for _, e := range entries {
		b.WriteString("worktree admin dir " + e.Name() + "\n")
	}
	return b.String()
}

// GitFiles lists every file under repo name's .git with its size and
// modification time: a dry run must leave all of it as it was (no object,
// no lock, no worktree record, not even for a while that ends).
func (r Repos) GitFiles(name string) string {
	r.T.Helper()
	root := filepath.Join(r.Dir(name), ".git")
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(&b, "%s %d %s\n", rel, info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		r.T.Fatal(err)
	}
	return b.String()
}

// Line is the demo workspace with a release line cut and pushed, as the
// tests of the steps that work on a line (patch, point) start from.
type Line struct {
	Repos
	W *demo.Workspace
}

// CutLine loads w and cuts line on it with release:branch -push.
func CutLine(t testing.TB, w *demo.Workspace, line string) *Line {
	t.Helper()
	ws := Load(t, w)
	Cut(t, ws, line)
	return &Line{Repos: Repos{T: t, WS: ws}, W: w}
}

// CommitOn commits edits on branch br of demo repo name (see the function
// CommitOn).
func (l *Line) CommitOn(name, br, msg string, edits map[string][2]string) string {
	l.T.Helper()
	return CommitOn(l.T, l.W, name, br, msg, edits)
}

// Git runs git in dir and returns its trimmed output, failing the test on
// error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitx.Git(context.Background(), dir, args...)
	if err != nil {
		t.Fatalf("git %s in %s: %v", strings.Join(args, " "), dir, err)
	}
	return strings.TrimSpace(out)
}

// Show returns file at rev in the repo at dir, untrimmed.
func Show(t testing.TB, dir, rev, file string) string {
	t.Helper()
	out, err := gitx.Git(context.Background(), dir, "show", rev+":"+file)
	if err != nil {
		t.Fatalf("%s: %s:%s: %v", dir, rev, file, err)
	}
	return out
}

// CommitOn commits edits (file -> old, new: the first old is replaced by
// new; an empty old appends new, to an empty file when it does not exist)
// on branch br of demo repo name through the demo builder, and returns the
// commit. The builder's checkout ends back on master.
func CommitOn(t testing.TB, w *demo.Workspace, name, br, msg string, edits map[string][2]string) string {
	t.Helper()
	r := w.Repos[name]
	if br != "master" {
		r.Checkout(br, "")
	}
	files := map[string]string{}
	for file, e := range edits {
		data, _ := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(file)))
		cur := string(data)
		if e[0] == "" {
			files[file] = cur + e[1]
			continue
		}
		if !strings.Contains(cur, e[0]) {
			t.Fatalf("%s: %s on %s does not contain %q", name, file, br, e[0])
		}
		files[file] = strings.Replace(cur, e[0], e[1], 1)
	}
	h := r.Commit(msg, files)
	if br != "master" {
		r.Checkout("master", "")
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return h
}
