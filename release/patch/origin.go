package patch

import (
	"context"
	"fmt"
	"strings"

	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// openFixes resolves the fixes (see Fixes) and opens comp's repo to plan
// them in; g is nil (nothing to close) when the run is refused or failed.
func (s *Session) openFixes(ctx context.Context, comp *workspace.Repo, revs []string, pr *plan.Repo) (commits []string, g *gitx.Repo, err error) {
	commits, err = s.Fixes(ctx, comp, revs, pr)
	if err != nil || len(pr.Problems) > 0 {
		return nil, nil, err
	}
	if g, err = gitx.Open(comp.Dir); err != nil {
		return nil, nil, err
	}
	return commits, g, nil
}

// Fixes resolves the fixes a patch names (revs) in repo r and checks
// that each is on the branch it must come from (CommitsOnSource): the
// commits, in order without repeats, or problems of pr.
func (s *Session) Fixes(ctx context.Context, r *workspace.Repo, revs []string, pr *plan.Repo) ([]string, error) {
	commits, err := plan.ResolveCommits(ctx, r.Dir, revs, pr)
	if err != nil || len(pr.Problems) > 0 {
		return nil, err
	}
	if err := s.CommitsOnSource(ctx, r, commits, pr); err != nil {
		return nil, err
	}
	return commits, nil
}

// CommitsOnSource records a problem of pr for every commit that is not on
// the branch it must come from: the repo's main branch (the local branch
// or its remote-tracking branch), or the branch Options.From names. A
// release takes reviewed, merged fixes; a commit of an unmerged work
// branch, or one that came from another repository's history, is refused
// unless the user names where it comes from.
func (s *Session) CommitsOnSource(ctx context.Context, r *workspace.Repo, commits []string, pr *plan.Repo) error {
	name, how := r.MainBranch, "the main branch "+r.MainBranch
	if s.From != "" {
		name, how = s.From, "branch "+s.From+" (named by -from)"
	}
	var refs []string
	for _, ref := range []string{"refs/heads/" + name, "refs/remotes/" + s.Remote + "/" + name} {
		h, err := revCommit(ctx, r.Dir, ref)
		if err != nil {
			return err
		}
		if h != "" {
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		if s.From != "" {
			pr.Problemf("-from=%s names no branch of %s (neither %s nor %s/%s exists); expected the branch the commits come from (fetch it first?)", s.From, r.Name, s.From, s.Remote, s.From)
		} else {
			pr.Problemf("has no branch %s (mainBranch in %s), so where the commits come from cannot be checked", r.MainBranch, s.WS.File)
		}
		return nil
	}
	for _, c := range commits {
		on := false
		for _, ref := range refs {
			ok, err := gitx.IsAncestor(ctx, r.Dir, c, ref)
			if err != nil {
				return err
			}
			if ok {
				on = true
				break
			}
		}
		if on {
			continue
		}
		msg := fmt.Sprintf("%s %q is not on %s", gitx.Short(c), cherry.Subject(ctx, r.Dir, c), how)
		if where := containing(ctx, r.Dir, c); where != "" {
			msg += "; it is on " + where
		} else {
			msg += fmt.Sprintf("; no branch or tag of %s has it (a commit of another repository?)", r.Name)
		}
		if s.From == "" {
			msg += fmt.Sprintf(". A release takes merged fixes: merge it into %s first, or name the branch it comes from with -from=<branch>", r.MainBranch)
		}
		pr.Problemf("%s", msg)
	}
	return nil
}

// containing names a few refs that contain commit, for messages.
func containing(ctx context.Context, dir, commit string) string {
	const show = 3
	out, err := gitx.Git(ctx, dir, "for-each-ref", "--contains", commit, "--count=16", "--format=%(refname)", "refs/heads", "refs/remotes", "refs/tags")
	if err != nil {
		return ""
	}
	var names []string
	for _, ref := range strings.Fields(out) {
		names = append(names, gitx.RefDisplay(ref))
	}
	if len(names) > show {
		return strings.Join(names[:show], ", ") + " and others"
	}
	return strings.Join(names, ", ")
}
