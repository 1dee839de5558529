package patch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
)

func (f *fixture) runComponent(name string, opt Options) (string, error) {
	f.t.Helper()
	opt.Line, opt.Component = line, name
	var out strings.Builder
	err := RunComponent(f.ctx, f.WS, opt, &out, plan.Text)
	return out.String(), err
}

// tagOf returns the commit tag names in repo, and whether it is annotated.
func (f *fixture) tagOf(repo, tag string) (string, bool) {
	f.t.Helper()
	typ := f.Git(repo, "cat-file", "-t", "refs/tags/"+tag)
	return f.Git(repo, "rev-parse", "refs/tags/"+tag+"^{commit}"), typ == "tag"
}

// amf: no aether-2.1 branch yet, so it is created at the commit that set
// VERSION to 1.4.1 (the version the charts ship through a split prefix,
// images.repository + images.tags.amf); the fix is picked, 1.4.2 is
// committed and tagged; the chart's tag line and version follow. The dry
// run shows all four steps and writes nothing; a second run does nothing.
func TestComponentLazyBranchSplitPrefix(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn("amf", "master", "Fix the NGAP keepalive", map[string][2]string{"keepalive.go": {"", "package main\n\nconst keepalive = 30\n"}})
	point := f.Git("amf", "log", "-1", "--format=%H", "--grep=^Set version to 1.4.1$", "master")
	chartsBefore, amfBefore := f.Snapshot(chartsRepo), f.Snapshot("amf")
	valuesBefore := f.Show(chartsRepo, "aether-2.1", "omec/omec-control-plane/values.yaml")

	out, err := f.runComponent("amf", Options{Commits: []string{fix}, DryRun: true, Push: true})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	testutil.ContainsAll(t, "the dry run", out,
		"release 2.1 ships amf 1.4.1", "images.tags.amf",
		"lazy branch: aether-2.1 does not exist yet; it starts at "+point[:7],
		"cherry-pick -x of "+fix[:7], "create tag v1.4.2", "create branch aether-2.1",
		"omec/omec-control-plane/values.yaml:10 images.tags.amf omecproject/5gc-amf:1.4.1 -> omecproject/5gc-amf:1.4.2",
		"omec/omec-control-plane/Chart.yaml:9 version 0.14.1 -> 0.14.2",
		"tag v1.4.2 of amf is created by this plan",
		"push to origin",
	)
	if chartsBefore != f.Snapshot(chartsRepo) || amfBefore != f.Snapshot("amf") {
		t.Fatalf("the dry run changed a repo")
	}

	if out, err = f.runComponent("amf", Options{Commits: []string{fix}, Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The component: branch point, pick, release commit, annotated tag.
	chain := strings.Fields(f.Git("amf", "rev-list", "--first-parent", "-3", "aether-2.1"))
	tagged, annotated := f.tagOf("amf", "v1.4.2")
	if tagged != chain[0] || !annotated {
		t.Errorf("v1.4.2 should be an annotated tag on the branch's tip %s, is on %s (annotated %v)", chain[0][:7], tagged[:7], annotated)
	}
	if v := f.Show("amf", "aether-2.1", "VERSION"); v != "1.4.2\n" {
		t.Errorf("VERSION on aether-2.1 is %q, expected 1.4.2", v)
	}
	if msg := f.Git("amf", "log", "-1", "--format=%B", chain[1]); !strings.Contains(msg, cherry.PickTrailer(fix)) {
		t.Errorf("the pick lacks the -x trailer:\n%s", msg)
	}
	if parent := f.Git("amf", "rev-parse", chain[1]+"^"); parent != point {
		t.Errorf("the branch should start at %s (VERSION set to 1.4.1), starts at %s", point[:7], parent[:7])
	}
	// The charts: only the tag line and the version line changed.
	values := f.Show(chartsRepo, "aether-2.1", "omec/omec-control-plane/values.yaml")
	if got := changedLines(t, valuesBefore, values); strings.Join(got, "|") != "    amf: omecproject/5gc-amf:1.4.2" {
		t.Errorf("values.yaml should change only the amf tag, changed %q", got)
	}
	// Everything is on the remotes.
	for repo, refs := range map[string][]string{"amf": {"refs/heads/aether-2.1", "refs/tags/v1.4.2"}, chartsRepo: {"refs/heads/aether-2.1"}} {
		for _, ref := range refs {
			local := f.Git(repo, "rev-parse", ref)
			if remote := f.Git(repo, "ls-remote", "origin", ref); !strings.HasPrefix(remote, local) {
				t.Errorf("%s: origin has %q for %s, expected %s", repo, remote, ref, local[:7])
			}
		}
	}
	// Again: nothing to do.
	chartsBefore, amfBefore = f.Snapshot(chartsRepo), f.Snapshot("amf")
	out, err = f.runComponent("amf", Options{Commits: []string{fix}, Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "amf 1.4.2 (tag v1.4.2) has the fixes") {
		t.Errorf("the second run should do nothing: %v\n%s", err, out)
	}
	if chartsBefore != f.Snapshot(chartsRepo) || amfBefore != f.Snapshot("amf") {
		t.Errorf("the second run changed a repo")
	}

	// A second fix: the branch exists now, the next patch is 1.4.3.
	fix2 := f.CommitOn("amf", "master", "Fix the T3502 timer", map[string][2]string{"timers.go": {"54 * 60", "12 * 60"}})
	if out, err = f.runComponent("amf", Options{Commits: []string{fix2}}); err != nil {
		t.Fatalf("second fix: %v\n%s", err, out)
	}
	if !strings.Contains(out, "branch aether-2.1 exists at "+chain[0][:7]) {
		t.Errorf("the plan should use the existing branch:\n%s", out)
	}
	if v := f.Show("amf", "aether-2.1", "VERSION"); v != "1.4.3\n" {
		t.Errorf("VERSION on aether-2.1 is %q, expected 1.4.3", v)
	}
	if tagged, _ := f.tagOf("amf", "v1.4.3"); tagged != f.Git("amf", "rev-parse", "aether-2.1") {
		t.Errorf("v1.4.3 should tag the branch's tip")
	}
	if v := f.Show(chartsRepo, "aether-2.1", "omec/omec-control-plane/values.yaml"); !strings.Contains(v, "amf: omecproject/5gc-amf:1.4.3\n") {
		t.Errorf("the chart should use 1.4.3")
	}
	if v := f.Show(chartsRepo, "aether-2.1", "omec/omec-control-plane/Chart.yaml"); !strings.Contains(v, "version: 0.14.3 #") {
		t.Errorf("the chart should be at 0.14.3:\n%s", v)
	}
}

// upf: the charts set full references (images.tags.bess and
// images.tags.pfcpiface, both upf images); 2.1.1 was released on the
// aether-2.0 branch, never on master, so the branch starts where tag
// 2.1.1's history set it.
func TestComponentFullReferencesAndReleaseFromAnotherBranch(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn("upf", "master", "Drop malformed PFCP heartbeats", map[string][2]string{"pfcpiface/heartbeat.go": {"", "package main\n"}})
	before := f.Show(chartsRepo, "aether-2.1", "omec/omec-user-plane/values.yaml")
	out, err := f.runComponent("upf", Options{Commits: []string{fix}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "in the history of tag 2.1.1 (master never had 2.1.1)") {
		t.Errorf("the branch point should come from tag 2.1.1:\n%s", out)
	}
	rel := f.Git("upf", "rev-parse", "2.1.1^{commit}")
	if !strings.Contains(f.Git("upf", "rev-list", "aether-2.1"), rel) {
		t.Errorf("upf aether-2.1 should contain the 2.1.1 release commit")
	}
	after := f.Show(chartsRepo, "aether-2.1", "omec/omec-user-plane/values.yaml")
	got := changedLines(t, before, after)
	want := "    bess: ghcr.io/omec-project/upf:2.1.2|    pfcpiface: ghcr.io/omec-project/upf-pfcpiface:2.1.2"
	if strings.Join(got, "|") != want {
		t.Errorf("values.yaml changes: got %q, expected %q", got, want)
	}
	if v := f.Show(chartsRepo, "aether-2.1", "omec/omec-user-plane/Chart.yaml"); !strings.Contains(v, `version: "0.12.2"`) {
		t.Errorf("the chart version should be \"0.12.2\" (quotes kept):\n%s", v)
	}
}

// roc-api: the chart's image.tag is empty and appVersion supplies the tag;
// then, with image.tag set on the branch, image.tag is the value edited.
// Both keep the umbrella's pin following.
func TestComponentAppVersionAndImageTag(t *testing.T) {
	f := newFixture(t)
	fix := f.CommitOn("roc-api", "master", "Validate slice names", map[string][2]string{"pkg/validate.go": {"", "package pkg\n"}})
	out, err := f.runComponent("roc-api", Options{Commits: []string{fix}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	chart := f.Show(chartsRepo, "aether-2.1", "roc-api/Chart.yaml")
	if !strings.Contains(chart, "appVersion: \"1.2.1\" # the image tag when image.tag is empty") || !strings.Contains(chart, "\nversion: 0.10.2\n") {
		t.Errorf("appVersion should be \"1.2.1\" (comment kept) and version 0.10.2:\n%s", chart)
	}
	if u := f.Show(chartsRepo, "aether-2.1", "aether-roc-umbrella/Chart.yaml"); !strings.Contains(u, "version: 0.10.2\n    repository: file://../roc-api") {
		t.Errorf("the umbrella pin should follow:\n%s", u)
	}

	// image.tag set on the branch: that value is the one edited.
	f.CommitOn(chartsRepo, "aether-2.1", "roc-api: pin the image tag", map[string][2]string{
		"roc-api/values.yaml": {"tag: \"\"", "tag: \"1.2.1\""},
		"roc-api/Chart.yaml":  {"version: 0.10.2", "version: 0.10.3"},
	})
	fix2 := f.CommitOn("roc-api", "master", "Fix the QoS path", map[string][2]string{"pkg/qos.go": {"slice/{slice}/qos", "slices/{slice}/qos"}})
	before := f.Show(chartsRepo, "aether-2.1", "roc-api/values.yaml")
	if out, err = f.runComponent("roc-api", Options{Commits: []string{fix2}}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "roc-api/values.yaml:7 image.tag 1.2.1 -> 1.2.2") {
		t.Errorf("the plan should edit image.tag:\n%s", out)
	}
	got := changedLines(t, before, f.Show(chartsRepo, "aether-2.1", "roc-api/values.yaml"))
	if strings.Join(got, "|") != `  tag: "1.2.2"` {
		t.Errorf("values.yaml should change only image.tag, changed %q", got)
	}
}

// A run whose charts push is rejected (after the component was pushed)
// is completed by running it again.
func TestComponentRerunCompletesAfterFailedPush(t *testing.T) {
	f := newFixture(t)
	hook := filepath.Join(f.W.Remotes[chartsRepo], "hooks", "pre-receive")
	if err := os.MkdirAll(filepath.Dir(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'charts are frozen' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fix := f.CommitOn("smf", "master", "Release PFCP sessions on N4 timeout", map[string][2]string{"pfcp/timeout.go": {"", "package pfcp\n"}})
	out, err := f.runComponent("smf", Options{Commits: []string{fix}, Push: true})
	if err == nil || !strings.Contains(err.Error(), "charts are frozen") {
		t.Fatalf("expected the charts push to fail, got %v\n%s", err, out)
	}
	if remote := f.Git("smf", "ls-remote", "origin", "refs/tags/v1.3.2"); remote == "" {
		t.Errorf("the component push should have gone through")
	}
	os.Remove(hook)
	out, err = f.runComponent("smf", Options{Commits: []string{fix}, Push: true})
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if strings.Count(out, "create ") != 0 || !strings.Contains(out, "push to origin") {
		t.Errorf("the rerun should only push the charts:\n%s", out)
	}
	local := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	if remote := f.Git(chartsRepo, "ls-remote", "origin", "refs/heads/aether-2.1"); !strings.HasPrefix(remote, local) {
		t.Errorf("origin should have aether-2.1 at %s, has %q", local[:7], remote)
	}
	if v := f.Show(chartsRepo, "aether-2.1", "omec/omec-control-plane/values.yaml"); !strings.Contains(v, "smf: omecproject/5gc-smf:1.3.2\n") {
		t.Errorf("the chart should use smf 1.3.2")
	}
	out, err = f.runComponent("smf", Options{Commits: []string{fix}, Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") {
		t.Errorf("a third run should do nothing: %v\n%s", err, out)
	}
}

// An unknown component, and a fix that conflicts on the component branch.
func TestComponentRefusals(t *testing.T) {
	f := newFixture(t)
	if _, err := PlanComponent(f.ctx, f.WS, Options{Line: line, Component: "nope", Commits: []string{"master"}}); err == nil ||
		!strings.Contains(err.Error(), "amf, smf, upf, roc-api") {
		t.Errorf("an unknown component should list the known ones, got %v", err)
	}
	f.CommitOn("amf", "master", "Reword the README", map[string][2]string{"README.md": {"NGAP listens", "The NGAP server listens"}})
	fix := f.CommitOn("amf", "master", "Document the NGAP port range", map[string][2]string{"README.md": {"port 38412.", "ports 38412-38414."}})
	before := f.Snapshot("amf")
	out, err := f.runComponent("amf", Options{Commits: []string{fix}})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "conflicts in: README.md") ||
		!strings.Contains(out, "git switch -c aether-2.1 ") {
		t.Errorf("a conflicting fix should be refused with the commands to finish by hand: %v\n%s", err, out)
	}
	if before != f.Snapshot("amf") {
		t.Errorf("a refused run changed the component repo")
	}
}
