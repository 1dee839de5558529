package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/relkit/relkit/release/gitx"
)

// ReviewRequest is what a Review step sends for review: the commits
// Base..Tip, made for Branch, as one chain. release/review carries it out.
type ReviewRequest struct {
	// Host is how the remote takes reviews: "gerrit", "github" or "gitea".
	Host string `json:"host"`
	// Branch (short name) is the branch the commits are for; Base is the
	// commit the remote has for it, which the first commit is made on.
	Branch string `json:"branch"`
	Base   string `json:"base"`
	// Tip is the last commit of the chain: a commit or a local ref,
	// resolved when the step runs (the commits of a Commit step do not
	// exist while planning).
	Tip string `json:"tip"`
	// Count is how many commits the chain holds, for people.
	Count int `json:"count"`
	// Topic (Gerrit) or Head (GitHub and Gitea: the review branch, short
	// name) groups the reviews of one target and release line.
	Topic string `json:"topic,omitempty"`
	Head  string `json:"head,omitempty"`
	// Title and Body of the pull request; Gerrit shows each commit's
	// message instead. The body is the printed plan, so JSON output
	// leaves it out rather than repeat the plan in every step.
	Title string `json:"title,omitempty"`
	Body  string `json:"-"`
	// NewBranch says the plan creates Branch at Base with a direct push
	// (a commit the remote has) before this review: until then the
	// remote may lack the branch.
	NewBranch bool `json:"newBranch,omitempty"`
}

// Describe says in one line what sending the request to remote does.
func (r ReviewRequest) Describe(remote string) string {
	commits := "1 commit"
	if r.Count != 1 {
		commits = fmt.Sprintf("%d commits", r.Count)
	}
	if r.Host == "gerrit" {
		return fmt.Sprintf("push %s for review to refs/for/%s on %s, topic %s", commits, r.Branch, remote, r.Topic)
	}
	return fmt.Sprintf("push %s to review branch %s on %s and open or update its pull request into %s: %q",
		commits, r.Head, remote, r.Branch, r.Title)
}

// Reviewer carries out Review steps (release/review implements it: plan
// cannot import it, as it builds on plan's types). Apply calls Check for
// every Review step together with the push guards, before the first push
// anywhere, and Send in the push phase.
type Reviewer interface {
	// Check reads what the step depends on (the hosting API, the
	// remote's branches) and pushes nothing.
	Check(ctx context.Context, dir string, s Step) error
	// Send pushes the step's commits for review and opens or updates the
	// review; the string says what it did.
	Send(ctx context.Context, dir string, s Step) (string, error)
}

// ReviewMode makes a run a review run (release/review.Mode implements
// it). Run calls Rewrite on the finished plan before printing it: pushes
// of new commits to shared branches become Review steps, tags stay local,
// and only branches created at commits the remote has are still pushed.
// Apply then sends the Review steps through the mode's Reviewer.
type ReviewMode interface {
	Reviewer
	Rewrite(ctx context.Context, p *Plan) error
}

// writeReview prints a Review step.
func writeReview(b *strings.Builder, s Step, would string) {
	if s.Review == nil {
		fmt.Fprintf(b, "  review: (no request)\n")
		return
	}
	fmt.Fprintf(b, "  %s%s (after %s)\n", would, s.Review.Describe(s.Remote), gitx.Short(s.Review.Base))
}
