package review

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/workspace"
)

// gerritSetup is a work repo on aether-2.1 whose origin is a Gerrit-like
// remote holding master and aether-2.1.
type gerritSetup struct {
	w    *reviewtest.Work
	g    *reviewtest.Gerrit
	base string // aether-2.1 on the remote
	opt  Options
}

func newGerritSetup(t *testing.T) *gerritSetup {
	t.Helper()
	w := reviewtest.NewWork(t, "aether-2.1", map[string]string{"VERSION": "2.1.2\n", "charts/a/Chart.yaml": "version: 1.0.2\n"})
	reviewtest.Git(t, w.Dir, "branch", "master")
	g := reviewtest.NewGerrit(t, "aether/charts", w.Dir)
	reviewtest.Git(t, w.Dir, "remote", "add", "origin", g.Dir)
	return &gerritSetup{w: w, g: g, base: w.Rev("HEAD"), opt: Options{Kind: workspace.ReviewGerrit, URL: g.URL}}
}

var pointRun = Name{Target: "release:point", Line: "2.1"}

// reviewMsg is a commit message carrying the Change-Id of step.
func reviewMsg(subject, step string) string {
	id := ChangeID(Key{Target: pointRun.Target, Line: pointRun.Line, Repo: "charts", Branch: "aether-2.1", Step: step})
	return SetChangeID(subject+"\n\nMade by relkit.\n", id)
}

func (s *gerritSetup) request(count int) Request {
	return NewRequest(workspace.ReviewGerrit, pointRun, "aether-2.1", s.base, "HEAD", count, "", "")
}

// rewind puts the work branch back on the base, as a rerun starts.
func (s *gerritSetup) rewind(t *testing.T) {
	reviewtest.Git(t, s.w.Dir, "reset", "-q", "--hard", s.base)
}

// onlyForPushes fails unless every push the remote saw went to refs/for/.
func onlyForPushes(t *testing.T, g *reviewtest.Gerrit) {
	t.Helper()
	for _, p := range g.Pushes() {
		if f := strings.Fields(p); len(f) != 3 || !strings.HasPrefix(f[2], "refs/for/aether-2.1%topic=relkit-release-point-2.1") {
			t.Errorf("push of %q: only refs/for/aether-2.1 with the topic was expected", p)
		}
	}
}

func TestGerritFreshReview(t *testing.T) {
	ctx := context.Background()
	s := newGerritSetup(t)
	before := s.g.Refs()
	c := s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	reviewtest.Git(t, s.w.Dir, "tag", "2.1.3") // a local tag must stay local

	res, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1))
	if err != nil {
		t.Fatal(err)
	}
	changes := s.g.Changes()
	if len(changes) != 1 {
		t.Fatalf("changes = %+v, want 1", changes)
	}
	ch := changes[0]
	if ch.Branch != "aether-2.1" || ch.Topic != "relkit-release-point-2.1" || ch.Current() != c || len(ch.Patchsets) != 1 {
		t.Errorf("change = %+v; want one patch set %s on aether-2.1, topic relkit-release-point-2.1", ch, c)
	}
	if want := ChangeIDs(reviewMsg("x", "release 2.1.3"))[0]; ch.ChangeID != want {
		t.Errorf("Change-Id = %s, want %s", ch.ChangeID, want)
	}
	if res.Pushed != 1 || res.Reused != 0 || res.Tip != c || len(res.Reviews) != 1 || res.Reviews[0].Number != ch.Number {
		t.Errorf("result = %+v", res)
	}
	if !strings.Contains(res.Summary, "changes 1") || !strings.Contains(res.Reviews[0].URL, "/c/aether/charts/+/1") {
		t.Errorf("summary %q, review %+v: want the change's number and address", res.Summary, res.Reviews)
	}
	after := s.g.Refs()
	for ref, h := range after {
		if strings.HasPrefix(ref, "refs/changes/") {
			continue
		}
		if before[ref] != h {
			t.Errorf("%s on the remote is %s, was %s: review mode must not move it", ref, h, before[ref])
		}
	}
	if after["refs/tags/2.1.3"] != "" {
		t.Error("the tag reached the remote")
	}
	onlyForPushes(t, s.g)
}

func TestGerritRerunUpdatesTheSameChange(t *testing.T) {
	ctx := context.Background()
	s := newGerritSetup(t)
	s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	if _, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1)); err != nil {
		t.Fatal(err)
	}
	first := s.g.Changes()[0].Current()

	// A rerun makes the same commit again (another date, another hash):
	// the change already holds it, so nothing is pushed.
	s.rewind(t)
	again := s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	if again == first {
		t.Fatal("the fixture made the same hash twice; the rerun proves nothing")
	}
	pushes := len(s.g.Pushes())
	res, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed != 0 || res.Reused != 1 || res.Tip != first || len(s.g.Pushes()) != pushes {
		t.Errorf("rerun with the same content: result %+v, %d pushes after %d; want nothing pushed, tip %s", res, len(s.g.Pushes()), pushes, first)
	}

	// A rerun whose commit says something else (the plan changed) is a
	// new patch set of the same change, not a new change.
	s.rewind(t)
	changed := s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n", "NOTES": "fixed\n"})
	if res, err = Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1)); err != nil {
		t.Fatal(err)
	}
	changes := s.g.Changes()
	if len(changes) != 1 || len(changes[0].Patchsets) != 2 || changes[0].Current() != changed {
		t.Fatalf("changes = %+v; want change 1 with patch set 2 = %s", changes, changed)
	}
	if res.Pushed != 1 || len(res.Reviews) != 1 || res.Reviews[0].Number != 1 {
		t.Errorf("result = %+v", res)
	}
	onlyForPushes(t, s.g)
}

func TestGerritDependentPair(t *testing.T) {
	ctx := context.Background()
	s := newGerritSetup(t)
	rel := s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	next := s.w.Commit(reviewMsg("Move on to 2.1.4-dev", "move on to 2.1.4-dev"), map[string]string{"VERSION": "2.1.4-dev\n"})
	res, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(2))
	if err != nil {
		t.Fatal(err)
	}
	changes := s.g.Changes()
	if len(changes) != 2 || changes[0].Current() != rel || changes[1].Current() != next {
		t.Fatalf("changes = %+v; want the release %s then the move-on %s", changes, rel, next)
	}
	if len(s.g.Pushes()) != 1 {
		t.Errorf("pushes = %v; want the chain in one push", s.g.Pushes())
	}
	if parent := reviewtest.Git(t, s.g.Dir, "rev-parse", changes[1].Current()+"^"); parent != changes[0].Current() {
		t.Errorf("the move-on change is made on %s, not on the release change %s", parent, changes[0].Current())
	}
	if res.Pushed != 2 || len(res.Reviews) != 2 || !strings.Contains(res.Summary, "changes 1, 2") {
		t.Errorf("result = %+v", res)
	}

	// A rerun whose release commit is the same but whose move-on differs:
	// the release change is kept, the move-on gets patch set 2 on top of
	// the release change's patch set.
	s.rewind(t)
	s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	s.w.Commit(reviewMsg("Move on to 2.1.4-dev", "move on to 2.1.4-dev"), map[string]string{"VERSION": "2.1.4-dev\n", "NOTES": "x\n"})
	if res, err = Submit(ctx, s.opt, s.w.Dir, "origin", s.request(2)); err != nil {
		t.Fatal(err)
	}
	changes = s.g.Changes()
	if len(changes) != 2 || len(changes[0].Patchsets) != 1 || len(changes[1].Patchsets) != 2 {
		t.Fatalf("changes after the rerun = %+v; want change 1 untouched, change 2 with patch set 2", changes)
	}
	if parent := reviewtest.Git(t, s.g.Dir, "rev-parse", changes[1].Current()+"^"); parent != rel {
		t.Errorf("patch set 2 of the move-on is made on %s, want the release change's %s", parent, rel)
	}
	if res.Pushed != 1 || res.Reused != 1 {
		t.Errorf("result = %+v; want 1 pushed, 1 reused", res)
	}

	// Once the release change is submitted, the change list of the topic
	// holds only the move-on.
	s.g.Submit(1)
	open, err := List(ctx, s.opt, s.w.Dir, "origin", pointRun, Name{Target: "patch:charts", Line: "2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Number != 2 || open[0].Title != "Move on to 2.1.4-dev" || open[0].Branch != "aether-2.1" {
		t.Errorf("open reviews = %+v; want change 2 only", open)
	}
	onlyForPushes(t, s.g)
}

func TestGerritWithoutURLPushesAndConverges(t *testing.T) {
	ctx := context.Background()
	s := newGerritSetup(t)
	s.opt.URL = ""
	c := s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	if _, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1)); err != nil {
		t.Fatal(err)
	}
	// The same commit again: Gerrit says "no new changes"; that is done,
	// not a failure.
	res, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1))
	if err != nil {
		t.Fatalf("the same commit pushed again: %v", err)
	}
	if !strings.Contains(res.Summary, "no new changes") || res.Tip != c {
		t.Errorf("result = %+v", res)
	}
	if n := len(s.g.Changes()); n != 1 {
		t.Errorf("%d changes, want 1", n)
	}
	if len(s.g.Calls()) != 0 {
		t.Errorf("REST calls without review.url: %v", s.g.Calls())
	}
}

func TestGerritRefusesBeforePushing(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		make func(t *testing.T, s *gerritSetup) Request
		want string
	}{
		{"no Change-Id", func(t *testing.T, s *gerritSetup) Request {
			s.w.Commit("Release 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
			return s.request(1)
		}, "has no Change-Id"},
		{"shared Change-Id", func(t *testing.T, s *gerritSetup) Request {
			s.w.Commit(reviewMsg("Release 2.1.3", "same"), map[string]string{"VERSION": "2.1.3\n"})
			s.w.Commit(reviewMsg("Move on", "same"), map[string]string{"VERSION": "2.1.4-dev\n"})
			return s.request(2)
		}, "share Change-Id"},
		{"branch moved", func(t *testing.T, s *gerritSetup) Request {
			other := reviewtest.NewWork(t, "aether-2.1", map[string]string{"VERSION": "9\n"})
			s.g.Admin(other.Dir, "+refs/heads/aether-2.1:refs/heads/aether-2.1")
			s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
			return s.request(1)
		}, "moved on origin since the plan was made"},
		{"a merge in the chain", func(t *testing.T, s *gerritSetup) Request {
			reviewtest.Git(t, s.w.Dir, "checkout", "-q", "-b", "side")
			s.w.Commit(reviewMsg("Side", "side"), map[string]string{"SIDE": "x\n"})
			reviewtest.Git(t, s.w.Dir, "checkout", "-q", "aether-2.1")
			s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
			reviewtest.Git(t, s.w.Dir, "merge", "-q", "--no-edit", "side")
			return s.request(3)
		}, "not one line of commits"},
		{"no such branch", func(t *testing.T, s *gerritSetup) Request {
			s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
			r := s.request(1)
			r.Branch = "aether-9.9"
			return r
		}, "has no branch aether-9.9"},
		{"nothing to review", func(t *testing.T, s *gerritSetup) Request {
			return s.request(0)
		}, "nothing to review"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newGerritSetup(t)
			req := tc.make(t, s)
			_, err := Submit(ctx, s.opt, s.w.Dir, "origin", req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if p := s.g.Pushes(); len(p) != 0 {
				t.Errorf("pushed %v after a refusal", p)
			}
		})
	}
}

func TestGerritRefusesBranchAndTagPushes(t *testing.T) {
	// The fixture itself: a direct push of new content or a tag is
	// refused, as real Gerrit refuses a user without push rights, so the
	// review tests above prove something.
	ctx := context.Background()
	s := newGerritSetup(t)
	c := s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	reviewtest.Git(t, s.w.Dir, "tag", "2.1.3")
	for _, spec := range []string{"HEAD:refs/heads/aether-2.1", "refs/tags/2.1.3:refs/tags/2.1.3", "HEAD:refs/heads/aether-2.2"} {
		if err := gitx.Push(ctx, s.w.Dir, "origin", spec); err == nil || !strings.Contains(err.Error(), "prohibited by Gerrit") {
			t.Errorf("push %s: %v, want Gerrit's refusal", spec, err)
		}
	}
	// A new branch at a commit the remote has is a plain push, and one
	// CanCreateDirectly allows; a new branch with new content is not.
	for _, tc := range []struct {
		local string
		want  bool
	}{{s.base, true}, {c, false}} {
		ok, err := CanCreateDirectly(ctx, s.w.Dir, "origin", refUpdate("refs/heads/aether-2.2", tc.local, ""))
		if err != nil || ok != tc.want {
			t.Errorf("CanCreateDirectly(new branch at %s) = %v, %v; want %v", gitx.Short(tc.local), ok, err, tc.want)
		}
	}
	if ok, _ := CanCreateDirectly(ctx, s.w.Dir, "origin", refUpdate("refs/heads/aether-2.1", s.base, "abc")); ok {
		t.Error("CanCreateDirectly allowed an update of an existing branch")
	}
	if ok, _ := CanCreateDirectly(ctx, s.w.Dir, "origin", refUpdate("refs/tags/2.1.3", s.base, "")); ok {
		t.Error("CanCreateDirectly allowed a tag")
	}
	if err := gitx.Push(ctx, s.w.Dir, "origin", s.base+":refs/heads/aether-2.2"); err != nil {
		t.Errorf("creating a branch at a commit the remote has: %v", err)
	}
}

func TestGerritListNeedsURL(t *testing.T) {
	_, err := List(context.Background(), Options{Kind: workspace.ReviewGerrit}, t.TempDir(), "origin", pointRun)
	if !errors.Is(err, errNoGerritURL) {
		t.Errorf("err = %v, want errNoGerritURL", err)
	}
}

func TestGerritAuthenticatedListing(t *testing.T) {
	ctx := context.Background()
	s := newGerritSetup(t)
	s.g.User, s.g.Password = "relkit-bot", "http-password-1234"
	s.w.Commit(reviewMsg("Release 2.1.3", "release 2.1.3"), map[string]string{"VERSION": "2.1.3\n"})
	s.opt.User, s.opt.Token = "relkit-bot", "http-password-1234"
	if _, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1)); err != nil {
		t.Fatal(err)
	}
	open, err := List(ctx, s.opt, s.w.Dir, "origin", pointRun)
	if err != nil || len(open) != 1 {
		t.Fatalf("List = %+v, %v; want the change, read under /a/", open, err)
	}
	s.opt.Token = "wrong-password-5678"
	_, err = List(ctx, s.opt, s.w.Dir, "origin", pointRun)
	var api *APIError
	if !errors.As(err, &api) || api.Status != 401 || !strings.Contains(err.Error(), "GERRIT_HTTP_PASSWORD") || strings.Contains(err.Error(), "wrong-password-5678") {
		t.Errorf("a wrong password: %v; want a 401 naming GERRIT_HTTP_PASSWORD without showing it", err)
	}
}

func refUpdate(ref, local, expect string) plan.RefUpdate {
	return plan.RefUpdate{Ref: ref, Local: local, Expect: expect}
}
