package status

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusEscapesCommitSubjects: a commit subject holding terminal
// escape sequences, a BEL and a CR is listed escaped, never raw.
func TestStatusEscapesCommitSubjects(t *testing.T) {
	fx := newFixture(t)
	charts := fx.ws.Charts.Dir
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, charts, "worktree", "add", "-q", wt, "aether-2.1")
	git(t, wt, "commit", "-q", "--allow-empty", "-m", "fix \x1b[2J\x1b]0;owned\x07 title\rDONE \x1b[32mall good\x1b[0m")
	git(t, charts, "worktree", "remove", "--force", wt)

	s, err := Collect(context.Background(), fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if strings.ContainsAny(out, "\x1b\x07\r") {
		t.Errorf("raw control characters in the status: %q", out)
	}
	if !strings.Contains(out, `fix \x1b[2J\x1b]0;owned\x07 title\rDONE \x1b[32mall good\x1b[0m`) {
		t.Errorf("the subject is not listed escaped:\n%s", out)
	}
}
