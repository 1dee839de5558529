package point

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/plan"
)

// linkOn commits, on branch br of demo repo name, a symlink at file to
// target (or removes file when target is ""), as a contributor's change
// would; the builder's checkout ends back on master.
func (f *fixture) linkOn(name, br, file, target string) {
	f.t.Helper()
	r := f.W.Repos[name]
	r.Checkout(br, "")
	p := filepath.Join(r.Dir, filepath.FromSlash(file))
	if err := os.RemoveAll(p); err != nil {
		f.t.Fatal(err)
	}
	msg := "remove " + file
	if target != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			f.t.Fatal(err)
		}
		msg = "link " + file
	}
	r.Commit(msg, nil)
	r.Checkout("master", "")
	if err := r.Err(); err != nil {
		f.t.Fatal(err)
	}
}

// victim is a file outside every repo that a committed symlink points at.
func victim(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPointRefusesSymlinkedReleaseFiles: a committed symlink at the
// release manifest's path or at the release notes (the file or its
// directory) makes release:point refuse, in a dry run and a real run,
// before anything is written; the file it points at is never touched.
func TestPointRefusesSymlinkedReleaseFiles(t *testing.T) {
	f := newFixture(t)
	outsideManifest := victim(t, "some/file", "victim: manifest\n")
	outsideNotes := victim(t, "notes/2.1.0.md", "victim: notes\n")
	outsideNotesDir := filepath.Dir(outsideNotes)
	cases := []struct {
		name       string
		repo, file string
		target     string
		want       string
		untouched  []string
	}{
		{"manifest symlink out of the repo", chartsRepo, "releases/2.1.0.yaml", outsideManifest,
			`releases/2.1.0.yaml is a symlink to "` + outsideManifest + `", outside the repo`, nil},
		{"manifest symlink inside the repo", chartsRepo, "releases/2.1.0.yaml", "../VERSION",
			"releases/2.1.0.yaml is a symlink; relkit never writes through a symlink", []string{"VERSION"}},
		{"release notes symlink", docsRepo, "release-notes/2.1.0.md", outsideNotes,
			`release-notes/2.1.0.md is a symlink to "` + outsideNotes + `", outside the repo`, nil},
		{"release notes directory symlink", docsRepo, "release-notes", outsideNotesDir,
			`release-notes/2.1.0.md is inside release-notes, which is a symlink to "` + outsideNotesDir + `", outside the repo`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			f.linkOn(c.repo, "aether-"+line, c.file, c.target)
			var keep []string
			for _, file := range c.untouched {
				keep = append(keep, f.Show(c.repo, "aether-"+line, file))
			}
			chartsBefore, docsBefore := f.Snapshot(chartsRepo), f.Snapshot(docsRepo)
			for _, dry := range []bool{true, false} {
				out, err := f.point(Options{DryRun: dry, Push: true})
				if plan.ExitCode(err) != plan.ExitFailed {
					t.Errorf("dry run %v: exit %d (%v), want 1 (refused)\n%s", dry, plan.ExitCode(err), err, out)
				}
				if !strings.Contains(out, "PROBLEM: "+c.want) {
					t.Errorf("dry run %v: the plan should refuse with %q:\n%s", dry, c.want, out)
				}
				if strings.Contains(out, "victim:") {
					t.Errorf("dry run %v: the output holds the linked file's content:\n%s", dry, out)
				}
				for _, p := range []string{outsideManifest, outsideNotes} {
					if data, err := os.ReadFile(p); err != nil || !strings.HasPrefix(string(data), "victim: ") || strings.Count(string(data), "\n") != 1 {
						t.Fatalf("dry run %v: %s was written: %q %v", dry, p, data, err)
					}
				}
				if entries, _ := os.ReadDir(outsideNotesDir); len(entries) != 1 {
					t.Fatalf("dry run %v: a file was created in %s: %v", dry, outsideNotesDir, entries)
				}
				if chartsBefore != f.Snapshot(chartsRepo) || docsBefore != f.Snapshot(docsRepo) {
					t.Fatalf("dry run %v: a refused run changed a repo", dry)
				}
				for i, file := range c.untouched {
					if got := f.Show(c.repo, "aether-"+line, file); got != keep[i] {
						t.Errorf("dry run %v: %s changed to %q", dry, file, got)
					}
				}
			}
			f.linkOn(c.repo, "aether-"+line, c.file, "")
		})
	}
	// With the links gone the release goes through (the notes on a new
	// page: the last case removed the directory), and nothing outside was
	// ever written.
	f.t = t
	if out, err := f.point(Options{}); err != nil {
		t.Fatalf("the release after removing the links: %v\n%s", err, out)
	}
	for _, p := range []string{outsideManifest, outsideNotes} {
		if data, _ := os.ReadFile(p); !strings.HasPrefix(string(data), "victim: ") {
			t.Errorf("%s was written: %q", p, data)
		}
	}
}
