package branch

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// The benchmark workspace: 50 component repos and a charts repo with 200
// charts (plus the field-note shapes), docs and system-tests.
var benchOpts = fixtureOpts{components: 50, genCharts: 200}

// benchTemplate builds the workspace once; each iteration that writes
// works on a fresh copy.
func benchTemplate(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "ws")
	buildFixture(b, dir, benchOpts)
	return dir
}

func copyWorkspace(b *testing.B, from string) *workspace.Config {
	b.Helper()
	to := filepath.Join(b.TempDir(), "ws")
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		b.Fatalf("copying the workspace: %v %s", err, out)
	}
	ws, err := workspace.Load(filepath.Join(to, "relkit.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	return ws
}

func benchRun(b *testing.B, ws *workspace.Config, o Options) *plan.Plan {
	b.Helper()
	o.Line = line
	if err := Run(context.Background(), ws, o, io.Discard, plan.Text); err != nil {
		b.Fatal(err)
	}
	return nil
}

// BenchmarkDryRun plans the whole cut, remotes included, writing nothing.
func BenchmarkDryRun(b *testing.B) {
	ws := copyWorkspace(b, benchTemplate(b))
	b.ResetTimer()
	for range b.N {
		benchRun(b, ws, Options{DryRun: true, Push: true})
	}
}

// BenchmarkCut is the real cut without pushing: 3 branches, 52 commits
// (the charts one touching 200+ files).
func BenchmarkCut(b *testing.B) { benchCuts(b, Options{}) }

// BenchmarkCutPush is the real cut with its 53 atomic pushes to local bare
// remotes.
func BenchmarkCutPush(b *testing.B) { benchCuts(b, Options{Push: true}) }

// benchCuts times b.N cuts with opts, each on a fresh copy of the
// template workspace (the copying untimed).
func benchCuts(b *testing.B, opts Options) {
	tmpl := benchTemplate(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ws := copyWorkspace(b, tmpl)
		b.StartTimer()
		benchRun(b, ws, opts)
	}
}
