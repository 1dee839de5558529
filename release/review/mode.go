package review

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Mode is review mode of one run: how the remote takes reviews and which
// run (target and release line) the reviews belong to. It implements
// plan.ReviewMode: a target passes it in plan.Options.Review, plan.Run
// has it Rewrite the finished plan, and plan.Apply sends the plan's
// Review steps through it. The planners themselves are unchanged: they
// plan pushes as for -push, and Rewrite turns each push to a remote into
// what review mode does instead.
type Mode struct {
	Options
	Name Name
}

var _ plan.ReviewMode = (*Mode)(nil)

// Check prepares a Review step and sends nothing (plan.Reviewer).
func (m *Mode) Check(ctx context.Context, dir string, s plan.Step) error {
	return Reviewer{m.Options}.Check(ctx, dir, s)
}

// Send sends a Review step (plan.Reviewer).
func (m *Mode) Send(ctx context.Context, dir string, s plan.Step) (string, error) {
	return Reviewer{m.Options}.Send(ctx, dir, s)
}

// Rewrite turns every push of p to a remote into review mode's steps:
//
//   - an update of a branch (new commits on top of what the remote has)
//     becomes a Review step of those commits into the branch;
//   - a new branch at a commit the remote already has stays a direct push
//     (no new content skips review, and a review needs its branch);
//   - a new branch with new commits is created directly at the newest
//     commit the remote has, and the rest goes for review into it;
//   - a tag is not pushed: it belongs to the commit finally merged, which
//     release:tag tags after the merge (the local tag stays local);
//
// Pushes to the repo itself (the fast-forwards that move a local branch
// onto commits made in a scratch worktree) stay as they are. For Gerrit,
// every commit a review sends gets its Change-Id from the plan (Key):
// commit steps get it in their message, commits the planner already made
// are re-made with it (objects only; the steps are updated to the new
// hashes). A commit that already sits on the local branch without one is
// a problem of the plan, not something to rewrite behind the user's back.
func (m *Mode) Rewrite(ctx context.Context, p *plan.Plan) error {
	if a, ok := strings.CutSuffix(p.Action, " -push"); ok {
		p.Action = a
	}
	p.Action += " -review"
	var mu sync.Mutex
	var errs []error
	plan.ForEach(ctx, p.Repos, 0, func(ctx context.Context, r *plan.Repo) {
		if err := m.rewriteRepo(ctx, r); err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
			mu.Unlock()
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// The pull requests carry the plan as it will run.
	var b strings.Builder
	if err := p.WriteText(&b); err != nil {
		return err
	}
	for _, r := range p.Repos {
		for _, s := range r.Steps {
			if s.Kind == plan.Review && s.Review != nil {
				s.Review.Body = b.String()
			}
		}
	}
	return nil
}

// isLocal reports whether remote is the repo at dir itself.
func isLocal(dir, remote string) bool {
	if remote == dir {
		return true
	}
	a, err1 := filepath.Abs(dir)
	b, err2 := filepath.Abs(remote)
	return err1 == nil && err2 == nil && a == b
}

// rewriteRepo rewrites one repo's steps; an error is "could not decide"
// (the remote could not be read), a refusal a problem of r.
func (m *Mode) rewriteRepo(ctx context.Context, r *plan.Repo) error {
	var steps []plan.Step
	var reviews []*plan.Step
	created := map[string]string{} // local branch ref -> commit, made by this plan
	for _, s := range r.Steps {
		if s.Kind == plan.CreateBranch {
			created[s.Ref] = s.Commit
		}
	}
	remotes := map[string]gitx.RemoteRefs{}
	remoteRefs := func(remote string) (gitx.RemoteRefs, error) {
		if refs, ok := remotes[remote]; ok {
			return refs, nil
		}
		refs, err := gitx.LsRemote(ctx, r.Dir, remote)
		if err != nil {
			return nil, &plan.Undecided{Err: fmt.Errorf("reading %s: %w", remote, err)}
		}
		remotes[remote] = refs
		return refs, nil
	}
	for _, s := range r.Steps {
		if s.Kind != plan.Push || isLocal(r.Dir, s.Remote) {
			steps = append(steps, s)
			continue
		}
		direct := plan.Step{Kind: plan.Push, Remote: s.Remote, Guards: s.Guards}
		var mine []*plan.Step
		for _, u := range s.Updates {
			name, isBranch := strings.CutPrefix(u.Ref, "refs/heads/")
			if !isBranch {
				if t, ok := strings.CutPrefix(u.Ref, "refs/tags/"); ok {
					r.Notef("tag %s stays local: in review mode a tag goes on the commit that is finally merged (release:tag after the merge)", t)
				} else {
					r.Problemf("review mode sends only branches for review; %s would be pushed to %s", u.Ref, s.Remote)
				}
				continue
			}
			tip := u.Local
			if c, ok := created[u.Local]; ok {
				tip = c // the branch does not exist before the plan runs
			}
			if u.Expect != "" {
				mine = append(mine, m.reviewStep(r, s, name, u.Expect, u.Local, false))
				continue
			}
			// A new branch: direct at a commit the remote has, else at the
			// newest one it has, with the rest for review.
			c, ok, err := gitx.RevCommit(ctx, r.Dir, tip)
			if err != nil {
				return err
			}
			if !ok {
				r.Problemf("review mode: cannot tell which commits of new branch %s are new (%q names no commit yet)", name, tip)
				continue
			}
			refs, err := remoteRefs(s.Remote)
			if err != nil {
				return err
			}
			fresh, err := newCommits(ctx, r.Dir, c, refs)
			if err != nil {
				return err
			}
			if len(fresh) == 0 {
				direct.Updates = append(direct.Updates, u)
				continue
			}
			first, err := readCommits(ctx, r.Dir, fresh[:1])
			if err != nil {
				return err
			}
			base := first[0].Parent
			if base == "" {
				r.Problemf("review mode: new branch %s starts with commit %s that is not made on a commit %s has; nothing to create the branch at", name, gitx.Short(fresh[0]), s.Remote)
				continue
			}
			direct.Updates = append(direct.Updates, plan.RefUpdate{Ref: u.Ref, Local: base, Note: gitx.Short(base) + ", already on " + s.Remote})
			mine = append(mine, m.reviewStep(r, s, name, base, u.Local, true))
		}
		if len(direct.Updates) > 0 {
			steps = append(steps, direct)
		}
		for _, rs := range mine {
			steps = append(steps, *rs)
		}
	}
	r.Steps = steps
	for i := range r.Steps {
		if r.Steps[i].Kind == plan.Review {
			reviews = append(reviews, &r.Steps[i])
		}
	}
	if len(reviews) == 0 {
		return nil
	}
	if err := m.Options.check(m.Kind); err != nil {
		r.Problemf("%v", err)
		return nil
	}
	if m.Kind == workspace.ReviewGerrit {
		if err := m.changeIDs(ctx, r, reviews); err != nil {
			return err
		}
	}
	for _, rs := range reviews {
		rs.Review.Count = m.count(ctx, r, *rs.Review)
	}
	return nil
}

// reviewStep is the Review step sending base..tip into branch, guarded by
// what the push it replaces was guarded by.
func (m *Mode) reviewStep(r *plan.Repo, push plan.Step, branch, base, tip string, newBranch bool) *plan.Step {
	title := fmt.Sprintf("%s %s: %s into %s", m.Name.Target, m.Name.Line, r.Name, branch)
	req := NewRequest(m.Kind, m.Name, branch, base, tip, 0, title, "")
	req.NewBranch = newBranch
	s := NewStep(push.Remote, req)
	if newBranch {
		s.Guards = []plan.RefUpdate{{Ref: "refs/heads/" + branch}} // absent until the direct push
	}
	s.Guards = append(s.Guards, push.Guards...)
	return &s
}

// newCommits lists the commits of c that are on no branch or tag of refs
// (what the remote holds), oldest first, at most maxChain+1.
func newCommits(ctx context.Context, dir, c string, refs gitx.RemoteRefs) ([]string, error) {
	var in strings.Builder
	in.WriteString(c + "\n")
	for name, h := range refs {
		if strings.HasPrefix(name, "refs/heads/") || strings.HasPrefix(name, "refs/tags/") {
			in.WriteString("^" + h + "\n")
		}
	}
	// Hashes this repo lacks are skipped (--ignore-missing): the remote's
	// commits we do not have cannot be ancestors of c.
	out, err := gitx.GitEnv(ctx, dir, nil, []byte(in.String()), "rev-list", "--ignore-missing", "--topo-order",
		fmt.Sprintf("--max-count=%d", maxChain+1), "--stdin")
	if err != nil {
		return nil, err
	}
	hashes := strings.Fields(out)
	slices.Reverse(hashes)
	return hashes, nil
}

// count is how many commits req will send: those already there between
// base and the tip, plus the commit steps that will add to a tip that is
// a local branch.
func (m *Mode) count(ctx context.Context, r *plan.Repo, req Request) int {
	n := 0
	if c, ok, _ := gitx.RevCommit(ctx, r.Dir, req.Tip); ok && gitx.HasCommit(ctx, r.Dir, req.Base) {
		out, err := gitx.Git(ctx, r.Dir, "rev-list", "--count", c, "^"+req.Base, "--")
		if err == nil {
			n, _ = strconv.Atoi(strings.TrimSpace(out))
		}
	}
	if isRef(req.Tip) {
		for _, s := range r.Steps {
			if s.Kind == plan.Commit && "refs/heads/"+s.Branch == req.Tip {
				n++
			}
		}
	}
	return n
}

func isRef(s string) bool { return strings.HasPrefix(s, "refs/") }

// changeIDs gives every commit the reviews of r send a Change-Id from the
// plan: commit steps on a reviewed branch in their message; commits the
// planner made already (those a local step of the plan brings onto the
// branch: a fast-forward of it, or its creation) by re-making them with
// it, the plan's steps following the new hashes. A commit already on the
// local branch without one is a problem: relkit does not rewrite what a
// branch holds.
func (m *Mode) changeIDs(ctx context.Context, r *plan.Repo, reviews []*plan.Step) error {
	used := map[string]int{}
	key := func(branch, msg string) string {
		step := subjectOf(msg)
		if picks := cherry.PickedFrom(msg); len(picks) > 0 {
			step = "pick " + strings.Join(picks, " ")
		}
		used[branch+"\x00"+step]++
		if n := used[branch+"\x00"+step]; n > 1 {
			step += " #" + strconv.Itoa(n) // two commits saying the same: still two changes
		}
		return ChangeID(Key{Target: m.Name.Target, Line: m.Name.Line, Repo: r.Name, Branch: branch, Step: step})
	}
	// Where each local branch will be once the local steps other than
	// commits have run.
	planTip := map[string]string{}
	for _, s := range r.Steps {
		switch {
		case s.Kind == plan.CreateBranch:
			planTip[s.Ref] = s.Commit
		case s.Kind == plan.Push && isLocal(r.Dir, s.Remote):
			for _, u := range s.Updates {
				planTip[u.Ref] = u.Local
			}
		}
	}
	subst := map[string]string{}
	for _, rs := range reviews {
		req := rs.Review
		branch, ref := req.Branch, "refs/heads/"+req.Branch
		for i := range r.Steps {
			if s := &r.Steps[i]; s.Kind == plan.Commit && s.Branch == branch && len(ChangeIDs(s.Message)) == 0 {
				s.Message = SetChangeID(s.Message, key(branch, s.Message))
			}
		}
		tip := planTip[ref]
		if tip == "" {
			tip = req.Tip
		}
		c, ok, err := gitx.RevCommit(ctx, r.Dir, tip)
		if err != nil {
			return err
		}
		if !ok || c == req.Base {
			continue // only commit steps will add to it
		}
		chain, linear, err := commitsSince(ctx, r.Dir, req.Base, c)
		if err != nil {
			return err
		}
		if !linear {
			r.Problemf("review mode: the commits for %s (%s..%s) are not one line of single-parent commits made on %s", branch, gitx.Short(req.Base), gitx.Short(c), gitx.Short(req.Base))
			continue
		}
		// The commits the local branch already holds cannot change.
		held := map[string]bool{}
		if now, ok, _ := gitx.RevCommit(ctx, r.Dir, ref); ok {
			for _, cm := range chain {
				if in, _ := gitx.IsAncestor(ctx, r.Dir, cm.Hash, now); in {
					held[cm.Hash] = true
				}
			}
		}
		k := len(chain)
		for i, cm := range chain {
			if len(ChangeIDs(cm.Message)) == 0 {
				if held[cm.Hash] {
					r.Problemf("commit %s %q on %s has no Change-Id, so Gerrit would refuse it (made by a run without -review, or by hand); relkit does not rewrite a branch's commits: reset %s to %s/%s and run again, or add the Change-Id yourself",
						gitx.Short(cm.Hash), cm.subject(), branch, branch, rs.Remote, branch)
					continue
				}
				k = min(k, i)
			}
		}
		if k == len(chain) {
			continue
		}
		for i := k; i < len(chain); i++ {
			if held[chain[i].Hash] {
				break // reported above: a held commit after a new one cannot be
			}
			if len(ChangeIDs(chain[i].Message)) == 0 {
				chain[i].Message = SetChangeID(chain[i].Message, key(branch, chain[i].Message))
			}
		}
		onto := req.Base
		if k > 0 {
			onto = chain[k-1].Hash
		}
		news, err := replayAll(ctx, r.Dir, onto, chain[k:])
		if err != nil {
			return err
		}
		for i, h := range news {
			subst[chain[k+i].Hash] = h
		}
	}
	if len(subst) > 0 {
		for i := range r.Steps {
			substitute(&r.Steps[i], subst)
		}
		r.Notef("%d commit(s) re-made with the Change-Id Gerrit needs (the notes above name them by their first hashes)", len(subst))
	}
	return nil
}

// substitute replaces commits in s by the ones re-made for them.
func substitute(s *plan.Step, subst map[string]string) {
	swap := func(h *string) {
		if n, ok := subst[*h]; ok {
			*h = n
		}
	}
	swap(&s.Commit)
	swap(&s.Parent)
	for i := range s.Updates {
		swap(&s.Updates[i].Local)
	}
	if s.Review != nil {
		swap(&s.Review.Tip)
	}
}

// replayAll re-makes commits on onto as replay does and returns every new
// hash, in order.
func replayAll(ctx context.Context, dir, onto string, commits []commit) ([]string, error) {
	out := make([]string, 0, len(commits))
	parent := onto
	for _, c := range commits {
		h, err := replay(ctx, dir, parent, []commit{c})
		if err != nil {
			return nil, err
		}
		out = append(out, h)
		parent = h
	}
	return out, nil
}

func subjectOf(msg string) string {
	s, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return strings.TrimSpace(s)
}

// Plan is m as a plan.ReviewMode, nil when m is nil (a nil *Mode in an
// interface would not compare equal to nil).
func (m *Mode) Plan() plan.ReviewMode {
	if m == nil {
		return nil
	}
	return m
}

// NewMode is the review mode of relkit.yaml's review: section for the run
// n, with the token (and Gerrit user) the caller read from the
// environment (TokenEnv).
func NewMode(cfg *workspace.Review, n Name, token, user string) *Mode {
	return &Mode{Options: Options{Kind: cfg.Kind, URL: cfg.URL, Token: token, User: user}, Name: n}
}

// UsageError is a combination of flags a target refuses (exit 2).
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Choose works out how a target that commits to shared branches writes
// to its remotes, from its -review and -push flags (nil: not given) and
// relkit.yaml's review: section (nil when absent): review says to send
// the commits for review, push to push them directly; neither means
// local commits only. -review goes for review; so does -push when
// review.default is true, unless -review=false is given too. -review
// with -push, and -review without a review: section, are usage errors.
func Choose(reviewFlag, pushFlag *bool, cfg *workspace.Review) (review, push bool, err error) {
	on := func(b *bool) bool { return b != nil && *b }
	switch {
	case on(reviewFlag) && on(pushFlag):
		return false, false, &UsageError{"-review and -push are two ways of pushing; give one of them"}
	case on(reviewFlag) && cfg == nil:
		return false, false, &UsageError{"-review needs a review: section in relkit.yaml (kind gerrit, github or gitea)"}
	case on(reviewFlag):
		return true, false, nil
	case on(pushFlag) && reviewFlag == nil && cfg != nil && cfg.Default:
		return true, false, nil // review.default: -push goes through review
	}
	return false, on(pushFlag), nil
}
