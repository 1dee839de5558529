package patch

import (
	"strings"
	"testing"

	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

// toGerrit moves repo name's origin to a Gerrit-like remote holding what
// origin held (branches and tags), and returns it.
func (f *fixture) toGerrit(name string) *reviewtest.Gerrit {
	f.t.Helper()
	origin := f.Git(name, "remote", "get-url", "origin")
	g := reviewtest.NewGerrit(f.t, "aether/"+name, origin, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
	f.Git(name, "remote", "set-url", "origin", g.Dir)
	return g
}

func gerritMode(g *reviewtest.Gerrit, target string) *review.Mode {
	return &review.Mode{Options: review.Options{Kind: workspace.ReviewGerrit, URL: g.URL}, Name: review.Name{Target: target, Line: line}}
}

// onlyReviews fails unless every push g saw went to refs/for/branch with
// the topic, or created a branch in creates.
func onlyReviews(t *testing.T, g *reviewtest.Gerrit, branch, topic string, creates ...string) {
	t.Helper()
	for _, p := range g.Pushes() {
		f := strings.Fields(p)
		if len(f) == 3 && (f[2] == "refs/for/"+branch+"%topic="+topic || strings.HasPrefix(f[0], "0000000") && slicesContains(creates, f[2])) {
			continue
		}
		t.Errorf("push %q: only refs/for/%s with topic %s (and creating %v) was expected", p, branch, topic, creates)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// patch:charts -review on Gerrit: the pick and the bump become two
// dependent changes of the run's topic; the remote branch does not move;
// a rerun pushes nothing; once the changes are submitted, a rerun has
// nothing to do.
func TestChartsReviewOnGerrit(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn(chartsRepo, "master", "roc-api: expose the metrics port", map[string][2]string{
		"roc-api/templates/service.yaml": {"    - port: {{ .Values.service.port }}\n", "    - port: {{ .Values.service.port }}\n    - port: 9090\n"},
	})
	g := f.toGerrit(chartsRepo)
	mode := gerritMode(g, "patch:charts")
	remoteBefore := g.Refs()
	localBefore := f.Git(chartsRepo, "rev-parse", "aether-2.1")

	_, out, err := f.runCharts(Options{Commits: []string{fix}, DryRun: true, Review: mode})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if !strings.HasSuffix(strings.SplitN(out, "\n", 2)[0], " -review (dry run: nothing will be written)") || strings.Contains(out, "-push") {
		t.Errorf("the plan's action should end in -review:\n%s", out)
	}
	testutil.ContainsAll(t, "the dry run", out, "push 2 commits for review to refs/for/aether-2.1 on origin, topic relkit-patch-charts-2.1")
	if len(g.Pushes()) != 0 || f.Git(chartsRepo, "rev-parse", "aether-2.1") != localBefore {
		t.Fatal("the dry run wrote")
	}

	if _, out, err = f.runCharts(Options{Commits: []string{fix}, Review: mode}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	changes := g.Changes()
	if len(changes) != 2 {
		t.Fatalf("changes = %+v\n%s", changes, out)
	}
	local := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	if changes[1].Current() != local || f.Git(chartsRepo, "rev-parse", local+"^") != changes[0].Current() {
		t.Errorf("the changes should be the local branch's two new commits, pick then bump")
	}
	for _, c := range changes {
		if c.Topic != "relkit-patch-charts-2.1" || c.Branch != "aether-2.1" {
			t.Errorf("change %+v: wrong topic or branch", c)
		}
	}
	if msg := f.Git(chartsRepo, "log", "-1", "--format=%B", changes[0].Current()); !strings.Contains(msg, cherry.PickTrailer(fix)) || len(review.ChangeIDs(msg)) != 1 {
		t.Errorf("the pick keeps its -x line and gets one Change-Id:\n%s", msg)
	}
	if g.Refs()["refs/heads/aether-2.1"] != remoteBefore["refs/heads/aether-2.1"] {
		t.Error("the remote branch moved")
	}
	if !strings.Contains(out, "changes 1, 2") {
		t.Errorf("the output should name the changes:\n%s", out)
	}

	// Rerun: everything is up for review already.
	pushes := len(g.Pushes())
	if _, out, err = f.runCharts(Options{Commits: []string{fix}, Review: mode}); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if len(g.Pushes()) != pushes || len(g.Changes()) != 2 || !strings.Contains(out, "already up for review") {
		t.Errorf("the rerun should push nothing:\n%s", out)
	}

	// Submitted: the remote branch is the local one; nothing left to do.
	g.Submit(1)
	g.Submit(2)
	p, out, err := f.runCharts(Options{Commits: []string{fix}, Review: mode})
	if err != nil || !p.Empty() {
		t.Fatalf("after the submit: %v\n%s", err, out)
	}
	onlyReviews(t, g, "aether-2.1", "relkit-patch-charts-2.1")
}

// patch:component -review on Gerrit: the component's lazy branch is
// created directly at the commit the remote has; the pick and the
// release commit go for review into it; the release tag stays local; the
// charts commit goes for review on the charts repo.
func TestComponentReviewOnGerrit(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn("amf", "master", "Fix the NGAP keepalive", map[string][2]string{"keepalive.go": {"", "package main\n\nconst keepalive = 30\n"}})
	point := f.Git("amf", "log", "-1", "--format=%H", "--grep=^Set version to 1.4.1$", "master")
	ga, gc := f.toGerrit("amf"), f.toGerrit(chartsRepo)
	mode := &review.Mode{Options: review.Options{Kind: workspace.ReviewGerrit, URL: ga.URL}, Name: review.Name{Target: "patch:component", Line: line}}

	out, err := f.runComponent("amf", Options{Commits: []string{fix}, Review: mode})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := ga.Refs()["refs/heads/aether-2.1"]; got != point {
		t.Errorf("amf's aether-2.1 on the remote is %q, want it created at %s\n%s", got, point[:7], out)
	}
	amf := ga.Changes()
	if len(amf) != 2 || amf[1].Current() != f.Git("amf", "rev-parse", "aether-2.1") {
		t.Fatalf("amf changes = %+v, want the pick and the release on the local branch\n%s", amf, out)
	}
	if tagged, _ := f.tagOf("amf", "v1.4.2"); tagged != amf[1].Current() {
		t.Errorf("the local tag v1.4.2 is on %s, want the release commit under review %s", tagged, amf[1].Current())
	}
	for ref := range ga.Refs() {
		if strings.HasPrefix(ref, "refs/tags/v1.4.2") {
			t.Error("the tag reached the remote")
		}
	}
	if !strings.Contains(out, "tag v1.4.2 stays local") {
		t.Errorf("the plan should say the tag stays local:\n%s", out)
	}
	charts := gc.Changes()
	if len(charts) != 1 || charts[0].Current() != f.Git(chartsRepo, "rev-parse", "aether-2.1") || charts[0].Topic != "relkit-patch-component-2.1" {
		t.Errorf("charts changes = %+v\n%s", charts, out)
	}
	onlyReviews(t, ga, "aether-2.1", "relkit-patch-component-2.1", "refs/heads/aether-2.1")
	onlyReviews(t, gc, "aether-2.1", "relkit-patch-component-2.1")

	// Rerun: converges. amf's changes are read through review.url and
	// not pushed again; the charts project lives on another fixture
	// server here, so its push is answered "no new changes". Either way
	// no change gets another patch set.
	pa := len(ga.Pushes())
	if out, err = f.runComponent("amf", Options{Commits: []string{fix}, Review: mode}); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if len(ga.Pushes()) != pa || !strings.Contains(out, "no new changes") {
		t.Errorf("the rerun should push nothing to amf and find the charts change there:\n%s", out)
	}
	for _, cs := range [][]reviewtest.Change{ga.Changes(), gc.Changes()} {
		for _, c := range cs {
			if len(c.Patchsets) != 1 {
				t.Errorf("change %+v got another patch set on the rerun", c)
			}
		}
	}
	if len(ga.Changes()) != 2 || len(gc.Changes()) != 1 {
		t.Errorf("the rerun opened changes:\n%s", out)
	}
}

// patch:charts -review on a GitHub-like remote that protects aether-*:
// the pick and bump go to relkit/patch-charts-2.1 and one pull request;
// an expired token stops the run before anything is pushed; a rerun
// updates the same pull request instead of opening another.
func TestChartsReviewOnGitHub(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn(chartsRepo, "master", "roc-api: expose the metrics port", map[string][2]string{
		"roc-api/templates/service.yaml": {"    - port: {{ .Values.service.port }}\n", "    - port: {{ .Values.service.port }}\n    - port: 9090\n"},
	})
	const token = "ghp_patchChartsToken"
	h := reviewtest.NewHub(t, "github", "aether", "charts", f.Git(chartsRepo, "remote", "get-url", "origin"), token)
	h.Protect("aether-*", "master")
	f.Git(chartsRepo, "remote", "set-url", "origin", h.Dir)
	mode := &review.Mode{Options: review.Options{Kind: workspace.ReviewGitHub, URL: h.URL, Token: token}, Name: review.Name{Target: "patch:charts", Line: line}}
	before := h.Refs()

	h.Expire()
	_, out, err := f.runCharts(Options{Commits: []string{fix}, Review: mode})
	if err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN was refused") || strings.Contains(out+err.Error(), token) {
		t.Fatalf("expired token: %v\n%s", err, out)
	}
	if len(h.Pushes()) != 0 || len(h.Pulls()) != 0 {
		t.Fatalf("pushed %v or opened %v with a refused token", h.Pushes(), h.Pulls())
	}

	// A good token: the run goes on from where it stopped (the local
	// branch already holds the picks).
	h2 := reviewtest.NewHub(t, "github", "aether", "charts", h.Dir, token)
	h2.Protect("aether-*", "master")
	f.Git(chartsRepo, "remote", "set-url", "origin", h2.Dir)
	mode.URL = h2.URL
	if _, out, err = f.runCharts(Options{Commits: []string{fix}, Review: mode}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	local := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	refs := h2.Refs()
	if refs["refs/heads/aether-2.1"] != before["refs/heads/aether-2.1"] || refs["refs/heads/relkit/patch-charts-2.1"] != local {
		t.Errorf("remote refs %v: want aether-2.1 untouched and the review branch at %s", refs, local)
	}
	pulls := h2.Pulls()
	if len(pulls) != 1 || pulls[0].Base != "aether-2.1" || pulls[0].Title != "patch:charts 2.1: "+chartsRepo+" into aether-2.1" ||
		!strings.Contains(pulls[0].Body, "roc-api/Chart.yaml:8 version 0.10.1 -> 0.10.2") {
		t.Fatalf("pulls = %+v\n%s", pulls, out)
	}
	if msg := f.Git(chartsRepo, "log", "-1", "--format=%B", local); len(review.ChangeIDs(msg)) != 0 {
		t.Errorf("GitHub commits need no Change-Id:\n%s", msg)
	}

	// Rerun: the same pull request, nothing pushed.
	pushes := len(h2.Pushes())
	if _, out, err = f.runCharts(Options{Commits: []string{fix}, Review: mode}); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if len(h2.Pulls()) != 1 || len(h2.Pushes()) != pushes {
		t.Errorf("the rerun opened a second pull request or pushed:\n%s", out)
	}
}
