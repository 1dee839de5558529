package gitx

import (
	"context"
	"slices"
	"testing"

	"github.com/relkit/relkit/release/gitx/gitxtest"
)

// Paths hands back names git would quote (spaces, non-ASCII, a newline,
// a quote) as they are, in git's order, with no empty entry for the
// trailing NUL; a failing command is an error.
func TestPathsKeepsNamesAsTheyAre(t *testing.T) {
	dir := t.TempDir()
	gitT(t, dir, "init", "-q", "-b", "master")
	names := []string{"a b.txt", "dir/ü.yaml", "new\nline", `q"uote`}
	files := map[string]string{}
	for _, n := range names {
		files[n] = "x\n"
	}
	gitxtest.WriteTree(t, dir, files)
	gitT(t, dir, "add", "-A")
	got, err := Paths(context.Background(), dir, "ls-files", "-z")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, names) {
		t.Errorf("Paths = %q, want %q", got, names)
	}
	if got, err := Paths(context.Background(), dir, "ls-files", "-z", "--others"); err != nil || len(got) != 0 {
		t.Errorf("no untracked files: %q, %v", got, err)
	}
	if _, err := Paths(context.Background(), dir, "diff", "--name-only", "-z", "no-such-rev", "--"); err == nil {
		t.Errorf("a bad revision gave no error")
	}
}
