// Package branch cuts a minor release X.Y across the workspace
// (release:branch): branch <prefix>X.Y on the charts, docs and branched
// repos at their main branch's head, then move every main branch on to the
// next minor's development (charts to their next minor version, VERSION
// files to X.(Y+1).0-dev or the component's next minor -dev), and
// optionally push it all.
//
// A cut is planned in full before anything is written (see release/plan),
// so a dry run shows exactly what a real run does, a precondition that
// fails anywhere stops the run before it writes anywhere, and a second run
// sees what is already done and does only the rest. The commits carry a
// trailer (Relkit-Release-Branch: aether-2.1) by which later runs
// recognise them.
package branch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/yamledit"
)

// Trailer is the commit message trailer that marks relkit's bump commits;
// its value is the release branch the commit follows.
const Trailer = "Relkit-Release-Branch"

// DefaultRemote is the remote pushed to and checked against.
const DefaultRemote = "origin"

// Options of a cut.
type Options struct {
	// Line is the minor release line to cut, "X.Y".
	Line string
	// DryRun plans and prints but writes nothing.
	DryRun bool
	// Push checks the remotes first and pushes the result.
	Push bool
	// Remote defaults to origin.
	Remote string
	// Author overrides the identity ("Name <email>"); see Author.
	Author string
	// Parallel bounds how many repos are worked on at once (0: default).
	Parallel int
	// Review, when set, sends the bump commits for review instead of
	// pushing them (release/review.Mode); the new branches, at commits
	// the remote has, are still created directly. It implies Push's
	// planning.
	Review plan.ReviewMode
}

// Author returns the identity of relkit's commits; see plan.Author.
func Author(ws *workspace.Config, override string) (gitx.Ident, error) {
	return plan.Author(ws, override)
}

// cut is one planned cut.
type cut struct {
	ws      *workspace.Config
	opt     Options
	line    version.Line
	branch  string // aether-2.1
	ref     string // refs/heads/aether-2.1
	trailer string // Relkit-Release-Branch: aether-2.1
	ident   gitx.Ident
}

// Plan works out the cut without writing anything (a dry run of the local
// repos; with Push it also asks the remotes). The error is a
// *plan.Undecided when some repo or remote could not be read; the plan is
// still returned and names the problem.
func Plan(ctx context.Context, ws *workspace.Config, opt Options) (*plan.Plan, error) {
	line, err := version.ParseLine(opt.Line)
	if err != nil {
		return nil, err
	}
	if ws.Charts == nil {
		return nil, fmt.Errorf("%s: no charts repo configured", ws.File)
	}
	if opt.Remote == "" {
		opt.Remote = DefaultRemote
	}
	ident, err := Author(ws, opt.Author)
	if err != nil {
		return nil, err
	}
	opt.Push = opt.Push || opt.Review != nil
	c := &cut{ws: ws, opt: opt, line: line, branch: ws.ReleaseBranch(line.String()), ident: ident}
	c.ref = plumbing.NewBranchReferenceName(c.branch).String()
	c.trailer = Trailer + ": " + c.branch
	if _, err := gitx.Git(ctx, ws.Root, "check-ref-format", c.ref); err != nil {
		return nil, fmt.Errorf("%q is not a valid branch name (branchPrefix %q in %s)", c.branch, ws.BranchPrefix, ws.File)
	}

	action := "release:branch " + line.String()
	if opt.Push {
		action += " -push"
	}
	p := &plan.Plan{Action: action, DryRun: opt.DryRun, Author: ident.String()}
	repos := ws.Repos()
	err = p.ReadRepos(ctx, repos, opt.Parallel, func(ctx context.Context, r *workspace.Repo, pr *plan.Repo) error {
		return c.planRepo(ctx, r, pr)
	})
	return p, err
}

// Run plans the cut, prints the plan to w and, unless it is a dry run or
// refused, applies it. See plan.ExitCode for the exit status of the error.
func Run(ctx context.Context, ws *workspace.Config, opt Options, w io.Writer, f plan.Format) error {
	p, err := Plan(ctx, ws, opt)
	ident, _ := Author(ws, opt.Author)
	return plan.Execute(ctx, p, err, w, f, plan.Options{Ident: ident, Parallel: opt.Parallel, Review: opt.Review})
}

// roles of each repo kind.
func branches(k workspace.Kind) bool { return k != workspace.KindComponent }
func bumps(k workspace.Kind) bool    { return k != workspace.KindBranched }

// repoState is what planRepo reads from one repo.
type repoState struct {
	g      *gitx.Repo
	r      *workspace.Repo
	main   string // refs/heads/master
	head   string // main's commit
	branch string // the release branch's commit, "" when absent
	// bump is relkit's bump commit for this cut on main ("" when none);
	// cutAt is the commit the release branch belongs at (the bump's
	// parent, or main's head before the bump).
	bump, cutAt string
	pending     *plan.Step // the bump commit still to make
	// later is the release branch of a later line whose bump commit is
	// already on main (laterCommit), if any.
	later, laterCommit string
}

func (c *cut) planRepo(ctx context.Context, r *workspace.Repo, pr *plan.Repo) error {
	g, err := gitx.Open(r.Dir)
	if err != nil {
		return err
	}
	defer g.Close()
	st := &repoState{g: g, r: r, main: plumbing.NewBranchReferenceName(r.MainBranch).String()}
	ref, err := g.Reference(plumbing.ReferenceName(st.main), true)
	if err != nil {
		pr.Problemf("has no branch %s (mainBranch in %s)", r.MainBranch, c.ws.File)
		return nil
	}
	st.head = ref.Hash().String()
	if ref, err := g.Reference(plumbing.ReferenceName(c.ref), true); err == nil {
		st.branch = ref.Hash().String()
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return err
	}

	// Where does the cut stand in this repo?
	st.cutAt = st.head
	if bumps(r.Kind) {
		if err := c.findBump(ctx, st); err != nil {
			return err
		}
		if st.bump != "" {
			subject := ""
			if cm, err := g.CommitObject(plumbing.NewHash(st.bump)); err == nil {
				subject, _, _ = strings.Cut(cm.Message, "\n")
			}
			pr.Donef("%s moved on by %s %q", r.MainBranch, gitx.Short(st.bump), subject)
		} else if st.later != "" {
			pr.Problemf("%s was already moved on by relkit when %s was cut (%s), a later line than %d.%d; relkit does not cut an older line after a newer one",
				r.MainBranch, st.later, gitx.Short(st.laterCommit), c.line.Major, c.line.Minor)
			return nil
		} else {
			step, err := c.planBump(ctx, st, pr)
			if err != nil {
				return err
			}
			st.pending = step
		}
	}
	if branches(r.Kind) {
		switch {
		case st.branch == "":
			pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateBranch, Ref: c.ref, Commit: st.cutAt})
			if st.bump != "" {
				pr.Notef("%s is missing although %s was moved on; it is created at the bump commit's parent", c.branch, r.MainBranch)
			}
		case st.branch == st.cutAt:
			pr.Donef("branch %s at %s", c.branch, gitx.Short(st.branch))
		case r.Kind == workspace.KindBranched:
			ok, err := gitx.IsAncestor(ctx, r.Dir, st.branch, st.head)
			if err != nil {
				return err
			}
			if ok {
				pr.Donef("branch %s at %s (an earlier commit of %s)", c.branch, gitx.Short(st.branch), r.MainBranch)
				st.cutAt = st.branch
			} else {
				pr.Problemf("branch %s already exists at %s, which is not on %s; relkit does not move branches: check it, then delete or move it by hand", c.branch, gitx.Short(st.branch), r.MainBranch)
			}
		default:
			pr.Problemf("branch %s already exists at %s, but the cut belongs at %s (%s before the bump); relkit does not move branches: check it, then delete or move it by hand", c.branch, gitx.Short(st.branch), gitx.Short(st.cutAt), r.MainBranch)
		}
	}
	if st.pending != nil {
		pr.Steps = append(pr.Steps, *st.pending)
	}
	if c.opt.Push {
		if err := c.planPush(ctx, st, pr); err != nil {
			return err
		}
	}
	if len(pr.Steps) > 0 {
		if err := c.checkWorktree(ctx, st, pr); err != nil {
			return err
		}
	}
	if st.pending != nil && c.ident.Name == "" {
		if _, err := gitx.Git(ctx, r.Dir, "var", "GIT_COMMITTER_IDENT"); err != nil {
			pr.Problemf("git has no identity to commit with here; set git.author in %s, %s=\"Name <email>\", or user.name and user.email", c.ws.File, plan.AuthorEnv)
		}
	}
	return nil
}

// findBump looks for relkit's bump commit of this cut on main: a commit
// with the trailer, or (charts and docs) the commit right after the
// existing release branch on main that set VERSION to the next line's
// development version.
func (c *cut) findBump(ctx context.Context, st *repoState) error {
	// Every relkit bump commit on main, newest first, with its trailer.
	out, err := gitx.Git(ctx, st.r.Dir, "log", "--format=%H %P%x09%(trailers:key="+Trailer+",valueonly,separator=%x2C)",
		"-E", "--grep=^"+Trailer+":", st.head, "--")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		commits, values, ok := strings.Cut(line, "\t")
		f := strings.Fields(commits)
		if !ok || len(f) == 0 {
			continue
		}
		for _, v := range strings.Split(values, ",") {
			v = strings.TrimSpace(v)
			if v == c.branch {
				if len(f) < 2 {
					return fmt.Errorf("relkit's bump commit %s has no parent", gitx.Short(f[0]))
				}
				st.bump, st.cutAt = f[0], f[1]
				return nil
			}
			if st.later == "" && c.isLater(v) {
				st.later, st.laterCommit = v, f[0]
			}
		}
	}
	if st.r.Kind == workspace.KindComponent || st.branch == "" || st.branch == st.head {
		return nil
	}
	out, err = gitx.Git(ctx, st.r.Dir, "rev-list", "--first-parent", "--reverse", "--parents", st.branch+".."+st.head, "--")
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(first)
	if len(f) < 2 || f[1] != st.branch {
		return nil
	}
	v, _, err := c.versionAt(st, f[0])
	if err == nil && v == c.nextDev() {
		st.bump, st.cutAt = f[0], f[1]
	}
	return nil
}

// isLater reports whether release branch name b (same prefix) is of a
// later line than this cut's.
func (c *cut) isLater(b string) bool {
	rest, ok := strings.CutPrefix(b, c.ws.BranchPrefix)
	l, err := version.ParseLine(rest)
	return ok && err == nil && rest == l.String() && l.After(c.line)
}

// nextDev is the charts and docs version after the cut: X.(Y+1).0-dev.
func (c *cut) nextDev() string { return fmt.Sprintf("%d.%d.0-dev", c.line.Major, c.line.Minor+1) }

// versionAt reads the repo's VERSION at a commit: the version token and
// the whole file.
func (c *cut) versionAt(st *repoState, commit string) (string, []byte, error) {
	data, err := st.g.FileAt(plumbing.NewHash(commit), st.r.VersionFile)
	if err != nil {
		return "", nil, err
	}
	tok, _, _, err := yamledit.VersionToken(data)
	if err != nil {
		return "", data, fmt.Errorf("%s:%s", st.r.VersionFile, strings.TrimPrefix(err.Error(), "line "))
	}
	return tok, data, nil
}

// planBump works out the bump commit for a repo whose main has not moved
// on yet. It returns nil when the repo has a problem instead.
func (c *cut) planBump(ctx context.Context, st *repoState, pr *plan.Repo) (*plan.Step, error) {
	r := st.r
	data, err := st.g.FileAt(plumbing.NewHash(st.head), r.VersionFile)
	if errors.Is(err, os.ErrNotExist) {
		pr.Problemf("%s does not exist on %s; expected the repo's version there", r.VersionFile, r.MainBranch)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	tok, _, _, err := yamledit.VersionToken(data)
	if err != nil {
		pr.Problemf("%s:%v", r.VersionFile, strings.TrimPrefix(err.Error(), "line "))
		return nil, nil
	}
	cur, err := semver.StrictNewVersion(tok)
	if err != nil {
		pr.Problemf("%s:1: %q is not a SemVer version; expected MAJOR.MINOR.PATCH such as 1.2.3 or 1.3.0-dev", r.VersionFile, tok)
		return nil, nil
	}
	var next, subject, body string
	switch r.Kind {
	case workspace.KindCharts, workspace.KindDocs:
		next = c.nextDev()
		if r.Kind == workspace.KindCharts && (cur.Major() != c.line.Major || cur.Minor() != c.line.Minor) {
			pr.Problemf("%s:1: the charts repo is at %s, not in the %d.%d line; cutting %s needs %d.%d.z or %d.%d.z-dev on %s",
				r.VersionFile, tok, c.line.Major, c.line.Minor, c.branch, c.line.Major, c.line.Minor, c.line.Major, c.line.Minor, r.MainBranch)
			return nil, nil
		}
		if !cur.LessThan(semver.MustParse(next)) {
			pr.Problemf("%s:1: %s is already at %s, at or past %s, and no relkit commit for %s was found; relkit does not bump it again: check the repo by hand",
				r.VersionFile, r.MainBranch, tok, next, c.branch)
			return nil, nil
		}
		subject = fmt.Sprintf("Start %d.%d development after cutting %s", c.line.Major, c.line.Minor+1, c.branch)
	default:
		next = fmt.Sprintf("%d.%d.0-dev", cur.Major(), cur.Minor()+1)
		subject = fmt.Sprintf("Start %d.%d development after cutting %s", cur.Major(), cur.Minor()+1, c.branch)
	}
	newData, old, err := yamledit.SetVersion(data, next)
	if err != nil {
		pr.Problemf("%s:%v", r.VersionFile, strings.TrimPrefix(err.Error(), "line "))
		return nil, nil
	}
	files := []plan.File{{Path: r.VersionFile, Old: data, New: newData,
		Changes: []plan.Change{{Line: 1, Field: "version", Old: old, New: next}}}}
	switch r.Kind {
	case workspace.KindCharts:
		chartFiles, n, err := c.planCharts(ctx, st, pr)
		if err != nil {
			return nil, err
		}
		if len(pr.Problems) > 0 {
			return nil, nil
		}
		files = append(files, chartFiles...)
		body = fmt.Sprintf("relkit release:branch %d.%d cut %s from this commit's parent.\nOn %s: %s %s -> %s, and each of the %d charts to its next\nminor version, with file:// dependency pins following.",
			c.line.Major, c.line.Minor, c.branch, r.MainBranch, r.VersionFile, old, next, n)
	case workspace.KindDocs:
		body = fmt.Sprintf("relkit release:branch %d.%d cut %s from this commit's parent.\n%s %s -> %s; %d.%d.z releases continue on %s.",
			c.line.Major, c.line.Minor, c.branch, r.VersionFile, old, next, c.line.Major, c.line.Minor, c.branch)
	default:
		body = fmt.Sprintf("relkit release:branch %d.%d: %s %s -> %s.\nPatches of %d.%d for %s go on a branch made from the commit\nthat set the release version, when one is needed.",
			c.line.Major, c.line.Minor, r.VersionFile, old, next, cur.Major(), cur.Minor(), c.branch)
	}
	msg := subject + "\n\n" + body + "\n\n" + c.trailer + "\n"
	return &plan.Step{Kind: plan.Commit, Branch: r.MainBranch, Parent: st.head, Message: msg, Files: files}, nil
}

// checkWorktree requires a repo that has work to do to be checked out on
// its main branch with a clean worktree. Files left by an interrupted run
// (holding exactly the planned content) do not count as dirt: the run
// goes on from there.
func (c *cut) checkWorktree(ctx context.Context, st *repoState, pr *plan.Repo) error {
	r := st.r
	_, headBranch, err := st.g.Head()
	if err != nil {
		return err
	}
	if headBranch != r.MainBranch {
		where := "a detached HEAD"
		if headBranch != "" {
			where = "branch " + headBranch
		}
		pr.Problemf("the checkout is on %s; check out %s first (git switch %s)", where, r.MainBranch, r.MainBranch)
	}
	entries, err := gitx.Status(ctx, r.Dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	planned := map[string]plan.File{}
	if st.pending != nil {
		for _, f := range st.pending.Files {
			planned[f.Path] = f
		}
	}
	var dirt []string
	resumed := 0
	for _, e := range entries {
		f, ok := planned[e.Path]
		if ok && strings.Trim(e.XY, "M ") == "" {
			cur, err := repofs.Read(r.Dir, e.Path, repofs.MaxFile)
			if err == nil && string(cur) == string(f.New) {
				resumed++
				continue
			}
			if err == nil && string(cur) == string(f.Old) {
				continue
			}
		}
		dirt = append(dirt, e.String())
	}
	if len(dirt) > 0 {
		const show = 5
		more := ""
		if len(dirt) > show {
			more = fmt.Sprintf(" and %d more", len(dirt)-show)
			dirt = dirt[:show]
		}
		pr.Problemf("the worktree is not clean (%s%s); commit or stash first", strings.Join(dirt, ", "), more)
		return nil
	}
	if resumed > 0 {
		pr.Notef("%d file(s) already hold the planned content, left by an interrupted run; the run goes on from there", resumed)
	}
	return nil
}

// planPush compares the repo with its remote and plans one atomic push of
// the release branch and main, guarded by the remote values read here.
func (c *cut) planPush(ctx context.Context, st *repoState, pr *plan.Repo) error {
	// The remote is read with ls-remote, not fetched: planning writes
	// nothing, not even remote-tracking refs. A remote commit this repo
	// does not have means it is behind (or diverged), which is a problem
	// either way.
	r, remote := st.r, c.opt.Remote
	refs := []string{st.main}
	if branches(r.Kind) {
		refs = append(refs, c.ref)
	}
	got, err := gitx.LsRemote(ctx, r.Dir, remote, refs...)
	if err != nil {
		return fmt.Errorf("asking %s: %w", remote, err)
	}
	remoteMain, remoteBranch := got[st.main], got[c.ref]
	if remoteMain == "" {
		pr.Problemf("%s has no branch %s", remote, r.MainBranch)
		return nil
	}
	ancestor := func(a, b string) (bool, error) { return gitx.IsAncestor(ctx, r.Dir, a, b) }
	step := plan.Step{Kind: plan.Push, Remote: remote, Guards: []plan.RefUpdate{{Ref: st.main, Expect: remoteMain}}}
	pushMain := func(note string) {
		step.Updates = append(step.Updates, plan.RefUpdate{Ref: st.main, Local: st.main, Expect: remoteMain, Note: note})
	}
	ahead := func() {
		n, _ := gitx.Git(ctx, r.Dir, "rev-list", "--count", remoteMain+".."+st.head, "--")
		pr.Problemf("%s has %s commit(s) that %s/%s does not have; push or drop them first, so the cut does not publish them", r.MainBranch, strings.TrimSpace(n), remote, r.MainBranch)
	}
	behind := func() {
		pr.Problemf("%s is behind %s/%s or has diverged from it (%s is at %s); pull first", r.MainBranch, remote, r.MainBranch, remote, gitx.Short(remoteMain))
	}
	localAhead := remoteMain == st.head
	if !localAhead {
		if localAhead, err = ancestor(remoteMain, st.head); err != nil {
			return err
		}
	}
	switch {
	case st.pending != nil:
		switch {
		case remoteMain == st.head:
			pushMain("the new bump commit")
		case localAhead:
			ahead()
			return nil
		default:
			behind()
			return nil
		}
	case st.bump != "":
		onRemote, err := ancestor(st.bump, remoteMain)
		if err != nil {
			return err
		}
		switch {
		case onRemote:
			pr.Donef("%s/%s has the bump commit", remote, r.MainBranch)
		case st.head == st.bump && remoteMain == st.cutAt:
			pushMain("bump commit " + gitx.Short(st.bump))
		case localAhead:
			ahead()
			return nil
		default:
			behind()
			return nil
		}
	}
	if branches(r.Kind) {
		step.Guards = append(step.Guards, plan.RefUpdate{Ref: c.ref, Expect: remoteBranch})
		switch remoteBranch {
		case "":
			// The branch may only point at a commit the remote has, or
			// that this same push carries.
			onRemote := len(step.Updates) > 0 && st.cutAt == st.head
			if !onRemote {
				if onRemote, err = ancestor(st.cutAt, remoteMain); err != nil {
					return err
				}
			}
			if !onRemote {
				pr.Problemf("%s is not on %s/%s, so pushing %s would publish commits nobody reviewed; push %s first", gitx.Short(st.cutAt), remote, r.MainBranch, c.branch, r.MainBranch)
				return nil
			}
			step.Updates = append(step.Updates, plan.RefUpdate{Ref: c.ref, Local: c.ref, Note: gitx.Short(st.cutAt)})
		case st.cutAt:
			pr.Donef("%s has %s at %s", remote, c.branch, gitx.Short(remoteBranch))
		default:
			pr.Problemf("%s already has %s at %s, but the cut is at %s; relkit does not move branches: check it by hand", remote, c.branch, gitx.Short(remoteBranch), gitx.Short(st.cutAt))
			return nil
		}
	}
	if len(step.Updates) > 0 {
		pr.Steps = append(pr.Steps, step)
	}
	return nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
