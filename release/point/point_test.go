package point

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/demo/demotest"
	"github.com/relkit/relkit/release/patch"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
)

const (
	line       = "2.1"
	chartsRepo = demo.ChartsRepo
	docsRepo   = demo.DocsRepo
)

// fixture is the demo workspace, its chart repository and registry served
// on loopback, after release:branch 2.1 -push.
type fixture struct {
	*demotest.Line
	t   *testing.T
	ctx context.Context
	svc *demo.Services
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := demotest.Build(t)
	svc := demotest.Serve(t, w)
	return &fixture{Line: demotest.CutLine(t, w, line), t: t, ctx: context.Background(), svc: svc}
}

// hashRepos hashes every file of the charts and docs checkouts (.git
// included, FETCH_HEAD aside) and of their bare remotes: equal hashes mean
// nothing was written, not even an object.
func (f *fixture) hashRepos() string {
	f.t.Helper()
	h := sha256.New()
	for _, n := range []string{chartsRepo, docsRepo} {
		for _, root := range []string{f.Dir(n), f.W.Remotes[n]} {
			err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || d.Name() == "FETCH_HEAD" {
					return err // -push fetches first: FETCH_HEAD is rewritten
				}
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, "%s %d\n", p, len(data))
				h.Write(data)
				return nil
			})
			if err != nil {
				f.t.Fatal(err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (f *fixture) point(opt Options) (string, error) {
	f.t.Helper()
	opt.Line = line
	var out strings.Builder
	err := Run(f.ctx, f.WS, opt, &out, plan.Text)
	return out.String(), err
}

// pointAfterChartFix brings a values fix of the edge-monitoring chart
// onto aether-2.1 (patch:charts) and releases the line again without
// pushing (release:point), returning that run's output.
func (f *fixture) pointAfterChartFix() string {
	f.t.Helper()
	fix := f.CommitOn(chartsRepo, "master", "edge-monitoring: scrape every 30s", map[string][2]string{
		"edge-monitoring/values.yaml": {"listen: \":9273\"", "listen: \":9273\"\n          interval: 30s"},
	})
	if err := patch.RunCharts(f.ctx, f.WS, patch.Options{Line: line, Commits: []string{fix}}, io.Discard, plan.Text); err != nil {
		f.t.Fatal(err)
	}
	out, err := f.point(Options{})
	if err != nil {
		f.t.Fatalf("2.1.1: %v\n%s", err, out)
	}
	return out
}

// patchBoth brings a chart fix and an amf fix onto aether-2.1 and, as CI
// would after the tag, pushes amf's 1.4.2 images to the registry.
func (f *fixture) patchBoth() (chartFix, amfFix string) {
	f.t.Helper()
	chartFix, amfFix = f.patchUnpublished()
	f.publish("amf", "1.4.2")
	return chartFix, amfFix
}

// publish pushes every image of component at version to the loopback
// registry, as the component's CI (image:push) does for a release tag.
func (f *fixture) publish(component, version string) {
	f.t.Helper()
	c, ok := f.W.Component(component)
	if !ok {
		f.t.Fatalf("no component %s", component)
	}
	for _, repo := range c.Images {
		ref := repo + ":" + version
		img, err := demo.DemoImage(ref)
		if err != nil {
			f.t.Fatal(err)
		}
		target, err := f.svc.Mirror(ref)
		if err != nil {
			f.t.Fatal(err)
		}
		tag, err := name.NewTag(target, name.Insecure)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := remote.Write(tag, img, remote.WithContext(f.ctx)); err != nil {
			f.t.Fatalf("pushing %s as %s: %v", ref, target, err)
		}
	}
}

// patchUnpublished is patchBoth without the image push.
func (f *fixture) patchUnpublished() (chartFix, amfFix string) {
	f.t.Helper()
	chartFix = f.CommitOn(chartsRepo, "master", "omec-control-plane: wait longer for the NRF", map[string][2]string{
		"omec/omec-control-plane/templates/amf.yaml": {"sleep 2", "sleep 5"},
		"omec/omec-control-plane/Chart.yaml":         {"version: 0.15.0 #", "version: 0.15.1 #"},
	})
	if err := patch.RunCharts(f.ctx, f.WS, patch.Options{Line: line, Commits: []string{chartFix}, Push: true}, io.Discard, plan.Text); err != nil {
		f.t.Fatalf("patch:charts: %v", err)
	}
	amfFix = f.CommitOn("amf", "master", "Fix the NGAP keepalive", map[string][2]string{"keepalive.go": {"", "package main\n"}})
	if err := patch.RunComponent(f.ctx, f.WS, patch.Options{Line: line, Component: "amf", Commits: []string{amfFix}, Push: true}, io.Discard, plan.Text); err != nil {
		f.t.Fatalf("patch:component: %v", err)
	}
	return chartFix, amfFix
}

func (f *fixture) onRemote(repo string, refs ...string) {
	f.t.Helper()
	for _, ref := range refs {
		local := f.Git(repo, "rev-parse", ref)
		if remote := f.Git(repo, "ls-remote", "origin", ref); !strings.HasPrefix(remote, local) {
			f.t.Errorf("%s: origin has %q for %s, expected %s", repo, remote, ref, local[:7])
		}
	}
}

// The first point release of 2.1 after a chart fix and an amf patch: the
// charts branch goes 2.1.0-dev -> 2.1.0 (tagged) -> 2.1.1-dev, the docs
// branch gets 2.1.0, its tag and the notes (the draft people wrote kept);
// everything is pushed; a rerun does nothing; a later point release
// compares with 2.1.0.
func TestPointRelease(t *testing.T) {
	f := newFixture(t)
	chartFix, _ := f.patchBoth()
	chartsBefore, docsBefore := f.Snapshot(chartsRepo), f.Snapshot(docsRepo)
	gitBefore := f.GitFiles(chartsRepo) + f.GitFiles(docsRepo)
	out, err := f.point(Options{DryRun: true, Push: true})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	testutil.ContainsAll(t, "the dry run", out, "create tag 2.1.0", "VERSION:1 version 2.1.0-dev -> 2.1.0", "VERSION:1 version 2.1.0 -> 2.1.1-dev",
		"release-notes/2.1.0.md: release notes, the generated section added to the existing page", "push to origin")
	// .git first: Snapshot's git status refreshes the index.
	if gitBefore != f.GitFiles(chartsRepo)+f.GitFiles(docsRepo) {
		t.Fatalf("the dry run wrote into a .git (the release commits it shows belong in its scratch repositories)")
	}
	if chartsBefore != f.Snapshot(chartsRepo) || docsBefore != f.Snapshot(docsRepo) {
		t.Fatalf("the dry run changed a repo")
	}

	if out, err = f.point(Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Charts: release commit tagged, then the next dev version.
	rel := f.Git(chartsRepo, "rev-parse", "2.1.0^{commit}")
	if typ := f.Git(chartsRepo, "cat-file", "-t", "2.1.0"); typ != "tag" {
		t.Errorf("2.1.0 should be an annotated tag, is a %s", typ)
	}
	if v := f.Show(chartsRepo, rel, "VERSION"); v != "2.1.0\n" {
		t.Errorf("the tagged commit has VERSION %q", v)
	}
	if v := f.Show(chartsRepo, "aether-2.1", "VERSION"); v != "2.1.1-dev\n" {
		t.Errorf("aether-2.1 should move on to 2.1.1-dev, has %q", v)
	}
	if parent := f.Git(chartsRepo, "rev-parse", "aether-2.1^"); parent != rel {
		t.Errorf("the move-on commit should follow the release commit")
	}
	// Docs: VERSION, tag and notes.
	if v := f.Show(docsRepo, "aether-2.1", "VERSION"); v != "2.1.0\n" {
		t.Errorf("docs VERSION on aether-2.1 is %q", v)
	}
	if tagged := f.Git(docsRepo, "rev-parse", "2.1.0^{commit}"); tagged != f.Git(docsRepo, "rev-parse", "aether-2.1") {
		t.Errorf("docs tag 2.1.0 should be on the branch's tip")
	}
	notes := f.Show(docsRepo, "aether-2.1", "release-notes/2.1.0.md")
	pick := f.Git(chartsRepo, "log", "-1", "--format=%h", "--grep", "cherry picked from commit "+chartFix, "aether-2.1")
	testutil.ContainsAll(t, "the notes", notes,
		"# Aether 2.1.0 (draft)", "- AMF 1.4.1 with N2 handover", // what people wrote
		"<!-- relkit:release-notes begin", "<!-- relkit:release-notes end -->",
		"Aether 2.1.0 is point release 2.1.0 of branch aether-2.1 of aether-helm-charts (tag 2.1.0).",
		"## Changes since 2.0.1",
		"| omec-control-plane | 0.13.3 | 0.14.3 |",
		"- **amf** 1.4.0 → 1.4.2\n  - Retry AUSF requests on 503\n  - Fix the NGAP keepalive\n",
		"- **smf** 1.3.0 → 1.3.1",
		"### Fixes on aether-2.1\n\n- omec-control-plane: wait longer for the NRF (`"+pick+"`, cherry-picked from `"+chartFix[:7]+"`)\n",
		"| `registry.aetherproject.org/omecproject/5gc-amf` (amf) | 1.4.2 | omec-control-plane |",
		"| omec-user-plane | `omec/omec-user-plane` | 0.12.1 |",
	)
	if strings.Contains(notes, "Bump chart versions") || strings.Contains(notes, "Update amf") {
		t.Errorf("relkit's own commits are not fixes:\n%s", notes)
	}
	f.onRemote(chartsRepo, "refs/heads/aether-2.1", "refs/tags/2.1.0")
	f.onRemote(docsRepo, "refs/heads/aether-2.1", "refs/tags/2.1.0")

	// Rerun: nothing to do.
	chartsBefore, docsBefore = f.Snapshot(chartsRepo), f.Snapshot(docsRepo)
	out, err = f.point(Options{Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "aether-helm-charts 2.1.0 is released") {
		t.Errorf("a rerun should do nothing: %v\n%s", err, out)
	}
	if chartsBefore != f.Snapshot(chartsRepo) || docsBefore != f.Snapshot(docsRepo) {
		t.Errorf("the rerun changed a repo")
	}

	// The next point release compares with 2.1.0 and gets a new page.
	f.pointAfterChartFix()
	notes = f.Show(docsRepo, "aether-2.1", "release-notes/2.1.1.md")
	testutil.ContainsAll(t, "the 2.1.1 notes", notes, "# Aether 2.1.1\n", "## Changes since 2.1.0", "| Chart | 2.1.0 | 2.1.1 |\n|---|---|---|\n| edge-monitoring | 0.7.0 | 0.7.1 |\n\n",
		"- edge-monitoring: scrape every 30s")
	if strings.Contains(notes, "wait longer for the NRF") || strings.Contains(notes, "**amf**") {
		t.Errorf("2.1.1 should list only what changed since 2.1.0:\n%s", notes)
	}
	if v := f.Show(chartsRepo, "aether-2.1", "VERSION"); v != "2.1.2-dev\n" {
		t.Errorf("after 2.1.1 the charts should be 2.1.2-dev, are %q", v)
	}
}

// Docs written in reStructuredText get reStructuredText notes.
func TestPointReleaseRST(t *testing.T) {
	f := newFixture(t)
	rst := map[string][2]string{}
	for _, p := range []string{"index", "overview", "install", "upgrade", "roc", "sdcore", "monitoring", "faq", "glossary", "support", "security", "api"} {
		rst["source/"+p+".rst"] = [2]string{"", p + "\n" + strings.Repeat("=", len(p)) + "\n\nText.\n"}
	}
	f.CommitOn(docsRepo, "aether-2.1", "Move the docs to Sphinx", rst)
	f.WS.Docs.ReleaseNotes = "" // the default: the repo's majority decides
	out, err := f.point(Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	notes := f.Show(docsRepo, "aether-2.1", "release-notes/2.1.0.rst")
	testutil.ContainsAll(t, "the rst notes", notes, "Aether 2.1.0\n============\n\n.. relkit:release-notes begin", "Changes since 2.0.1\n-------------------",
		".. list-table::\n   :header-rows: 1\n\n   * - Chart\n     - 2.0.1\n     - 2.1.0\n", "``registry.aetherproject.org/omecproject/5gc-amf`` (amf)",
		".. relkit:release-notes end\n")
	if strings.Contains(notes, "| ") || strings.Contains(notes, "## ") {
		t.Errorf("Markdown in the rst notes:\n%s", notes)
	}
}

// A branch that fails the checks is not released; nothing is written.
func TestPointRefusedWhenChecksFail(t *testing.T) {
	f := newFixture(t)
	f.CommitOn(chartsRepo, "aether-2.1", "roc-api: change the port without a bump", map[string][2]string{
		"roc-api/values.yaml": {"port: 8181", "port: 8182"},
	})
	chartsBefore, docsBefore := f.Snapshot(chartsRepo), f.Snapshot(docsRepo)
	out, err := f.point(Options{Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "chart-not-bumped") || !strings.Contains(out, "the checks must pass on aether-2.1") {
		t.Errorf("expected a refusal naming the failing check: %v\n%s", err, out)
	}
	if chartsBefore != f.Snapshot(chartsRepo) || docsBefore != f.Snapshot(docsRepo) {
		t.Errorf("a refused release changed a repo")
	}
}

// A run that stopped after creating its tags (before moving any branch)
// is finished by the next run, which takes the tags over.
func TestPointResumesAfterInterruption(t *testing.T) {
	f := newFixture(t)
	p, _, err := Plan(f.ctx, f.WS, Options{Line: line})
	if err != nil {
		t.Fatal(err)
	}
	tags := 0
	for _, r := range p.Repos {
		for _, s := range r.Steps {
			if s.Kind == plan.CreateTag {
				name := strings.TrimPrefix(s.Ref, "refs/tags/")
				f.Git(r.Name, "tag", "-a", "-m", s.Message, name, s.Commit)
				tags++
			}
		}
	}
	if tags != 2 {
		t.Fatalf("expected a tag step in the charts and the docs, got %d", tags)
	}
	chartsTag, docsTag := f.Git(chartsRepo, "rev-parse", "2.1.0"), f.Git(docsRepo, "rev-parse", "2.1.0")
	out, err := f.point(Options{Push: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "create tag") || !strings.Contains(out, "from an earlier run") {
		t.Errorf("the run should take the earlier tags over:\n%s", out)
	}
	if f.Git(chartsRepo, "rev-parse", "2.1.0") != chartsTag || f.Git(docsRepo, "rev-parse", "2.1.0") != docsTag {
		t.Errorf("the tags must not change")
	}
	if f.Git(chartsRepo, "rev-parse", "aether-2.1^") != f.Git(chartsRepo, "rev-parse", "2.1.0^{commit}") {
		t.Errorf("the charts branch should end right after the tagged release commit")
	}
	if f.Git(docsRepo, "rev-parse", "aether-2.1") != f.Git(docsRepo, "rev-parse", "2.1.0^{commit}") {
		t.Errorf("the docs branch should end at the tagged docs commit")
	}
	f.onRemote(chartsRepo, "refs/heads/aether-2.1", "refs/tags/2.1.0")
	f.onRemote(docsRepo, "refs/heads/aether-2.1", "refs/tags/2.1.0")
}

// TestPointFindsTagsInEveryForm: repos that switched tag prefix. The
// charts' previous release is tagged v2.0.1 (tagPrefix ""), amf's shipped
// release 1.4.0 (tagPrefix v), and the release itself was tagged v2.1.0
// by hand at the tip of aether-2.1. release:point takes that tag as the
// release (no second tag), and the notes compare with 2.0.1 and list
// amf's commits since 1.4.0.
func TestPointFindsTagsInEveryForm(t *testing.T) {
	f := newFixture(t)
	f.patchBoth()
	retag := func(repo, from, to string) {
		f.Git(repo, "tag", to, from+"^{commit}")
		f.Git(repo, "tag", "-d", from)
	}
	retag(chartsRepo, "2.0.1", "v2.0.1")
	retag("amf", "v1.4.0", "1.4.0")
	f.CommitOn(chartsRepo, "aether-2.1", "Release 2.1.0 by hand", map[string][2]string{"VERSION": {"2.1.0-dev", "2.1.0"}})
	tip := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	f.Git(chartsRepo, "tag", "v2.1.0", tip)

	out, err := f.point(Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "VERSION 2.1.0 is tagged v2.1.0 at the tip of aether-2.1") {
		t.Errorf("the hand-made v2.1.0 is the release:\n%s", out)
	}
	if got := f.Git(chartsRepo, "tag", "--list", "2.1.0"); got != "" {
		t.Errorf("a second tag 2.1.0 was made")
	}
	if v := f.Show(chartsRepo, "aether-2.1", "VERSION"); v != "2.1.1-dev\n" {
		t.Errorf("aether-2.1 should move on to 2.1.1-dev, has %q", v)
	}
	notes := f.Show(docsRepo, "aether-2.1", "release-notes/2.1.0.md")
	testutil.ContainsAll(t, "the notes", notes,
		"point release 2.1.0 of branch aether-2.1 of aether-helm-charts (tag v2.1.0).",
		"## Changes since 2.0.1\n",
		"| Chart | 2.0.1 | 2.1.0 |",
		"- **amf** 1.4.0 → 1.4.2\n  - Retry AUSF requests on 503\n  - Fix the NGAP keepalive\n",
	)
}
