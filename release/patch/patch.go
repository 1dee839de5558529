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
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/version"
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
	// branch.Author).
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

// Session is what every planner of a release line shares: the workspace,
// the branch name, the identity and the options.
type Session struct {
	WS     *workspace.Config
	Line   string
	Branch string
	Ident  gitx.Ident
	Remote string
	DryRun bool
	Push   bool
	Checks CheckFunc
	// From is Options.From.
	From string

	usedOnce sync.Once
	used     *chartVersionsUsed
}

// NewSession validates the release line and works out the identity.
func NewSession(ctx context.Context, ws *workspace.Config, line string, opt Options) (*Session, error) {
	parsed, err := version.ParseLine(line)
	if err != nil {
		return nil, err
	}
	l := parsed.String()
	if ws.Charts == nil {
		return nil, fmt.Errorf("%s: no charts repo configured", ws.File)
	}
	ident, err := branch.Author(ws, opt.Author)
	if err != nil {
		return nil, err
	}
	s := &Session{WS: ws, Line: l, Branch: ws.ReleaseBranch(l), Ident: ident, Remote: opt.Remote,
		DryRun: opt.DryRun, Push: opt.Push, Checks: opt.Checks, From: strings.TrimSpace(opt.From)}
	if s.Remote == "" {
		s.Remote = branch.DefaultRemote
	}
	if s.Checks == nil {
		s.Checks = DefaultChecks
	}
	if _, err := gitx.Git(ctx, ws.Root, "check-ref-format", "refs/heads/"+s.Branch); err != nil {
		return nil, fmt.Errorf("%q is not a valid branch name (branchPrefix %q in %s)", s.Branch, ws.BranchPrefix, ws.File)
	}
	if s.From != "" {
		if _, err := gitx.Git(ctx, ws.Root, "check-ref-format", "refs/heads/"+s.From); err != nil {
			return nil, fmt.Errorf("-from=%q is not a branch name; expected the branch the commits come from, such as feature/n2-fix", s.From)
		}
	}
	return s, nil
}

// NewPlan starts the plan of action.
func (s *Session) NewPlan(action string) *plan.Plan {
	if s.Push {
		action += " -push"
	}
	return &plan.Plan{Action: action, DryRun: s.DryRun, Author: s.Ident.String()}
}

// RepoPlan starts the plan of one repo.
func RepoPlan(r *workspace.Repo) *plan.Repo {
	return &plan.Repo{Name: r.Name, Kind: string(r.Kind), Dir: r.Dir}
}

// Run prints the plan and applies it unless it is a dry run; a planning
// error is printed with the plan and returned.
func (s *Session) Run(ctx context.Context, p *plan.Plan, planErr error, w io.Writer, f plan.Format) error {
	return plan.Execute(ctx, p, planErr, w, f, plan.Options{Ident: s.Ident})
}

// NeedHistory makes sure the run can read r's history (see
// gitx.NeedHistory): a shallow clone is deepened from the remote in a real
// run, which the plan notes, and stops a dry run (which writes nothing)
// as could-not-decide; the problem is recorded in pr.
func (s *Session) NeedHistory(ctx context.Context, r *workspace.Repo, pr *plan.Repo) error {
	remote := s.Remote
	if s.DryRun {
		remote = ""
	}
	note, err := gitx.NeedHistory(ctx, r.Name, r.Dir, remote)
	if note != "" {
		pr.Notef("%s", note)
	}
	if err != nil {
		pr.Problemf("could not decide: %v", err)
		return plan.AsUndecided(err)
	}
	return nil
}

// LocalBranch returns the commit of local branch name in dir, or "".
func LocalBranch(ctx context.Context, dir, name string) (string, error) {
	return revCommit(ctx, dir, "refs/heads/"+name)
}

// revCommit resolves rev to a commit, "" when it names none.
func revCommit(ctx context.Context, dir, rev string) (string, error) {
	h, _, err := gitx.RevCommit(ctx, dir, rev)
	return h, err
}

// ResolveCommits turns the user's revisions into full hashes; unknown ones
// are problems of pr.
func ResolveCommits(ctx context.Context, dir string, revs []string, pr *plan.Repo) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, rev := range revs {
		h, err := revCommit(ctx, dir, rev)
		if err != nil {
			return nil, err
		}
		if h == "" {
			pr.Problemf("%q names no commit in %s; expected a commit of %s (fetch it first?)", rev, dir, pr.Name)
			continue
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

// CanCommit records a problem when git has no identity to commit with.
func (s *Session) CanCommit(ctx context.Context, dir string, pr *plan.Repo) {
	if s.Ident.Name != "" {
		return
	}
	if _, err := gitx.Git(ctx, dir, "var", "GIT_COMMITTER_IDENT"); err != nil {
		pr.Problemf("git has no identity to commit with here; set git.author in %s, %s=\"Name <email>\", or user.name and user.email", s.WS.File, plan.AuthorEnv)
	}
}

// NotCheckedOut records a problem when branch is checked out somewhere:
// relkit moves release branches only when nobody has them checked out.
func NotCheckedOut(ctx context.Context, dir, br string, pr *plan.Repo) error {
	wt, err := gitx.CheckedOut(ctx, dir, br)
	if err != nil {
		return err
	}
	if wt != "" {
		pr.Problemf("%s is checked out in %s; relkit commits on release branches in a scratch worktree and never moves a checked-out branch: switch that checkout to another branch (git switch -) and run again", br, wt)
	}
	return nil
}

// CheckFunc runs the checks a result must pass. ws is a copy of the
// workspace whose charts repo is the scratch worktree; base is the commit
// the charts are judged against.
type CheckFunc func(ctx context.Context, ws *workspace.Config, base string) *report.Report

// DefaultChecks runs check:charts against base and check:images (when this
// build registers it) with the checks' default options.
func DefaultChecks(ctx context.Context, ws *workspace.Config, base string) *report.Report {
	return ChecksWith(checks.Options{})(ctx, ws, base)
}

// ChecksWith is DefaultChecks with the checks' options o (the targets pass
// what RELKIT_REGISTRY says, so check:images asks the registries too).
func ChecksWith(o checks.Options) CheckFunc {
	return func(ctx context.Context, ws *workspace.Config, base string) *report.Report {
		rep := report.New()
		rep.Merge(checks.ChartsAgainst(ctx, ws, base))
		if slices.Contains(checks.Names(), "images") {
			r := checks.NewRunner(func() (*workspace.Config, error) { return ws, nil }, o)
			if err := r.Collect(ctx, "images"); err != nil {
				rep.Undecided(err)
			} else {
				rep.Merge(r.Report("images"))
			}
		}
		return rep
	}
}

// Excuse says why a finding does not count (a tag the plan creates
// itself), or "".
type Excuse func(report.Finding) string

// CheckCharts runs the session's checks on the charts tree in dir (a
// scratch worktree) against base. Error findings become problems of pr,
// warnings and excused findings notes; a check that could not decide is a
// problem too (relkit does not write what it could not check).
func (s *Session) CheckCharts(ctx context.Context, dir, base string, pr *plan.Repo, excuse Excuse) {
	ws := *s.WS
	charts := *s.WS.Charts
	charts.Dir = dir
	ws.Charts = &charts
	rep := s.Checks(ctx, &ws, base)
	names := strings.Join(rep.Checks(), ", ")
	if names == "" {
		names = "the checks"
	}
	warnings := map[string]int{}
	for _, f := range rep.Findings() {
		msg := fmt.Sprintf("check:%s %s: %s: %s", f.Check, f.Rule, f.Location(), f.Message)
		if f.Repo != "" && f.Repo != pr.Name {
			msg = fmt.Sprintf("check:%s %s: %s %s: %s", f.Check, f.Rule, f.Repo, f.Location(), f.Message)
		}
		if excuse != nil {
			if why := excuse(f); why != "" {
				pr.Notef("%s (%s)", msg, why)
				continue
			}
		}
		if f.Severity == report.Error {
			pr.Problemf("%s", msg)
		} else {
			warnings["check:"+f.Check+" "+f.Rule]++
		}
	}
	if len(warnings) > 0 {
		var parts []string
		for _, k := range sortedKeys(warnings) {
			parts = append(parts, fmt.Sprintf("%s x%d", k, warnings[k]))
		}
		pr.Notef("the checks pass with warnings (%s); run the checks on %s to read them", strings.Join(parts, ", "), s.Branch)
	}
	if err := rep.Err(); err != nil {
		pr.Problemf("%s could not decide on the result: %v", names, err)
	}
}

// PlanPush compares remote with what the plan leaves locally (branch at
// tip, and tags naming the given commits) and adds one atomic push of
// what the remote lacks, guarded by what the remote holds now. It never
// forces: a remote branch that is not an ancestor of tip, or a remote tag
// on another commit, is a problem.
func (s *Session) PlanPush(ctx context.Context, pr *plan.Repo, dir, br, tip string, tags map[string]string) error {
	remote := s.Remote
	if !s.DryRun {
		if err := gitx.Fetch(ctx, dir, remote); err != nil {
			return fmt.Errorf("fetching %s: %w", remote, err)
		}
	}
	ref := "refs/heads/" + br
	names := []string{ref}
	for t := range tags {
		names = append(names, "refs/tags/"+t)
	}
	got, err := gitx.LsRemote(ctx, dir, remote, names...)
	if err != nil {
		return fmt.Errorf("asking %s: %w", remote, err)
	}
	step := plan.Step{Kind: plan.Push, Remote: remote}
	switch have := got[ref]; {
	case have == tip:
		pr.Donef("%s has %s at %s", remote, br, gitx.Short(tip))
	case have == "":
		step.Updates = append(step.Updates, plan.RefUpdate{Ref: ref, Local: tip, Note: gitx.Short(tip)})
	default:
		ok, err := gitx.IsAncestor(ctx, dir, have, tip)
		if err != nil {
			return err
		}
		if !ok {
			pr.Problemf("%s has %s at %s, which the result does not contain: the remote has commits this checkout lacks, or the branches diverged; fetch and check %s, then run again", remote, br, gitx.Short(have), br)
			return nil
		}
		n, _ := gitx.Git(ctx, dir, "rev-list", "--count", have+".."+tip, "--")
		step.Updates = append(step.Updates, plan.RefUpdate{Ref: ref, Local: tip, Expect: have,
			Note: fmt.Sprintf("%s, %s new commit(s)", gitx.Short(tip), strings.TrimSpace(n))})
	}
	for _, t := range sortedKeys(tags) {
		tref := "refs/tags/" + t
		have, peeled := got[tref], got[tref+"^{}"]
		if peeled == "" {
			peeled = have
		}
		switch {
		case have == "":
			step.Updates = append(step.Updates, plan.RefUpdate{Ref: tref, Local: tref, Note: "tag on " + gitx.Short(tags[t])})
		case peeled == tags[t]:
			pr.Donef("%s has tag %s", remote, t)
		default:
			pr.Problemf("%s already has tag %s on %s, not on %s; relkit never moves a tag: check it by hand", remote, t, gitx.Short(peeled), gitx.Short(tags[t]))
			return nil
		}
	}
	if len(step.Updates) > 0 {
		pr.Steps = append(pr.Steps, step)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
