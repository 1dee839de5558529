package branch

import (
	"strings"
	"testing"

	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/workspace"
)

// release:branch -review on Gerrit-like remotes: each new release branch
// is created directly at main's head (a commit the remote has); each bump
// commit on main goes for review as a change of the run's topic, and main
// does not move on any remote. A rerun opens nothing new.
func TestCutReviewOnGerrit(t *testing.T) {
	fx := buildFixture(t, t.TempDir(), fixtureOpts{components: 2})
	gerrit := map[string]*reviewtest.Gerrit{}
	before := map[string]string{}
	for _, r := range fx.ws.Repos() {
		g := reviewtest.NewGerrit(t, "aether/"+r.Name, fx.remotes[r.Name])
		fx.git(t, r.Dir, "remote", "set-url", "origin", g.Dir)
		gerrit[r.Name] = g
		before[r.Name] = fx.rev(r.Name, "refs/heads/master")
	}
	// No review.url: the changes are pushed without reading them first.
	mode := &review.Mode{Options: review.Options{Kind: workspace.ReviewGerrit}, Name: review.Name{Target: "release:branch", Line: line}}
	out := mustRun(t, fx, Options{Review: mode})
	if !strings.Contains(out, "release:branch 2.1 -review") {
		t.Errorf("the plan should say -review:\n%s", out)
	}
	for name, g := range gerrit {
		refs := g.Refs()
		if refs["refs/heads/master"] != before[name] {
			t.Errorf("%s: master moved on the remote", name)
		}
		branched := name == "charts" || name == "docs" || name == "system-tests"
		if got := refs["refs/heads/aether-2.1"]; branched && got != before[name] || !branched && got != "" {
			t.Errorf("%s: remote aether-2.1 is %q (branched: %v), want main's head %s", name, got, branched, before[name][:7])
		}
		changes := g.Changes()
		want := 1
		if name == "system-tests" {
			want = 0 // branched only, no bump
		}
		if len(changes) != want {
			t.Errorf("%s: %d changes, want %d\n%s", name, len(changes), want, out)
			continue
		}
		if want == 1 {
			c := changes[0]
			if c.Branch != "master" || c.Topic != "relkit-release-branch-2.1" || c.Current() != fx.rev(name, "refs/heads/master") {
				t.Errorf("%s: change %+v, want the local bump commit on master", name, c)
			}
		}
		for _, p := range g.Pushes() {
			f := strings.Fields(p)
			if len(f) != 3 || f[2] != "refs/for/master%topic=relkit-release-branch-2.1" && f[2] != "refs/heads/aether-2.1" {
				t.Errorf("%s: push %q was not expected", name, p)
			}
		}
	}

	// Rerun: Gerrit has every change ("no new changes").
	out = mustRun(t, fx, Options{Review: mode})
	for name, g := range gerrit {
		for _, c := range g.Changes() {
			if len(c.Patchsets) != 1 {
				t.Errorf("%s: change %d got another patch set on the rerun:\n%s", name, c.Number, out)
			}
		}
	}
}
