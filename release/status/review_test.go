package status

import (
	"context"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

// With review: in relkit.yaml, release:status lists the open changes
// relkit's targets made for the line (Gerrit: by topic), with what waits
// for each; another line's and merged changes are not listed.
func TestStatusListsOpenReviews(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	w := reviewtest.NewWork(t, "aether-2.1", map[string]string{"VERSION": "2.1.0-dev\n"})
	g := reviewtest.NewGerrit(t, "aether/charts", w.Dir)
	reviewtest.Git(t, w.Dir, "remote", "add", "origin", g.Dir)
	base := w.Rev("HEAD")
	opt := review.Options{Kind: workspace.ReviewGerrit, URL: g.URL}
	send := func(target, line, subject string) {
		n := review.Name{Target: target, Line: line}
		id := review.ChangeID(review.Key{Target: target, Line: line, Repo: "charts", Branch: "aether-2.1", Step: subject})
		reviewtest.Git(t, w.Dir, "reset", "-q", "--hard", base)
		w.Commit(review.SetChangeID(subject+"\n", id), map[string]string{"VERSION": subject + "\n"})
		req := review.NewRequest(workspace.ReviewGerrit, n, "aether-2.1", base, "HEAD", 1, "", "")
		if _, err := review.Submit(ctx, opt, w.Dir, "origin", req); err != nil {
			t.Fatal(err)
		}
	}
	send("release:point", "2.1", "Release 2.1.0")
	send("patch:charts", "2.2", "Other line")
	send("patch:charts", "2.1", "Merged already")
	g.Abandon(3)

	s, err := Collect(ctx, fx.ws, "2.1", Options{Review: &opt})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Reviews) != 1 || s.Reviews[0].Number != 1 || s.Reviews[0].Target != "release:point" || !strings.Contains(s.Reviews[0].Waiting, "release:tag") {
		t.Fatalf("reviews = %+v", s.Reviews)
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	testutil.ContainsAll(t, "the text", b.String(), "Open reviews relkit made for 2.1: 1", `change 1 "Release 2.1.0"`, "/c/aether/charts/+/1", "(release:point)")

	// A review API that cannot be asked is UNKNOWN, never "no reviews".
	bad := review.Options{Kind: workspace.ReviewGerrit, URL: "http://127.0.0.1:1", RetryDelay: 1}
	s, err = Collect(ctx, fx.ws, "2.1", Options{Review: &bad})
	if err != nil {
		t.Fatal(err)
	}
	if s.Err() == nil || !strings.Contains(strings.Join(s.Unknown, "\n"), "open reviews") {
		t.Errorf("unknown = %v; want the review listing named", s.Unknown)
	}
}
