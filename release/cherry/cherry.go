// Package cherry makes commits on branches nobody has checked out: it adds
// a scratch worktree detached at the branch's head (git worktree add
// --detach), cherry-picks (git cherry-pick -x; go-git has no cherry-pick)
// and commits there, and removes the worktree afterwards. No ref moves and
// the user's checkout is never touched: the new commits are objects only,
// until a plan moves the branch to them (see MoveStep).
//
// A cherry-pick conflict is first offered to a Resolver (ChartVersions
// settles conflicts that are only about chart version lines); any other
// conflict aborts the pick and comes back as a *ConflictError naming the
// files and the commands a person would run to finish by hand.
package cherry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
)

// noHooks keeps the repo's hooks out of relkit's scratch work (see
// gitx.NoHooks).
var noHooks = gitx.NoHooks

// Worktree is a scratch worktree of a repository (gitx.Worktree) that
// cherry-picks.
type Worktree struct {
	*gitx.Worktree
}

// Add adds a scratch worktree of repo detached at commit (a full hash or
// any revision), in a relkit-owned temp dir (see gitx.AddWorktree). For a
// dry run it is an isolated scratch repository that writes nothing into
// repo (gitx.AddIsolatedWorktree). Close it with Remove.
func Add(ctx context.Context, repo, commit string, ident gitx.Ident, dryRun bool) (*Worktree, error) {
	add := gitx.AddWorktree
	if dryRun {
		add = gitx.AddIsolatedWorktree
	}
	w, err := add(ctx, repo, commit, ident)
	if err != nil {
		return nil, err
	}
	return &Worktree{w}, nil
}

// AddOnBranch starts a commit planned for branch s.Branch of repo: the
// worktree of Add at tip, unless the run is refused (then nil, and the
// reasons are problems of pr): the branch is checked out somewhere, git
// has no identity to commit with, or pr already has a problem.
func AddOnBranch(ctx context.Context, s *plan.Session, pr *plan.Repo, repo, tip string) (*Worktree, error) {
	if err := plan.NotCheckedOut(ctx, repo, s.Branch, pr); err != nil {
		return nil, err
	}
	s.CanCommit(ctx, repo, pr)
	if len(pr.Problems) > 0 {
		return nil, nil
	}
	return Add(ctx, repo, tip, s.Ident, s.DryRun)
}

// Remove deletes the worktree (see gitx.Worktree.Remove); a nil Worktree
// has nothing to remove.
func (w *Worktree) Remove(ctx context.Context) error {
	if w == nil {
		return nil
	}
	return w.Worktree.Remove(ctx)
}

// Changed lists the files (repo paths) that differ between two commits.
func Changed(ctx context.Context, dir, from, to string) ([]string, error) {
	return gitx.Paths(ctx, dir, "-c", "core.quotepath=off", "diff", "--name-only", "-z", "--no-renames", from, to, "--")
}

// Result is one commit picked.
type Result struct {
	// Source is the commit picked.
	Source, Subject string
	// Commit is the new commit; "" when the pick brought nothing the
	// branch did not have (it was skipped).
	Commit string
	// Resolved lists the conflicted files a resolver settled.
	Resolved []string
}

// Resolver settles the conflict in one file of a cherry-pick stopped in
// the worktree: it writes the resolved content and reports true, or
// reports false and leaves the file alone.
type Resolver func(ctx context.Context, w *Worktree, file string) (bool, error)

// ConflictError is a cherry-pick that stopped on conflicts no resolver
// settled. The pick was aborted: the worktree is back where it was.
type ConflictError struct {
	Source, Subject string
	// Onto is the commit the pick was tried on.
	Onto string
	// Files are the conflicted files (git diff --name-only
	// --diff-filter=U), Resolvable those a resolver could have settled.
	Files []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("cherry-picking %s %q onto %s conflicts in %s", gitx.Short(e.Source), e.Subject, gitx.Short(e.Onto), strings.Join(e.Files, ", "))
}

// HandCommands are the commands a person runs in their own checkout to
// finish the pick onto branch by hand.
func (e *ConflictError) HandCommands(branch string) []string {
	return []string{
		"git switch " + branch,
		"git cherry-pick -x " + e.Source,
		"# resolve the conflicts in " + strings.Join(e.Files, ", ") + ", then:",
		"git add -- " + strings.Join(e.Files, " "),
		"git cherry-pick --continue",
		"# bump each changed chart to its next patch version, commit, and check with: go tool mage check:charts",
	}
}

// Pick cherry-picks commit (git cherry-pick -x) onto the worktree's HEAD.
// Conflicts go to resolve (nil: none settled); a pick with a conflict left
// is aborted and returned as *ConflictError. A pick that turns out empty
// (the branch already has the change) is skipped and has Commit "".
func (w *Worktree) Pick(ctx context.Context, commit string, resolve Resolver) (Result, error) {
	res := Result{Source: commit}
	info, err := gitx.Git(ctx, w.Dir, "log", "-1", "--format=%P%x00%s", commit, "--")
	if err != nil {
		return res, err
	}
	parents, subject, _ := strings.Cut(strings.TrimSpace(info), "\x00")
	res.Subject = subject
	if len(strings.Fields(parents)) > 1 {
		return res, fmt.Errorf("%s %q is a merge commit; pick the commits it merged instead", gitx.Short(commit), subject)
	}
	onto, err := w.Head(ctx)
	if err != nil {
		return res, err
	}
	// Picks keep the fix's author; relkit only commits them.
	env := committerOnly(w.Ident)
	_, pickErr := gitx.GitEnv(ctx, w.Dir, env, nil, append(noHooks, "cherry-pick", "-x", "--allow-empty-message", commit)...)
	if pickErr == nil {
		res.Commit, err = w.Head(ctx)
		return res, err
	}
	if ctx.Err() != nil {
		w.abort(ctx)
		return res, ctx.Err()
	}
	files, err := w.Unmerged(ctx)
	if err != nil {
		w.abort(ctx)
		return res, err
	}
	if len(files) == 0 {
		if isEmptyPick(pickErr) {
			_, err := gitx.GitEnv(ctx, w.Dir, env, nil, append(noHooks, "cherry-pick", "--skip")...)
			return res, err
		}
		w.abort(ctx)
		return res, pickErr
	}
	var left []string
	for _, f := range files {
		ok := false
		if resolve != nil {
			if ok, err = resolve(ctx, w, f); err != nil {
				w.abort(ctx)
				return res, fmt.Errorf("resolving %s: %w", f, err)
			}
		}
		if ok {
			res.Resolved = append(res.Resolved, f)
		} else {
			left = append(left, f)
		}
	}
	if len(left) > 0 {
		w.abort(ctx)
		return res, &ConflictError{Source: commit, Subject: subject, Onto: onto, Files: files}
	}
	if _, err := gitx.GitEnv(ctx, w.Dir, append(env, "GIT_LITERAL_PATHSPECS=1"), nil, append(noHooks, append([]string{"add", "--"}, res.Resolved...)...)...); err != nil {
		w.abort(ctx)
		return res, err
	}
	if _, err := gitx.Git(ctx, w.Dir, "diff", "--cached", "--quiet", "HEAD"); err == nil {
		// Only the resolved lines differed, and the branch's side won:
		// nothing is left to pick.
		_, err := gitx.GitEnv(ctx, w.Dir, env, nil, append(noHooks, "cherry-pick", "--skip")...)
		return res, err
	}
	if _, err := gitx.GitEnv(ctx, w.Dir, env, nil, append(noHooks, "cherry-pick", "--continue")...); err != nil {
		w.abort(ctx)
		return res, err
	}
	res.Commit, err = w.Head(ctx)
	return res, err
}

// Unmerged lists the files with conflicts (git diff --name-only
// --diff-filter=U).
func (w *Worktree) Unmerged(ctx context.Context) ([]string, error) {
	return gitx.Paths(ctx, w.Dir, "-c", "core.quotepath=off", "diff", "--name-only", "-z", "--diff-filter=U")
}

func (w *Worktree) abort(ctx context.Context) {
	_, _ = gitx.Git(context.WithoutCancel(ctx), w.Dir, append(noHooks, "cherry-pick", "--abort")...)
}

func isEmptyPick(err error) bool {
	var ce *gitx.CmdError
	if !errors.As(err, &ce) {
		return false
	}
	return strings.Contains(ce.Stderr, "now empty") || strings.Contains(ce.Stderr, "nothing to commit")
}

func committerOnly(id gitx.Ident) []string {
	if id.Name == "" {
		return nil
	}
	return []string{"GIT_COMMITTER_NAME=" + id.Name, "GIT_COMMITTER_EMAIL=" + id.Email}
}

// PickTrailer is the line git cherry-pick -x adds for commit (a full hash).
func PickTrailer(commit string) string { return "(cherry picked from commit " + commit + ")" }

var pickRE = regexp.MustCompile(`\(cherry picked from commit ([0-9a-f]{40})\)`)

// PickedFrom returns the commits a commit message says it was picked from.
func PickedFrom(msg string) []string {
	var out []string
	for _, m := range pickRE.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[1])
	}
	return out
}

// FindPick looks for commit (a full hash) among the commits of tip that
// are not on any of the refs in not: either the commit itself or a
// cherry-pick of it (its -x trailer). It returns the commit found, or "".
func FindPick(ctx context.Context, dir, tip, commit string, not ...string) (string, error) {
	on, err := gitx.IsAncestor(ctx, dir, commit, tip)
	if err != nil {
		return "", err
	}
	if on {
		return commit, nil
	}
	args := []string{"log", "--format=%H", "--fixed-strings", "--grep=" + PickTrailer(commit), tip}
	for _, n := range not {
		args = append(args, "^"+n)
	}
	out, err := gitx.Git(ctx, dir, append(args, "--")...)
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return first, nil
}

// MoveStep is the plan step that moves local branch (short name) of the
// repo at dir from old to commit: a fast-forward push to the repo itself,
// so the plan's guard sees the branch still at old, git refuses anything
// but a fast-forward, and a branch checked out in any worktree is never
// moved under it.
func MoveStep(dir, branch, old, commit, note string) plan.Step {
	ref := "refs/heads/" + branch
	return plan.Step{Kind: plan.Push, Remote: dir,
		Updates: []plan.RefUpdate{{Ref: ref, Local: commit, Expect: old, Note: note}}}
}

// Subject returns a commit's subject line.
func Subject(ctx context.Context, dir, commit string) string {
	out, err := gitx.Git(ctx, dir, "log", "-1", "--format=%s", commit, "--")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}
