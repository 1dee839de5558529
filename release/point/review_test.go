package point

import (
	"strings"
	"testing"

	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

// release:point -review on Gerrit: the charts repo's release commit and
// its move-on commit are two changes, the second made on the first; the
// docs commit is a change of the docs project; no tag and no branch
// reaches a remote; the local tags name the commits under review. A rerun
// opens nothing new.
func TestPointReviewOnGerrit(t *testing.T) {
	f := newFixture(t)
	f.patchBoth()
	gerrit := map[string]*reviewtest.Gerrit{}
	for _, name := range []string{chartsRepo, docsRepo} {
		origin := f.Git(name, "remote", "get-url", "origin")
		gerrit[name] = reviewtest.NewGerrit(t, "aether/"+name, origin, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
		f.Git(name, "remote", "set-url", "origin", gerrit[name].Dir)
	}
	gc, gd := gerrit[chartsRepo], gerrit[docsRepo]
	before := map[string]map[string]string{chartsRepo: gc.Refs(), docsRepo: gd.Refs()}
	mode := &review.Mode{Options: review.Options{Kind: workspace.ReviewGerrit, URL: gc.URL}, Name: review.Name{Target: "release:point", Line: line}}

	out, err := f.point(Options{Review: mode})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	charts := gc.Changes()
	if len(charts) != 2 {
		t.Fatalf("charts changes = %+v, want the release and the move-on\n%s", charts, out)
	}
	rel, next := charts[0].Current(), charts[1].Current()
	if v := f.Show(chartsRepo, rel, "VERSION"); v != "2.1.0\n" {
		t.Errorf("change 1 has VERSION %q, want the release 2.1.0", v)
	}
	if v := f.Show(chartsRepo, next, "VERSION"); v != "2.1.1-dev\n" {
		t.Errorf("change 2 has VERSION %q, want 2.1.1-dev", v)
	}
	if parent := f.Git(chartsRepo, "rev-parse", next+"^"); parent != rel {
		t.Errorf("the move-on change is made on %s, not on the release change %s", parent[:7], rel[:7])
	}
	if tagged := f.Git(chartsRepo, "rev-parse", "2.1.0^{commit}"); tagged != rel {
		t.Errorf("the local tag 2.1.0 is on %s, want the release commit under review %s", tagged[:7], rel[:7])
	}
	docs := gd.Changes()
	if len(docs) != 1 || docs[0].Current() != f.Git(docsRepo, "rev-parse", "aether-2.1") {
		t.Errorf("docs changes = %+v, want the local branch's release commit\n%s", docs, out)
	}
	for name, g := range gerrit {
		for ref, h := range g.Refs() {
			if !strings.HasPrefix(ref, "refs/changes/") && before[name][ref] != h {
				t.Errorf("%s: %s on the remote moved to %s; review mode pushes no branch or tag", name, ref, h)
			}
		}
		for _, p := range g.Pushes() {
			if f := strings.Fields(p); len(f) != 3 || f[2] != "refs/for/aether-2.1%topic=relkit-release-point-2.1" {
				t.Errorf("%s: push %q: only refs/for/aether-2.1 with the topic was expected", name, p)
			}
		}
	}
	testutil.ContainsAll(t, "the output", out, "tag 2.1.0 stays local", "release:point 2.1 -review", "push 2 commits for review to refs/for/aether-2.1")

	// Rerun: the same changes, no new patch set.
	if out, err = f.point(Options{Review: mode}); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	for _, g := range gerrit {
		for _, c := range g.Changes() {
			if len(c.Patchsets) != 1 {
				t.Errorf("change %+v got another patch set on the rerun:\n%s", c, out)
			}
		}
	}
	if len(gc.Changes()) != 2 || len(gd.Changes()) != 1 {
		t.Errorf("the rerun opened changes:\n%s", out)
	}
}
