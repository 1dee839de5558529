package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestContainsAllReportsEachMissingLine(t *testing.T) {
	r := &recorder{}
	ContainsAll(r, "the plan", "create tag v1.2.3\npush to origin\n", "create tag v1.2.3", "create branch", "push to origin", "delete")
	want := []string{
		"the plan lacks \"create branch\":\ncreate tag v1.2.3\npush to origin\n",
		"the plan lacks \"delete\":\ncreate tag v1.2.3\npush to origin\n",
	}
	if fmt.Sprint(r.errs) != fmt.Sprint(want) {
		t.Errorf("errors %q, want %q", r.errs, want)
	}
	r = &recorder{}
	ContainsAll(r, "the plan", "anything")
	if len(r.errs) != 0 {
		t.Errorf("no wants, errors %q", r.errs)
	}
}

func TestCopyTreeCopiesFoldersAndFiles(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	files := map[string]string{"Chart.yaml": "name: a\n", "templates/deep/cm.yaml": "kind: ConfigMap\n"}
	for name, content := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	CopyTree(t, src, dst)
	for name, content := range files {
		p := filepath.Join(dst, filepath.FromSlash(name))
		data, err := os.ReadFile(p)
		if err != nil || string(data) != content {
			t.Errorf("%s: %q, %v; want %q", name, data, err, content)
		}
		if st, err := os.Stat(p); err == nil && st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", name, st.Mode().Perm())
		}
	}
}
