package plan

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// DefaultRemote is the remote release runs push to and check against.
const DefaultRemote = "origin"

// UseTrailer marks the charts commit of patch:component -use; its value is
// "<component> <version>", so the release notes can say the release was
// taken as it was, not made for the branch.
const UseTrailer = "Relkit-Use"

// SessionOptions are the options every run on a release line shares.
type SessionOptions struct {
	// DryRun plans and prints but writes nothing.
	DryRun bool
	// Push checks the remotes and pushes the result.
	Push bool
	// Remote defaults to origin.
	Remote string
	// Author overrides the identity of relkit's commits and tags (see
	// Author).
	Author string
	// Checks runs on the charts result; nil means DefaultChecks.
	Checks CheckFunc
	// From names the branch the commits come from when it is not the
	// repo's main branch (an unmerged work branch).
	From string
	// Review, when set, sends the new commits for review instead of
	// pushing them (release/review.Mode); it implies Push's planning.
	Review ReviewMode
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
	// From is SessionOptions.From.
	From string
	// Review is SessionOptions.Review.
	Review ReviewMode
}

// NewSession validates the release line and works out the identity.
func NewSession(ctx context.Context, ws *workspace.Config, line string, opt SessionOptions) (*Session, error) {
	parsed, err := version.ParseLine(line)
	if err != nil {
		return nil, err
	}
	l := parsed.String()
	if ws.Charts == nil {
		return nil, fmt.Errorf("%s: no charts repo configured", ws.File)
	}
	ident, err := Author(ws, opt.Author)
	if err != nil {
		return nil, err
	}
	s := &Session{WS: ws, Line: l, Branch: ws.ReleaseBranch(l), Ident: ident, Remote: opt.Remote,
		DryRun: opt.DryRun, Push: opt.Push || opt.Review != nil, Checks: opt.Checks, From: strings.TrimSpace(opt.From),
		Review: opt.Review}
	if s.Remote == "" {
		s.Remote = DefaultRemote
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
func (s *Session) NewPlan(action string) *Plan {
	if s.Push {
		action += " -push"
	}
	return &Plan{Action: action, DryRun: s.DryRun, Author: s.Ident.String()}
}

// RepoPlan starts the plan of one repo.
func RepoPlan(r *workspace.Repo) *Repo {
	return &Repo{Name: r.Name, Kind: string(r.Kind), Dir: r.Dir}
}

// Run prints the plan and applies it unless it is a dry run; a planning
// error is printed with the plan and returned.
func (s *Session) Run(ctx context.Context, p *Plan, planErr error, w io.Writer, f Format) error {
	return Execute(ctx, p, planErr, w, f, Options{Ident: s.Ident, Review: s.Review})
}

// NeedHistory makes sure the run can read r's history (see
// gitx.NeedHistory): a shallow clone is deepened from the remote in a real
// run, which the plan notes, and stops a dry run (which writes nothing)
// as could-not-decide; the problem is recorded in pr.
func (s *Session) NeedHistory(ctx context.Context, r *workspace.Repo, pr *Repo) error {
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
		return AsUndecided(err)
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
func ResolveCommits(ctx context.Context, dir string, revs []string, pr *Repo) ([]string, error) {
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
func (s *Session) CanCommit(ctx context.Context, dir string, pr *Repo) {
	if s.Ident.Name != "" {
		return
	}
	if _, err := gitx.Git(ctx, dir, "var", "GIT_COMMITTER_IDENT"); err != nil {
		pr.Problemf("git has no identity to commit with here; set git.author in %s, %s=\"Name <email>\", or user.name and user.email", s.WS.File, AuthorEnv)
	}
}

// NotCheckedOut records a problem when branch is checked out somewhere:
// relkit moves release branches only when nobody has them checked out.
func NotCheckedOut(ctx context.Context, dir, br string, pr *Repo) error {
	wt, err := gitx.CheckedOut(ctx, dir, br)
	if err != nil {
		return err
	}
	if wt != "" {
		pr.Problemf("%s is checked out in %s; relkit commits on release branches in a scratch worktree and never moves a checked-out branch: switch that checkout to another branch (git switch -) and run again", br, wt)
	}
	return nil
}

// PlanPush compares remote with what the plan leaves locally (branch at
// tip, and tags naming the given commits) and adds one atomic push of
// what the remote lacks, guarded by what the remote holds now. It never
// forces: a remote branch that is not an ancestor of tip, or a remote tag
// on another commit, is a problem.
func (s *Session) PlanPush(ctx context.Context, pr *Repo, dir, br, tip string, tags map[string]string) error {
	return PlanPush(ctx, pr, dir, s.Remote, !s.DryRun, br, tip, tags)
}

// PlanPush is Session.PlanPush for a run without a session: remote is
// fetched first when fetch is set (a real run; a dry run only asks).
func PlanPush(ctx context.Context, pr *Repo, dir, remote string, fetch bool, br, tip string, tags map[string]string) error {
	if fetch {
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
	step := Step{Kind: Push, Remote: remote}
	switch have := got[ref]; {
	case have == tip:
		pr.Donef("%s has %s at %s", remote, br, gitx.Short(tip))
	case have == "":
		step.Updates = append(step.Updates, RefUpdate{Ref: ref, Local: tip, Note: gitx.Short(tip)})
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
		step.Updates = append(step.Updates, RefUpdate{Ref: ref, Local: tip, Expect: have,
			Note: fmt.Sprintf("%s, %s new commit(s)", gitx.Short(tip), strings.TrimSpace(n))})
	}
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		tref := "refs/tags/" + t
		have, peeled := got[tref], got[tref+"^{}"]
		if peeled == "" {
			peeled = have
		}
		switch {
		case have == "":
			step.Updates = append(step.Updates, RefUpdate{Ref: tref, Local: tref, Note: "tag on " + gitx.Short(tags[t])})
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
