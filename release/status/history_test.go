package status

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

const umbrellaChart = `apiVersion: v2
name: sd-core
version: 4.1.0
dependencies:
  - name: prometheus
    alias: prom-edge
    version: 25.0.0
    repository: https://prometheus-community.github.io/helm-charts
  - name: prometheus
    alias: prom-core
    version: 25.0.0
    repository: https://prometheus-community.github.io/helm-charts
  - name: prometheus
    alias: prom-5g
    version: 25.0.0
    repository: https://prometheus-community.github.io/helm-charts
`

// chartsHistory is a charts repo in the shape of the SD-Core charts:
// releases 1.0.0 ... 1.4.0 tagged without a prefix, then v4.0.0 and
// v4.1.0; 4.0.0 also tagged unprefixed on another commit; aether-4.1
// released 4.1.0 by hand and never moved VERSION on; a patch release
// 4.1.1 made on main; an umbrella chart using prometheus three times
// under three aliases. tagPrefix is "".
func chartsHistory(t *testing.T) (*workspace.Config, map[string]string) {
	t.Helper()
	h := map[string]string{}
	ws := chartsWorkspace(t, func(r *demo.Repo) {
		r.Commit("Add sd-core", map[string]string{"sd-core/Chart.yaml": umbrellaChart, "sd-core/values.yaml": "{}\n"})
		for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
			r.SetVersion(v + "\n")
			r.Tag(v, "", "")
		}
		h["4.0.0"] = r.SetVersion("4.0.0\n")
		r.Tag("v4.0.0", "Release 4.0.0", "")
		h["4.0.0 other"] = r.Commit("CI merge", map[string]string{"ci": "1\n"})
		r.Tag("4.0.0", "", "")
		r.SetVersion("4.1.0-dev\n")
		h["4.1.0"] = r.SetVersion("4.1.0\n")
		r.Tag("v4.1.0", "", "")
		r.Checkout("aether-4.1", "HEAD")
		h["fix"] = r.Commit("sd-core: a fix on the branch", map[string]string{"sd-core/values.yaml": "fixed: true\n"})
		r.Checkout("master", "")
		h["4.1.1"] = r.SetVersion("4.1.1\n") // a patch release on main
		r.Tag("v4.1.1", "", "")
		r.Checkout("aether-4.0", h["4.0.0"])
		r.Checkout("master", "")
	})
	return ws, h
}

// chartsWorkspace makes a workspace of one charts repo (tagPrefix "",
// branch master) whose history build writes.
func chartsWorkspace(t *testing.T, build func(r *demo.Repo)) *workspace.Config {
	t.Helper()
	root := t.TempDir()
	workspacetest.Repo(t, filepath.Join(root, "charts"), "master", build)
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte("charts:\n  path: charts\n"))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestStatusOnHandMadeHistory: release:status finds the line's releases in
// either tag form, computes the next version after a release whose VERSION
// never moved on (skipping a patch release main already made), and names
// each aliased dependency.
func TestStatusOnHandMadeHistory(t *testing.T) {
	ws, h := chartsHistory(t)
	ctx := context.Background()
	s, err := Collect(ctx, ws, "4.1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.LastRelease != "4.1.0" || s.LastReleaseTag != "v4.1.0" || s.LastReleaseCommit != h["4.1.0"] {
		t.Errorf("last release %q tag %q at %.7s; want 4.1.0, v4.1.0 (the unprefixed config finds v tags; v4.1.1 is not on the branch)", s.LastRelease, s.LastReleaseTag, s.LastReleaseCommit)
	}
	if s.BranchVersion != "4.1.0" || s.NextVersion != "4.1.2-dev" {
		t.Errorf("VERSION %q, next %q; want 4.1.0 and next 4.1.2-dev (4.1.0 is tagged, main took 4.1.1)", s.BranchVersion, s.NextVersion)
	}
	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	testutil.ContainsAll(t, "text", text.String(),
		"last point release  4.1.0 (tag v4.1.0, "+h["4.1.0"][:7]+")",
		"next version        4.1.2-dev (4.1.0 is released; VERSION on aether-4.1 still says 4.1.0)",
		"4.1.0 is already released but VERSION on aether-4.1 still says 4.1.0; the branch heads for 4.1.2-dev next",
		"4.1.1 (tag v4.1.1 on "+h["4.1.1"][:7]+") was released off aether-4.1",
		"commits since tag v4.1.0: 1",
		"sd-core: a fix on the branch",
		"dependency prom-edge (prometheus) 25.0.0 is missing",
		"dependency prom-core (prometheus) 25.0.0 is missing",
		"dependency prom-5g (prometheus) 25.0.0 is missing",
	)
	if strings.Contains(text.String(), "dependency prometheus ") {
		t.Errorf("a dependency is named without its alias:\n%s", text.String())
	}

	// Line 4.0: 4.0.0 (the tagPrefix form, on a CI commit off the branch)
	// and v4.0.0 (on the branch) on different commits: said, not silently
	// picked; the form the branch holds is its last release.
	s, err = Collect(ctx, ws, "4.0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.LastReleaseTag != "v4.0.0" || s.LastReleaseCommit != h["4.0.0"] {
		t.Errorf("4.0: tag %q at %.7s; want v4.0.0 at %.7s, the one on aether-4.0", s.LastReleaseTag, s.LastReleaseCommit, h["4.0.0"])
	}
	if s.NextVersion != "4.0.1-dev" {
		t.Errorf("4.0: next %q, want 4.0.1-dev", s.NextVersion)
	}
	found := false
	for _, n := range s.Notes {
		found = found || strings.Contains(n, "the tags of 4.0.0 name different commits (4.0.0 on "+h["4.0.0 other"][:7]+", v4.0.0 on "+h["4.0.0"][:7]+")")
	}
	if !found {
		t.Errorf("4.0: no note of the tag conflict: %q", s.Notes)
	}

	// The 1.x releases, unprefixed, are found with tagPrefix v too.
	ws.Charts.TagPrefix = "v"
	s, err = Collect(ctx, ws, "1.4", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.LastRelease != "1.4.0" || s.LastReleaseTag != "1.4.0" {
		t.Errorf("1.4 with tagPrefix v: last %q tag %q; want 1.4.0", s.LastRelease, s.LastReleaseTag)
	}
}

// TestStatusNextAfterTaggedRelease: 4.1.0 tagged on the branch, VERSION
// still 4.1.0, nothing else released: next is 4.1.1-dev. A -dev VERSION
// whose release main already made is noted.
func TestStatusNextAfterTaggedRelease(t *testing.T) {
	ws := chartsWorkspace(t, func(r *demo.Repo) {
		r.SetVersion("4.1.0\n")
		r.Tag("4.1.0", "", "")
		r.Checkout("aether-4.1", "HEAD")
		r.Checkout("aether-4.2", "HEAD")
		r.SetVersion("4.2.1-dev\n")
		r.Checkout("master", "")
		r.SetVersion("4.2.1\n")
		r.Tag("v4.2.1", "", "")
	})
	s, err := Collect(context.Background(), ws, "4.1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.NextVersion != "4.1.1-dev" || s.LastRelease != "4.1.0" {
		t.Errorf("next %q last %q; want 4.1.1-dev after 4.1.0", s.NextVersion, s.LastRelease)
	}
	s, err = Collect(context.Background(), ws, "4.2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range s.Notes {
		found = found || strings.Contains(n, "VERSION on aether-4.2 heads for 4.2.1, but tag v4.2.1 on") && strings.Contains(n, "the next free point release is 4.2.2")
	}
	if s.NextVersion != "4.2.1-dev" || s.LastRelease != "" || !found {
		t.Errorf("4.2: next %q last %q notes %q; want VERSION as it is, no release on the branch, a note that 4.2.1 is taken", s.NextVersion, s.LastRelease, s.Notes)
	}
}
