package checks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo"
)

// makeShallow turns the checkout at dir into a --depth 1 clone of itself
// (through a bare copy, its remote origin), as CI checks out.
func makeShallow(t *testing.T, dir string) {
	t.Helper()
	bare := dir + "-remote.git"
	for _, args := range [][]string{
		{"clone", "-q", "--bare", dir, bare},
		{"-c", "advice.detachedHead=false", "clone", "-q", "--depth", "1", "file://" + bare, dir + "-shallow"},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+"-shallow", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "shallow")); err != nil {
		t.Fatalf("%s is not shallow: %v", dir, err)
	}
}

// undecidedLines splits a report's could-not-decide problems.
func undecidedLines(rep *report.Report) []string {
	if err := rep.Err(); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	return nil
}

// TestVersionsInShallowClones: the same histories that give
// version-tag-exists and version-parent-missing in a full clone give, in a
// --depth 1 clone, no history finding and one could-not-decide entry per
// repo naming the command; a VERSION that is not SemVer is still reported
// (it needs no history), and a dev version needs nothing.
func TestVersionsInShallowClones(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	hole := history("1.0.0", "tag 1.0.0", "1.2.1")
	component(t, root, "full-flipflop", flipflop)
	component(t, root, "full-hole", hole)
	component(t, root, "shallow-flipflop", flipflop)
	component(t, root, "shallow-hole", hole)
	component(t, root, "shallow-invalid", func(r *demo.Repo) { r.SetVersion("v1.2.3\n") })
	component(t, root, "shallow-dev", func(r *demo.Repo) { r.SetVersion("1.0.0\n"); r.SetVersion("1.1.0-dev\n") })
	for _, name := range []string{"shallow-flipflop", "shallow-hole", "shallow-invalid", "shallow-dev"} {
		makeShallow(t, filepath.Join(root, name))
	}
	ws := configFor(t, root, map[string]string{"full-flipflop": "", "full-hole": "", "shallow-flipflop": "", "shallow-hole": "", "shallow-invalid": "", "shallow-dev": ""})
	rep := Versions(context.Background(), ws, Options{})
	got := byRepo(rep)
	for _, want := range []string{"full-flipflop version-tag-exists", "full-hole version-parent-missing", "shallow-invalid version-invalid"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing finding %q; got %v", want, got)
		}
	}
	for key := range got {
		if strings.HasPrefix(key, "shallow-") && !strings.HasSuffix(key, "version-invalid") {
			t.Errorf("a history finding from a shallow clone: %s", key)
		}
	}
	lines := undecidedLines(rep)
	for _, name := range []string{"shallow-flipflop", "shallow-hole"} {
		want := name + " is a shallow clone; run git fetch --unshallow in " + filepath.Join(root, name)
		if n := len(slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return l != want })); n != 1 {
			t.Errorf("want exactly one could-not-decide entry %q, got %d in %q", want, n, lines)
		}
	}
	if len(lines) != 2 {
		t.Errorf("want 2 could-not-decide entries (the invalid and dev repos decide without history), got %q", lines)
	}
	if rep.ExitCode() != report.ExitUndecided {
		t.Errorf("exit %d, want %d", rep.ExitCode(), report.ExitUndecided)
	}
}

// TestChartsInAShallowClone: check:charts compares with a base found in
// history; a --depth 1 charts clone cannot decide, while what needs no
// history (a chart that does not parse) is still reported.
func TestChartsInAShallowClone(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("charts", merged(chart("apps/a", "a", "1.0.0"), map[string]string{"apps/bad/Chart.yaml": "name: [bad\n"}))
		r.Commit("change a", map[string]string{"apps/a/values.yaml": "replicas: 2\n"})
	})
	ws := chartsConfig(t, root, "")
	full := runCharts(t, ws, "")
	// The full clone: the change of a is judged against HEAD^.
	if !slices.Contains(summary(full), "chart-not-bumped apps/a/Chart.yaml:5 a@1.0.0") || full.Err() != nil {
		t.Fatalf("fixture: the full clone should find a's missing bump: %v %v", summary(full), full.Err())
	}
	makeShallow(t, r.Dir)
	rep := runCharts(t, ws, "")
	if !slices.ContainsFunc(summary(rep), func(s string) bool { return strings.HasPrefix(s, "chart-invalid apps/bad/Chart.yaml") }) {
		t.Errorf("the unparsable chart is not reported from the shallow clone: %v", summary(rep))
	}
	for _, s := range summary(rep) {
		if !strings.HasPrefix(s, "chart-invalid") {
			t.Errorf("a finding that needs the base, from a shallow clone: %s", s)
		}
	}
	lines := undecidedLines(rep)
	if want := "charts is a shallow clone; run git fetch --unshallow in " + r.Dir; len(lines) != 1 || lines[0] != want {
		t.Errorf("could-not-decide entries %q, want exactly %q", lines, want)
	}
}

// TestImagesComponentInAShallowClone: image-tag-not-in-repo reads the
// component's git tags, which a shallow clone lacks: for that component
// the rule cannot decide (one entry) instead of reporting a missing tag.
func TestImagesComponentInAShallowClone(t *testing.T) {
	t.Parallel()
	ws := imgWorkspace(t, nil, imgPolicy)
	api, ok := ws.Component("api")
	if !ok {
		t.Fatal("no component api")
	}
	makeShallow(t, api.Dir)
	rep := Images(context.Background(), ws, Options{Now: imgNow})
	for _, g := range imgFindings(rep) {
		if strings.HasPrefix(g, "image-tag-not-in-repo") {
			t.Errorf("a tag finding for a shallow component: %s", g)
		}
	}
	lines := undecidedLines(rep)
	if want := "api is a shallow clone; run git fetch --unshallow in " + api.Dir; len(lines) != 1 || lines[0] != want {
		t.Errorf("could-not-decide entries %q, want exactly %q", lines, want)
	}
}
