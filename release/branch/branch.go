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
	"maps"
	"os"
	"path"
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
const DefaultRemote = plan.DefaultRemote

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
	// Checks must pass before anything is written (release:branch passes
	// every check, plan.AllChecks or the mage-memoised equivalent); a dry
	// run prints its plan even when they fail, and still fails. nil runs
	// no checks: for callers that ran them already (the demo, tests).
	Checks plan.Gate
	// CheckReport receives the checks' report (nil: discarded), apart
	// from the plan's output.
	CheckReport io.Writer
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
	// history is what making sure of each repo's history found, in the
	// order of ws.Repos().
	history []historyState
	// chartsVersion is the charts repo's VERSION on its main branch, for
	// messages ("" when it could not be read).
	chartsVersion string
	// cutByRelkit is set when the charts repo's main carries relkit's
	// bump commit for this cut: a branched repo (which gets no bump
	// commit of its own) then counts its release branch on main as
	// relkit's.
	cutByRelkit bool
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

	// History first, in every repo: the cut reads main's history (relkit's
	// bump commits, ancestry), which a shallow clone has cut off. A real
	// run fetches it; a dry run, which writes nothing, stops.
	deepenFrom := opt.Remote
	if opt.DryRun {
		deepenFrom = ""
	}
	c.history = make([]historyState, len(repos))
	plan.ForEach(ctx, indexes(len(repos)), opt.Parallel, func(ctx context.Context, i int) {
		h := &c.history[i]
		h.note, h.err = gitx.NeedHistory(ctx, repos[i].Name, repos[i].Dir, deepenFrom)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	byName := map[string]int{}
	for i, r := range repos {
		byName[r.Name] = i
	}
	if c.history[byName[ws.Charts.Name]].err == nil {
		if c.cutByRelkit, err = relkitBump(ctx, ws.Charts, c.branch); err != nil {
			return nil, plan.AsUndecided(fmt.Errorf("%s: %w", ws.Charts.Name, err))
		}
	}
	c.chartsVersion = mainVersion(ws.Charts)
	err = p.ReadRepos(ctx, repos, opt.Parallel, func(ctx context.Context, r *workspace.Repo, pr *plan.Repo) error {
		h := c.history[byName[r.Name]]
		if h.note != "" {
			pr.Notef("%s", h.note)
		}
		if h.err != nil {
			return h.err
		}
		return c.planRepo(ctx, r, pr)
	})
	return p, err
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// historyState is what making sure of a repo's history found.
type historyState struct {
	note string
	err  error
}

// mainVersion reads the version in r's VERSION file on its main branch,
// "" when it cannot be read (planning the repo reports why).
func mainVersion(r *workspace.Repo) string {
	g, err := gitx.Open(r.Dir)
	if err != nil {
		return ""
	}
	defer g.Close()
	h, err := g.Resolve(plumbing.NewBranchReferenceName(r.MainBranch).String())
	if err != nil {
		return ""
	}
	data, err := g.FileAt(h, r.VersionFile)
	if err != nil {
		return ""
	}
	tok, _, _, err := yamledit.VersionToken(data)
	if err != nil {
		return ""
	}
	return tok
}

// relkitBump reports whether the main branch of repo r carries relkit's
// bump commit for release branch br (the commit trailer
// "Relkit-Release-Branch: <br>").
func relkitBump(ctx context.Context, r *workspace.Repo, br string) (bool, error) {
	main := plumbing.NewBranchReferenceName(r.MainBranch).String()
	if _, ok, err := gitx.RevCommit(ctx, r.Dir, main); err != nil || !ok {
		return false, err
	}
	out, err := gitx.Git(ctx, r.Dir, "log", "--format=%(trailers:key="+Trailer+",valueonly,separator=%x2C)",
		"-E", "--grep=^"+Trailer+":", main, "--")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(out, "\n") {
		for _, v := range strings.Split(line, ",") {
			if strings.TrimSpace(v) == br {
				return true, nil
			}
		}
	}
	return false, nil
}

// Run runs the release checks (opt.Checks), then plans the cut, prints
// the plan to w and, unless it is a dry run or refused or the checks
// failed, applies it. See plan.ExitCode for the exit status of the error.
func Run(ctx context.Context, ws *workspace.Config, opt Options, w io.Writer, f plan.Format) error {
	var gate error
	if opt.Checks != nil {
		gate = plan.RunGate(ctx, opt.Checks, opt.CheckReport)
	}
	if gate != nil && !opt.DryRun {
		return gate
	}
	p, err := Plan(ctx, ws, opt)
	ident, _ := Author(ws, opt.Author)
	if err := plan.Execute(ctx, p, err, w, f, plan.Options{Ident: ident, Parallel: opt.Parallel, Review: opt.Review}); err != nil {
		return err
	}
	return gate // a dry run shows the plan, then fails if the checks do
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
	// madeAt is the commit relkit created the local release branch at in
	// an earlier run (its reflog's first entry), "" when relkit did not.
	madeAt string
	// remoteMain and remoteBranch are what the remote has ("" absent).
	remoteMain, remoteBranch string
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
		if st.madeAt, err = madeByRelkit(ctx, r.Dir, c.ref); err != nil {
			return err
		}
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return err
	}
	if err := c.readRemote(ctx, st); err != nil {
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
		}
	}
	if branches(r.Kind) {
		ok, err := c.planBranch(ctx, st, pr)
		if err != nil || !ok {
			return err
		}
	}
	if bumps(r.Kind) && st.bump == "" {
		step, err := c.planBump(ctx, st, pr)
		if err != nil {
			return err
		}
		st.pending = step
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

// readRemote asks the remote for main and the release branch. It does so
// in every run, dry runs and runs without -push too: a release branch
// that exists on the remote (cut by hand years ago) must be seen before
// anything is planned, not when the push is refused.
func (c *cut) readRemote(ctx context.Context, st *repoState) error {
	refs := []string{st.main}
	if branches(st.r.Kind) {
		refs = append(refs, c.ref)
	}
	got, err := gitx.LsRemote(ctx, st.r.Dir, c.opt.Remote, refs...)
	if err != nil {
		return fmt.Errorf("asking %s (every run reads the remote, so a release branch that exists there is never cut again): %w", c.opt.Remote, err)
	}
	st.remoteMain, st.remoteBranch = got[st.main], got[c.ref]
	return nil
}

// madeByRelkit returns the commit relkit created the local branch ref at,
// read from the branch's reflog (relkit creates branches with the reason
// "relkit: create <branch>"), or "" when relkit did not create it.
func madeByRelkit(ctx context.Context, dir, ref string) (string, error) {
	out, err := gitx.Git(ctx, dir, "reflog", "show", "--format=%H %gs", ref, "--")
	if err != nil {
		// No reflog: made by something that keeps none, not by relkit.
		return "", nil
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	first := lines[len(lines)-1] // the reflog lists the newest entry first
	h, reason, _ := strings.Cut(first, " ")
	if reason != "relkit: create "+strings.TrimPrefix(ref, "refs/heads/") || len(h) != 40 {
		return "", nil
	}
	return h, nil
}

// relkits reports whether a release branch at commit b is relkit's own
// work from an earlier run of this cut: the parent of relkit's bump
// commit on main (charts, docs), the commit relkit created the local
// branch at, or (a branched repo, which gets no bump commit) a commit of
// main when the charts repo carries relkit's bump commit of this cut.
// Anything else was made by hand or by another tool, and is never taken
// as done.
func (c *cut) relkits(ctx context.Context, st *repoState, b string) (bool, error) {
	switch {
	case b == "":
		return false, nil
	case st.madeAt != "" && b == st.madeAt, st.bump != "" && b == st.cutAt:
		return true, nil
	case st.bump != "":
		// The branch relkit cut, moved on since by patches and point
		// releases: it descends from the cut and lacks main's bump.
		from, err := gitx.IsAncestor(ctx, st.r.Dir, st.cutAt, b)
		if err != nil || !from {
			return false, err
		}
		withBump, err := gitx.IsAncestor(ctx, st.r.Dir, st.bump, b)
		return !withBump, err
	case st.r.Kind == workspace.KindBranched && c.cutByRelkit:
		return gitx.IsAncestor(ctx, st.r.Dir, b, st.head)
	}
	return false, nil
}

// planBranch decides the release branch of a repo that has one: create
// it, or find relkit's own from an earlier run. A branch relkit did not
// make, here or on the remote, is a problem that says what is there; ok
// is false when planning this repo should stop.
func (c *cut) planBranch(ctx context.Context, st *repoState, pr *plan.Repo) (ok bool, err error) {
	r := st.r
	for _, b := range []struct{ where, commit string }{{"", st.branch}, {c.opt.Remote, st.remoteBranch}} {
		if b.commit == "" {
			continue
		}
		mine, err := c.relkits(ctx, st, b.commit)
		if err != nil {
			return false, err
		}
		if !mine {
			desc, err := c.describeBranch(ctx, st, b.commit, b.where)
			if err != nil {
				return false, err
			}
			who := "branch " + c.branch
			if b.where != "" {
				who = b.where + " already has branch " + c.branch
			} else {
				who += " already exists"
			}
			hint := ""
			if st.remoteMain != "" && st.remoteMain != st.head && !gitx.HasCommit(ctx, r.Dir, st.remoteMain) {
				hint = fmt.Sprintf("; %s/%s is at %s, which this clone does not have: pull first, in case relkit's bump commit is there", c.opt.Remote, r.MainBranch, gitx.Short(st.remoteMain))
			}
			pr.Problemf("%s at %s, made outside relkit (no commit of %s carries the trailer %q, and relkit did not create it in this clone); relkit does not move branches, nor take over one it did not make: check it, then delete it or finish that cut by hand%s",
				who, desc, r.MainBranch, c.trailer, hint)
			return false, nil
		}
	}
	switch {
	case st.branch == "" && st.remoteBranch != "" && r.Kind == workspace.KindBranched:
		// relkit's branch, pushed from another clone: this clone follows.
		st.cutAt = st.remoteBranch
		pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateBranch, Ref: c.ref, Commit: st.cutAt})
	case st.branch == "" && st.remoteBranch != "" && st.remoteBranch != st.cutAt:
		// relkit's branch on the remote, moved on since the cut.
		if gitx.HasCommit(ctx, r.Dir, st.remoteBranch) {
			pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateBranch, Ref: c.ref, Commit: st.remoteBranch})
		} else {
			pr.Notef("%s has %s at %s, moved on since the cut; fetch it to have it here (git fetch %s %s:%s)", c.opt.Remote, c.branch, gitx.Short(st.remoteBranch), c.opt.Remote, c.branch, c.branch)
		}
	case st.branch == "":
		pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateBranch, Ref: c.ref, Commit: st.cutAt})
		if st.bump != "" {
			pr.Notef("%s is missing although %s was moved on; it is created at the bump commit's parent", c.branch, r.MainBranch)
		}
	case st.branch == st.cutAt:
		pr.Donef("branch %s at %s", c.branch, gitx.Short(st.branch))
	case st.bump != "":
		// relkit's (checked above), moved on by later work.
		pr.Donef("branch %s at %s, moved on since the cut at %s", c.branch, gitx.Short(st.branch), gitx.Short(st.cutAt))
	case r.Kind == workspace.KindBranched:
		on, err := gitx.IsAncestor(ctx, r.Dir, st.branch, st.head)
		if err != nil {
			return false, err
		}
		if on {
			pr.Donef("branch %s at %s (an earlier commit of %s)", c.branch, gitx.Short(st.branch), r.MainBranch)
			st.cutAt = st.branch
		} else {
			pr.Problemf("branch %s already exists at %s, which is not on %s; relkit does not move branches: check it, then delete or move it by hand", c.branch, gitx.Short(st.branch), r.MainBranch)
			return false, nil
		}
	default:
		pr.Problemf("branch %s already exists at %s, but the cut belongs at %s (%s before the bump); relkit does not move branches: check it, then delete or move it by hand", c.branch, gitx.Short(st.branch), gitx.Short(st.cutAt), r.MainBranch)
		return false, nil
	}
	return true, nil
}

// describeBranch says what a release branch at commit is, for a refusal:
// the commit, the tags that point at it, the tags on it that main does not
// have, and whether it is an ancestor of main. remote names the remote it
// was found on ("" for the local branch); the remote's tags count too.
func (c *cut) describeBranch(ctx context.Context, st *repoState, commit, remote string) (string, error) {
	dir := st.r.Dir
	at := map[string]bool{}
	local := gitx.HasCommit(ctx, dir, commit)
	if local {
		out, err := gitx.Git(ctx, dir, "tag", "--points-at", commit)
		if err != nil {
			return "", err
		}
		for _, t := range strings.Fields(out) {
			at[t] = true
		}
	}
	if remote != "" {
		out, err := gitx.Git(ctx, dir, "ls-remote", "--tags", "--", remote)
		if err != nil {
			return "", fmt.Errorf("asking %s for its tags: %w", remote, err)
		}
		peeled := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			h, name, ok := strings.Cut(strings.TrimSpace(line), "\t")
			if !ok {
				continue
			}
			name = strings.TrimPrefix(name, "refs/tags/")
			if base, ok := strings.CutSuffix(name, "^{}"); ok {
				peeled[base] = h
			} else if _, seen := peeled[name]; !seen {
				peeled[name] = h // lightweight, unless a ^{} line follows
			}
		}
		for name, h := range peeled {
			if h == commit {
				at[name] = true
			}
		}
	}
	var facts []string
	if len(at) > 0 {
		facts = append(facts, "tag(s) "+listSome(slices.Sorted(maps.Keys(at)), 6)+" at it")
	}
	if !local {
		facts = append(facts, "a commit this clone does not have (fetch it to look)")
	} else {
		out, err := gitx.Git(ctx, dir, "tag", "--merged", commit, "--no-merged", st.head)
		if err != nil {
			return "", err
		}
		var beyond []string
		for _, t := range strings.Fields(out) {
			if !at[t] {
				beyond = append(beyond, t)
			}
		}
		if len(beyond) > 0 {
			facts = append(facts, "tag(s) "+listSome(beyond, 6)+" on it that "+st.r.MainBranch+" does not have")
		}
		on, err := gitx.IsAncestor(ctx, dir, commit, st.head)
		if err != nil {
			return "", err
		}
		if on {
			facts = append(facts, "an ancestor of "+st.r.MainBranch)
		} else {
			facts = append(facts, "not an ancestor of "+st.r.MainBranch)
		}
	}
	return gitx.Short(commit) + " (" + strings.Join(facts, "; ") + ")", nil
}

// listSome joins up to n items, counting the rest.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// findBump looks for relkit's bump commit of this cut on main: the commit
// whose trailer names this cut's branch. Only relkit's trailer counts: a
// bump made by hand is not relkit's work, and is never taken as done.
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
		if r.Kind == workspace.KindDocs && (cur.Major() != c.line.Major || cur.Minor() != c.line.Minor) {
			// The docs are released with the charts (same X.Y.n): a docs
			// repo on another line would be branched and bumped wrongly.
			charts := "the charts repo's release line"
			if c.chartsVersion != "" {
				charts = fmt.Sprintf("the release line of %s, which is %s on %s", path.Join(c.ws.Charts.Path, c.ws.Charts.VersionFile), c.chartsVersion, c.ws.Charts.MainBranch)
			}
			pr.Problemf("%s:1: the docs repo's VERSION is %s, not on %s; cutting %s needs the docs at %d.%d.z or %d.%d.z-dev on %s (check:versions reports it as docs-version-line)",
				path.Join(r.Path, r.VersionFile), tok, charts, c.branch, c.line.Major, c.line.Minor, c.line.Major, c.line.Minor, r.MainBranch)
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
	// The remote was read with ls-remote (readRemote), not fetched:
	// planning writes nothing, not even remote-tracking refs. A remote
	// commit this repo does not have means it is behind (or diverged),
	// which is a problem either way.
	r, remote := st.r, c.opt.Remote
	remoteMain, remoteBranch := st.remoteMain, st.remoteBranch
	if remoteMain == "" {
		pr.Problemf("%s has no branch %s", remote, r.MainBranch)
		return nil
	}
	var err error
	ancestor := func(a, b string) (bool, error) { return gitx.IsAncestor(ctx, r.Dir, a, b) }
	step := plan.Step{Kind: plan.Push, Remote: remote, Guards: []plan.RefUpdate{{Ref: st.main, Expect: remoteMain}}}
	pushMain := func(note string) {
		step.Updates = append(step.Updates, plan.RefUpdate{Ref: st.main, Local: st.main, Expect: remoteMain, Note: note})
	}
	localAhead := remoteMain == st.head
	if !localAhead {
		if localAhead, err = ancestor(remoteMain, st.head); err != nil {
			return err
		}
	}
	// apart refuses a main that cannot be pushed as it is: ahead of the
	// remote with commits of its own, or behind it or diverged.
	apart := func() {
		if localAhead {
			n, _ := gitx.Git(ctx, r.Dir, "rev-list", "--count", remoteMain+".."+st.head, "--")
			pr.Problemf("%s has %s commit(s) that %s/%s does not have; push or drop them first, so the cut does not publish them", r.MainBranch, strings.TrimSpace(n), remote, r.MainBranch)
			return
		}
		pr.Problemf("%s is behind %s/%s or has diverged from it (%s is at %s); pull first", r.MainBranch, remote, r.MainBranch, remote, gitx.Short(remoteMain))
	}
	switch {
	case st.pending != nil:
		if remoteMain != st.head {
			apart()
			return nil
		}
		pushMain("the new bump commit")
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
		default:
			apart()
			return nil
		}
	}
	if branches(r.Kind) {
		step.Guards = append(step.Guards, plan.RefUpdate{Ref: c.ref, Expect: remoteBranch})
		switch remoteBranch {
		case "":
			if st.branch != "" && st.branch != st.cutAt {
				pr.Problemf("%s is at %s, moved on since the cut at %s, and %s does not have it; push it with the run that moved it (-push), so this cut does not publish those commits", c.branch, gitx.Short(st.branch), gitx.Short(st.cutAt), remote)
				return nil
			}
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
			if st.bump != "" {
				// relkit's branch (planBranch refused any other), moved on
				// since the cut.
				pr.Donef("%s has %s at %s, moved on since the cut", remote, c.branch, gitx.Short(remoteBranch))
				break
			}
			pr.Problemf("%s already has %s at %s, but the cut is at %s; relkit does not move branches: check it by hand", remote, c.branch, gitx.Short(remoteBranch), gitx.Short(st.cutAt))
			return nil
		}
	}
	if len(step.Updates) > 0 {
		pr.Steps = append(pr.Steps, step)
	}
	return nil
}
