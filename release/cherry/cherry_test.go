package cherry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
)

const chartV1 = `apiVersion: v2
name: hss
description: Home Subscriber Server
version: 1.2.4 # bump on every change
dependencies:
  - name: common
    version: 0.3.0
    repository: file://../common
`

// repo builds: main with a chart, release branch rel-1.2 cut from it, then
// main moving on (minor bump) and fixes on main.
func repo(t *testing.T) (*demo.Repo, context.Context) {
	t.Helper()
	ctx := context.Background()
	r, err := demo.NewRepo(ctx, filepath.Join(t.TempDir(), "charts"), "main")
	if err != nil {
		t.Fatal(err)
	}
	r.Commit("import", map[string]string{"hss/Chart.yaml": chartV1, "hss/templates/a.yaml": "a: 1\nb: 2\nc: 3\n", "README.md": "charts\n"})
	r.Git("branch", "rel-1.2")
	r.Commit("start 1.3", map[string]string{"hss/Chart.yaml": strings.Replace(strings.Replace(chartV1, "1.2.4", "1.3.0", 1), "version: 0.3.0", "version: 0.4.0", 1)})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return r, ctx
}

func read(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPickSettlesVersionOnlyConflicts(t *testing.T) {
	r, ctx := repo(t)
	v := strings.Replace(strings.Replace(chartV1, "1.2.4", "1.3.1", 1), "version: 0.3.0", "version: 0.4.1", 1)
	fix := r.Commit("fix b", map[string]string{"hss/Chart.yaml": v, "hss/templates/a.yaml": "a: 1\nb: 20\nc: 3\n"})
	tip := r.Git("rev-parse", "rel-1.2")
	w, err := Add(ctx, r.Dir, tip, gitx.Ident{Name: "Bot", Email: "bot@example.org"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Remove(ctx)
	// Without a resolver the version line is a conflict.
	_, err = w.Pick(ctx, fix, nil)
	var ce *ConflictError
	if !errors.As(err, &ce) || strings.Join(ce.Files, ",") != "hss/Chart.yaml" {
		t.Fatalf("expected a conflict in hss/Chart.yaml, got %v", err)
	}
	if head, _ := w.Head(ctx); head != tip {
		t.Fatalf("an aborted pick must leave HEAD at %s", tip[:7])
	}
	if st, _ := gitx.Status(ctx, w.Dir); len(st) != 0 {
		t.Fatalf("an aborted pick must leave a clean worktree: %v", st)
	}
	res, err := w.Pick(ctx, fix, ChartVersions)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit == "" || strings.Join(res.Resolved, ",") != "hss/Chart.yaml" || res.Subject != "fix b" {
		t.Fatalf("unexpected result %+v", res)
	}
	if got := read(t, w.Dir, "hss/Chart.yaml"); got != chartV1 {
		t.Errorf("the branch's versions (chart and file:// pin) should be kept, got:\n%s", got)
	}
	if got := read(t, w.Dir, "hss/templates/a.yaml"); got != "a: 1\nb: 20\nc: 3\n" {
		t.Errorf("the fix is missing: %q", got)
	}
	msg, _ := gitx.Git(ctx, w.Dir, "log", "-1", "--format=%B%n%an", res.Commit)
	if !strings.Contains(msg, PickTrailer(fix)) || !strings.Contains(msg, "Demo Developer") {
		t.Errorf("the pick needs the -x trailer and the fix's author:\n%s", msg)
	}
	if got := PickedFrom(msg); len(got) != 1 || got[0] != fix {
		t.Errorf("PickedFrom: %v", got)
	}
	// The branch ref never moved; FindPick sees the pick only where it is.
	if now := r.Git("rev-parse", "rel-1.2"); now != tip {
		t.Errorf("rel-1.2 moved")
	}
	if found, err := FindPick(ctx, r.Dir, res.Commit, fix, "main"); err != nil || found != res.Commit {
		t.Errorf("FindPick on the new commit: %q %v", found, err)
	}
	if found, err := FindPick(ctx, r.Dir, tip, fix, "main"); err != nil || found != "" {
		t.Errorf("FindPick on the old tip: %q %v", found, err)
	}
}

func TestPickKeepsOtherConflicts(t *testing.T) {
	r, ctx := repo(t)
	r.Checkout("rel-1.2", "")
	r.Commit("describe on 1.2", map[string]string{"hss/Chart.yaml": strings.Replace(chartV1, "Home Subscriber Server", "HSS (1.2 line)", 1)})
	r.Checkout("main", "")
	fix := r.Commit("describe and bump", map[string]string{"hss/Chart.yaml": strings.Replace(strings.Replace(chartV1, "1.2.4", "1.3.1", 1), "Home Subscriber Server", "HSS", 1)})
	tip := r.Git("rev-parse", "rel-1.2")
	w, err := Add(ctx, r.Dir, tip, gitx.Ident{}, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Pick(ctx, fix, ChartVersions)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Files[0] != "hss/Chart.yaml" || ce.Onto != tip {
		t.Fatalf("a description conflict is not a version conflict: %v", err)
	}
	cmds := strings.Join(ce.HandCommands("rel-1.2"), "\n")
	if !strings.Contains(cmds, "git cherry-pick -x "+fix) || !strings.Contains(cmds, "git add -- hss/Chart.yaml") {
		t.Errorf("hand commands:\n%s", cmds)
	}
	if head, _ := w.Head(ctx); head != tip {
		t.Errorf("HEAD moved")
	}
	admin := filepath.Join(r.Dir, ".git", "worktrees")
	if err := w.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(admin); len(entries) != 0 {
		t.Errorf("Remove left %d worktree record(s)", len(entries))
	}
	if _, err := os.Stat(w.Dir); !os.IsNotExist(err) {
		t.Errorf("Remove left %s", w.Dir)
	}
}

func TestPickEmptyAndCommit(t *testing.T) {
	r, ctx := repo(t)
	fix := r.Commit("readme", map[string]string{"README.md": "charts!\n"})
	r.Checkout("rel-1.2", "")
	r.Commit("same readme by hand", map[string]string{"README.md": "charts!\n"})
	r.Checkout("main", "")
	tip := r.Git("rev-parse", "rel-1.2")
	w, err := Add(ctx, r.Dir, tip, gitx.Ident{Name: "Bot", Email: "bot@example.org"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Remove(ctx)
	res, err := w.Pick(ctx, fix, nil)
	if err != nil || res.Commit != "" {
		t.Fatalf("a change the branch has is skipped: %+v %v", res, err)
	}
	h, err := w.Commit(ctx, "bump\n", map[string][]byte{"hss/Chart.yaml": []byte(strings.Replace(chartV1, "1.2.4", "1.2.5", 1))})
	if err != nil || h == "" {
		t.Fatalf("commit: %q %v", h, err)
	}
	if files, _ := Changed(ctx, w.Dir, tip, h); strings.Join(files, ",") != "hss/Chart.yaml" {
		t.Errorf("Changed: %v", files)
	}
	if author, _ := gitx.Git(ctx, w.Dir, "log", "-1", "--format=%an <%ae>", h); strings.TrimSpace(author) != "Bot <bot@example.org>" {
		t.Errorf("relkit's commits are by the identity given, got %q", author)
	}
	if h2, err := w.Commit(ctx, "again\n", map[string][]byte{"hss/Chart.yaml": []byte(strings.Replace(chartV1, "1.2.4", "1.2.5", 1))}); err != nil || h2 != "" {
		t.Errorf("committing unchanged files makes no commit: %q %v", h2, err)
	}
	if wt, err := gitx.CheckedOut(ctx, r.Dir, "main"); err != nil || wt != r.Dir {
		t.Errorf("main is checked out in %s, got %q %v", r.Dir, wt, err)
	}
	if wt, err := gitx.CheckedOut(ctx, r.Dir, "rel-1.2"); err != nil || wt != "" {
		t.Errorf("rel-1.2 is not checked out, got %q %v", wt, err)
	}
	// A merge commit is not picked.
	r.Checkout("side", "main~1")
	r.Commit("side", map[string]string{"side.txt": "x\n"})
	r.Checkout("main", "")
	merge := r.Merge("side", "merge side")
	if _, err := w.Pick(ctx, merge, nil); err == nil || !strings.Contains(err.Error(), "merge commit") {
		t.Errorf("picking a merge should be refused, got %v", err)
	}
}
