package patch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// PlanCharts works out patch:charts X.Y COMMITS without writing anything
// but objects: the fixes are picked onto <prefix>X.Y in a scratch
// worktree, every chart they touched gets the next patch of its version
// on the branch, and the checks judge the result. The plan moves the
// branch to the result (and pushes it with Push). The error is a
// *plan.Undecided when a repo or remote could not be read.
func PlanCharts(ctx context.Context, ws *workspace.Config, opt Options) (*plan.Plan, error) {
	s, err := NewSession(ctx, ws, opt.Line, opt)
	if err != nil {
		return nil, err
	}
	if len(opt.Commits) == 0 {
		return nil, errors.New("patch:charts needs at least one commit (several as a comma-separated list)")
	}
	p := s.NewPlan(fmt.Sprintf("patch:charts %s %s", s.Line, strings.Join(opt.Commits, ",")))
	pr := plan.RepoPlan(ws.Charts)
	p.Repos = []*plan.Repo{pr}
	if err := s.NeedHistory(ctx, ws.Charts, pr); err != nil {
		return p, err
	}
	res, err := s.PickCharts(ctx, pr, opt.Commits)
	if plan.RefuseFile(pr, err) {
		return p, nil
	}
	if err != nil {
		pr.Problemf("could not read the repo: %v", err)
		return p, plan.AsUndecided(err)
	}
	if s.Push && len(pr.Problems) == 0 && res.Tip != "" {
		if err := s.PlanPush(ctx, pr, ws.Charts.Dir, s.Branch, res.Tip, nil); err != nil {
			pr.Problemf("could not read the remote: %v", err)
			return p, plan.AsUndecided(err)
		}
	}
	return p, nil
}

// RunCharts plans patch:charts, prints the plan to w and, unless it is a
// dry run or refused, applies it. See plan.ExitCode for the exit status.
func RunCharts(ctx context.Context, ws *workspace.Config, opt Options, w io.Writer, f plan.Format) error {
	p, err := PlanCharts(ctx, ws, opt)
	if p == nil {
		return err
	}
	s, _ := NewSession(ctx, ws, opt.Line, opt)
	return s.Run(ctx, p, err, w, f)
}

// ChartsResult is what PickCharts worked out.
type ChartsResult struct {
	// Old is the branch's tip before, Tip the commit the plan leaves it at
	// ("" when the branch is missing).
	Old, Tip string
	// Picked maps each fix to the commit that carries it on the branch.
	Picked map[string]string
	Bumps  []ChartBump
}

// PickCharts plans the charts side of a patch: pick commits onto the
// branch, bump the charts they touched, check, and move the branch.
func (s *Session) PickCharts(ctx context.Context, pr *plan.Repo, revs []string) (ChartsResult, error) {
	r := s.WS.Charts
	res := ChartsResult{Picked: map[string]string{}}
	tip, err := plan.LocalBranch(ctx, r.Dir, s.Branch)
	if err != nil {
		return res, err
	}
	if tip == "" {
		pr.Problemf("has no branch %s; cut it with release:branch %s, or fetch it (git fetch %s %s:%s)", s.Branch, s.Line, s.Remote, s.Branch, s.Branch)
		return res, nil
	}
	res.Old, res.Tip = tip, tip
	commits, err := s.Fixes(ctx, r, revs, pr)
	if err != nil || len(pr.Problems) > 0 {
		return res, err
	}
	main, err := revCommit(ctx, r.Dir, "refs/heads/"+r.MainBranch)
	if err != nil {
		return res, err
	}
	var not []string
	if main != "" {
		not = append(not, main)
	}
	var todo []string
	for _, c := range commits {
		found, err := cherry.FindPick(ctx, r.Dir, tip, c, not...)
		if err != nil {
			return res, err
		}
		subject := cherry.Subject(ctx, r.Dir, c)
		switch {
		case found == c:
			pr.Donef("%s %q is already on %s", gitx.Short(c), subject, s.Branch)
			res.Picked[c] = c
		case found != "":
			pr.Donef("%s %q is already picked onto %s as %s", gitx.Short(c), subject, s.Branch, gitx.Short(found))
			res.Picked[c] = found
		default:
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	w, err := cherry.AddOnBranch(ctx, s.Session, pr, r.Dir, tip)
	if err != nil || w == nil {
		return res, err
	}
	defer w.Remove(ctx)
	head, ok, err := s.pickAll(ctx, w, pr, todo, res.Picked)
	if err != nil || !ok {
		return res, err
	}
	if head == tip {
		pr.Donef("the fixes bring nothing %s does not have", s.Branch)
		return res, nil
	}
	touched, err := touchedCharts(ctx, w, tip, head)
	if err != nil {
		return res, err
	}
	bumps, err := BumpCharts(ctx, w, tip, touched, s.UsedChartVersions(), pr)
	if err != nil {
		return res, err
	}
	if len(pr.Problems) > 0 {
		return res, nil
	}
	res.Bumps = bumps.Charts
	if len(bumps.Files) > 0 {
		msg := bumpMessage(s.Branch, bumps.Charts, "the fixes picked onto "+s.Branch)
		h, err := w.Commit(ctx, msg, bumps.Files)
		if err != nil {
			return res, err
		}
		if h != "" {
			first, _, _ := strings.Cut(msg, "\n")
			pr.Notef("new commit %s %q:", gitx.Short(h), first)
			for _, line := range describeFiles(bumps.Plan) {
				pr.Notef("  %s", line)
			}
			head = h
		}
	}
	s.CheckCharts(ctx, w.Dir, tip, pr, nil)
	res.Tip = head
	pr.Steps = append(pr.Steps, cherry.MoveStep(r.Dir, s.Branch, tip, head,
		fmt.Sprintf("%s: %d fix(es) picked, %d chart(s) bumped", gitx.Short(head), len(todo), len(bumps.Charts))))
	return res, nil
}

// pickAll picks commits in order onto the worktree. A conflict no resolver
// settles is a problem (ok false) naming the files and the commands to
// finish by hand; the branch stays as it was.
func (s *Session) pickAll(ctx context.Context, w *cherry.Worktree, pr *plan.Repo, todo []string, picked map[string]string) (string, bool, error) {
	for _, c := range todo {
		res, err := w.Pick(ctx, c, cherry.ChartVersions)
		var ce *cherry.ConflictError
		if errors.As(err, &ce) {
			pr.Problemf("cherry-picking %s %q onto %s conflicts in: %s. Nothing was changed. To finish by hand:\n      %s",
				gitx.Short(c), ce.Subject, s.Branch, strings.Join(ce.Files, ", "), strings.Join(ce.HandCommands(s.Branch), "\n      "))
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		switch {
		case res.Commit == "":
			pr.Notef("%s %q brings nothing %s does not have; skipped", gitx.Short(c), res.Subject, s.Branch)
		case len(res.Resolved) > 0:
			pr.Notef("new commit %s: cherry-pick -x of %s %q; the branch's versions kept in %s (main bumped them too)",
				gitx.Short(res.Commit), gitx.Short(c), res.Subject, strings.Join(res.Resolved, ", "))
			picked[c] = res.Commit
		default:
			pr.Notef("new commit %s: cherry-pick -x of %s %q", gitx.Short(res.Commit), gitx.Short(c), res.Subject)
			picked[c] = res.Commit
		}
	}
	head, err := w.Head(ctx)
	return head, err == nil, err
}

// touchedCharts maps each chart owning a file changed between from and to
// to a reason.
func touchedCharts(ctx context.Context, w *cherry.Worktree, from, to string) (map[string]string, error) {
	files, err := cherry.Changed(ctx, w.Dir, from, to)
	if err != nil {
		return nil, err
	}
	list, err := charts.Discover(ctx, w.Dir)
	if err != nil {
		return nil, err
	}
	byDir := map[string]charts.Chart{}
	for _, c := range list {
		byDir[c.Dir] = c
	}
	out := map[string]string{}
	for _, f := range files {
		if d := OwningChart(byDir, f); d != "" {
			if _, ok := out[d]; !ok {
				out[d] = f + " changed"
			}
		}
	}
	return out, nil
}

// bumpMessage is the message of a chart bump commit.
func bumpMessage(br string, bumps []ChartBump, after string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Bump chart versions after %s\n\n", after)
	for _, c := range bumps {
		fmt.Fprintf(&b, "- %s %s -> %s (%s)\n", c.Name, c.Old, c.New, c.reason())
	}
	fmt.Fprintf(&b, "\n%s: %s\n", Trailer, br)
	return b.String()
}
