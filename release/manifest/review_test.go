package manifest

import (
	"context"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/workspace"
)

// release:manifest -review on a GitHub-like remote that protects the
// release branches: the manifest commit goes to the review branch and one
// pull request into aether-2.1; the branch itself is not pushed; a rerun
// updates nothing and opens no second pull request.
func TestManifestReviewOnGitHub(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	const token = "ghp_manifestTokenValue"
	h := reviewtest.NewHub(t, "github", "aether", "charts", fx.w.Remotes[demo.ChartsRepo], token)
	h.Protect("aether-*", "master")
	fx.git(t, fx.charts, "remote", "set-url", "origin", h.Dir)
	before := h.Refs()["refs/heads/"+fx.branch]
	mode := &review.Mode{Options: review.Options{Kind: workspace.ReviewGitHub, URL: h.URL, Token: token},
		Name: review.Name{Target: "release:manifest", Line: "2.1"}}

	res, err := Run(ctx, fx.ws, "2.1", Options{Review: mode})
	if err != nil {
		t.Fatalf("release:manifest -review: %v", err)
	}
	refs := h.Refs()
	if refs["refs/heads/"+fx.branch] != before || refs["refs/heads/relkit/release-manifest-2.1"] != res.Commit {
		t.Errorf("remote refs %v: want %s untouched and the review branch at %s", refs, fx.branch, res.Commit)
	}
	pulls := h.Pulls()
	if len(pulls) != 1 || pulls[0].Base != fx.branch || pulls[0].Title != "release:manifest 2.1: "+res.Path || !strings.Contains(pulls[0].Body, "apiVersion: relkit/v1") {
		t.Fatalf("pulls = %+v", pulls)
	}
	var out strings.Builder
	if err := res.WriteText(&out); err != nil || !strings.Contains(out.String(), "Review: pushed 1 commit to relkit/release-manifest-2.1") || strings.Contains(out.String(), token) {
		t.Errorf("output:\n%s", out.String())
	}

	again, err := Run(ctx, fx.ws, "2.1", Options{Review: mode})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if again.State != Unchanged || len(h.Pulls()) != 1 || !strings.Contains(again.Reviewed, "left unchanged pull request #1") {
		t.Errorf("rerun: state %s, reviewed %q, pulls %+v", again.State, again.Reviewed, h.Pulls())
	}
}
