// Package plan is the model behind relkit's release targets that write to
// git (release:branch, release:tag): everything a run would do, per repo,
// worked out before anything is written. A plan prints as text for people
// and as JSON for tools (a dry run prints it and stops), and is applied
// step by step: first every repo's local steps (branches, commits, tags),
// then a check that every remote still holds what the plan read, and only
// then the pushes, one atomic push per repo.
package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/repofs"
)

// Kind is the kind of a step.
type Kind string

const (
	// CreateBranch creates local branch Ref at Commit.
	CreateBranch Kind = "create-branch"
	// Commit writes Files in the worktree and commits them on Branch,
	// whose head must be Parent.
	Commit Kind = "commit"
	// CreateTag creates annotated tag Ref on Commit with Message.
	CreateTag Kind = "create-tag"
	// Fetch copies remote refs that the remote already has right (a tag
	// made elsewhere) into the local repo.
	Fetch Kind = "fetch"
	// Push pushes Updates to Remote in one atomic push, after checking
	// that every Guard (and every Update) still has its expected value.
	Push Kind = "push"
	// Review sends the commits of Review (Base..Tip) to Remote for review
	// instead of pushing them onto their branch, after checking every
	// Guard like a push. It never pushes a branch or a tag of the plan.
	Review Kind = "review"
	// PublishChart puts package Package into chart repository Remote
	// under Ref (a file of a static repository, an OCI tag). Plan.Apply
	// does not carry it out: chart:publish does (release/chartpublish).
	PublishChart Kind = "publish-chart"
)

// Step is one thing to do in one repo.
type Step struct {
	Kind Kind `json:"kind"`
	// Ref is the full name of the branch or tag to create.
	Ref string `json:"ref,omitempty"`
	// Commit is the commit the new branch or tag points at.
	Commit string `json:"commit,omitempty"`
	// Branch (short name) and Parent (its head before) of a commit step.
	Branch string `json:"branch,omitempty"`
	Parent string `json:"parent,omitempty"`
	// Message of a commit or an annotated tag.
	Message string `json:"message,omitempty"`
	Files   []File `json:"files,omitempty"`
	// Remote of a fetch or push step.
	Remote  string      `json:"remote,omitempty"`
	Updates []RefUpdate `json:"updates,omitempty"`
	// Guards are remote refs that must still have their expected value
	// before anything is pushed anywhere.
	Guards []RefUpdate `json:"guards,omitempty"`
	// Review is what a review step sends to Remote.
	Review *ReviewRequest `json:"review,omitempty"`
	// Package is the chart package of a publish-chart step.
	Package *Package `json:"package,omitempty"`
}

// Package is a chart package to publish.
type Package struct {
	Chart   string `json:"chart"`
	Version string `json:"version"`
	// Digest is the sha256 of the .tgz ("sha256:<hex>").
	Digest string `json:"digest"`
	// Dir is the chart's folder in the charts repo, Commit the commit it
	// was packaged from.
	Dir    string `json:"dir"`
	Commit string `json:"commit"`
	// Needs lists the packages ("name version") that must be in the
	// repository first.
	Needs []string `json:"needs,omitempty"`
}

// RefUpdate is one remote ref a push (or fetch) touches.
type RefUpdate struct {
	// Ref is the full ref name on the remote.
	Ref string `json:"ref"`
	// Local is what is pushed (a local ref or commit), or the local ref a
	// fetch writes.
	Local string `json:"local,omitempty"`
	// Expect is the value the remote ref must have beforehand; empty means
	// the remote must not have the ref.
	Expect string `json:"expect,omitempty"`
	// Note says what the new value is, for people ("the bump commit").
	Note string `json:"note,omitempty"`
}

// File is a file a commit step changes.
type File struct {
	Path    string   `json:"path"`
	Changes []Change `json:"changes"`
	// Old and New are the whole contents before and after.
	Old []byte `json:"-"`
	New []byte `json:"-"`
}

// Change is one value changed in a file.
type Change struct {
	Line int `json:"line"`
	// Field names the value ("version", "dependencies[0].version").
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Repo is the plan for one repo.
type Repo struct {
	Name string `json:"repo"`
	Kind string `json:"kind,omitempty"`
	Dir  string `json:"dir"`
	// Done lists what is already in place, so it is not redone.
	Done []string `json:"done,omitempty"`
	// Notes are things worth knowing that change nothing.
	Notes []string `json:"notes,omitempty"`
	// Problems are why this repo cannot go on; any problem anywhere stops
	// the whole run before it writes.
	Problems []string `json:"problems,omitempty"`
	Steps    []Step   `json:"steps,omitempty"`
	// Applied and Error record what an Apply did.
	Applied []string `json:"applied,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Problemf records a problem.
func (r *Repo) Problemf(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Donef records something already in place.
func (r *Repo) Donef(format string, args ...any) {
	r.Done = append(r.Done, fmt.Sprintf(format, args...))
}

// Notef records a note.
func (r *Repo) Notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Plan is everything a run will do.
type Plan struct {
	// Action is the command the plan is for ("release:branch 2.1").
	Action string `json:"action"`
	DryRun bool   `json:"dryRun"`
	// Author is the identity of commits and tags; empty means each repo's
	// git config.
	Author string  `json:"author,omitempty"`
	Repos  []*Repo `json:"repos"`
}

// moves reports whether a push step moves branches of repo r itself (a
// push to its own directory, see cherry.MoveStep) rather than publishing.
func (s Step) moves(r *Repo) bool {
	return s.Kind == Push && r != nil && s.Remote != "" && s.Remote == r.Dir
}

// Problems lists every problem as "repo: problem".
func (p *Plan) Problems() []string {
	var out []string
	for _, r := range p.Repos {
		for _, pr := range r.Problems {
			out = append(out, r.Name+": "+pr)
		}
	}
	return out
}

// Count counts the steps of kind k.
func (p *Plan) Count(k Kind) int {
	n := 0
	for _, r := range p.Repos {
		for _, s := range r.Steps {
			if s.Kind == k {
				n++
			}
		}
	}
	return n
}

// Empty reports whether the plan has no step at all.
func (p *Plan) Empty() bool {
	return !slices.ContainsFunc(p.Repos, func(r *Repo) bool { return len(r.Steps) > 0 })
}

// Refused is the error of a plan with problems: nothing was written.
type Refused struct{ Problems []string }

func (e *Refused) Error() string {
	return fmt.Sprintf("refused, nothing was written: %s", strings.Join(e.Problems, "; "))
}

// ExitCode is 1: the run was refused.
func (e *Refused) ExitCode() int { return ExitFailed }

// Undecided is an error that kept relkit from working out what to do (an
// unreadable repo, an unreachable remote).
type Undecided struct{ Err error }

func (e *Undecided) Error() string { return "could not decide: " + e.Err.Error() }
func (e *Undecided) Unwrap() error { return e.Err }

// ExitCode is 3: could not decide.
func (e *Undecided) ExitCode() int { return ExitUndecided }

// Exit codes of the release targets.
const (
	ExitOK     = 0
	ExitFailed = 1
	// ExitUsage is a command line the target cannot run: what mage
	// itself exits with for an unknown target or flag, and what the
	// targets exit with for a bad argument.
	ExitUsage     = 2
	ExitUndecided = 3
)

// ExitCode maps an error to the exit status of a release target: 0 for
// nil, the checks' own for ChecksFailed (1 or 3), 3 when it is (or wraps)
// Undecided, a git command that could not
// reach its remote or a shallow clone's cut-off history, else 1.
func ExitCode(err error) int {
	var u *Undecided
	var sh *gitx.ShallowError
	var cf *ChecksFailed
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &cf) && cf.Code == ExitUndecided:
		return ExitUndecided
	case errors.As(err, &cf):
		return ExitFailed
	case errors.As(err, &u), errors.As(err, &sh), remoteUnreachable(err):
		return ExitUndecided
	}
	return ExitFailed
}

// unreachableMarks are what git (run with LC_ALL=C, see gitx.Env) says
// when it cannot talk to a remote at all: a path or remote that is gone,
// a host that does not answer, credentials refused.
var unreachableMarks = []string{
	"does not appear to be a git repository",
	"Could not read from remote repository",
	"unable to access '",
	"Could not resolve host",
	"Connection refused",
	"Connection timed out",
	"Authentication failed",
	"could not read Username",
	"Permission denied (publickey",
}

// remoteUnreachable reports whether err holds a git command that failed
// because its remote could not be reached: whatever the step was (a
// fetch, a push after the remote was checked), nothing is known about the
// remote, so the run could not decide. A push the remote rejected is not
// this.
func remoteUnreachable(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case *gitx.CmdError:
		return slices.ContainsFunc(unreachableMarks, func(m string) bool { return strings.Contains(e.Stderr, m) })
	case interface{ Unwrap() []error }: // errors.Join: any of them
		return slices.ContainsFunc(e.Unwrap(), remoteUnreachable)
	}
	return remoteUnreachable(errors.Unwrap(err))
}

// RefuseFile records err as a problem of r when it is a repo file relkit
// refused to read or write (repofs.Refused: a committed symlink, a FIFO, a
// file over its size cap), so the run is refused (exit 1) with nothing
// written instead of being "could not decide"; it reports whether it did.
func RefuseFile(r *Repo, err error) bool {
	if _, _, ok := repofs.Refused(err); !ok {
		return false
	}
	for _, e := range repofs.Refusals(err) {
		r.Problemf("%v", e)
	}
	return true
}

// checkWrites records a problem for every file a commit step would write
// through a symlink (or over something that is not a regular file), so a
// dry run shows the refusal a real run would meet.
func (p *Plan) checkWrites() {
	for _, r := range p.Repos {
		for _, s := range r.Steps {
			if s.Kind != Commit {
				continue
			}
			for _, f := range s.Files {
				if err := repofs.CheckWrite(r.Dir, f.Path); err != nil {
					r.Problemf("%v", err)
				}
			}
		}
	}
}

// AsUndecided marks a planning error as "could not decide" (exit 3),
// leaving one that already is (or a cancellation) as it is; nil stays nil.
func AsUndecided(err error) error {
	if err == nil {
		return nil
	}
	var u *Undecided
	if errors.As(err, &u) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Undecided{Err: err}
}

// CheckRepos adds to every repo the plan writes into (one with steps) the
// problems that would make the writes fail half way or go wrong (see
// gitx.WriteProblems: a merge or rebase in progress, an index.lock, a git
// directory relkit cannot write, another relkit run writing there), so
// they stop the run before anything is written and show in a dry run.
func (p *Plan) CheckRepos() {
	for _, r := range p.Repos {
		if len(r.Steps) == 0 {
			continue
		}
		probs, err := gitx.WriteProblems(r.Dir)
		if err != nil {
			r.Problemf("could not read the repo's state: %v", err)
			continue
		}
		for _, pr := range probs {
			if !slices.Contains(r.Problems, pr) {
				r.Problems = append(r.Problems, pr)
			}
		}
	}
}
