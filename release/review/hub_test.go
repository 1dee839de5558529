package review

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/workspace"
)

const hubToken = "ghp_s3cretT0kenValue"

var chartsRun = Name{Target: "patch:charts", Line: "2.1"}

// hubSetup is a work repo on aether-2.1 whose origin is a GitHub- or
// Gitea-like remote that protects aether-* and master.
type hubSetup struct {
	w    *reviewtest.Work
	h    *reviewtest.Hub
	base string
	opt  Options
}

func newHubSetup(t *testing.T, kind string) *hubSetup {
	t.Helper()
	w := reviewtest.NewWork(t, "aether-2.1", map[string]string{"VERSION": "2.1.2\n"})
	h := reviewtest.NewHub(t, kind, "aether", "charts", w.Dir, hubToken)
	h.Protect("aether-*", "master")
	reviewtest.Git(t, w.Dir, "remote", "add", "origin", h.Dir)
	return &hubSetup{w: w, h: h, base: w.Rev("HEAD"),
		opt: Options{Kind: workspace.ReviewKind(kind), URL: h.URL, Token: hubToken, RetryDelay: time.Millisecond}}
}

func (s *hubSetup) request(count int, body string) Request {
	return NewRequest(s.opt.Kind, chartsRun, "aether-2.1", s.base, "HEAD", count, "patch:charts 2.1: release 2.1.3", body)
}

func (s *hubSetup) rewind(t *testing.T) { reviewtest.Git(t, s.w.Dir, "reset", "-q", "--hard", s.base) }

// noTokenShown fails if the token appears in any text.
func noTokenShown(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, hubToken) {
			t.Errorf("the token is shown: %q", s)
		}
	}
}

func forEachHub(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range []string{"github", "gitea"} {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

func TestHubCreateThenUpdateNotDuplicate(t *testing.T) {
	forEachHub(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := newHubSetup(t, kind)
		c1 := s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
		res, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1, "the plan, v1"))
		if err != nil {
			t.Fatal(err)
		}
		refs := s.h.Refs()
		if refs["refs/heads/relkit/patch-charts-2.1"] != c1 || refs["refs/heads/aether-2.1"] != s.base {
			t.Errorf("remote refs = %v; want the review branch at %s and aether-2.1 untouched", refs, c1)
		}
		pulls := s.h.Pulls()
		if len(pulls) != 1 {
			t.Fatalf("pulls = %+v, want 1", pulls)
		}
		want := reviewtest.Pull{Number: 1, Title: "patch:charts 2.1: release 2.1.3", Body: "the plan, v1",
			Head: "relkit/patch-charts-2.1", Base: "aether-2.1", State: "open"}
		if pulls[0] != want {
			t.Errorf("pull = %+v, want %+v", pulls[0], want)
		}
		if b := s.h.Bodies(); len(b) != 1 || b[0]["head"] != "relkit/patch-charts-2.1" || b[0]["base"] != "aether-2.1" || b[0]["body"] != "the plan, v1" {
			t.Errorf("request bodies = %v", b)
		}
		if res.Pushed != 1 || len(res.Reviews) != 1 || res.Reviews[0].Number != 1 || !strings.Contains(res.Summary, "opened pull request #1") {
			t.Errorf("result = %+v", res)
		}

		// Rerun, same commit content, same body: nothing pushed, nothing
		// written through the API.
		s.rewind(t)
		s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
		pushes, bodies := len(s.h.Pushes()), len(s.h.Bodies())
		if res, err = Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1, "the plan, v1")); err != nil {
			t.Fatal(err)
		}
		if len(s.h.Pushes()) != pushes || len(s.h.Bodies()) != bodies || res.Tip != c1 || !strings.Contains(res.Summary, "left unchanged") {
			t.Errorf("a rerun with nothing new pushed or wrote: %+v", res)
		}

		// Rerun with one more commit and a new plan body: the review
		// branch fast-forwards and the same pull request is updated.
		s.rewind(t)
		s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
		s.w.Commit("Move on to 2.1.4-dev\n", map[string]string{"VERSION": "2.1.4-dev\n"})
		if res, err = Submit(ctx, s.opt, s.w.Dir, "origin", s.request(2, "the plan, v2")); err != nil {
			t.Fatal(err)
		}
		pulls = s.h.Pulls()
		if len(pulls) != 1 || pulls[0].Body != "the plan, v2" {
			t.Fatalf("pulls = %+v; want pull request 1 updated, no second one", pulls)
		}
		tip := s.h.Refs()["refs/heads/relkit/patch-charts-2.1"]
		if parent := reviewtest.Git(t, s.h.Dir, "rev-parse", tip+"^"); parent != c1 {
			t.Errorf("the review branch's new commit is made on %s, want the one already there %s", parent, c1)
		}
		if res.Pushed != 1 || res.Reused != 1 || !strings.Contains(res.Summary, "updated pull request #1") {
			t.Errorf("result = %+v", res)
		}
		last := s.h.Bodies()[len(s.h.Bodies())-1]
		if _, hasHead := last["head"]; hasHead || last["body"] != "the plan, v2" {
			t.Errorf("update body = %v; want title and body only", last)
		}

		// Listing by head finds it; another line's head does not.
		open, err := List(ctx, s.opt, s.w.Dir, "origin", chartsRun, Name{Target: "patch:charts", Line: "2.2"})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].Number != 1 || open[0].Head != "relkit/patch-charts-2.1" || open[0].Project != "aether/charts" || open[0].Revision != tip {
			t.Errorf("open = %+v", open)
		}
		for _, c := range s.h.Calls() {
			noTokenShown(t, c)
		}
		noTokenShown(t, res.Summary)
	})
}

func TestHubExpiredTokenPushesNothing(t *testing.T) {
	forEachHub(t, func(t *testing.T, kind string) {
		s := newHubSetup(t, kind)
		s.h.Expire()
		s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
		_, err := Submit(context.Background(), s.opt, s.w.Dir, "origin", s.request(1, "plan"))
		var api *APIError
		if !errors.As(err, &api) || api.Status != http.StatusUnauthorized {
			t.Fatalf("err = %v, want a 401 APIError", err)
		}
		name := TokenEnv(s.opt.Kind)
		if !strings.Contains(err.Error(), "the "+name+" was refused") || !strings.Contains(err.Error(), "Bad credentials") {
			t.Errorf("err = %q; want it to say %s was refused and why", err, name)
		}
		noTokenShown(t, err.Error())
		if p := s.h.Pushes(); len(p) != 0 {
			t.Errorf("pushed %v with a refused token", p)
		}
		if len(s.h.Pulls()) != 0 {
			t.Error("a pull request was opened")
		}
		if plan.ExitCode(err) != plan.ExitFailed {
			t.Errorf("exit code %d, want 1: a refused token is a refusal, not an undecided state", plan.ExitCode(err))
		}
	})
}

func TestHubRefusedBranchPush(t *testing.T) {
	forEachHub(t, func(t *testing.T, kind string) {
		s := newHubSetup(t, kind)
		s.h.Restrict("relkit/*")
		s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
		_, err := Submit(context.Background(), s.opt, s.w.Dir, "origin", s.request(1, "plan"))
		var pe *PushError
		if !errors.As(err, &pe) || pe.Ref != "refs/heads/relkit/patch-charts-2.1" {
			t.Fatalf("err = %v, want a PushError for the review branch", err)
		}
		reason := "creations being restricted"
		if kind == "gitea" {
			reason = "Not allowed to push to protected branch"
		}
		if !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), "no pull request was opened") {
			t.Errorf("err = %q; want the remote's reason %q and what was not done", err, reason)
		}
		if len(s.h.Pulls()) != 0 {
			t.Error("a pull request was opened after the push was refused")
		}
		if s.h.Refs()["refs/heads/relkit/patch-charts-2.1"] != "" {
			t.Error("the review branch exists")
		}
	})
}

func TestHubRefusesADivergedReviewBranch(t *testing.T) {
	forEachHub(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := newHubSetup(t, kind)
		old := s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
		if _, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1, "plan")); err != nil {
			t.Fatal(err)
		}
		// The plan changed: the first commit is now different. Extending
		// the review branch would need a force push, which relkit never
		// does.
		s.rewind(t)
		s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n", "NOTES": "more\n"})
		pushes := len(s.h.Pushes())
		_, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1, "plan"))
		if err == nil || !strings.Contains(err.Error(), "never force-pushes") || !strings.Contains(err.Error(), "close pull request #1") ||
			!strings.Contains(err.Error(), "--delete relkit/patch-charts-2.1") {
			t.Fatalf("err = %v; want a refusal naming the pull request and the way out", err)
		}
		if len(s.h.Pushes()) != pushes || s.h.Refs()["refs/heads/relkit/patch-charts-2.1"] != old {
			t.Error("the review branch was pushed to")
		}

		// Once the old review is merged (a merge commit on the branch),
		// the next run's review branch fast-forwards from it.
		merged := reviewtest.NewWork(t, "x", nil)
		reviewtest.Git(t, merged.Dir, "fetch", "-q", s.h.Dir, "aether-2.1", "relkit/patch-charts-2.1")
		reviewtest.Git(t, merged.Dir, "checkout", "-q", "-B", "aether-2.1", s.base)
		reviewtest.Git(t, merged.Dir, "merge", "-q", "--no-ff", "--no-edit", old)
		s.h.Admin(merged.Dir, "refs/heads/aether-2.1:refs/heads/aether-2.1")
		s.h.Close(1)
		s.base = merged.Rev("HEAD")
		reviewtest.Git(t, s.w.Dir, "fetch", "-q", "origin")
		reviewtest.Git(t, s.w.Dir, "reset", "-q", "--hard", s.base)
		s.w.Commit("Move on to 2.1.4-dev\n", map[string]string{"VERSION": "2.1.4-dev\n"})
		res, err := Submit(ctx, s.opt, s.w.Dir, "origin", s.request(1, "plan"))
		if err != nil {
			t.Fatalf("after the merge: %v", err)
		}
		if pulls := s.h.Pulls(); len(pulls) != 2 || pulls[1].State != "open" || res.Reviews[0].Number != 2 {
			t.Errorf("pulls = %+v, result %+v; want a new pull request #2", pulls, res)
		}
	})
}

func TestHubRefusesAPullIntoAnotherBranch(t *testing.T) {
	s := newHubSetup(t, "github")
	reviewtest.Git(t, s.w.Dir, "push", "-q", "origin", "HEAD:refs/heads/relkit/patch-charts-2.1")
	s.h.OpenPull("relkit/patch-charts-2.1", "master", "by hand")
	s.w.Commit("Bump charts for 2.1.3\n", map[string]string{"VERSION": "2.1.3\n"})
	pushes := len(s.h.Pushes())
	_, err := Submit(context.Background(), s.opt, s.w.Dir, "origin", s.request(1, "plan"))
	if err == nil || !strings.Contains(err.Error(), "goes into master, not aether-2.1") {
		t.Fatalf("err = %v", err)
	}
	if len(s.h.Pushes()) != pushes {
		t.Error("pushed after the refusal")
	}
}

func TestHubNeedsURLAndToken(t *testing.T) {
	s := newHubSetup(t, "gitea")
	s.w.Commit("Bump\n", map[string]string{"VERSION": "2.1.3\n"})
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{Kind: workspace.ReviewGitea, Token: hubToken}, "needs review.url"},
		{Options{Kind: workspace.ReviewGitea, URL: s.h.URL}, "set GITEA_TOKEN"},
		{Options{Kind: workspace.ReviewGitea, URL: "ftp://x", Token: hubToken}, "expected the Gitea API's base URL"},
		{Options{Kind: workspace.ReviewGitea, URL: "https://u:pw@x/api/v1", Token: hubToken}, "credentials do not belong in the URL"},
		{Options{Kind: workspace.ReviewGerrit, URL: s.h.URL, Token: hubToken}, "the plan sends a gitea review, but review.kind is gerrit"},
	} {
		_, err := Submit(context.Background(), tc.opt, s.w.Dir, "origin", s.request(1, "plan"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.opt, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("the URL's password is shown: %v", err)
		}
	}
	if len(s.h.Pushes()) != 0 || len(s.h.Calls()) != 0 {
		t.Errorf("pushes %v, calls %v: nothing should reach the remote", s.h.Pushes(), s.h.Calls())
	}
}

func TestAPIErrorsNeverShowTheToken(t *testing.T) {
	// A server that echoes the Authorization header back, in an error and
	// in a server failure that is retried.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		status := http.StatusForbidden
		if r.Method == http.MethodGet {
			status = http.StatusBadGateway
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"message":"denied for ` + r.Header.Get("Authorization") + `"}`))
	}))
	defer srv.Close()
	opt := Options{Kind: workspace.ReviewGitHub, URL: srv.URL, Token: hubToken, RetryDelay: time.Millisecond}
	h, err := newHub(opt, workspace.ReviewGitHub)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.openPulls(context.Background(), RepoID{"o", "r"}, "relkit/x")
	if err == nil || plan.ExitCode(err) != plan.ExitUndecided {
		t.Errorf("a failing server: err = %v, want exit 3", err)
	}
	if calls.Load() != readAttempts {
		t.Errorf("%d calls, want %d attempts", calls.Load(), readAttempts)
	}
	noTokenShown(t, err.Error())
	_, err = h.create(context.Background(), RepoID{"o", "r"}, "b", "h", "t", "body")
	if err == nil || !strings.Contains(err.Error(), "[token]") || calls.Load() != readAttempts+1 {
		t.Errorf("err = %v after %d calls; want the echoed token replaced and one attempt at a write", err, calls.Load())
	}
	noTokenShown(t, err.Error())
}

func TestHubFixtureProtectsBranches(t *testing.T) {
	// The fixture itself: protected branches take no direct update, but
	// may be created at a commit (GitHub's default protection).
	forEachHub(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := newHubSetup(t, kind)
		s.w.Commit("Bump\n", map[string]string{"VERSION": "2.1.3\n"})
		err := gitx.Push(ctx, s.w.Dir, "origin", "HEAD:refs/heads/aether-2.1")
		if err == nil || !strings.Contains(err.Error(), "protected branch") && !strings.Contains(err.Error(), "Protected branch") {
			t.Errorf("direct push to aether-2.1: %v, want the protection's refusal", err)
		}
		if err := gitx.Push(ctx, s.w.Dir, "origin", s.base+":refs/heads/aether-2.2"); err != nil {
			t.Errorf("creating aether-2.2: %v", err)
		}
		if err := gitx.Push(ctx, s.w.Dir, "origin", "HEAD:refs/heads/aether-2.2"); err == nil {
			t.Error("updating aether-2.2 once created was accepted")
		}
	})
}
