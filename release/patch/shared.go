package patch

import (
	"context"
	"maps"
	"slices"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// The guards and lookups every release line shares live in release/plan
// (plan.Session); these names let the patch planners call them as before.

// RepoPlan starts the plan of one repo (plan.RepoPlan).
func RepoPlan(r *workspace.Repo) *plan.Repo { return plan.RepoPlan(r) }

// LocalBranch returns the commit of local branch name in dir, or ""
// (plan.LocalBranch).
func LocalBranch(ctx context.Context, dir, name string) (string, error) {
	return plan.LocalBranch(ctx, dir, name)
}

// ResolveCommits turns the user's revisions into full hashes
// (plan.ResolveCommits).
func ResolveCommits(ctx context.Context, dir string, revs []string, pr *plan.Repo) ([]string, error) {
	return plan.ResolveCommits(ctx, dir, revs, pr)
}

// NotCheckedOut records a problem when br is checked out somewhere
// (plan.NotCheckedOut).
func NotCheckedOut(ctx context.Context, dir, br string, pr *plan.Repo) error {
	return plan.NotCheckedOut(ctx, dir, br, pr)
}

// Excuse says why a finding does not count (plan.Excuse).
type Excuse = plan.Excuse

// revCommit resolves rev to a commit, "" when it names none.
func revCommit(ctx context.Context, dir, rev string) (string, error) {
	h, _, err := gitx.RevCommit(ctx, dir, rev)
	return h, err
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
