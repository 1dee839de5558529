package gitx

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/gitx/gitxtest"
)

// referenceWalk is an independent oracle for PathHistory's semantics: it
// reads the raw commit graph and the path's blob in every commit, then walks
// it by the rule (follow a parent whose blob equals the commit's, first
// parent first; a commit that differs from every parent changed the path).
func referenceWalk(t *testing.T, dir, path string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-list", "--parents", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	type node struct {
		parents []string
		blob    string
	}
	g := map[string]*node{}
	var order []string
	var q strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		g[f[0]] = &node{parents: f[1:]}
		order = append(order, f[0])
		q.WriteString(f[0] + ":" + path + "\n")
	}
	cmd := exec.Command("git", "-C", dir, "cat-file", "--batch-check=%(objectname) %(objecttype)")
	cmd.Stdin = strings.NewReader(q.String())
	res, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(res)), "\n") {
		if h, typ, _ := strings.Cut(line, " "); typ == "blob" {
			g[order[i]].blob = h
		}
	}
	var changes []string
	cur := order[0]
	for range len(order) + 1 {
		n := g[cur]
		next, same := "", false
		for i, p := range n.parents {
			if i == 0 {
				next = p
			}
			if g[p].blob == n.blob {
				next, same = p, true
				break
			}
		}
		if !same && (next != "" || n.blob != "") {
			changes = append(changes, cur)
		}
		if next == "" {
			return changes
		}
		cur = next
	}
	t.Fatal("reference walk did not end")
	return nil
}

func TestPathHistoryFollowsMergesByTheRule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := (gitxtest.Synth{Commits: 600, VersionEvery: 7, MergeEvery: 11, Files: 5}).Build(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	repo, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	head, _, _ := repo.Head()
	for _, path := range []string{"VERSION", "src/file003.go", "side.txt", "missing"} {
		var got []string
		err := repo.PathHistory(context.Background(), head, path, func(c Change) error {
			got = append(got, c.Commit.String())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := referenceWalk(t, dir, path)
		if path != "missing" && len(want) < 3 {
			t.Fatalf("%s: fixture too small, %d changes", path, len(want))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: PathHistory found %d commits, the reference walk %d\ngot:  %.300v\nwant: %.300v", path, len(got), len(want), got, want)
		}
	}
}

// BenchmarkVersionHistory compares finding where VERSION was set to its
// oldest value (the worst case for lazy branching: the whole history) with
// `git log --format=%H -- VERSION` on 20,000 commits with merges.
func BenchmarkVersionHistory(b *testing.B) {
	dir := b.TempDir()
	res, err := (gitxtest.Synth{Commits: 20_000, VersionEvery: 50, MergeEvery: 7, Files: 40}).Build(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	oldest := strings.TrimSpace(res.Versions[1])
	benchGitLog(b, "git-log", dir, "--format=%H", "--", "VERSION")
	b.Run("relkit-walk-to-oldest", func(b *testing.B) {
		for b.Loop() {
			repo, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			head, _, _ := repo.Head()
			var hits int
			err = repo.PathHistory(context.Background(), head, "VERSION", func(c Change) error {
				if strings.TrimSpace(string(c.Content)) == oldest {
					hits++
					return ErrStop
				}
				return nil
			})
			repo.Close()
			if err != nil || hits != 1 {
				b.Fatalf("walk: hits=%d err=%v", hits, err)
			}
		}
	})
}

func TestOpenLinkedWorktreeSeesCommonRefs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := (gitxtest.Synth{Commits: 5, VersionEvery: 2}).Build(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	wt := t.TempDir() + "/wt"
	for _, args := range [][]string{{"tag", "v9.9.9"}, {"worktree", "add", "--quiet", "--detach", wt, "HEAD~1"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	repo, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	tags, err := repo.Tags()
	if err != nil || tags["v9.9.9"].IsZero() {
		t.Fatalf("tags of the common dir not seen from the worktree: %v %v", tags, err)
	}
	head, _, err := repo.Head()
	want, _ := exec.Command("git", "-C", wt, "rev-parse", "HEAD").Output()
	if err != nil || head.String() != strings.TrimSpace(string(want)) {
		t.Fatalf("HEAD = %s (%v), want the worktree's own %s", head, err, want)
	}
}

// benchGitLog runs sub-benchmark name: git log with args in dir, the peer
// relkit's walks are measured against; it must list 300 commits or more.
func benchGitLog(b *testing.B, name, dir string, args ...string) {
	b.Run(name, func(b *testing.B) {
		for b.Loop() {
			out, err := exec.Command("git", append([]string{"-C", dir, "log"}, args...)...).Output()
			if err != nil || len(strings.Fields(string(out))) < 300 {
				b.Fatalf("git log: %v", err)
			}
		}
	})
}
