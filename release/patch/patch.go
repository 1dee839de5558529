// Package patch brings fixes from main onto a release line: patch:charts
// cherry-picks chart fixes onto the charts repo's <prefix>X.Y branch and
// gives every chart they touched its next patch version; patch:component
// finds the component version release X.Y ships, branches the component
// lazily at the commit that set that version, picks the fix there,
// releases and tags the next patch version, and points the charts of
// <prefix>X.Y at the new image tag.
//
// Every commit is made in a scratch worktree (release/cherry), so no
// checkout is touched and nothing moves while planning: a run is planned
// in full (release/plan), printed, and applied only without -dryRun. The
// checks (check:charts against the branch's tip, check:images) run on the
// result before anything is written. Runs are idempotent: a fix already on
// the branch (the -x trailer "(cherry picked from commit <sha>)" among the
// branch's commits since it left main) is not picked again, and a run that
// failed partway picks up where it stopped.
package patch

import (
	"context"
	"strings"
	"sync"

	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Trailer marks the commits patch:charts and patch:component make (chart
// bumps, image tag updates, component releases); its value is the
// release branch.
const Trailer = "Relkit-Patch"

// Options of a patch run.
type Options struct {
	// Line is the release line, "X.Y".
	Line string
	// Commits are the fixes to bring over, in order (hashes or any
	// revision the repo resolves).
	Commits []string
	// Component names the component (patch:component only).
	Component string
	// DryRun plans and prints but writes nothing.
	DryRun bool
	// Push checks the remotes and pushes the result.
	Push bool
	// Remote defaults to origin.
	Remote string
	// Author overrides the identity of relkit's commits and tags (see
	// plan.Author).
	Author string
	// Checks runs on the charts result; nil means DefaultChecks.
	Checks CheckFunc
	// From names the branch the commits come from when it is not the
	// repo's main branch (an unmerged work branch); every commit must be
	// on it. Empty: every commit must be on the main branch.
	From string
	// Use (patch:component only) names an existing release X.Y.Z of the
	// component that has the fixes: the charts move to it, and no
	// component release is made.
	Use string
	// Review, when set, sends the new commits for review instead of
	// pushing them (release/review.Mode); it implies Push's planning.
	Review plan.ReviewMode
}

// SplitCommits reads a comma-separated list of commits.
func SplitCommits(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// Session is a plan.Session (what every planner of a release line shares)
// with what only the patch planners keep: the chart versions the chart
// repository and the other release branches use, read once.
type Session struct {
	*plan.Session

	usedOnce sync.Once
	used     *chartVersionsUsed
}

// NewSession validates the release line and works out the identity (see
// plan.NewSession).
func NewSession(ctx context.Context, ws *workspace.Config, line string, opt Options) (*Session, error) {
	s, err := plan.NewSession(ctx, ws, line, opt.session())
	if err != nil {
		return nil, err
	}
	return &Session{Session: s}, nil
}

// session is the part of the options every release line shares.
func (o Options) session() plan.SessionOptions {
	return plan.SessionOptions{DryRun: o.DryRun, Push: o.Push, Remote: o.Remote, Author: o.Author, Checks: o.Checks, From: o.From, Review: o.Review}
}

// CheckFunc runs the checks a result must pass (see plan.CheckFunc).
type CheckFunc = plan.CheckFunc

// DefaultChecks runs check:charts and check:images (see plan.DefaultChecks).
var DefaultChecks CheckFunc = plan.DefaultChecks
