package plan

import (
	"context"
	"fmt"
	"github.com/relkit/relkit/release/gitx"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/workspace"
)

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
func (s *Session) CheckCharts(ctx context.Context, dir, base string, pr *Repo, excuse Excuse) {
	ws := *s.WS
	charts := *s.WS.Charts
	charts.Dir = dir
	ws.Charts = &charts
	// base is resolved in the charts repo itself: a dry run's scratch is
	// a repository of its own that does not have the repo's refs.
	if h, ok, err := gitx.RevCommit(ctx, s.WS.Charts.Dir, base); err == nil && ok {
		base = h
	}
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
		for _, k := range slices.Sorted(maps.Keys(warnings)) {
			parts = append(parts, fmt.Sprintf("%s x%d", k, warnings[k]))
		}
		pr.Notef("the checks pass with warnings (%s); run the checks on %s to read them", strings.Join(parts, ", "), s.Branch)
	}
	if err := rep.Err(); err != nil {
		pr.Problemf("%s could not decide on the result: %v", names, err)
	}
}

// Gate runs the checks a release must pass before it writes anything,
// writes their report to w, and returns the exit code (0 pass, 1 error
// findings, 3 could not decide) with a one-line summary.
type Gate func(ctx context.Context, w io.Writer) (code int, summary string)

// ChecksFailed is the error of a release whose checks do not pass; its
// exit code is the checks' (1 error findings, 3 could not decide).
type ChecksFailed struct {
	Code    int
	Summary string
}

func (e *ChecksFailed) Error() string {
	return "the release checks do not pass (" + e.Summary + "); fix them or see go tool mage check:all"
}

// ExitCode is the checks' exit code.
func (e *ChecksFailed) ExitCode() int { return e.Code }

// RunGate runs g with its report going to w (nil: discarded) and returns
// nil when the checks pass, else a *ChecksFailed.
func RunGate(ctx context.Context, g Gate, w io.Writer) error {
	if w == nil {
		w = io.Discard
	}
	code, summary := g(ctx, w)
	if code == ExitOK {
		return nil
	}
	return &ChecksFailed{Code: code, Summary: summary}
}
