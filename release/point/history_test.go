package point

import (
	"strings"
	"testing"

	"github.com/relkit/relkit/release/patch"
	"github.com/relkit/relkit/release/plan"
)

// amf 1.4.2 was released upstream on a maintenance branch with a feature
// besides the fix; patch:component -use=1.4.2 moves the charts to it, and
// the next point release's notes list every commit it carries and say it
// shipped as it was.
func TestPointNotesListUseRelease(t *testing.T) {
	f := newFixture(t)
	f.Git("amf", "branch", "release-1.4", "v1.4.1^{commit}")
	f.CommitOn("amf", "release-1.4", "Add AMF metrics endpoint", map[string][2]string{"metrics.go": {"", "package main\n"}})
	fix := f.CommitOn("amf", "release-1.4", "Fix the NGAP keepalive", map[string][2]string{"keepalive.go": {"", "package main\n"}})
	f.CommitOn("amf", "release-1.4", "Set version to 1.4.2", map[string][2]string{"VERSION": {"1.4.1", "1.4.2"}})
	f.Git("amf", "tag", "-a", "-m", "AMF 1.4.2", "v1.4.2", "release-1.4")
	var out strings.Builder
	if err := patch.RunComponent(f.ctx, f.WS, patch.Options{Line: line, Component: "amf", Commits: []string{fix}, From: "release-1.4", Use: "1.4.2", Push: true}, &out, plan.Text); err != nil {
		t.Fatalf("patch:component -use: %v\n%s", err, out.String())
	}
	f.publish("amf", "1.4.2")
	if o, err := f.point(Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	notes := f.Show(docsRepo, "aether-2.1", "release-notes/2.1.0.md")
	want := "- **amf** 1.4.0 → 1.4.2 (an existing release, shipped as it is: every change listed comes with it)\n  - Retry AUSF requests on 503\n  - Add AMF metrics endpoint\n  - Fix the NGAP keepalive\n"
	if !strings.Contains(notes, want) {
		t.Errorf("the notes should list %q:\n%s", want, notes)
	}
	if strings.Contains(notes, "Update amf") {
		t.Errorf("relkit's charts commit is not a fix:\n%s", notes)
	}
}

// A release commit and tag made by hand right after the branch's tip (the
// shape an interrupted relkit run leaves, but not relkit's) is not taken
// over: the run is refused and writes nothing.
func TestPointHandTagAfterTipNotAdopted(t *testing.T) {
	f := newFixture(t)
	tip := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	f.CommitOn(chartsRepo, "aether-2.1", "Release 2.1.0", map[string][2]string{"VERSION": {"2.1.0-dev", "2.1.0"}})
	rel := f.Git(chartsRepo, "rev-parse", "aether-2.1")
	f.Git(chartsRepo, "tag", "-a", "-m", "2.1.0 by hand", "2.1.0", rel)
	f.Git(chartsRepo, "update-ref", "refs/heads/aether-2.1", tip, rel)
	before := f.Snapshot(chartsRepo) + f.Snapshot(docsRepo)
	out, err := f.point(Options{Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(out, "tag 2.1.0 already exists on "+rel[:7]+", which is not a release of aether-2.1 that relkit made") {
		t.Errorf("a hand-made tag must not be taken over: %v\n%s", err, out)
	}
	if after := f.Snapshot(chartsRepo) + f.Snapshot(docsRepo); after != before {
		t.Errorf("the refusal changed a repo")
	}
}
