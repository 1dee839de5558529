package checks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/release/workspace"
)

// parseWithoutVersion parses config in root while each repo lacking a
// VERSION holds a placeholder, removed afterwards: relkit.yaml refuses a
// repo without one, and the checks still meet a VERSION that went missing
// after the workspace was loaded.
func parseWithoutVersion(t testing.TB, root, config string, repos ...string) (*workspace.Config, error) {
	t.Helper()
	var placeholders []string
	for _, name := range repos {
		p := filepath.Join(root, name, "VERSION")
		if _, err := os.Stat(p); os.IsNotExist(err) {
			if err := os.WriteFile(p, []byte("0.0.0-dev\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			placeholders = append(placeholders, p)
		}
	}
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(config))
	for _, p := range placeholders {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	return ws, err
}
