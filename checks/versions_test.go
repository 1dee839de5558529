package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// component makes a real git repo under root/name with the history build
// writes, and returns it.
func component(t *testing.T, root, name string, build func(r *demo.Repo)) *demo.Repo {
	t.Helper()
	return workspacetest.Repo(t, filepath.Join(root, name), "master", build)
}

// history builds a straight VERSION history, one commit a step: a step is
// the VERSION to set (without the newline), or "tag NAME" / "tag NAME
// MESSAGE" for a lightweight or annotated tag on the commit before it.
// Histories that branch or merge are written out with demo.Repo instead.
func history(steps ...string) func(r *demo.Repo) {
	return func(r *demo.Repo) {
		for _, s := range steps {
			if tag, ok := strings.CutPrefix(s, "tag "); ok {
				name, msg, _ := strings.Cut(tag, " ")
				r.Tag(name, msg, "")
				continue
			}
			r.SetVersion(s + "\n")
		}
	}
}

// flipflop is 1.3.0 released, reverted to dev, and set to 1.3.0 again:
// version-tag-exists in a full clone.
var flipflop = history("1.2.0", "tag 1.2.0", "1.3.0", "tag 1.3.0 annotated", "1.3.1-dev", "1.3.0")

// configFor writes a relkit.yaml naming a charts repo and the components.
func configFor(t *testing.T, root string, comps map[string]string) *workspace.Config {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "charts")); err != nil {
		component(t, root, "charts", func(r *demo.Repo) { r.SetVersion("2.1.0-dev\n") })
	}
	var b strings.Builder
	b.WriteString("charts:\n  path: charts\ncomponents:\n")
	for name, prefix := range comps {
		fmt.Fprintf(&b, "  - name: %s\n    path: %s\n    tagPrefix: %q\n", name, name, prefix)
	}
	names := []string{"charts"}
	for name := range comps {
		names = append(names, name)
	}
	ws, err := parseWithoutVersion(t, root, b.String(), names...)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// decidedVersions runs check:versions over ws and fails the test when it
// could not decide.
func decidedVersions(t *testing.T, ws *workspace.Config) *report.Report {
	t.Helper()
	rep := Versions(context.Background(), ws, Options{})
	if err := rep.Err(); err != nil {
		t.Fatalf("could not decide: %v", err)
	}
	return rep
}

// byRepo indexes findings as "repo rule" -> finding.
func byRepo(rep *report.Report) map[string]report.Finding {
	m := map[string]report.Finding{}
	for _, f := range rep.Findings() {
		m[f.Repo+" "+f.Rule] = f
	}
	return m
}

func TestVersionsOverRealHistories(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// Clean release: tagged where VERSION was set, parent tagged.
	component(t, root, "clean", func(r *demo.Repo) {
		history("1.2.2", "tag v1.2.2 release", "1.2.3-dev", "1.2.3", "tag v1.2.3")(r)
		r.Commit("unrelated change after the release", map[string]string{"main.go": "package main\n"})
	})
	component(t, root, "flipflop", flipflop)
	// Hole: 1.1.x was never released.
	component(t, root, "hole", history("1.0.0", "tag v1.0.0", "1.1.0-dev", "1.2.0-dev", "1.2.0"))
	// The old script ignored the major: 2.1.0 after only 1.0.0.
	component(t, root, "major", history("1.0.0", "tag v1.0.0", "2.1.0"))
	// New major after a 1.x line: fine.
	component(t, root, "newmajor", history("1.4.2", "tag v1.4.2", "2.0.0"))
	// Release set on a feature branch and merged: the tag on the branch
	// commit is the right one.
	component(t, root, "merged", func(r *demo.Repo) {
		r.SetVersion("0.9.0\n")
		r.Tag("v0.9.0", "", "")
		r.Checkout("release-work", "HEAD")
		r.SetVersion("0.9.1\n")
		r.Tag("v0.9.1", "", "")
		r.Checkout("master", "")
		r.Commit("docs on master", map[string]string{"README.md": "hi\n"})
		r.Merge("release-work", "Merge release-work")
	})
	// Windows line ending: silently "not a release" in the old scripts.
	component(t, root, "crlf", func(r *demo.Repo) { r.SetVersion("1.2.3\r\n") })
	component(t, root, "dev", func(r *demo.Repo) { r.SetVersion("1.5.0-dev\n") })
	// Uncommitted change to an already tagged version.
	component(t, root, "dirty", func(r *demo.Repo) {
		history("2.9.0", "tag v2.9.0", "3.0.0", "tag v3.0.0", "3.0.1-dev")(r)
		r.Write(map[string]string{"VERSION": "3.0.0\n"})
	})
	component(t, root, "missing", func(r *demo.Repo) { r.Commit("no version file", map[string]string{"README": "x\n"}) })

	ws := configFor(t, root, map[string]string{"clean": "v", "flipflop": "", "hole": "v", "major": "v", "newmajor": "v",
		"merged": "v", "crlf": "", "dev": "", "dirty": "v", "missing": ""})
	rep := decidedVersions(t, ws)
	got := byRepo(rep)
	want := map[string]report.Severity{
		"flipflop version-tag-exists":   report.Error,
		"hole version-parent-missing":   report.Warning,
		"major version-parent-missing":  report.Warning,
		"crlf version-invalid":          report.Error,
		"dirty version-tag-exists":      report.Error,
		"missing version-missing":       report.Error,
		"charts version-parent-missing": "", // charts at 2.1.0-dev: no finding
	}
	for key, sev := range want {
		f, ok := got[key]
		if sev == "" {
			if ok {
				t.Errorf("unexpected %s: %+v", key, f)
			}
			continue
		}
		if !ok {
			t.Errorf("missing %s; got %v", key, rep.Findings())
			continue
		}
		if f.Severity != sev || f.File != "VERSION" || (f.Line < 1) != (f.Rule == "version-missing") || f.Check != "versions" {
			t.Errorf("%s = %+v", key, f)
		}
	}
	if len(got) != len(want)-1 {
		t.Errorf("got %d findings, want %d: %+v", len(got), len(want)-1, rep.Findings())
	}
	if m := got["hole version-parent-missing"].Message; !strings.Contains(m, "v1.1.*") {
		t.Errorf("hole message should name the missing line: %q", m)
	}
	if m := got["major version-parent-missing"].Message; !strings.Contains(m, "v2.0.*") {
		t.Errorf("major message should name 2.0.*: %q", m)
	}
	if m := got["flipflop version-tag-exists"].Message; !strings.Contains(m, "next patch 1.3.1") {
		t.Errorf("flip-flop message should suggest the next free version: %q", m)
	}
	if m := got["dirty version-tag-exists"].Message; !strings.Contains(m, "uncommitted") {
		t.Errorf("dirty message should say the change is uncommitted: %q", m)
	}
	if m := got["crlf version-invalid"].Message; !strings.Contains(m, "carriage return") {
		t.Errorf("crlf message: %q", m)
	}
	if rep.ExitCode() != report.ExitFindings {
		t.Errorf("exit code %d, want 1", rep.ExitCode())
	}
}

func TestVersionsUnreadableRepoIsUndecided(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	component(t, root, "broken", func(r *demo.Repo) { r.SetVersion("1.0.0\n") })
	ws := configFor(t, root, map[string]string{"broken": ""})
	// Corrupt the repository after the config was validated.
	if err := os.RemoveAll(filepath.Join(root, "broken", ".git")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "broken", ".git"), []byte("gitdir: /nonexistent/repo.git\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := Versions(context.Background(), ws, Options{})
	if rep.ExitCode() != report.ExitUndecided || !strings.Contains(rep.Err().Error(), "broken") {
		t.Fatalf("want undecided naming the repo, got exit %d err %v", rep.ExitCode(), rep.Err())
	}
}

func TestRunnerRunsEachCheckOnceAndReportsBadConfig(t *testing.T) {
	t.Parallel()
	loads := 0
	r := NewRunner(func() (*workspace.Config, error) {
		loads++
		return nil, &workspace.Error{Problems: []string{"relkit.yaml:3: unknown key"}}
	}, Options{})
	var out strings.Builder
	code, summary := r.Run(context.Background(), &out, report.Options{}, "versions", "versions")
	if code != report.ExitUndecided || !strings.Contains(out.String(), "relkit.yaml:3") || strings.Contains(summary, "relkit.yaml:3") || loads != 1 {
		t.Fatalf("code %d summary %q loads %d", code, summary, loads)
	}
	if !strings.Contains(out.String(), "could not decide") {
		t.Errorf("output should say it could not decide:\n%s", out.String())
	}
	if code, _ := r.Run(context.Background(), &out, report.Options{}, "nope"); code != report.ExitUndecided {
		t.Errorf("unknown check should be undecided, got %d", code)
	}
}
