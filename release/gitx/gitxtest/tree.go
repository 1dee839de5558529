package gitxtest

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteTree writes files (slash path -> content) under dir, making the
// directories they need, and fails tb on the first error.
func WriteTree(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// Symlink makes a symbolic link at at pointing to target (as written,
// relative or absolute), making at's directory, and fails tb on error.
func Symlink(tb testing.TB, target, at string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink(target, at); err != nil {
		tb.Fatal(err)
	}
}
