package branch

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
)

// TestDemoWorkspaceCut cuts 2.1 in the demo workspace (release/demo), the
// one users try first, pushes it, and runs again.
func TestDemoWorkspaceCut(t *testing.T) {
	t.Parallel()
	w, err := demo.Build(context.Background(), filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Load(w.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{ws: ws}
	out := mustRun(t, fx, Options{Push: true})
	if !strings.Contains(out, "Done.") {
		t.Errorf("no Done:\n%s", out)
	}
	p, err := Plan(context.Background(), ws, Options{Line: line, Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() || len(p.Problems()) > 0 {
		t.Errorf("second run is not a no-op: %s", p.Summary())
	}
	for _, r := range ws.Repos() {
		if r.Kind == workspace.KindBranched || r.Kind == workspace.KindComponent {
			continue
		}
		msg := fx.git(t, r.Dir, "log", "-1", "--format=%B", "origin/"+r.MainBranch)
		if !strings.HasSuffix(msg, "Relkit-Release-Branch: aether-2.1") {
			t.Errorf("%s: origin/%s is not relkit's bump commit:\n%s", r.Name, r.MainBranch, msg)
		}
		if v := fx.git(t, r.Dir, "show", r.MainBranch+":"+r.VersionFile); v != "2.2.0-dev" {
			t.Errorf("%s: VERSION %q, want 2.2.0-dev", r.Name, v)
		}
	}
}
