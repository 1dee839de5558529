package status

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStatusInAShallowClone: the last release, the commits since and the
// checks all read the charts repo's history; a --depth 1 clone shows none
// of them and says why (exit 3), instead of "no release yet".
func TestStatusInAShallowClone(t *testing.T) {
	fx := newFixture(t)
	charts := fx.ws.Charts.Dir
	remote := git(t, charts, "remote", "get-url", "origin")
	if err := os.RemoveAll(charts); err != nil {
		t.Fatal(err)
	}
	git(t, filepath.Dir(charts), "clone", "-q", "--depth", "1", "--no-single-branch", "file://"+remote, charts)
	git(t, charts, "branch", "aether-2.1", "origin/aether-2.1")
	s, err := Collect(context.Background(), fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := fx.ws.Charts.Name + " is a shallow clone; run git fetch --unshallow in " + charts
	if s.ExitCode() != 3 || !slices.Contains(s.Unknown, want) {
		t.Errorf("exit %d, unknown %q; want 3 and %q", s.ExitCode(), s.Unknown, want)
	}
	if s.LastRelease != "" || len(s.Commits) != 0 || len(s.Findings) != 0 {
		t.Errorf("history facts from a shallow clone: last release %q, %d commits, %d findings", s.LastRelease, len(s.Commits), len(s.Findings))
	}
	for _, n := range s.Notes {
		if strings.Contains(n, "no branch") {
			t.Errorf("note %q from a shallow clone", n)
		}
	}
}
