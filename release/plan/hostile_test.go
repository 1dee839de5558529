package plan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommitStepRefusesSymlinks: a file a commit step would write that is
// a committed symlink (to a file outside the repo, or inside it), or lies
// in a symlinked directory, refuses the plan in a dry run and a real run;
// nothing is written and the linked file keeps its content.
func TestCommitStepRefusesSymlinks(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(dir string) error{
		"symlink out of the repo": func(dir string) error {
			os.Remove(filepath.Join(dir, "VERSION"))
			return os.Symlink(outside, filepath.Join(dir, "VERSION"))
		},
		"symlink inside the repo": func(dir string) error {
			if err := os.Rename(filepath.Join(dir, "VERSION"), filepath.Join(dir, "REAL")); err != nil {
				return err
			}
			return os.Symlink("REAL", filepath.Join(dir, "VERSION"))
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			r, bare, head := repoWithRemote(t, "a")
			if err := setup(r.Dir); err != nil {
				t.Fatal(err)
			}
			head = r.Commit("link VERSION", nil)
			r.Git("push", "-q", "origin", "master")
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			for _, dry := range []bool{true, false} {
				pr := bumpPlan(r, head)
				p := &Plan{Action: "release:branch 1.0", DryRun: dry, Repos: []*Repo{pr}}
				var out bytes.Buffer
				err := Run(context.Background(), p, &out, Text, Options{})
				if ExitCode(err) != ExitFailed || !strings.Contains(out.String(), "PROBLEM: VERSION is a symlink; relkit never writes through a symlink") {
					t.Errorf("dry run %v: exit %d (%v), want a refusal naming the symlink:\n%s", dry, ExitCode(err), err, out.String())
				}
				if got := rev(t, r.Dir, "refs/heads/master"); got != head || rev(t, r.Dir, "refs/heads/rel-1.0") != "" || rev(t, bare, "refs/heads/master") != head {
					t.Errorf("dry run %v: a refused plan moved a ref", dry)
				}
			}
			for _, p := range []string{outside, filepath.Join(r.Dir, "REAL")} {
				if data, err := os.ReadFile(p); err == nil && string(data) != "1.0.0\n" {
					t.Errorf("%s was written: %q", p, data)
				}
			}
		})
	}
}

// TestPrintIsEscapedAndRedacted: commit subjects, notes and remote URLs
// reach the text output escaped and without credentials, and the JSON
// output without credentials.
func TestPrintIsEscapedAndRedacted(t *testing.T) {
	t.Parallel()
	pr := &Repo{Name: "a", Dir: "/a", Steps: []Step{
		{Kind: CreateTag, Ref: "refs/tags/1.0.0", Commit: strings.Repeat("a", 40), Message: "Fix \x1b[2J\x1b]0;owned\x07 it\r"},
		{Kind: Push, Remote: "https://bot:ghp_secret@git.example.org/a.git", Updates: []RefUpdate{{Ref: "refs/tags/1.0.0", Local: "refs/tags/1.0.0"}}},
	}}
	pr.Notef("picked %s \"%s\"", "abc1234", "subject \x1b[31mred\x1b[0m\rOVERWRITE")
	pr.Problemf("fetching https://x:tok3n@example.org/r.git: \x07 failed")
	p := &Plan{Action: "release:tag", DryRun: true, Repos: []*Repo{pr}}
	var text, js bytes.Buffer
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), js.String()} {
		if strings.Contains(out, "ghp_secret") || strings.Contains(out, "tok3n") || strings.Contains(out, "bot:") {
			t.Errorf("credentials printed:\n%s", out)
		}
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Errorf("raw control characters printed: %q", out)
		}
		if !strings.Contains(out, "git.example.org/a.git") {
			t.Errorf("the remote's host and path are gone:\n%s", out)
		}
	}
	if !strings.Contains(text.String(), `subject \x1b[31mred\x1b[0m\rOVERWRITE`) {
		t.Errorf("the subject is not shown escaped:\n%s", text.String())
	}
}
