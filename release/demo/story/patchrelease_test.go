package story

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

func TestPatchReleaseChapter(t *testing.T) {
	ctx := context.Background()
	d, err := demo.Build(ctx, filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := demo.Serve(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ws, err := workspace.Load(d.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := patchRelease(ctx, io.Discard, ws, "2.1"); err == nil || !strings.Contains(err.Error(), "release:branch 2.1 -push first") {
		t.Errorf("without the cut the chapter should say what to run first, got %v", err)
	}
	if err := branch.Run(ctx, ws, branch.Options{Line: "2.1", Push: true}, io.Discard, plan.Text); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := patchRelease(ctx, &out, ws, "2.1"); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"$ go tool mage patch:charts 2.1", "$ go tool mage patch:component amf 2.1", "create tag v1.4.2",
		"$ go tool mage release:point 2.1 -push", "create tag 2.1.0", "release-notes/2.1.0.md on aether-2.1 of aether-docs:",
		"- **amf** 1.4.0 → 1.4.2", "$ go tool mage image:push amf", "pushed        registry.aetherproject.org/omecproject/5gc-amf:1.4.2", "omec-control-plane: give the NRF more time to come up (`"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the chapter should print %q:\n%s", want, out.String())
		}
	}
}
