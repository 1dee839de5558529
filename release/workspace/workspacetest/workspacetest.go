// Package workspacetest builds the small real workspaces the tests of
// checks and release steps run on: git repos made with the git CLI in
// the test's temp dirs, and the relkit.yaml naming them, loaded as the
// targets load it. For the full demo workspace use release/demo/demotest.
package workspacetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
)

// Repo makes a git repo at dir whose first branch is branch, writes its
// history with build (nil: an empty repo), and fails tb on the first git
// error either made. Steps after build check r.Err themselves.
func Repo(tb testing.TB, dir, branch string, build func(r *demo.Repo)) *demo.Repo {
	tb.Helper()
	r, err := demo.NewRepo(context.Background(), dir, branch)
	if err != nil {
		tb.Fatal(err)
	}
	if build != nil {
		build(r)
	}
	if err := r.Err(); err != nil {
		tb.Fatalf("building %s: %v", dir, err)
	}
	return r
}

// Load writes config as root/relkit.yaml and loads it with
// workspace.Load, failing tb when the file does not load.
func Load(tb testing.TB, root, config string) *workspace.Config {
	tb.Helper()
	file := filepath.Join(root, "relkit.yaml")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		tb.Fatal(err)
	}
	ws, err := workspace.Load(file)
	if err != nil {
		tb.Fatalf("loading %s: %v", file, err)
	}
	return ws
}
