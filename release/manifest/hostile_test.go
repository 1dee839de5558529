package manifest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/plan"
)

// TestManifestRefusesSymlinkedManifest: a committed releases/X.Y.Z.yaml
// that is a symlink (out of the repo, or to another file of it) refuses
// release:manifest, dry run or not; the linked file is never written.
func TestManifestRefusesSymlinkedManifest(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "some", "file")
	if err := os.MkdirAll(filepath.Dir(outside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, []byte("untouched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	head := fx.rev(t, "HEAD")
	for _, c := range []struct{ target, want string }{
		{outside, "releases/2.1.0.yaml is a symlink; relkit never writes through a symlink"},
		{"../VERSION", "releases/2.1.0.yaml is a symlink; relkit never writes through a symlink"},
	} {
		wt := filepath.Join(t.TempDir(), "wt")
		fx.git(t, fx.charts, "worktree", "add", "-q", wt, fx.branch)
		if err := os.MkdirAll(filepath.Join(wt, "releases"), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(filepath.Join(wt, "releases", "2.1.0.yaml"))
		if err := os.Symlink(c.target, filepath.Join(wt, "releases", "2.1.0.yaml")); err != nil {
			t.Fatal(err)
		}
		fx.git(t, wt, "add", "-A")
		fx.git(t, wt, "commit", "-q", "-m", "link the manifest")
		fx.git(t, fx.charts, "worktree", "remove", "--force", wt)
		branchHead := fx.rev(t, "refs/heads/"+fx.branch)
		version := fx.readAt(t, fx.branch, "VERSION")
		for _, dry := range []bool{true, false} {
			_, err := Run(ctx, fx.ws, "2.1", Options{DryRun: dry})
			if err == nil || !strings.Contains(err.Error(), c.want) || plan.ExitCode(err) != plan.ExitFailed {
				t.Errorf("link to %s, dry run %v: %v; want a refusal (exit 1) saying %q", c.target, dry, err, c.want)
			}
			if got := fx.rev(t, "refs/heads/"+fx.branch); got != branchHead {
				t.Errorf("dry run %v: the branch moved", dry)
			}
			if got := fx.readAt(t, fx.branch, "VERSION"); got != version {
				t.Errorf("dry run %v: VERSION changed to %q", dry, got)
			}
			if data, _ := os.ReadFile(outside); string(data) != "untouched\n" {
				t.Fatalf("dry run %v: the file outside was written: %q", dry, data)
			}
		}
		fx.checkoutUntouched(t, head)
	}
}
