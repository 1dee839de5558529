package checks

import (
	"context"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/workspace"
)

// ChartsAgainst is check:charts with only its base as an argument
// (Options.Base): base is a ref or commit, and HEAD is judged against its
// merge base with it; "" chooses the base as Charts does when none is
// given. release:status runs it on a detached scratch worktree of a
// release branch (where the branch-name rule cannot apply) with the
// branch's last point-release tag as the base.
func ChartsAgainst(ctx context.Context, ws *workspace.Config, base string) *report.Report {
	rep := report.New(chartsCheck)
	if ws.Charts == nil {
		return rep
	}
	findings, errs := checkCharts(ctx, ws, base)
	rep.Add(findings...)
	seen := map[string]bool{}
	for _, err := range errs {
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			rep.Undecided(err)
		}
	}
	if err := ctx.Err(); err != nil {
		rep.Undecided(err)
	}
	return rep
}
