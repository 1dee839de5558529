package status

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/demo/demotest"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

// The demo workspace is built once per test binary and cloned per test.
var demoCache = &demotest.Cache{Prefix: "relkit-status-demo-"}

func TestMain(m *testing.M) { demoCache.Main(m) }

var git = demotest.Git

// fixture: the served demo with aether-2.1 cut on the charts repo and
// pushed, released as 2.1.0 (tag), then moved on locally: VERSION
// 2.1.1-dev and an AMF update to a tag nobody pushed. The docs repo has
// the branch locally only.
type fixture struct {
	w   *demo.Workspace
	svc *demo.Services
	ws  *workspace.Config
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := demoCache.Clone(t)
	svc := demotest.Serve(t, w)
	ws := demotest.Load(t, w)
	charts := ws.Charts.Dir
	git(t, charts, "branch", "aether-2.1", "master")
	git(t, charts, "push", "-q", "origin", "aether-2.1")
	git(t, ws.Docs.Dir, "branch", "aether-2.1", "master")

	wt := filepath.Join(t.TempDir(), "wt")
	git(t, charts, "worktree", "add", "-q", wt, "aether-2.1")
	commit := func(msg, file, content string) {
		if err := os.WriteFile(filepath.Join(wt, filepath.FromSlash(file)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, wt, "commit", "-q", "-am", msg)
	}
	edit := func(file string, pairs ...string) string {
		data, err := os.ReadFile(filepath.Join(wt, filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		for i := 0; i+1 < len(pairs); i += 2 {
			if !strings.Contains(s, pairs[i]) {
				t.Fatalf("%s has no %q:\n%s", file, pairs[i], s)
			}
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		return s
	}
	commit("Set version to 2.1.0", "VERSION", "2.1.0\n")
	git(t, wt, "tag", "2.1.0")
	commit("Set version to 2.1.1-dev", "VERSION", "2.1.1-dev\n")
	commit("omec-control-plane: AMF 1.4.2", "omec/omec-control-plane/values.yaml",
		edit("omec/omec-control-plane/values.yaml", "5gc-amf:1.4.1", "5gc-amf:1.4.2"))
	commit("omec-control-plane: bump to 0.14.2", "omec/omec-control-plane/Chart.yaml",
		edit("omec/omec-control-plane/Chart.yaml", "version: 0.14.1", "version: 0.14.2"))
	git(t, charts, "worktree", "remove", "--force", wt)
	return &fixture{w: w, svc: svc, ws: ws}
}

func TestStatus(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	charts := fx.ws.Charts.Dir
	before := git(t, charts, "rev-parse", "HEAD")

	s, err := Collect(ctx, fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Unknown) != 0 || s.ExitCode() != 0 {
		t.Fatalf("unknown with everything reachable (exit %d): %v", s.ExitCode(), s.Unknown)
	}
	if got := git(t, charts, "rev-parse", "HEAD"); got != before || git(t, charts, "status", "--porcelain") != "" {
		t.Errorf("the charts checkout changed: HEAD %s (was %s)", got, before)
	}
	if wts := git(t, charts, "worktree", "list", "--porcelain"); strings.Count(wts, "worktree ") != 1 {
		t.Errorf("scratch worktree left behind:\n%s", wts)
	}

	// Branches.
	byRepo := map[string]Branch{}
	for _, b := range s.Branches {
		byRepo[b.Repo] = b
	}
	if len(s.Branches) != len(fx.ws.Repos()) {
		t.Errorf("%d branch rows, want one per repo (%d)", len(s.Branches), len(fx.ws.Repos()))
	}
	cb := byRepo[demo.ChartsRepo]
	if cb.Local == "" || cb.RemoteState != Present || cb.Remote == cb.Local {
		t.Errorf("charts branch: %+v; want local and remote present, the local one ahead", cb)
	}
	if db := byRepo[demo.DocsRepo]; db.Local == "" || db.RemoteState != Absent {
		t.Errorf("docs branch: %+v; want local only", db)
	}
	if ab := byRepo["amf"]; ab.Local != "" || ab.RemoteState != Absent {
		t.Errorf("amf branch: %+v; want none", ab)
	}

	// Releases and commits.
	if s.LastRelease != "2.1.0" || s.LastReleaseTag != "2.1.0" || s.NextVersion != "2.1.1-dev" || s.Source != "aether-2.1" {
		t.Errorf("last %q (tag %q), next %q, source %q; want 2.1.0, 2.1.1-dev, aether-2.1", s.LastRelease, s.LastReleaseTag, s.NextVersion, s.Source)
	}
	var subjects []string
	for _, c := range s.Commits {
		subjects = append(subjects, c.Subject)
	}
	want := []string{"omec-control-plane: bump to 0.14.2", "omec-control-plane: AMF 1.4.2", "Set version to 2.1.1-dev"}
	if !slices.Equal(subjects, want) {
		t.Errorf("commits since 2.1.0: %q, want %q", subjects, want)
	}

	// Images: only the new AMF tag is missing.
	missing := []string{}
	for _, im := range s.Images {
		if im.State != Present {
			missing = append(missing, im.Ref+" "+string(im.State))
		}
	}
	if !slices.Equal(missing, []string{"registry.aetherproject.org/omecproject/5gc-amf:1.4.2 absent"}) || len(s.Images) != len(fx.w.Images) {
		t.Errorf("images not present: %v (of %d, want %d); want only the AMF 1.4.2 absent", missing, len(s.Images), len(fx.w.Images))
	}

	// Charts: none of the branch's versions is published yet.
	for _, c := range s.Charts {
		if c.State != Absent {
			t.Errorf("chart %s %s: %s, want absent from the chart repository", c.Name, c.Version, c.State)
		}
	}
	// Published means held where chart:publish writes.
	if len(s.Charts) != len(fx.w.Charts) || !strings.Contains(s.ChartRepository, demo.ChartsSitePath+" gh-pages") || !strings.Contains(s.ChartRepository, demo.ChartsOCI) {
		t.Errorf("%d charts (want %d), chart repository %q", len(s.Charts), len(fx.w.Charts), s.ChartRepository)
	}

	// Checks: the AMF tag has no git tag in the amf repo.
	rules := map[string]bool{}
	for _, f := range s.Findings {
		rules[f.Rule] = true
	}
	if !rules["image-tag-not-in-repo"] || !rules["image-waived"] {
		t.Errorf("findings %v: want image-tag-not-in-repo (AMF 1.4.2) and image-waived", rules)
	}

	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	testutil.ContainsAll(t, "text", text.String(),
		"Release line 2.1 (branch aether-2.1)",
		"last point release  2.1.0 (tag 2.1.0,",
		"next version        2.1.1-dev (VERSION on aether-2.1)",
		"commits since tag 2.1.0: 3",
		"omec-control-plane: AMF 1.4.2",
		"not in the registry yet",
		"missing  registry.aetherproject.org/omecproject/5gc-amf:1.4.2  (omec/omec-control-plane)",
		"pending    omec-control-plane 0.14.2",
		"image-tag-not-in-repo",
	)
	if strings.Contains(text.String(), "UNKNOWN") {
		t.Errorf("text shows UNKNOWN with everything reachable:\n%s", text.String())
	}

	var js bytes.Buffer
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Line, NextVersion, LastRelease string
		Branches                       []Branch
		Images                         []Image
		Charts                         []Chart
		Commits                        []Commit
		Findings                       []map[string]any
		Unknown                        []string
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if back.Line != "2.1" || back.NextVersion != "2.1.1-dev" || back.LastRelease != "2.1.0" || len(back.Images) != len(s.Images) ||
		len(back.Charts) != len(s.Charts) || len(back.Commits) != 3 || len(back.Findings) != len(s.Findings) || back.Unknown != nil {
		t.Errorf("JSON round trip: %+v", back)
	}
	if testing.Verbose() {
		t.Log("\n" + text.String())
	}
}

// TestStatusUnreachable: a registry and a chart repository that cannot be
// reached are unknown, not absent, and make the exit status 3.
func TestStatusUnreachable(t *testing.T) {
	fx := newFixture(t)
	fx.svc.Close()
	s, err := Collect(context.Background(), fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ExitCode() != 3 || s.Err() == nil {
		t.Errorf("exit %d, err %v; want 3 and an undecided error", s.ExitCode(), s.Err())
	}
	for _, im := range s.Images {
		if im.State != Unknown {
			t.Errorf("image %s: %s with the registry down, want unknown", im.Ref, im.State)
		}
	}
	for _, c := range s.Charts {
		if c.State != Unknown {
			t.Errorf("chart %s: %s with the chart repository down, want unknown", c.Name, c.State)
		}
	}
	var text bytes.Buffer
	_ = s.WriteText(&text)
	testutil.ContainsAll(t, "text", text.String(), "UNKNOWN  registry.aetherproject.org/omecproject/5gc-amf:1.4.2", "UNKNOWN    omec-control-plane 0.14.2", "UNKNOWN (3)", "15 images (", " and 11 more): registry 127.0.0.1:", "check:charts: ")
	// Git facts are still known.
	if s.LastRelease != "2.1.0" || len(s.Commits) != 3 {
		t.Errorf("last release %q, %d commits; git facts should not depend on the registry", s.LastRelease, len(s.Commits))
	}
}

// TestStatusNoBranch: before the cut there is nothing to show but that.
func TestStatusNoBranch(t *testing.T) {
	fx := newFixture(t)
	s, err := Collect(context.Background(), fx.ws, "2.7", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != "" || s.ExitCode() != 0 || len(s.Notes) == 0 || !strings.Contains(s.Notes[0], "release:branch 2.7") {
		t.Errorf("no branch: source %q, exit %d, notes %q; want no source, exit 0, a note to cut it", s.Source, s.ExitCode(), s.Notes)
	}
	if _, err := Collect(context.Background(), fx.ws, "2.x", Options{}); err == nil {
		t.Errorf("line 2.x accepted")
	}
}
