package patch

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

// A chart fix on aether-4.1 of a charts repo whose master used 4.1.1 to
// 4.1.3 after the cut and whose chart repository holds 4.1.4: the chart
// gets 4.1.5, the umbrella (4.1.1..4.1.3 used on master too) 4.1.4 with
// its pin following, and the plan says why. Dry run writes nothing; the
// real run pushes to the bare remote; a rerun does nothing.
func TestSDCoreChartVersionsAreFree(t *testing.T) {
	f := newSDCore(t, false)
	fix := f.commitFiles(sdChartsRepo, "master", "5g-control-plane: longer AMF liveness timeout", map[string]string{
		"5g-control-plane/values.yaml": fillVals(strings.Replace(sdCPValues, "livenessTimeout: 10", "livenessTimeout: 30", 1), "amf", "3.1.0", "smf", "1.0.0"),
	})
	before := f.snapshot()
	out, err := f.charts(Options{Commits: []string{fix}, DryRun: true, Push: true})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	for _, re := range []string{
		`5g-control-plane 4\.1\.0 -> 4\.1\.5: not 4\.1\.1: 4\.1\.1\.\.4\.1\.3 used on (origin/)?master; 4\.1\.4 in the chart repository http://127\.0\.0\.1:\d+/charts/index\.yaml`,
		`sd-core 4\.1\.0 -> 4\.1\.4: not 4\.1\.1: 4\.1\.1\.\.4\.1\.3 used on (origin/)?master`,
		`5g-control-plane/Chart.yaml:4 version 4\.1\.0 -> 4\.1\.5`,
		`sd-core/Chart.yaml:7 dependency 5g-control-plane version 4\.1\.0 -> 4\.1\.5`,
		`sd-core/Chart.yaml:4 version 4\.1\.0 -> 4\.1\.4`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the dry run should match %s:\n%s", re, out)
		}
	}
	f.unchanged(t, before, "the dry run")
	if out, err = f.charts(Options{Commits: []string{fix}, Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	remote := f.Git(sdChartsRepo, "ls-remote", "origin", "refs/heads/"+sdBranch)
	if local := f.Git(sdChartsRepo, "rev-parse", sdBranch); !strings.HasPrefix(remote, local) {
		t.Fatalf("origin should have %s at %s, has %q", sdBranch, local, remote)
	}
	if c := f.Show(sdChartsRepo, "origin/"+sdBranch, "5g-control-plane/Chart.yaml"); !strings.Contains(c, "version: 4.1.5\n") {
		t.Errorf("5g-control-plane should be 4.1.5:\n%s", c)
	}
	if c := f.Show(sdChartsRepo, "origin/"+sdBranch, "sd-core/Chart.yaml"); !strings.Contains(c, "version: 4.1.4\n") || !strings.Contains(c, "    version: 4.1.5\n") {
		t.Errorf("sd-core should be 4.1.4 pinning 4.1.5:\n%s", c)
	}
	if msg := f.Git(sdChartsRepo, "log", "-1", "--format=%B", sdBranch); !regexp.MustCompile(`- 5g-control-plane 4\.1\.0 -> 4\.1\.5 \(5g-control-plane/values\.yaml changed; not 4\.1\.1: 4\.1\.1\.\.4\.1\.3 used on (origin/)?master; 4\.1\.4 in the chart repository`).MatchString(msg) {
		t.Errorf("the bump commit should say why 4.1.5:\n%s", msg)
	}
	before = f.snapshot()
	if out, err = f.charts(Options{Commits: []string{fix}, Push: true}); err != nil || !strings.Contains(out, "Nothing to do") {
		t.Errorf("a rerun should do nothing: %v\n%s", err, out)
	}
	f.unchanged(t, before, "the rerun")
}

// A chart repository that cannot be read leaves the free version unknown:
// could not decide (exit 3), nothing written.
func TestSDCoreChartRepositoryDown(t *testing.T) {
	f := newSDCore(t, false)
	f.index.Close()
	fix := f.commitFiles(sdChartsRepo, "master", "5g-control-plane: longer AMF liveness timeout", map[string]string{
		"5g-control-plane/values.yaml": fillVals(strings.Replace(sdCPValues, "livenessTimeout: 10", "livenessTimeout: 30", 1), "amf", "3.1.0", "smf", "1.0.0"),
	})
	before := f.snapshot()
	out, err := f.charts(Options{Commits: []string{fix}})
	if plan.ExitCode(err) != plan.ExitUndecided || !strings.Contains(out, "reading the chart repository") {
		t.Errorf("an unreadable chart repository should be undecided: %v\n%s", err, out)
	}
	f.unchanged(t, before, "an undecided run")
}

// The shape of issue 10.1/10.2: amf 3.1.0 ships; main released v3.1.1 ..
// v3.1.7 after it, each with a feature. A fix main has since before
// v3.1.3 is not "done from an earlier run" (the old plan took over v3.1.3
// and would have shipped features 1-3 unreviewed): the run is refused,
// saying per taken version what it carries and whether it has the fix,
// and offers -use. Dry run and real run refuse alike and write nothing.
func TestSDCoreComponentVersionTakenByMain(t *testing.T) {
	f := newSDCore(t, false)
	before := f.snapshot()
	for _, dry := range []bool{true, false} {
		out, err := f.component("amf", Options{Commits: []string{f.fixAncestor}, DryRun: dry, Push: true})
		if plan.ExitCode(err) != plan.ExitFailed {
			t.Fatalf("dry run %v: expected a refusal, got %v\n%s", dry, err, out)
		}
		if strings.Contains(out, "earlier run") || strings.Contains(out, "create tag") {
			t.Errorf("a tag relkit did not make is never its earlier work:\n%s", out)
		}
		testutil.ContainsAll(t, fmt.Sprintf("dry run %v: the refusal", dry), out,
			"release 4.1 ships amf 3.1.0",
			"lazy branch: aether-4.1 does not exist yet",
			"no free patch version for a release of amf on aether-4.1: release 4.1 ships amf 3.1.0, and every next version from 3.1.1 on is already a tag of amf, none of them relkit's earlier work for these fixes on aether-4.1:",
			"3.1.1: tag v3.1.1 on "+f.amfTags["3.1.1"][:7]+", 2 commit(s) beyond 3.1.0 (newest: \""+f.amfTags["3.1.1"][:7]+" Set version to 3.1.1\", \"",
			" Add feature 1\"); lacks "+f.fixAncestor[:7]+" \"Fix NGAP reset handling\"",
			"3.1.3: tag v3.1.3 on "+f.amfTags["3.1.3"][:7]+", 8 commit(s) beyond 3.1.0",
			"and 5 more); has every fix: "+f.fixAncestor[:7]+" \"Fix NGAP reset handling\"",
			"3.1.7: tag v3.1.7",
			"The next version no tag holds, 3.1.8,",
			"run again with -use=3.1.3 (or a newer one: 3.1.4, 3.1.5, 3.1.6, 3.1.7)",
		)
		f.unchanged(t, before, fmt.Sprintf("dry run %v: a refused run", dry))
	}

	// A fix no release has: none to offer.
	out, err := f.component("amf", Options{Commits: []string{f.fixLate}})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "None of them has every fix: release the fixes on master first") ||
		strings.Contains(out, "-use=3.1") || strings.Count(out, "lacks "+f.fixLate[:7]) != 7 {
		t.Errorf("a fix no taken version has: %v\n%s", err, out)
	}
	// Copies count: a -x pick on main (from a work branch) and the same
	// change made again as another commit.
	out, err = f.component("amf", Options{Commits: []string{f.fixPicked}, From: "hotfix/sctp"})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "3.1.5: tag v3.1.5") ||
		!strings.Contains(out, "has every fix: "+f.fixPicked[:7]+" \"Fix SCTP reconnect\" (cherry-picked as "+f.fixPickedOnMain[:7]+")") ||
		!strings.Contains(out, "run again with -use=3.1.5 (or a newer one: 3.1.6, 3.1.7)") {
		t.Errorf("a -x pick on main carries the fix: %v\n%s", err, out)
	}
	out, err = f.component("amf", Options{Commits: []string{f.fixSame}, From: "backport/guti"})
	if plan.ExitCode(err) != plan.ExitFailed ||
		!strings.Contains(out, "has every fix: "+f.fixSame[:7]+" \"Backport: fix GUTI reallocation\" (same change as "+f.fixSameOnMain[:7]+")") ||
		!strings.Contains(out, "run again with -use=3.1.2 (or a newer one") {
		t.Errorf("the same change (patch-id) carries the fix: %v\n%s", err, out)
	}
	f.unchanged(t, before, "a refused run")
}

// -use=3.1.3 takes the existing release: no component tag, branch or
// commit; the charts of aether-4.1 move to rel-3.1.3 (the component's
// imageTagForm) with a free chart version, and the plan and the charts
// commit list what 3.1.3 carries beyond 3.1.0. A rerun does nothing.
// Every -use that does not fit is refused naming why, writing nothing.
func TestSDCoreComponentUseExistingRelease(t *testing.T) {
	f := newSDCore(t, false)
	before := f.snapshot()
	for _, tc := range []struct{ use, want string }{
		{"3.1.2", "-use=3.1.2: amf 3.1.2 (tag v3.1.2) lacks " + f.fixAncestor[:7] + ` "Fix NGAP reset handling"; the releases after 3.1.0 that have every fix: 3.1.3, 3.1.4, 3.1.5, 3.1.6, 3.1.7`},
		{"3.2.0", "-use=3.2.0 is not a release after 3.1.0 in the 3.1 line"},
		{"3.0.9", "-use=3.0.9 is not a release after 3.1.0 in the 3.1 line"},
		{"3.1.9", "-use=3.1.9: amf has no tag v3.1.9 or 3.1.9; -use names an existing release of amf"},
		{"3.1", "-use=3.1 is not a release version; expected X.Y.Z"},
		{"3.1.4-rc1", "-use=3.1.4-rc1 is not a release version"},
	} {
		out, err := f.component("amf", Options{Commits: []string{f.fixAncestor}, Use: tc.use, Push: true})
		if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, tc.want) {
			t.Errorf("-use=%s should be refused saying %q: %v\n%s", tc.use, tc.want, err, out)
		}
	}
	out, err := f.component("amf", Options{Commits: []string{f.fixLate}, Use: "3.1.7"})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "no release of amf after 3.1.0 has every fix: release them on master first") {
		t.Errorf("-use of a release without the fix, none having it: %v\n%s", err, out)
	}
	f.unchanged(t, before, "a refused -use")

	amfBefore := f.Snapshot("amf") + f.Git("amf", "ls-remote", "origin")
	out, err = f.component("amf", Options{Commits: []string{f.fixAncestor}, Use: "3.1.3", DryRun: true, Push: true})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	testutil.ContainsAll(t, "the -use dry run", out,
		"-use: amf 3.1.3 is the existing release tag v3.1.3 on "+f.amfTags["3.1.3"][:7]+`; it has `+f.fixAncestor[:7]+` "Fix NGAP reset handling". No component tag, branch or commit is made`,
		"amf 3.1.3 carries 8 commit(s) beyond 3.1.0 ("+f.amfTags["3.1.0"][:7]+"), all of which ship with it (newest first):",
		f.fixSameOnMain[:7]+" Fix GUTI reallocation", " Add feature 1",
		"5g-control-plane/values.yaml:4 images.tags.amf omecproject/5gc-amf:rel-3.1.0 -> omecproject/5gc-amf:rel-3.1.3",
		"5g-control-plane/Chart.yaml:4 version 4.1.0 -> 4.1.5",
		"push to origin",
	)
	if strings.Contains(out, "create tag") || strings.Contains(out, "create branch") {
		t.Errorf("-use makes no component tag or branch:\n%s", out)
	}
	f.unchanged(t, before, "the dry run")
	if out, err = f.component("amf", Options{Commits: []string{f.fixAncestor}, Use: "3.1.3", Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if now := f.Snapshot("amf") + f.Git("amf", "ls-remote", "origin"); now != amfBefore {
		t.Errorf("-use must leave the component repo and its remote alone")
	}
	values := f.Show(sdChartsRepo, "origin/"+sdBranch, "5g-control-plane/values.yaml")
	if !strings.Contains(values, "amf: omecproject/5gc-amf:rel-3.1.3\n") || !strings.Contains(values, "smf: omecproject/5gc-smf:rel-1.0.0\n") {
		t.Errorf("origin's aether-4.1 should ship amf rel-3.1.3:\n%s", values)
	}
	msg := f.Git(sdChartsRepo, "log", "-1", "--format=%B", sdBranch)
	testutil.ContainsAll(t, "the charts commit", msg, "Update amf to 3.1.3 on aether-4.1", "Existing release 3.1.3 of amf (tag v3.1.3), taken with patch:component -use",
		"ships the 8 commit(s) it carries beyond 3.1.0", "- "+f.fixAncestor[:7]+" Fix NGAP reset handling", "Relkit-Patch: aether-4.1\nRelkit-Use: amf 3.1.3")
	before = f.snapshot()
	out, err = f.component("amf", Options{Commits: []string{f.fixAncestor}, Use: "3.1.3", Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "release 4.1 already ships amf 3.1.3 (tag v3.1.3), which has the fixes") {
		t.Errorf("a rerun should do nothing: %v\n%s", err, out)
	}
	f.unchanged(t, before, "the rerun")
}

// smf's aether-4.1 was cut by hand: relkit builds on it (it is the
// branch), picks the fix, releases 1.0.1 with its own marks and moves the
// charts (5g-control-plane gets the free 4.1.5); the rerun recognises its
// own release.
func TestSDCoreComponentHandMadeBranch(t *testing.T) {
	f := newSDCore(t, false)
	out, err := f.component("smf", Options{Commits: []string{f.smfFix}, Push: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	testutil.ContainsAll(t, "the run", out, "branch aether-4.1 exists at", "cherry-pick -x of "+f.smfFix[:7], "create tag v1.0.1",
		"5g-control-plane/values.yaml:5 images.tags.smf omecproject/5gc-smf:rel-1.0.0 -> omecproject/5gc-smf:rel-1.0.1",
		"5g-control-plane 4.1.0 -> 4.1.5: not 4.1.1")
	if msg := f.Git("smf", "cat-file", "-p", "refs/tags/v1.0.1"); !strings.Contains(msg, "tagged by relkit") {
		t.Errorf("v1.0.1 should carry relkit's tag message:\n%s", msg)
	}
	if remote := f.Git("smf", "ls-remote", "origin", "refs/tags/v1.0.1"); remote == "" {
		t.Errorf("the tag should be pushed")
	}
	before := f.snapshot()
	out, err = f.component("smf", Options{Commits: []string{f.smfFix}, Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "smf 1.0.1 (tag v1.0.1) has the fixes") {
		t.Errorf("the rerun should find relkit's own release: %v\n%s", err, out)
	}
	f.unchanged(t, before, "the rerun")
}

// Somebody picked the fix onto the hand-made aether-4.1 and released
// 1.0.1 there with their own tag: not relkit's earlier work, so relkit
// does not adopt it silently; -use=1.0.1 ships it (the fix is there as a
// -x pick), with the commits it carries listed.
func TestSDCoreComponentHandMadeTagNotAdopted(t *testing.T) {
	f := newSDCore(t, true)
	before := f.snapshot()
	out, err := f.component("smf", Options{Commits: []string{f.smfFix}, Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out,
		"aether-4.1 is at smf 1.0.1 (tag v1.0.1 on ") || !strings.Contains(out, "which has the fixes, but relkit did not make that release (its tag message is not relkit's): relkit takes over only its own earlier work. To point the charts of aether-4.1 at it, run again with -use=1.0.1") {
		t.Errorf("a hand-made release must not be adopted: %v\n%s", err, out)
	}
	f.unchanged(t, before, "the refusal")
	out, err = f.component("smf", Options{Commits: []string{f.smfFix}, Use: "1.0.1", Push: true})
	if err != nil {
		t.Fatalf("-use=1.0.1: %v\n%s", err, out)
	}
	testutil.ContainsAll(t, "-use=1.0.1", out, "it has "+f.smfFix[:7]+` "Release PFCP sessions on N4 timeout" (cherry-picked as `+f.smfHandPick[:7]+")",
		"smf 1.0.1 carries 2 commit(s) beyond 1.0.0")
	if v := f.Show(sdChartsRepo, "origin/"+sdBranch, "5g-control-plane/values.yaml"); !strings.Contains(v, "smf: omecproject/5gc-smf:rel-1.0.1\n") {
		t.Errorf("the charts should ship smf rel-1.0.1:\n%s", v)
	}
}

// Fixes come from the main branch unless -from names their branch: an
// unmerged work-branch commit and another repository's commit are refused
// (naming where the commit is), writing nothing; -from=<branch> lets the
// work-branch commit through, and must name a branch that has it.
func TestSDCoreCommitsMustComeFromMain(t *testing.T) {
	f := newSDCore(t, false)
	before := f.snapshot()
	out, err := f.component("amf", Options{Commits: []string{f.wip}})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, f.wip[:7]+` "WIP: rework the registration state machine" is not on the main branch master; it is on feature/wip`) ||
		!strings.Contains(out, "merge it into master first, or name the branch it comes from with -from=<branch>") {
		t.Errorf("an unmerged commit must be refused: %v\n%s", err, out)
	}
	// smf's commit, fetched into amf's object store (FETCH_HEAD only).
	f.Git("amf", "fetch", "-q", f.Dir("smf"), "master")
	out, err = f.component("amf", Options{Commits: []string{f.smfFix}})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "no branch or tag of amf has it (a commit of another repository?)") {
		t.Errorf("another repository's commit must be refused: %v\n%s", err, out)
	}
	out, err = f.component("amf", Options{Commits: []string{f.wip}, From: "feature/nope"})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "-from=feature/nope names no branch of amf") {
		t.Errorf("-from must name a branch: %v\n%s", err, out)
	}
	out, err = f.component("amf", Options{Commits: []string{f.fixAncestor}, From: "feature/wip"})
	if plan.ExitCode(err) != plan.ExitFailed || strings.Contains(out, "is not on branch feature/wip") {
		t.Errorf("feature/wip contains master's fix, so only the taken versions refuse: %v\n%s", err, out)
	}
	out, err = f.component("amf", Options{Commits: []string{f.fixPicked}, From: "backport/guti"})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, `is not on branch backport/guti (named by -from); it is on hotfix/sctp`) {
		t.Errorf("-from must hold the commit: %v\n%s", err, out)
	}
	if _, err := PlanCharts(f.ctx, f.WS, Options{Line: sdLine, Commits: []string{"master"}, From: "bad..name"}); err == nil || !strings.Contains(err.Error(), `-from="bad..name" is not a branch name`) {
		t.Errorf("a malformed -from is a usage error, got %v", err)
	}
	// The charts: a work-branch fix, refused, then taken with -from.
	f.repos[sdChartsRepo].Checkout("fix/liveness", "master")
	f.repos[sdChartsRepo].Checkout("master", "")
	fix := f.commitFiles(sdChartsRepo, "fix/liveness", "5g-control-plane: longer AMF liveness timeout", map[string]string{
		"5g-control-plane/values.yaml": fillVals(strings.Replace(sdCPValues, "livenessTimeout: 10", "livenessTimeout: 30", 1), "amf", "3.1.0", "smf", "1.0.0"),
	})
	before = f.snapshot()
	out, err = f.charts(Options{Commits: []string{fix}, Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "is not on the main branch master; it is on fix/liveness") {
		t.Errorf("an unmerged chart fix must be refused: %v\n%s", err, out)
	}
	f.unchanged(t, before, "a refusal")
	if out, err = f.charts(Options{Commits: []string{fix}, From: "fix/liveness"}); err != nil || !strings.Contains(out, "cherry-pick -x of "+fix[:7]) {
		t.Errorf("-from=fix/liveness should take the fix: %v\n%s", err, out)
	}
}

// A run that stopped after tagging (the branch not yet created) is
// finished by the next run, which takes over the tag it made; the same
// shape made by hand (a tag relkit did not write, on a commit with the
// fix after the branch point) is refused as a taken version.
func TestComponentEarlierRunTagOnlyWhenRelkits(t *testing.T) {
	for _, byHand := range []bool{false, true} {
		f := newFixture(t)
		fix := f.CommitOn("amf", "master", "Fix the NGAP keepalive", map[string][2]string{"keepalive.go": {"", "package main\n"}})
		p, err := PlanComponent(f.ctx, f.WS, Options{Line: line, Component: "amf", Commits: []string{fix}})
		if err != nil {
			t.Fatal(err)
		}
		var tag plan.Step
		for _, r := range p.Repos {
			for _, s := range r.Steps {
				if s.Kind == plan.CreateTag {
					tag = s
				}
			}
		}
		if tag.Commit == "" {
			t.Fatalf("the plan has no tag step:\n%+v", p)
		}
		msg := tag.Message
		if byHand {
			msg = "AMF 1.4.2, released by hand"
		}
		f.Git("amf", "tag", "-a", "-m", msg, strings.TrimPrefix(tag.Ref, "refs/tags/"), tag.Commit)
		out, err := f.runComponent("amf", Options{Commits: []string{fix}})
		switch {
		case !byHand && (err != nil || !strings.Contains(out, "tag v1.4.2 from an earlier run has the fixes on top of") || strings.Contains(out, "create tag")):
			t.Errorf("relkit's own tag should be taken over: %v\n%s", err, out)
		case !byHand && f.Git("amf", "rev-parse", "aether-2.1") != tag.Commit:
			t.Errorf("the branch should end at the tagged release commit")
		case byHand && (plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "1.4.2: tag v1.4.2 on "+tag.Commit[:7]) ||
			!strings.Contains(out, "run again with -use=1.4.2")):
			t.Errorf("a hand-made tag is not relkit's earlier work: %v\n%s", err, out)
		}
	}
}

// The component's imageTagForm alone (no images.releaseTagForms) makes
// rel-1.0.0 the shipped 1.0.0, and the new tag is written in that form.
func TestSDCoreImageTagFormReadsAndWrites(t *testing.T) {
	f := newSDCore(t, false)
	f.config(strings.Replace(f.cfg, "images:\n  releaseTagForms: [\"rel-{version}\"]\n", "", 1))
	chartsOnly := func(ctx context.Context, ws *workspace.Config, base string) *report.Report {
		return checks.ChartsAgainst(ctx, ws, base)
	}
	out, err := f.component("smf", Options{Commits: []string{f.smfFix}, DryRun: true, Checks: chartsOnly})
	if err != nil || !strings.Contains(out, "release 4.1 ships smf 1.0.0 (registry.aetherproject.org/omecproject/5gc-smf:rel-1.0.0") ||
		!strings.Contains(out, "images.tags.smf omecproject/5gc-smf:rel-1.0.0 -> omecproject/5gc-smf:rel-1.0.1") {
		t.Errorf("rel-{version} should be read and written through imageTagForm: %v\n%s", err, out)
	}
	// Neither imageTagForm nor releaseTagForms knows rel-: no release.
	f.config(strings.Replace(f.cfg, "    imageTagForm: \"rel-{version}\"\n    images: [registry.aetherproject.org/omecproject/5gc-smf]", "    images: [registry.aetherproject.org/omecproject/5gc-smf]", 1))
	out, err = f.component("smf", Options{Commits: []string{f.smfFix}, DryRun: true, Checks: chartsOnly})
	if err == nil || !strings.Contains(out, "registry.aetherproject.org/omecproject/5gc-smf:rel-1.0.0 (chart 5g-control-plane) is not a release tag") {
		t.Errorf("without imageTagForm or releaseTagForms, rel-1.0.0 is no release: %v\n%s", err, out)
	}
	// The chart uses rel- (a release form), the component pushes
	// {version}: the new tag takes the component's form, and the plan
	// says so.
	f.config(strings.Replace(f.cfg, "components:", "images:\n  releaseTagForms: [\"rel-{version}\"]\ncomponents:", 1))
	out, err = f.component("smf", Options{Commits: []string{f.smfFix}, DryRun: true, Checks: chartsOnly})
	if err != nil || !strings.Contains(out, "images.tags.smf omecproject/5gc-smf:rel-1.0.0 -> omecproject/5gc-smf:1.0.1") ||
		!strings.Contains(out, "uses the tag form rel-{version}; the new tag 1.0.1 follows imageTagForm {version} of smf") {
		t.Errorf("the new tag should follow imageTagForm: %v\n%s", err, out)
	}
}

// A fix the shipped release already has: nothing to release, so no lazy
// branch is created (and nothing pushed), even with -push.
func TestComponentFixAlreadyShipped(t *testing.T) {
	f := newFixture(t)
	fix := f.Git("amf", "log", "-1", "--format=%H", "--grep=^Retry AUSF requests on 503$", "master")
	before := f.Snapshot("amf") + f.Git("amf", "ls-remote", "origin")
	out, err := f.runComponent("amf", Options{Commits: []string{fix}, Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "amf 1.4.1 (tag v1.4.1) has the fixes") ||
		!strings.Contains(out, "aether-2.1 is not created") {
		t.Errorf("the shipped release has the fix: %v\n%s", err, out)
	}
	if after := f.Snapshot("amf") + f.Git("amf", "ls-remote", "origin"); after != before {
		t.Errorf("nothing should be written")
	}
}
