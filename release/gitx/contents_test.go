package gitx

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/gitx/gitxtest"
)

// TestEveryContent: one pass finds every content a Chart.yaml had on
// branches, tags (also a tag off every branch), remote-tracking branches
// and an evil merge; a stash is not history; a blob over the limit comes
// without data; the refs are named.
func TestEveryContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(file, content string) {
		t.Helper()
		gitxtest.WriteTree(t, dir, map[string]string{file: content})
	}
	commit := func(msg string, files map[string]string) {
		t.Helper()
		gitxtest.WriteTree(t, dir, files)
		run("add", "-A")
		run("commit", "-q", "-m", msg)
	}
	chart := func(v string) string { return "name: cp\nversion: " + v + "\n" }
	run("init", "-q", "-b", "master")
	commit("start", map[string]string{"charts/cp/Chart.yaml": chart("1.0.0"), "Chart.yaml": "name: root\nversion: 0.1.0\n", "README": "x\n"})
	run("branch", "rel-1.0")
	commit("1.0.1", map[string]string{"charts/cp/Chart.yaml": chart("1.0.1")})
	commit("not a chart file", map[string]string{"charts/cp/Chart.yaml.orig": chart("6.6.6"), "charts/cp/values.yaml": "version: 5.5.5\n"})
	run("checkout", "-q", "rel-1.0")
	commit("1.0.5 on the branch", map[string]string{"charts/cp/Chart.yaml": chart("1.0.5")})
	run("checkout", "-q", "--detach")
	commit("tag only", map[string]string{"charts/cp/Chart.yaml": chart("9.9.9")})
	run("tag", "-a", "-m", "orphan", "orphan-9.9.9")
	run("checkout", "-q", "master")
	// A merge that resolves the file to a content neither side had.
	run("checkout", "-q", "-b", "side")
	commit("side 1.1.0", map[string]string{"charts/cp/Chart.yaml": chart("1.1.0")})
	run("checkout", "-q", "master")
	commit("main 1.2.0", map[string]string{"charts/cp/Chart.yaml": chart("1.2.0")})
	if cmd := exec.Command("git", "merge", "-q", "--no-commit", "side"); true {
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org")
		_ = cmd.Run() // conflicts, resolved below
	}
	write("charts/cp/Chart.yaml", chart("3.0.0"))
	run("add", "-A")
	run("commit", "-q", "--no-edit")
	run("branch", "-D", "side")
	// Only a remote-tracking branch has 2.0.0.
	run("checkout", "-q", "-b", "gone")
	commit("2.0.0", map[string]string{"charts/cp/Chart.yaml": chart("2.0.0")})
	run("update-ref", "refs/remotes/origin/gone", "HEAD")
	run("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/gone") // an alias, never named
	run("checkout", "-q", "master")
	run("branch", "-D", "gone")
	// A stash is work in progress, not a version anybody had.
	write("charts/cp/Chart.yaml", chart("7.7.7"))
	run("stash")
	// A huge Chart.yaml.
	run("checkout", "-q", "-b", "big")
	commit("big", map[string]string{"big/Chart.yaml": "name: big\nversion: 1.0.0\n" + strings.Repeat("# padding\n", 200)})
	run("checkout", "-q", "master")

	g, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var got []string
	sources := map[string]string{}
	err = g.EveryContent(ctx, KnownRefs, "Chart.yaml", 1000, func(c Content) error {
		if c.Data == nil {
			got = append(got, "too big")
			return nil
		}
		v := strings.TrimSpace(strings.SplitN(string(c.Data), "version: ", 2)[1])
		v, _, _ = strings.Cut(v, "\n")
		got = append(got, v)
		sources[v] = RefDisplay(c.Source)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"0.1.0", "1.0.0", "1.0.1", "1.0.5", "1.1.0", "1.2.0", "2.0.0", "3.0.0", "9.9.9", "too big"}
	if !slices.Equal(got, want) {
		t.Errorf("contents: got %q, want %q", got, want)
	}
	for v, src := range map[string]string{"1.0.5": "rel-1.0", "2.0.0": "origin/gone", "9.9.9": "tag orphan-9.9.9", "3.0.0": "master"} {
		if sources[v] != src {
			t.Errorf("%s should be reached through %s, was %q", v, src, sources[v])
		}
	}
	// ErrStop ends the walk early without error.
	n := 0
	if err := g.EveryContent(ctx, KnownRefs[:1], "Chart.yaml", 1000, func(Content) error { n++; return ErrStop }); err != nil || n != 1 {
		t.Errorf("ErrStop: %d visits, %v", n, err)
	}
}

// BenchmarkEveryContent: every content any VERSION had, over every ref,
// on a 20,000-commit history with merges, against the git log that only
// lists the commits changing such a file (the glob pathspec costs most:
// git log -- VERSION, one known path, prunes trees and is ~4x faster).
func BenchmarkEveryContent(b *testing.B) {
	dir := b.TempDir()
	res, err := (gitxtest.Synth{Commits: 20_000, VersionEvery: 50, MergeEvery: 7, Files: 40}).Build(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	benchGitLog(b, "git-log-all", dir, "--all", "--format=%H", "--", ":(glob)**/VERSION")
	b.Run("every-content", func(b *testing.B) {
		for b.Loop() {
			g, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			if err := g.EveryContent(context.Background(), KnownRefs, "VERSION", 1<<20, func(Content) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			g.Close()
			if n < len(res.Versions)/2 {
				b.Fatalf("%d contents for %d versions", n, len(res.Versions))
			}
		}
	})
}
