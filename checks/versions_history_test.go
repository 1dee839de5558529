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
)

// TestVersionsOnHandMadeHistory runs check:versions over the shapes real
// SD-Core and ROC repos have: prefixes that changed, CI tagging the merge
// commit after the VERSION commit, tags on other versions or other
// histories, versions going backwards, patch releases on main, and the
// same version tagged in both forms on different commits.
func TestVersionsOnHandMadeHistory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := map[string]string{}
	// The SD-Core charts: 1.0.0 ... 1.4.0 unprefixed, then v4.0.0. With
	// tagPrefix "" and with "v" the history is the same releases.
	for _, name := range []string{"sdcore-bare", "sdcore-v"} {
		component(t, root, name, func(r *demo.Repo) {
			for minor := range 5 {
				v := fmt.Sprintf("1.%d.0", minor)
				r.SetVersion(v + "\n")
				r.Tag(v, "", "")
				r.SetVersion(fmt.Sprintf("1.%d.0-dev\n", minor+1))
			}
			r.SetVersion("4.0.0\n")
			r.Tag("v4.0.0", "annotated", "")
			r.SetVersion("4.0.1\n") // parent v4.0.0: found in either config
		})
	}
	// CI tagged the merge commit of the release branch (lightweight tag).
	component(t, root, "ci-merge", func(r *demo.Repo) {
		r.SetVersion("1.1.0\n")
		r.Tag("1.1.0", "", "")
		r.SetVersion("1.2.0-dev\n")
		r.Checkout("release-1.2", "HEAD")
		h["ci-merge set"] = r.SetVersion("1.2.0\n")
		r.Checkout("master", "")
		r.Commit("other work", map[string]string{"main.go": "package main\n"})
		h["ci-merge tagged"] = r.Merge("release-1.2", "Merge release-1.2")
		r.Tag("1.2.0", "", "")
	})
	// CI tagged two commits after the VERSION commit (annotated tag), and
	// work went on after it.
	component(t, root, "ci-later", func(r *demo.Repo) {
		r.SetVersion("2.0.0\n")
		r.Tag("v2.0.0", "", "")
		r.SetVersion("2.0.1\n")
		r.Commit("CI: changelog", map[string]string{"CHANGELOG": "2.0.1\n"})
		r.Commit("CI: bookkeeping", map[string]string{"ci": "1\n"})
		r.Tag("v2.0.1", "Release 2.0.1 by CI", "")
		r.Commit("work after the release", map[string]string{"main.go": "package main\n"})
	})
	// A manual tag on a dev commit, then VERSION set to that version.
	component(t, root, "dev-tagged", history("1.2.0", "tag v1.2.0", "1.3.0-dev", "tag v1.3.0 tagged by hand on a dev commit", "1.3.0"))
	// The version set and tagged on a branch that was never merged; main
	// set the same version on its own.
	component(t, root, "elsewhere", func(r *demo.Repo) {
		r.SetVersion("1.4.0\n")
		r.Tag("1.4.0", "", "")
		r.SetVersion("1.5.0-dev\n")
		r.Checkout("experiment", "HEAD")
		r.SetVersion("1.5.0\n")
		r.Tag("1.5.0", "", "")
		r.Checkout("master", "")
		r.Commit("work", map[string]string{"main.go": "package main\n"})
		r.SetVersion("1.5.0\n")
	})
	// A version going backwards onto an old release, tagged in the form
	// tagPrefix does not say.
	component(t, root, "backwards", history("1.9.0", "tag 1.9.0", "2.0.0", "tag v2.0.0", "1.9.0"))
	// A patch release made on main after the next minor's dev started.
	component(t, root, "patch-on-main", history("3.1.0", "tag v3.1.0", "3.2.0-dev", "3.1.1", "tag v3.1.1"))
	// The same version tagged 2.1.0 on the VERSION commit and v2.1.0 on
	// an unrelated commit.
	component(t, root, "both-forms", func(r *demo.Repo) {
		r.SetVersion("2.0.0\n")
		r.Tag("2.0.0", "", "")
		other := r.Commit("some commit", map[string]string{"x": "1\n"})
		h["both-forms set"] = r.SetVersion("2.1.0\n")
		r.Tag("2.1.0", "", "")
		r.Tag("v2.1.0", "made by a second pipeline", other)
		h["both-forms other"] = other
	})
	// Both forms of an old release on different commits; VERSION is a
	// dev version now.
	component(t, root, "old-conflict", func(r *demo.Repo) {
		r.SetVersion("1.0.0\n")
		r.Tag("1.0.0", "", "")
		r.Commit("CI merge", map[string]string{"x": "1\n"})
		r.Tag("v1.0.0", "", "")
		r.SetVersion("1.1.0-dev\n")
	})

	ws := configFor(t, root, map[string]string{"sdcore-bare": "", "sdcore-v": "v", "ci-merge": "", "ci-later": "v",
		"dev-tagged": "", "elsewhere": "v", "backwards": "v", "patch-on-main": "", "both-forms": "", "old-conflict": "v"})
	rep := decidedVersions(t, ws)
	got := byRepo(rep)
	want := map[string]report.Severity{
		"dev-tagged version-tag-exists":     report.Error,
		"elsewhere version-tag-exists":      report.Error,
		"backwards version-tag-exists":      report.Error,
		"backwards version-parent-missing":  report.Warning, // 1.8.* was never released
		"both-forms version-tag-conflict":   report.Error,
		"old-conflict version-tag-conflict": report.Warning,
	}
	for key, sev := range want {
		if f, ok := got[key]; !ok || f.Severity != sev {
			t.Errorf("%s: got %+v (present %v), want severity %s", key, f, ok, sev)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d findings, want %d: %+v", len(got), len(want), rep.Findings())
	}
	for key, words := range map[string][]string{
		"dev-tagged version-tag-exists": {"tag v1.3.0", `VERSION is "1.3.0-dev" there`, "next patch 1.3.1"},
		"elsewhere version-tag-exists":  {"tag 1.5.0", "does not descend from"},
		"backwards version-tag-exists":  {"tag 1.9.0", "an earlier commit: VERSION came back to 1.9.0", "next patch 1.9.1"},
		"both-forms version-tag-conflict": {"2.1.0 on " + h["both-forms set"][:7] + " (this release)",
			"v2.1.0 on " + h["both-forms other"][:7] + " (" + `VERSION is "2.0.0" there`, "next patch 2.1.1"},
		"old-conflict version-tag-conflict": {"release 1.0.0", "relkit goes by v1.0.0"},
	} {
		f := got[key]
		for _, w := range words {
			if !strings.Contains(f.Message, w) {
				t.Errorf("%s message lacks %q: %s", key, w, f.Message)
			}
		}
	}
	if f := got["both-forms version-tag-conflict"]; f.File != "VERSION" || f.Line != 1 || f.Subject != "2.1.0" {
		t.Errorf("conflict location: %+v", f)
	}
	if f := got["old-conflict version-tag-conflict"]; f.File != "" || f.Subject != "1.0.0" {
		t.Errorf("an old release's conflict is about tags, not the VERSION file: %+v", f)
	}
}

// TestVersionsDocsLine: the docs repo's VERSION must be on the charts
// repo's release line, judged on the branch each checkout is on.
func TestVersionsDocsLine(t *testing.T) {
	t.Parallel()
	type side struct {
		main, branch string // VERSION on master and on aether-2.1 ("" : no branch)
	}
	for _, tc := range []struct {
		name         string
		charts, docs side
		// checkout says what both checkouts are on: "master",
		// "aether-2.1", "detached-main" (a commit of master),
		// "detached-branch" (a commit of aether-2.1), "mixed" (charts on
		// master, docs on aether-2.1), "pr-merge" (docs on a merge commit
		// of a change into aether-2.1 that no branch holds).
		checkout string
		want     []string // substrings of the finding's message; nil: none
	}{
		{"main agrees on X.Y", side{"2.2.0-dev", "2.1.1-dev"}, side{"2.2.3", "2.1.0"}, "master", nil},
		{"main drifted", side{"2.2.0-dev", "2.1.1-dev"}, side{"2.1.5", "2.1.0"}, "master",
			[]string{"docs VERSION:1 (checkout of master) is 2.1.5", "charts VERSION:1 (checkout of master) is 2.2.0-dev", "expected the docs at 2.2.z"}},
		{"branch released and moved on", side{"2.2.0-dev", "2.1.2-dev"}, side{"2.2.0-dev", "2.1.1"}, "aether-2.1", nil},
		{"branch docs missed a release", side{"2.2.0-dev", "2.1.3-dev"}, side{"2.2.0-dev", "2.1.1"}, "aether-2.1",
			[]string{"docs VERSION:1 (checkout of aether-2.1) is 2.1.1", "charts VERSION:1 (checkout of aether-2.1) is 2.1.3-dev", "expected the docs at 2.1.2 or 2.1.3"}},
		{"branch patch differs under a release", side{"2.2.0-dev", "2.1.1"}, side{"2.2.0-dev", "2.1.0"}, "aether-2.1",
			[]string{"expected the docs at 2.1.1"}},
		{"detached on main", side{"2.2.0-dev", "2.1.1"}, side{"2.1.4", "2.1.1"}, "detached-main",
			[]string{"(checkout of master) is 2.1.4", "expected the docs at 2.2.z"}},
		{"detached on the branch", side{"2.2.0-dev", "2.1.1"}, side{"2.2.0-dev", "2.1.0"}, "detached-branch",
			[]string{"(checkout of aether-2.1) is 2.1.0", "expected the docs at 2.1.1"}},
		{"mixed checkouts compare each branch", side{"2.2.0-dev", "2.1.2"}, side{"2.1.9", "2.1.2"}, "mixed",
			[]string{"docs VERSION:1 on master is 2.1.9", "charts VERSION:1 (checkout of master) is 2.2.0-dev"}},
		{"mixed checkouts, the branch side", side{"2.2.0-dev", "2.1.2"}, side{"2.2.0-dev", "2.1.1"}, "mixed",
			[]string{"docs VERSION:1 (checkout of aether-2.1) is 2.1.1", "charts VERSION:1 on aether-2.1 is 2.1.2"}},
		{"a change under review into the branch", side{"2.2.0-dev", "2.1.1"}, side{"2.2.0-dev", "2.1.1"}, "pr-merge",
			[]string{"(checkout of aether-2.1) is 2.1.4", "expected the docs at 2.1.1"}},
		{"no release branch in the charts", side{"2.2.0-dev", ""}, side{"2.2.0-dev", "2.1.0"}, "mixed", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			repos := map[string]*demo.Repo{}
			for name, sd := range map[string]side{"charts": tc.charts, "docs": tc.docs} {
				repos[name] = component(t, root, name, func(r *demo.Repo) {
					r.SetVersion("2.1.0-dev\n")
					if sd.branch != "" {
						r.Checkout("aether-2.1", "HEAD")
						r.SetVersion(sd.branch + "\n")
						r.Checkout("master", "")
					}
					r.SetVersion(sd.main + "\n")
				})
			}
			co := func(name string, args ...string) {
				repos[name].Git(args...)
				if err := repos[name].Err(); err != nil {
					t.Fatal(err)
				}
			}
			switch tc.checkout {
			case "aether-2.1":
				co("charts", "checkout", "-q", "aether-2.1")
				co("docs", "checkout", "-q", "aether-2.1")
			case "detached-main":
				co("charts", "checkout", "-q", "--detach", "master")
				co("docs", "checkout", "-q", "--detach", "master")
			case "detached-branch":
				co("charts", "checkout", "-q", "--detach", "aether-2.1")
				co("docs", "checkout", "-q", "--detach", "aether-2.1")
			case "mixed":
				co("docs", "checkout", "-q", "aether-2.1")
			case "pr-merge":
				co("charts", "checkout", "-q", "aether-2.1")
				r := repos["docs"]
				r.Checkout("fix", "aether-2.1")
				r.SetVersion("2.1.4\n")
				r.Checkout("aether-2.1", "")
				r.Commit("another change on the branch", map[string]string{"x": "1\n"})
				co("docs", "checkout", "-q", "--detach", "aether-2.1")
				r.Merge("fix", "Merge change 42 into aether-2.1")
				co("docs", "branch", "-q", "-D", "fix")
			}
			cfg := "charts: {path: charts}\ndocs: {path: docs}\n"
			ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			rep := decidedVersions(t, ws)
			var found []report.Finding
			for _, f := range rep.Findings() {
				if f.Rule == "docs-version-line" {
					found = append(found, f)
				}
			}
			if tc.want == nil {
				if len(found) != 0 {
					t.Fatalf("unexpected findings: %+v", found)
				}
				return
			}
			if len(found) != 1 {
				t.Fatalf("want one docs-version-line finding, got %+v (all: %+v)", found, rep.Findings())
			}
			f := found[0]
			if f.Severity != report.Error || f.Repo != "docs" || f.File != "VERSION" || f.Line != 1 {
				t.Errorf("finding %+v: want an error on docs VERSION:1", f)
			}
			for _, w := range tc.want {
				if !strings.Contains(f.Message, w) {
					t.Errorf("message lacks %q:\n%s", w, f.Message)
				}
			}
		})
	}
}

// TestVersionsDocsLineNeedsNoDocs: a workspace without a docs repo, or a
// docs repo without a valid VERSION, gets no docs-version-line finding
// (version-missing and version-invalid speak for the file).
func TestVersionsDocsLineNeedsNoDocs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	component(t, root, "charts", func(r *demo.Repo) { r.SetVersion("2.2.0-dev\n") })
	component(t, root, "docs", func(r *demo.Repo) { r.SetVersion("2.1\n") })
	for _, cfg := range []string{"charts: {path: charts}\n", "charts: {path: charts}\ndocs: {path: docs}\n"} {
		ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		rep := Versions(context.Background(), ws, Options{})
		for _, f := range rep.Findings() {
			if f.Rule == "docs-version-line" {
				t.Errorf("%q: unexpected %+v", cfg, f)
			}
		}
		if rep.Err() != nil {
			t.Errorf("%q: %v", cfg, rep.Err())
		}
	}
}

// TestImagesTagInTheOtherForm: a component configured with tagPrefix ""
// whose release is tagged v1.2.3 (or the reverse) built the image 1.2.3;
// check:images finds the git tag in either form.
func TestImagesTagInTheOtherForm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ prefix, gitTag string }{{"", "v1.2.3"}, {"v", "1.2.3"}} {
		root := t.TempDir()
		component(t, root, "charts", func(r *demo.Repo) {
			r.Commit("app chart", map[string]string{
				"VERSION":                "1.0.0\n",
				"app/Chart.yaml":         "apiVersion: v2\nname: app\nversion: 1.0.0\n",
				"app/values.yaml":        "image: registry.example.org/team/app:1.2.3\n",
				"app/templates/pod.yaml": "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
			})
		})
		component(t, root, "app", func(r *demo.Repo) {
			r.SetVersion("1.2.3\n")
			r.Tag(tc.gitTag, "", "")
		})
		cfg := fmt.Sprintf("charts: {path: charts}\ncomponents:\n  - {name: app, path: app, tagPrefix: %q, images: [registry.example.org/team/app]}\n", tc.prefix)
		ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		rep := Images(context.Background(), ws, Options{})
		if err := rep.Err(); err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings() {
			t.Errorf("tagPrefix %q, git tag %s: unexpected %s: %s", tc.prefix, tc.gitTag, f.Rule, f.Message)
		}
	}
}

// A docs VERSION that is a symlink out of the repo is refused like any
// repo file (file-not-regular), and the docs line check reads nothing
// through it: the version the outside file holds (off the charts' line)
// is never compared, so no docs-version-line and no could-not-decide.
func TestVersionsDocsLineRefusesASymlinkedVersion(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("2.1.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	component(t, root, "charts", func(r *demo.Repo) { r.SetVersion("2.2.0-dev\n") })
	component(t, root, "docs", func(r *demo.Repo) { r.SetVersion("2.2.0\n") })
	docsVersion := filepath.Join(root, "docs", "VERSION")
	if err := os.Remove(docsVersion); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, docsVersion); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte("charts: {path: charts}\ndocs: {path: docs}\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep := Versions(context.Background(), ws, Options{})
	if err := rep.Err(); err != nil {
		t.Errorf("could not decide: %v", err)
	}
	refused := false
	for _, f := range rep.Findings() {
		refused = refused || (f.Repo == "docs" && f.Rule == ruleFileNotRegular)
		if f.Rule == "docs-version-line" {
			t.Errorf("unexpected finding %s %s: %s", f.Location(), f.Rule, f.Message)
		}
	}
	if !refused {
		t.Errorf("no file-not-regular finding for docs VERSION: %v", rep.Findings())
	}
}
