package patch

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/gitx/gitxtest"
)

// TestBranchPoint walks a history with a merged side branch that set the
// version, a revert that set an old version again, a version set twice on
// purpose, and one set only on an unmerged branch.
func TestBranchPoint(t *testing.T) {
	ctx := context.Background()
	r, err := demo.NewRepo(ctx, filepath.Join(t.TempDir(), "comp"), "master")
	if err != nil {
		t.Fatal(err)
	}
	r.Commit("start", map[string]string{"VERSION": "1.0.0-dev\n", "main.go": "package main\n"})
	v100 := r.SetVersion("1.0.0\n")
	r.SetVersion("1.1.0-dev\n")
	r.Checkout("feature", "HEAD")
	r.Commit("feature work", map[string]string{"feature.go": "package main\n"})
	side := r.SetVersion("1.1.0\n") // set on the side branch, merged below
	r.Checkout("master", "")
	r.Commit("unrelated work on master", map[string]string{"other.go": "package main\n"})
	r.Merge("feature", "Merge branch 'feature'")
	dev := r.SetVersion("1.1.1-dev\n")
	revert := r.Revert(dev) // VERSION is 1.1.0 again: its newest setting
	r.SetVersion("1.3.0-dev\n")
	r.Checkout("unmerged", "HEAD")
	r.SetVersion("9.9.9\n")
	r.Checkout("master", "")
	c1 := r.SetVersion("1.2.0\n")
	r.SetVersion("1.3.0-dev\n")
	c2 := r.SetVersion("1.2.0\r\n") // the same version again, with CRLF
	r.Commit("after", map[string]string{"late.go": "package main\n"})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	g, head := openAtMaster(t, r.Dir)
	for _, tc := range []struct {
		want, at, why string
	}{
		{"1.0.0", v100, "set once on master"},
		{"1.1.0", revert, "set on a merged side branch, then again by a revert: the revert is newest"},
		{"1.2.0", c2, "set twice: the newer setting"},
		{"1.0.0-dev", "", "the first commit"},
	} {
		got, err := BranchPoint(ctx, g, head, "VERSION", tc.want, "master")
		if err != nil {
			t.Errorf("%s (%s): %v", tc.want, tc.why, err)
			continue
		}
		if tc.at != "" && got.String() != tc.at {
			t.Errorf("%s (%s): got %s, expected %s", tc.want, tc.why, gitx.Short(got.String()), gitx.Short(tc.at))
		}
	}
	_ = c1
	// From the side branch's own head, 1.1.0 is the side commit.
	sideHead, _ := g.Resolve("feature")
	if got, err := BranchPoint(ctx, g, sideHead, "VERSION", "1.1.0", "feature"); err != nil || got.String() != side {
		t.Errorf("1.1.0 from feature: got %v %v, expected the side commit %s", got, err, gitx.Short(side))
	}
	// 9.9.9 is only on an unmerged branch: an error listing what was set.
	_, err = BranchPoint(ctx, g, head, "VERSION", "9.9.9", "master")
	var ns *NotSetError
	if !errors.As(err, &ns) {
		t.Fatalf("9.9.9: expected a NotSetError, got %v", err)
	}
	wantList := []string{"1.2.0", "1.3.0-dev", "1.1.0", "1.1.1-dev", "1.1.0-dev", "1.0.0", "1.0.0-dev"}
	if strings.Join(ns.Versions, ",") != strings.Join(wantList, ",") {
		t.Errorf("versions listed: got %v, expected %v", ns.Versions, wantList)
	}
	if !strings.Contains(err.Error(), "never set to 9.9.9") || !strings.Contains(err.Error(), "1.3.0-dev") {
		t.Errorf("error should name the version and list the others: %v", err)
	}
}

// BenchmarkBranchPoint compares the lazy-branch point search with `git log
// --format=%H -- VERSION` on a 20,000-commit history with merges, looking
// for the oldest release (the whole history is walked).
func BenchmarkBranchPoint(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "synth")
	res, err := gitxtest.Synth{Commits: 20000, VersionEvery: 50, MergeEvery: 7}.Build(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	want := strings.TrimSpace(res.Versions[2]) // an early release
	g, head := openAtMaster(b, dir)
	// The machine is shared: besides ns/op, each side reports its fastest
	// run (min-ns), which load spikes do not inflate, and the ratio is
	// taken on those.
	var gitLog, search time.Duration
	timed := func(b *testing.B, best *time.Duration, run func() error) {
		*best = 0
		for b.Loop() {
			start := time.Now()
			if err := run(); err != nil {
				b.Fatal(err)
			}
			if d := time.Since(start); *best == 0 || d < *best {
				*best = d
			}
		}
		b.ReportMetric(float64(best.Nanoseconds()), "min-ns")
	}
	b.Run("git-log", func(b *testing.B) {
		timed(b, &gitLog, func() error {
			cmd := exec.CommandContext(ctx, "git", "log", "--format=%H", "--", "VERSION")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err == nil && len(out) == 0 {
				err = errors.New("git log printed nothing")
			}
			return err
		})
	})
	b.Run("lazy-branch-point", func(b *testing.B) {
		timed(b, &search, func() error {
			h, err := BranchPoint(ctx, g, head, "VERSION", want, "master")
			if err == nil && h == plumbing.ZeroHash {
				err = errors.New("no branch point")
			}
			return err
		})
	})
	if gitLog > 0 && search > 0 {
		b.Logf("fastest runs: git log %v, lazy-branch point %v: %.2fx", gitLog, search, float64(search)/float64(gitLog))
	}
}

// openAtMaster opens the repo at dir (closed when tb ends) and resolves
// its master.
func openAtMaster(tb testing.TB, dir string) (*gitx.Repo, plumbing.Hash) {
	tb.Helper()
	g, err := gitx.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	head, err := g.Resolve("master")
	if err != nil {
		tb.Fatal(err)
	}
	return g, head
}
