package gitx

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// treeOf lists every file under dir with its size and mode: what a run
// would have to leave exactly as it was.
func treeOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s %v %d\n", rel, info.Mode(), info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// An isolated scratch reads the repo's commits, commits on its own, and
// leaves the repo byte for byte as it was: no object, no lock, no
// worktree record; removing it removes its temp dir.
func TestIsolatedWorktreeWritesNothingIntoTheRepo(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	gitT(t, dir, "config", "user.name", "Repo Person")
	gitT(t, dir, "config", "user.email", "person@example.org")
	before := treeOf(t, dir)
	ctx := context.Background()
	w, err := AddIsolatedWorktree(ctx, dir, "master~2", Ident{})
	if err != nil {
		t.Fatal(err)
	}
	if want := gitT(t, dir, "rev-parse", "master~2"); w.Start != want {
		t.Errorf("started at %s, want %s", w.Start, want)
	}
	data, err := w.ReadFile("VERSION")
	if err != nil || string(data) != "1.0.0\n" {
		t.Errorf("VERSION in the scratch: %q, %v", data, err)
	}
	commit, err := w.Commit(ctx, "a dry run's commit", map[string][]byte{"VERSION": []byte("1.0.1\n")})
	if err != nil {
		t.Fatal(err)
	}
	if who := gitT(t, w.Dir, "log", "-1", "--format=%cn <%ce>", commit); who != "Repo Person <person@example.org>" {
		t.Errorf("committer %q, want the repo's own identity", who)
	}
	// While the dry run lasts, git in the repo sees the scratch's commit
	// (through the dry-run store, not the repo's own objects); after
	// ForgetDryObjects it is gone.
	if _, err := Git(ctx, dir, "merge-base", "--is-ancestor", "master~2", commit); err != nil {
		t.Errorf("the repo cannot see the dry run's commit %s: %v", commit, err)
	}
	w2, err := AddIsolatedWorktree(ctx, dir, commit, Ident{})
	if err != nil {
		t.Fatalf("a second scratch at the first one's commit: %v", err)
	}
	w2.Remove(ctx)
	if after := treeOf(t, dir); after != before {
		t.Errorf("the repo changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	root := filepath.Dir(w.Dir)
	if err := w.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("the scratch root %s is still there: %v", root, err)
	}
	ForgetDryObjects(dir)
	if _, err := Git(ctx, dir, "cat-file", "-e", commit); err == nil {
		t.Errorf("the repo still sees the dry run's commit %s after ForgetDryObjects", commit)
	}
	if _, err := AddIsolatedWorktree(ctx, dir, "no-such-rev", Ident{}); err == nil {
		t.Error("a scratch at a revision that names nothing was made")
	}
}
