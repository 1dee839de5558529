package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/chartrepo/repotest"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// chartYAML is an apiVersion v2 Chart.yaml; its version sits on line 5.
func chartYAML(name, version string) string {
	return fmt.Sprintf("apiVersion: v2\nname: %s\ndescription: %s test chart\ntype: application\nversion: %s\nappVersion: \"1.0\"\n", name, name, version)
}

// chart returns the files of a small chart at dir.
func chart(dir, name, version string) map[string]string {
	return map[string]string{
		dir + "/Chart.yaml":                chartYAML(name, version),
		dir + "/values.yaml":               "replicas: 1\n",
		dir + "/templates/deployment.yaml": "kind: Deployment\nmetadata:\n  name: " + name + "\n",
	}
}

func merged(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// chartsRepo makes a charts repo (branch main) under root/charts, runs
// build on it and gives it a bare remote "origin" holding what build made.
func chartsRepo(t *testing.T, root string, build func(r *demo.Repo)) *demo.Repo {
	t.Helper()
	return workspacetest.Repo(t, filepath.Join(root, "charts"), "main", func(r *demo.Repo) {
		r.Write(map[string]string{"VERSION": "2.1.0-dev\n"}) // committed with build's first commit
		build(r)
		r.AddBareRemote(filepath.Join(root, "remotes", "charts.git"))
	})
}

// step runs more fixture commands and fails the test on the first error.
func step(t *testing.T, r *demo.Repo, do func(r *demo.Repo)) {
	t.Helper()
	do(r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

func chartsConfig(t *testing.T, root, repository string) *workspace.Config {
	t.Helper()
	cfg := "branchPrefix: aether-\ncharts:\n  path: charts\n  mainBranch: main\n"
	if repository != "" {
		cfg += fmt.Sprintf("  repository: %q\n", repository)
	}
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// runCharts runs the check with base as its Base option ("" = none).
func runCharts(t *testing.T, ws *workspace.Config, base string) *report.Report {
	t.Helper()
	rep := Charts(context.Background(), ws, Options{Base: base})
	if got := rep.Checks(); !slices.Equal(got, []string{"charts"}) {
		t.Errorf("report names checks %v, want [charts]", got)
	}
	return rep
}

// summary lists findings as "rule file:line subject".
func summary(rep *report.Report) []string {
	var out []string
	for _, f := range rep.Findings() {
		out = append(out, fmt.Sprintf("%s %s %s", f.Rule, f.Location(), f.Subject))
	}
	return out
}

func wantFindings(t *testing.T, rep *report.Report, want ...string) {
	t.Helper()
	if err := rep.Err(); err != nil {
		t.Fatalf("could not decide: %v", err)
	}
	got := summary(rep)
	slices.Sort(want)
	slices.Sort(got)
	if !wantExactly(t, got, want) {
		for _, f := range rep.Findings() {
			t.Logf("%s: %s", f.Location(), f.Message)
		}
	}
	for _, f := range rep.Findings() {
		if f.Check != "charts" || f.Repo != "charts" || f.Severity != report.Error || f.Message == "" {
			t.Errorf("finding %+v: want check charts, repo charts, severity error and a message", f)
		}
	}
}

func findingMessage(t *testing.T, rep *report.Report, rule, file string) string {
	t.Helper()
	for _, f := range rep.Findings() {
		if f.Rule == rule && f.File == file {
			return f.Message
		}
	}
	t.Fatalf("no %s finding for %s in %q", rule, file, summary(rep))
	return ""
}

// wantNotBumped asserts that rep's only finding is "chart-not-bumped
// <file>:<line> <chart>@<version>" (finding is all after the rule) and
// that its message says each of parts.
func wantNotBumped(t *testing.T, rep *report.Report, finding string, parts ...string) {
	t.Helper()
	wantFindings(t, rep, "chart-not-bumped "+finding)
	file, _, _ := strings.Cut(finding, ":")
	wantContains(t, findingMessage(t, rep, "chart-not-bumped", file), parts...)
}

func wantContains(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%q does not contain %q", s, p)
		}
	}
}

func TestChartsBumpRulesOnAFeatureBranch(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(
			chart("onos", "onos", "1.0.0"),
			map[string]string{"onos/.helmignore": "# not packaged\n*.md\nci/\n", "onos/README.md": "# onos\n"},
			chart("onos-progran", "onos-progran", "0.1.0"),
			map[string]string{"onos-progran/Chart.yaml": "apiVersion: v2\nname: onos-progran\n\n# keep in step with onos\nversion: \"0.1.0\" # bumped by hand\n"},
			chart("apps/x", "x", "2.0.0"),
			chart("apps/y", "y", "3.0.0"),
			chart("apps/z", "z", "1.0.0"),
			chart("omec/omec-control-plane", "omec-control-plane", "0.9.0"),
			chart("omec/omec-control-plane/charts/sub", "sub", "0.0.1"),
			map[string]string{
				"legacy/Chart.yaml":        "apiVersion: v1\nname: legacy\nversion: '1.5.0'\n",
				"legacy/requirements.yaml": "dependencies: []\n",
				"legacy/values.yaml":       "a: 1\n",
				"docs/index.md":            "# charts\n",
			},
		))
	})
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Commit("Change charts", map[string]string{
			// Only .helmignore'd files: no bump needed.
			"onos/README.md":       "# onos, now documented\n",
			"onos/ci/values.yaml":  "test: true\n",
			"docs/index.md":        "# not a chart\n",
			"onos-progran/new.txt": "packaged\n", // onos-progran is not onos
			// Changed and bumped.
			"apps/x/values.yaml": "replicas: 2\n",
			"apps/x/Chart.yaml":  chartYAML("x", "2.1.0"),
			// A subchart's file counts for its parent.
			"omec/omec-control-plane/charts/sub/values.yaml": "sub: 2\n",
			// Version went down.
			"legacy/values.yaml": "a: 2\n",
			"legacy/Chart.yaml":  "apiVersion: v1\nname: legacy\nversion: '1.4.0'\n",
		})
		// A new chart needs no bump.
		r.Commit("Add a chart", chart("apps/new", "new", "0.1.0"))
		// Uncommitted: an edited file and an untracked one.
		r.Write(map[string]string{"apps/y/values.yaml": "replicas: 3\n"})
	})
	ws := chartsConfig(t, root, "")
	rep := runCharts(t, ws, "")
	wantFindings(t, rep,
		"chart-not-bumped onos-progran/Chart.yaml:5 onos-progran@0.1.0",
		"chart-not-bumped omec/omec-control-plane/Chart.yaml:5 omec-control-plane@0.9.0",
		"chart-not-bumped apps/y/Chart.yaml:5 y@3.0.0",
		"chart-version-not-increased legacy/Chart.yaml:3 legacy@1.4.0",
	)
	msg := findingMessage(t, rep, "chart-not-bumped", "onos-progran/Chart.yaml")
	wantContains(t, msg, "new.txt", "bump version above 0.1.0 (base merge-base of HEAD and main, ")
	wantContains(t, findingMessage(t, rep, "chart-not-bumped", "omec/omec-control-plane/Chart.yaml"), "charts/sub/values.yaml")
	wantContains(t, findingMessage(t, rep, "chart-version-not-increased", "legacy/Chart.yaml"), "went down from 1.5.0 to 1.4.0", "above 1.5.0")

	// An untracked file in a chart counts too; a git-ignored one does not.
	step(t, r, func(r *demo.Repo) {
		r.Write(map[string]string{"apps/z/templates/z.swp": "editor junk\n", "onos/templates/extra.yaml": "kind: ConfigMap\n"})
		r.Git("config", "core.excludesFile", "/dev/null")
		r.Write(map[string]string{".git/info/exclude": "*.swp\n"})
	})
	wantFindings(t, runCharts(t, ws, ""),
		"chart-not-bumped onos/Chart.yaml:5 onos@1.0.0",
		"chart-not-bumped onos-progran/Chart.yaml:5 onos-progran@0.1.0",
		"chart-not-bumped omec/omec-control-plane/Chart.yaml:5 omec-control-plane@0.9.0",
		"chart-not-bumped apps/y/Chart.yaml:5 y@3.0.0",
		"chart-version-not-increased legacy/Chart.yaml:3 legacy@1.4.0",
	)
}

func TestChartsUseTheMergeBaseNotTheMainTip(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(chart("a", "a", "1.0.0"), chart("b", "b", "1.0.0"), chart("c", "c", "1.0.0")))
	})
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Commit("Change c", map[string]string{"c/values.yaml": "replicas: 5\n", "c/Chart.yaml": chartYAML("c", "1.0.1")})
		// main moves on after the branch was cut.
		r.Checkout("main", "")
		r.Commit("Change a", map[string]string{"a/values.yaml": "replicas: 2\n", "a/Chart.yaml": chartYAML("a", "1.1.0")})
		r.Commit("Change b", map[string]string{"b/templates/deployment.yaml": "kind: StatefulSet\n", "b/Chart.yaml": chartYAML("b", "2.0.0")})
		r.Git("push", "-q", "origin", "main")
		r.Checkout("feature", "")
	})
	ws := chartsConfig(t, root, "")
	// Against the tip of main, a and b would look changed by the branch
	// and lower than on main: the old scripts' false failure.
	wantFindings(t, runCharts(t, ws, ""))

	// A detached HEAD (a CI checkout) is judged the same way.
	step(t, r, func(r *demo.Repo) { r.Git("checkout", "-q", "--detach", "feature") })
	wantFindings(t, runCharts(t, ws, ""))

	// A real change of a on the branch is judged against a's version at the
	// merge base (1.0.0), not main's 1.1.0.
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "")
		r.Write(map[string]string{"a/values.yaml": "replicas: 9\n"})
	})
	rep := runCharts(t, ws, "")
	wantNotBumped(t, rep, "a/Chart.yaml:5 a@1.0.0", "above 1.0.0 (")
}

func TestChartsReleaseBranchUsesTheLastPointRelease(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add onos", merged(chart("onos", "onos", "1.0.0"), map[string]string{"VERSION": "2.1.0\n"}))
		r.Tag("2.1.0", "Release 2.1.0", "")
		r.Checkout("aether-2.1", "main")
		r.Commit("Fix onos", map[string]string{"onos/values.yaml": "fixed: true\n", "onos/Chart.yaml": chartYAML("onos", "1.0.1"), "VERSION": "2.1.1\n"})
		r.Tag("2.1.1", "", "")
		r.Commit("Start 2.1.2", map[string]string{"VERSION": "2.1.2-dev\n"})
		r.Tag("2.1.2-rc1", "", "") // not a release
		r.Tag("aether-2.1-cut", "", "")
		// Another fix after the 2.1.1 release, without a bump.
		r.Commit("Fix onos again", map[string]string{"onos/values.yaml": "fixed: twice\n"})
		r.Checkout("main", "")
		r.Commit("Start 2.2", map[string]string{"VERSION": "2.2.0\n", "onos/Chart.yaml": chartYAML("onos", "1.1.0")})
		r.Tag("2.2.0", "", "") // not reachable from aether-2.1
		r.Checkout("aether-2.1", "")
	})
	ws := chartsConfig(t, root, "")
	rep := runCharts(t, ws, "")
	// The merge base with main has onos 1.0.0, so only the tag base catches it.
	wantNotBumped(t, rep, "onos/Chart.yaml:5 onos@1.0.1", "above 1.0.1 (base last point release of aether-2.1, tag 2.1.1, ")

	// X.Y.0 counts as the first point release of branch X.Y.
	step(t, r, func(r *demo.Repo) {
		r.Checkout("aether-2.2", "main")
		r.Commit("Fix onos on 2.2", map[string]string{"onos/values.yaml": "fixed: on 2.2\n"})
	})
	rep = runCharts(t, ws, "")
	wantNotBumped(t, rep, "onos/Chart.yaml:5 onos@1.1.0", "(base last point release of aether-2.2, tag 2.2.0, ")

	// A release branch without a point release yet is judged from where
	// it left main.
	step(t, r, func(r *demo.Repo) {
		r.Checkout("main", "")
		r.Commit("Start 2.3", map[string]string{"VERSION": "2.3.0-dev\n"})
		r.Checkout("aether-2.3", "main")
		r.Commit("Fix onos on 2.3", map[string]string{"onos/values.yaml": "fixed: on 2.3\n"})
	})
	rep = runCharts(t, ws, "")
	wantNotBumped(t, rep, "onos/Chart.yaml:5 onos@1.1.0", "(base merge-base of HEAD and main, ")
}

func TestChartsReleaseBranchWithTagPrefix(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add onos", chart("onos", "onos", "1.0.0"))
		r.Checkout("rel-3.0", "main")
		r.Commit("Fix", map[string]string{"onos/values.yaml": "x: 1\n", "onos/Chart.yaml": chartYAML("onos", "1.0.1")})
		r.Tag("v3.0.1", "", "")
		r.Commit("Fix more", map[string]string{"onos/values.yaml": "x: 2\n", "onos/Chart.yaml": chartYAML("onos", "1.0.2")})
		// Made without the prefix (repos switch forms): still the last
		// point release, whatever tagPrefix says.
		r.Tag("3.0.2", "", "")
		r.Commit("Fix again", map[string]string{"onos/values.yaml": "x: 3\n"})
	})
	cfg := "branchPrefix: rel-\ncharts:\n  path: charts\n  mainBranch: main\n  tagPrefix: v\n"
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	rep := runCharts(t, ws, "")
	wantNotBumped(t, rep, "onos/Chart.yaml:5 onos@1.0.2", "tag 3.0.2,")
}

func TestChartsRelkitBaseOverrides(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add a", chart("a", "a", "1.0.0"))
		r.Tag("old", "", "")
		// A sloppy change on main itself.
		r.Commit("Change a without bump", map[string]string{"a/values.yaml": "replicas: 4\n"})
		r.Checkout("target", "main")
	})
	step(t, r, func(r *demo.Repo) {
		r.Git("push", "-q", "origin", "target")
		r.Checkout("feature", "main")
		r.Git("branch", "-q", "-D", "target") // only origin/target is left, as in CI
		r.Commit("Unrelated", map[string]string{"README.md": "hi\n"})
	})
	ws := chartsConfig(t, root, "")
	wantFindings(t, runCharts(t, ws, ""))
	wantFindings(t, runCharts(t, ws, "target")) // resolved as origin/target

	rep := runCharts(t, ws, "old")
	wantNotBumped(t, rep, "a/Chart.yaml:5 a@1.0.0", "RELKIT_BASE=old")

	rep = runCharts(t, ws, "no-such-branch")
	if rep.ExitCode() != report.ExitUndecided || !strings.Contains(fmt.Sprint(rep.Err()), "RELKIT_BASE=no-such-branch names no commit") {
		t.Errorf("unknown RELKIT_BASE: exit %d, err %v; want exit 3 naming the ref", rep.ExitCode(), rep.Err())
	}
}

func TestChartsOnTheMainBranch(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(chart("a", "a", "1.0.0"), chart("b", "b", "1.0.0")))
	})
	ws := chartsConfig(t, root, "")
	step(t, r, func(r *demo.Repo) {
		r.Commit("Change a without bump", map[string]string{"a/values.yaml": "replicas: 2\n"})
		r.Commit("Change b with bump", map[string]string{"b/values.yaml": "replicas: 2\n", "b/Chart.yaml": chartYAML("b", "1.0.1")})
	})
	// Unpushed commits: all of them are judged, against origin/main.
	rep := runCharts(t, ws, "")
	wantNotBumped(t, rep, "a/Chart.yaml:5 a@1.0.0", "its upstream")

	// Everything pushed: the last commit is judged (CI after a merge).
	step(t, r, func(r *demo.Repo) { r.Git("push", "-q", "origin", "main") })
	rep = runCharts(t, ws, "")
	wantFindings(t, rep)
	step(t, r, func(r *demo.Repo) {
		r.Commit("Change a, no bump", map[string]string{"a/templates/deployment.yaml": "kind: DaemonSet\n"})
		r.Git("push", "-q", "origin", "main")
	})
	rep = runCharts(t, ws, "")
	wantNotBumped(t, rep, "a/Chart.yaml:5 a@1.0.0", "HEAD^")
}

func TestChartsFirstCommitHasNoBase(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	workspacetest.Repo(t, filepath.Join(root, "charts"), "main", func(r *demo.Repo) {
		r.Commit("Add charts", merged(chart("a", "a", "1.0.0"), chart("b", "b", "1.0"), map[string]string{"VERSION": "1.0.0-dev\n"}))
	})
	wantFindings(t, runCharts(t, chartsConfig(t, root, ""), ""), "chart-version-invalid b/Chart.yaml:5 b@1.0")
}

func TestChartsInvalidVersions(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", map[string]string{
			"short/Chart.yaml":    chartYAML("short", "1.2"),
			"v/Chart.yaml":        chartYAML("v", "v1.2.3"),
			"zero/Chart.yaml":     chartYAML("zero", "01.2.3"),
			"none/Chart.yaml":     "apiVersion: v2\nname: none\n",
			"quoted/Chart.yaml":   "apiVersion: v2\nname: quoted\nversion: \"1.2.3-dev.1+build.7\" # CI\n",
			"spaced/Chart.yaml":   "apiVersion: v2\nname: spaced\nversion: \"1.2.3 \"\n",
			"comment/Chart.yaml":  "apiVersion: v2\nname: comment\nversion: 1.2.3   # trailing comment\n",
			"prerel/Chart.yaml":   chartYAML("prerel", "1.2.3-rc.01"),
			"numeric/Chart.yaml":  "apiVersion: v2\nname: numeric\nversion: 1.0\n",
			"apps/ok/Chart.yaml":  chartYAML("ok", "0.0.0"),
			"apps/bad/Chart.yaml": chartYAML("bad", "latest"),
		})
	})
	rep := runCharts(t, chartsConfig(t, root, ""), "")
	wantFindings(t, rep,
		"chart-version-invalid short/Chart.yaml:5 short@1.2",
		"chart-version-invalid v/Chart.yaml:5 v@v1.2.3",
		"chart-version-invalid zero/Chart.yaml:5 zero@01.2.3",
		"chart-version-invalid none/Chart.yaml none@",
		"chart-version-invalid spaced/Chart.yaml:3 spaced@1.2.3 ",
		"chart-version-invalid prerel/Chart.yaml:5 prerel@1.2.3-rc.01",
		"chart-version-invalid numeric/Chart.yaml:3 numeric@1.0",
		"chart-version-invalid apps/bad/Chart.yaml:5 bad@latest",
	)
	wantContains(t, findingMessage(t, rep, "chart-version-invalid", "v/Chart.yaml"), `"v1.2.3"`, "Chart.yaml needs the bare version 1.2.3")
	wantContains(t, findingMessage(t, rep, "chart-version-invalid", "none/Chart.yaml"), "has no version")
	wantContains(t, findingMessage(t, rep, "chart-version-invalid", "zero/Chart.yaml"), "leading zero")
}

func TestChartsPublishedVersionInIndex(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(chart("onos", "onos", "1.0.0"), chart("hss", "hss", "2.0.0"), chart("spgw", "spgw", "1.0.0")))
	})
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Commit("Change", merged(
			// Bumped, but to a version someone already published.
			map[string]string{"onos/values.yaml": "replicas: 2\n", "onos/Chart.yaml": chartYAML("onos", "1.1.0")},
			// Bumped to a fresh version.
			map[string]string{"spgw/values.yaml": "replicas: 2\n", "spgw/Chart.yaml": chartYAML("spgw", "1.0.1")},
			// A new chart whose name and version are taken.
			chart("apps/mme", "mme", "0.3.0"),
		))
	})
	srv := repotest.ServeIndex(t, repotest.Index(map[string][]string{
		"onos": {"1.0.0", "1.1.0"},
		"hss":  {"2.0.0"}, // unchanged chart at a published version: fine
		"spgw": {"1.0.0", "1.0.1-dev", "1.0"},
		"mme":  {"0.3.0"},
	}))
	rep := runCharts(t, chartsConfig(t, root, srv.URL+"/charts"), "")
	wantFindings(t, rep,
		"chart-version-published onos/Chart.yaml:5 onos@1.1.0",
		"chart-version-published apps/mme/Chart.yaml:5 mme@0.3.0",
	)
	wantContains(t, findingMessage(t, rep, "chart-version-published", "onos/Chart.yaml"), "onos 1.1.0 is already in the chart repository http://127.0.0.1:", "/charts/index.yaml")
	if n := srv.Requests.Load(); n != 1 {
		t.Errorf("index.yaml fetched %d times, want once", n)
	}

	// A local index next to relkit.yaml, named relative to it.
	if err := os.MkdirAll(filepath.Join(root, "published"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "published", "index.yaml"), []byte(repotest.Index(map[string][]string{"spgw": {"1.0.1"}})), 0o644); err != nil {
		t.Fatal(err)
	}
	wantFindings(t, runCharts(t, chartsConfig(t, root, "published"), ""), "chart-version-published spgw/Chart.yaml:5 spgw@1.0.1")
}

func TestChartsUnreachableRepositoryIsUndecided(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) { r.Commit("Add charts", chart("onos", "onos", "1.0.0")) })
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Write(map[string]string{"onos/values.yaml": "replicas: 2\n"})
	})
	rep := runCharts(t, chartsConfig(t, root, repotest.Unreachable(t)+"/charts"), "")
	if rep.ExitCode() != report.ExitUndecided {
		t.Fatalf("exit code %d, want %d (could not decide)", rep.ExitCode(), report.ExitUndecided)
	}
	wantContains(t, rep.Err().Error(), "chart repository", "connection refused")
	// The rules that need no repository still report.
	if got := summary(rep); !slices.Equal(got, []string{"chart-not-bumped onos/Chart.yaml:5 onos@1.0.0"}) {
		t.Errorf("findings %q, want the not-bumped one", got)
	}

	// Nothing changed: the repository is not asked, so nothing is undecided.
	step(t, r, func(r *demo.Repo) { r.Git("checkout", "-q", "--", ".") })
	wantFindings(t, runCharts(t, chartsConfig(t, root, repotest.Unreachable(t)+"/charts"), ""))
}

func TestChartsPublishedVersionInOCIRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(chart("onos", "onos", "1.0.0"), chart("hss", "hss", "2.0.0")))
	})
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Commit("Change", map[string]string{
			"onos/values.yaml": "replicas: 2\n", "onos/Chart.yaml": chartYAML("onos", "1.1.0+aether.1"),
			"hss/values.yaml": "replicas: 2\n", "hss/Chart.yaml": chartYAML("hss", "2.0.1"),
		})
	})
	host := repotest.Registry(t)
	for _, p := range []struct{ chart, version string }{{"onos", "1.0.0"}, {"onos", "1.1.0+aether.1"}, {"hss", "2.0.0"}} {
		if err := repotest.PushChart(ctx, host, "aether", p.chart, p.version); err != nil {
			t.Fatal(err)
		}
	}
	rep := runCharts(t, chartsConfig(t, root, "oci://"+host+"/aether"), "")
	wantFindings(t, rep, "chart-version-published onos/Chart.yaml:5 onos@1.1.0+aether.1")
	wantContains(t, findingMessage(t, rep, "chart-version-published", "onos/Chart.yaml"), "oci://"+host+"/aether")
}

func TestChartsDependencyPins(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(
			chart("onos", "onos", "1.1.0"),
			chart("hss", "hss", "2.0.3"),
			chart("spgw", "spgw", "2.0.0"),
			chart("apps/pcrf", "pcrf", "0.5.0"),
			map[string]string{
				"umbrella/Chart.yaml": "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n" +
					"  - name: onos\n    version: 1.0.0\n    repository: file://../onos\n" + // line 6: drifted exact pin
					"  - name: hss\n    version: ~2.0.0\n    repository: \"file://../hss\"\n" + // range that matches
					"  - name: spgw\n    version: ^1.0.0\n    repository: file://../spgw\n" + // line 12: range that does not
					"  - name: pcrf\n    version: \"0.5.0\"\n    repository: file://../apps/pcrf\n    alias: policy\n" +
					"  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.org\n" + // not local
					"  - name: gone\n    version: 1.0.0\n    repository: file://../gone\n", // line 22
				"legacy/Chart.yaml":        "apiVersion: v1\nname: legacy\nversion: 0.1.0\n",
				"legacy/requirements.yaml": "dependencies:\n- name: onos\n  version: 1.1.0\n  repository: file://../onos\n- name: hss\n  version: '>= 3.0.0'\n  repository: file://../hss\n", // line 6
				// A subchart vendored as a directory pinned by its parent.
				"apps/pcrf/Chart.yaml":             "apiVersion: v2\nname: pcrf\nversion: 0.5.0\ndependencies:\n  - name: util\n    version: 0.0.2\n    repository: file://./charts/util\n",
				"apps/pcrf/charts/util/Chart.yaml": chartYAML("util", "0.0.1"),
			},
		))
	})
	rep := runCharts(t, chartsConfig(t, root, ""), "")
	wantFindings(t, rep,
		"dependency-pin-mismatch umbrella/Chart.yaml:6 onos@1.0.0",
		"dependency-pin-mismatch umbrella/Chart.yaml:12 spgw@^1.0.0",
		"dependency-missing umbrella/Chart.yaml:22 gone@1.0.0",
		"dependency-pin-mismatch legacy/requirements.yaml:6 hss@>= 3.0.0",
		"dependency-pin-mismatch apps/pcrf/Chart.yaml:6 util@0.0.2",
	)
	wantContains(t, findingMessage(t, rep, "dependency-pin-mismatch", "umbrella/Chart.yaml"), "pinned to 1.0.0 but the local chart is at 1.1.0", "onos/Chart.yaml", "expected version: 1.1.0")
	wantContains(t, findingMessage(t, rep, "dependency-pin-mismatch", "legacy/requirements.yaml"), `">= 3.0.0"`, "does not match 2.0.3")
}

func TestChartsEmptyRepositorySkipsPublishedRule(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) { r.Commit("Add charts", chart("onos", "onos", "1.0.0")) })
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Commit("Bump", map[string]string{"onos/values.yaml": "x: 1\n", "onos/Chart.yaml": chartYAML("onos", "1.0.1")})
	})
	wantFindings(t, runCharts(t, chartsConfig(t, root, ""), ""))
}

func TestChartsIsRegistered(t *testing.T) {
	t.Parallel()
	if !slices.Contains(Names(), "charts") {
		t.Errorf("check names %v lack charts", Names())
	}
}

// After a merge to main is pushed, CI publishes the merged chart versions;
// the run on main must not then fail on them (it would block
// release:branch), yet it still says so as a warning. Unpushed commits on
// main reusing a published version stay errors.
func TestChartsPublishedAfterMergeOnMainIsAWarning(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(chart("onos", "onos", "1.0.0"), chart("hss", "hss", "2.0.0")))
	})
	srv := repotest.ServeIndex(t, repotest.Index(map[string][]string{"onos": {"1.0.0", "1.1.0"}}))
	ws := chartsConfig(t, root, srv.URL+"/charts")
	step(t, r, func(r *demo.Repo) {
		r.Commit("onos: more replicas", map[string]string{"onos/values.yaml": "replicas: 2\n", "onos/Chart.yaml": chartYAML("onos", "1.1.0")})
	})
	rep := runCharts(t, ws, "")
	wantFindings(t, rep, "chart-version-published onos/Chart.yaml:5 onos@1.1.0")
	if rep.ExitCode() != report.ExitFindings {
		t.Errorf("an unpushed commit reusing a published version must fail, exit %d", rep.ExitCode())
	}
	step(t, r, func(r *demo.Repo) { r.Git("push", "-q", "origin", "main") })
	rep = runCharts(t, ws, "")
	if got := summary(rep); len(got) != 1 || got[0] != "chart-version-published onos/Chart.yaml:5 onos@1.1.0" {
		t.Fatalf("findings %q", got)
	}
	if rep.ExitCode() != report.ExitOK || rep.Findings()[0].Severity != report.Warning {
		t.Errorf("after the push the published merge should only warn: %+v", rep.Findings())
	}
	wantContains(t, findingMessage(t, rep, "chart-version-published", "onos/Chart.yaml"), "once CI has published")
}

// charts.publish's static repository in git counts as published too,
// read from the site's branch as chart:publish reads it.
func TestChartsPublishedVersionInGitSite(t *testing.T) {
	root := t.TempDir()
	r := chartsRepo(t, root, func(r *demo.Repo) {
		r.Commit("Add charts", merged(chart("onos", "onos", "1.0.0"), chart("spgw", "spgw", "1.0.0")))
	})
	step(t, r, func(r *demo.Repo) {
		r.Checkout("feature", "main")
		r.Commit("Change", map[string]string{
			"onos/values.yaml": "replicas: 2\n", "onos/Chart.yaml": chartYAML("onos", "1.1.0"),
			"spgw/values.yaml": "replicas: 2\n", "spgw/Chart.yaml": chartYAML("spgw", "1.0.1"),
		})
	})
	site := filepath.Join(root, "site")
	gitIn(t, root, "init", "-q", "-b", "pages", site)
	if err := os.MkdirAll(filepath.Join(site, "charts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site, "charts", "index.yaml"), []byte(repotest.Index(map[string][]string{"onos": {"1.0.0", "1.1.0"}})), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, site, "add", "-A")
	gitIn(t, site, "commit", "-q", "-m", "site")
	cfg := "branchPrefix: aether-\ncharts:\n  path: charts\n  mainBranch: main\n  publish:\n    git: site\n    branch: pages\n    dir: charts\n"
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	rep := runCharts(t, ws, "")
	wantFindings(t, rep, "chart-version-published onos/Chart.yaml:5 onos@1.1.0")
	wantContains(t, findingMessage(t, rep, "chart-version-published", "onos/Chart.yaml"), site+" pages:charts")
}
