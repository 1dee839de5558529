package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fuzzRoot is the workspace the fuzz target parses configs in: checkouts
// named charts, docs, amf, smf (each with VERSION) and system-tests (no
// VERSION), a symlink "alias" to amf, and a symlink "out" to a checkout
// outside the root, so that mutations reach the path checks.
func fuzzRoot(f *testing.F) string {
	root := f.TempDir()
	outside := f.TempDir()
	for _, dir := range []string{
		filepath.Join(root, "charts"), filepath.Join(root, "docs"), filepath.Join(root, "amf"),
		filepath.Join(root, "smf"), filepath.Join(root, "system-tests"), filepath.Join(outside, "x"),
	} {
		if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
			f.Fatal(err)
		}
		if filepath.Base(dir) != "system-tests" {
			if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("1.0.0-dev\n"), 0o644); err != nil {
				f.Fatal(err)
			}
		}
	}
	for link, target := range map[string]string{"alias": "amf", "out": filepath.Join(outside, "x")} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			f.Fatal(err)
		}
	}
	return root
}

// allocBound is the most a Parse of n bytes may allocate: yaml.v3's
// node tree costs about 200 bytes per byte of a dense file, a syntax
// error a few more parses of prefixes, and aliases may add at most
// maxAliasExpansion nodes. Anything that expands aliases or grows with
// the square of the input blows far past it.
func allocBound(n int) uint64 { return 64<<20 + 2048*uint64(n) }

// FuzzParse runs the config decoder on mutated configs (seeds in
// testdata/fuzz/FuzzParse: the documented example, hostile paths, alias
// bombs, syntax errors) under a memory bound, and checks what every
// answer promises: a config error names the file on every line and stays
// short; an accepted config has only repos inside the workspace, each a
// different directory.
func FuzzParse(f *testing.F) {
	root := fuzzRoot(f)
	file := filepath.Join(root, "relkit.yaml")
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := Parse(file, data)
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > allocBound(len(data)) {
			t.Fatalf("Parse of %d bytes allocated %d MB, over the bound of %d MB", len(data), got>>20, allocBound(len(data))>>20)
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %T %q is not a config error with problems", err, err)
			}
			if len(ce.Problems) > maxProblems+1 {
				t.Fatalf("%d problems; the list is capped at %d", len(ce.Problems), maxProblems)
			}
			for _, p := range ce.Problems {
				if !strings.HasPrefix(p, file+":") {
					t.Fatalf("problem does not start with the file name: %q", p)
				}
			}
			return
		}
		if c.Charts == nil || c.File != file || c.Root != root {
			t.Fatalf("accepted config without charts or with the wrong file: %+v", c)
		}
		dirs := map[string]string{}
		for _, r := range c.Repos() {
			real, err := filepath.EvalSymlinks(r.Dir)
			if err != nil {
				t.Fatalf("accepted repo %s at %s that does not resolve: %v", r.Name, r.Dir, err)
			}
			if rel, err := filepath.Rel(realRoot, real); err != nil || !filepath.IsLocal(rel) && rel != "." {
				t.Fatalf("accepted repo %s at %s, outside the workspace", r.Name, real)
			}
			if prev, dup := dirs[real]; dup {
				t.Fatalf("accepted repos %s and %s in the same directory %s", prev, r.Name, real)
			}
			dirs[real] = r.Name
			if r.VersionFile != "" {
				if _, err := os.Stat(filepath.Join(r.Dir, r.VersionFile)); err != nil {
					t.Fatalf("accepted repo %s without its version file: %v", r.Name, err)
				}
			}
		}
	})
}
