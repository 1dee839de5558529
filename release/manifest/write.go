// Package manifest is the release:manifest step: it builds the release
// manifest of the charts repo's release branch (release/manifestfile) in
// a scratch worktree and commits it there as releases/X.Y.Z.yaml.
package manifest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/safetext"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// Trailer marks the commits that add or update a manifest; its value is
// the release version.
const Trailer = "Relkit-Release-Manifest"

// Options of release:manifest.
type Options struct {
	// DryRun builds the manifest and shows it, but commits nothing.
	DryRun bool
	// Push pushes the release branch to Remote afterwards (never forced).
	Push bool
	// Remote defaults to origin.
	Remote string
	// Author of the commit ("Name <email>", RELKIT_GIT_AUTHOR in the
	// targets); when empty, git.author in relkit.yaml, then the repo's git
	// config.
	Author string
	// Checker asks the registries (default: one honouring the mirrors).
	Checker *imageref.Checker
	// Review, when set, sends the branch's new commits for review
	// instead of pushing the branch (and the commit carries the Change-Id
	// Gerrit needs). It takes the place of Push.
	Review *review.Mode
}

// State says what a run did with the manifest.
type State string

const (
	Created   State = "created"
	Updated   State = "updated"
	Unchanged State = "unchanged"
	DryRun    State = "dry-run"
)

// Result is what release:manifest did.
type Result struct {
	Line    string `json:"line"`
	Branch  string `json:"branch"`
	Release string `json:"release"`
	// Version is the charts repo VERSION on the branch.
	Version string `json:"version"`
	Path    string `json:"path"`
	// Parent is the branch head the manifest was built on.
	Parent string `json:"parent"`
	// Commit adds or updates the manifest; "" when unchanged or dry run.
	Commit string `json:"commit,omitempty"`
	State  State  `json:"state"`
	// Replaces is set when an earlier, different manifest was replaced (or
	// would be, in a dry run).
	Replaces bool   `json:"replaces,omitempty"`
	Pushed   bool   `json:"pushed"`
	Remote   string `json:"remote,omitempty"`
	// Reviewed says what -review did ("" without it).
	Reviewed string                 `json:"reviewed,omitempty"`
	Manifest *manifestfile.Manifest `json:"manifest"`
	// Notes say what the run did on the way (a stale lock taken over).
	Notes []string `json:"notes,omitempty"`
	// Data is the manifest file as committed (or as it would be).
	Data []byte `json:"-"`
}

// Run is release:manifest X.Y: it builds the manifest of the charts repo's
// release branch <prefix>X.Y in a scratch worktree and commits it there as
// releases/X.Y.Z.yaml (X.Y.Z being the branch's VERSION without its
// pre-release part), moving the branch only if nobody moved it meanwhile.
// The user's checkout is never touched; a branch checked out in some
// worktree is not moved (a dry run is still possible). When the committed
// manifest already describes the same content the run changes nothing.
// A release that is already tagged is only written when the branch still
// holds the tagged content.
func Run(ctx context.Context, ws *workspace.Config, line string, o Options) (*Result, error) {
	if _, err := version.ParseLine(line); err != nil {
		return nil, err
	}
	if ws.Charts == nil {
		return nil, errors.New("the workspace has no charts repo")
	}
	if o.Remote == "" {
		o.Remote = "origin"
	}
	dir, repo := ws.Charts.Dir, ws.Charts.Name
	res := &Result{Line: line, Branch: ws.ReleaseBranch(line)}
	head, ok, err := gitx.RevCommit(ctx, dir, "refs/heads/"+res.Branch)
	if err != nil {
		return nil, &plan.Undecided{Err: fmt.Errorf("%s: %w", repo, err)}
	}
	if !ok {
		hint := fmt.Sprintf("cut it with release:branch %s", line)
		if _, remote, _ := gitx.RevCommit(ctx, dir, "refs/remotes/"+o.Remote+"/"+res.Branch); remote {
			hint = fmt.Sprintf("%s/%s exists: git -C %s branch %s %s/%s", o.Remote, res.Branch, dir, res.Branch, o.Remote, res.Branch)
		}
		return nil, fmt.Errorf("%s (%s) has no branch %s; %s", repo, dir, res.Branch, hint)
	}
	res.Parent = head
	if !o.DryRun {
		wt, err := gitx.CheckedOut(ctx, dir, res.Branch)
		if err != nil {
			return nil, &plan.Undecided{Err: fmt.Errorf("%s: listing worktrees: %w", repo, err)}
		}
		if wt != "" {
			return nil, fmt.Errorf("%s: branch %s is checked out in %s; relkit commits through a scratch worktree and does not move a branch under a checkout (its index and files would no longer match): switch that checkout to another branch (git -C %s switch %s) and run again, or use -dryRun",
				repo, res.Branch, wt, wt, ws.Charts.MainBranch)
		}
		probs, err := gitx.WriteProblems(dir)
		if err != nil {
			return nil, &plan.Undecided{Err: fmt.Errorf("%s: %w", repo, err)}
		}
		if len(probs) > 0 {
			return nil, fmt.Errorf("%s: refused, nothing was written: %s", repo, strings.Join(probs, "; "))
		}
	}

	// A dry run writes nothing into the repo, not even objects.
	add := gitx.AddWorktree
	if o.DryRun {
		add = gitx.AddIsolatedWorktree
		defer gitx.ForgetDryObjects(dir)
	}
	sc, err := add(ctx, dir, head, gitx.Ident{})
	if err != nil {
		return nil, err
	}
	defer sc.Remove(ctx)

	raw, rel, err := manifestfile.ReleaseVersion(ws, sc.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", repo, res.Branch, err)
	}
	res.Version, res.Release, res.Path = raw, rel, manifestfile.Path(rel)
	if maj, rest, _ := strings.Cut(rel, "."); maj+"."+strings.SplitN(rest, ".", 2)[0] != line {
		return nil, fmt.Errorf("%s:%s on %s is %s, which is not in the %s line; expected %s.x", repo, ws.Charts.VersionFile, res.Branch, raw, line, line)
	}
	// A committed symlink at the manifest's path is refused now, dry run
	// or not, not when the write comes.
	if err := repofs.CheckWrite(sc.Dir, res.Path); err != nil {
		return nil, fmt.Errorf("%s on %s: %w", repo, res.Branch, err)
	}
	var existing *manifestfile.Manifest
	if data, err := repofs.Read(sc.Dir, res.Path, repofs.MaxManifest); err == nil {
		if existing, err = manifestfile.Read(res.Path, data); err != nil {
			return nil, fmt.Errorf("%s on %s already has %s, and it does not read as a manifest; fix or remove it first:\n%w", repo, res.Branch, res.Path, err)
		}
		res.Replaces = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s on %s: %w", repo, res.Branch, err)
	}
	relTag := ws.Charts.Tag(rel)
	if tagged, ok, err := gitx.FindRelease(dir, ws.Charts.TagPrefix, rel); err != nil {
		return nil, &plan.Undecided{Err: fmt.Errorf("%s: %w", repo, err)}
	} else if ok {
		relTag = tagged.Tag
	}
	if err := releasedContent(ctx, dir, relTag, head, res.Branch); err != nil {
		return nil, err
	}

	m, err := manifestfile.BuildWith(ctx, ws, sc.Dir, manifestfile.BuildOptions{Release: rel, Branch: res.Branch, ChartsCommit: head, Checker: o.Checker})
	if err != nil {
		return nil, err
	}
	res.Manifest, res.Data = m, m.Marshal()
	var ident gitx.Ident
	switch {
	case existing != nil && manifestfile.Equivalent(existing, m):
		res.State, res.Manifest, res.Replaces = Unchanged, existing, false
		res.Data, _ = repofs.Read(sc.Dir, res.Path, repofs.MaxManifest)
	case o.DryRun:
		res.State = DryRun
		if o.Push {
			res.Remote = o.Remote // what a real run would push to
		}
	default:
		id, err := plan.Author(ws, o.Author)
		if err != nil {
			return nil, err
		}
		// The commit is an object only, made in the scratch worktree; the
		// plan moves the branch to it.
		if err := repofs.Write(sc.Dir, res.Path, res.Data, 0o644); err != nil {
			return nil, fmt.Errorf("%s on %s: %w", repo, res.Branch, err)
		}
		if res.Commit, err = commitScratch(ctx, sc, id, res, len(m.Charts), len(m.Images), o.changeID(repo, res)); err != nil {
			return nil, fmt.Errorf("%s: committing %s: %w", repo, res.Path, err)
		}
		res.State = Created
		if existing != nil {
			res.State = Updated
		}
		ident = id
	}
	if res.State == DryRun {
		return res, nil
	}
	res, err = apply(ctx, ws, line, o, res, ident)
	if err != nil || o.Review == nil {
		return res, err
	}
	// The branch has moved locally; what it has beyond the remote's goes
	// for review (never onto the remote branch).
	if res.Reviewed, err = o.sendReview(ctx, dir, res); err != nil {
		return res, fmt.Errorf("%s: %w", repo, err)
	}
	res.Remote = o.Remote
	return res, nil
}

// apply moves the release branch to the manifest commit and pushes it
// through a plan (release/plan): relkit's lock of the repo is taken, the
// branch moves only from the head the manifest was built on (a
// fast-forward guarded like any push), and with -push the remote is read
// first and pushed to once, atomically and never forced, only if it still
// holds what was read.
func apply(ctx context.Context, ws *workspace.Config, line string, o Options, res *Result, ident gitx.Ident) (*Result, error) {
	dir, repo := ws.Charts.Dir, ws.Charts.Name
	p := &plan.Plan{Action: "release:manifest " + line, Author: ident.String()}
	pr := &plan.Repo{Name: repo, Kind: string(ws.Charts.Kind), Dir: dir}
	p.Repos = []*plan.Repo{pr}
	tip := res.Parent
	if res.Commit != "" {
		tip = res.Commit
		pr.Steps = append(pr.Steps, cherry.MoveStep(dir, res.Branch, res.Parent, res.Commit, "the release manifest "+res.Release))
	}
	if o.Push {
		if err := plan.PlanPush(ctx, pr, dir, o.Remote, true, res.Branch, tip, nil); err != nil {
			return nil, &plan.Undecided{Err: fmt.Errorf("%s: %w", repo, err)}
		}
	}
	if p.Empty() && len(pr.Problems) == 0 {
		res.Pushed = o.Push
		if o.Push {
			res.Remote = o.Remote
		}
		return res, nil
	}
	p.CheckRepos()
	err := p.Apply(ctx, plan.Options{Ident: ident})
	for _, a := range pr.Applied {
		if !strings.HasPrefix(a, "moved ") && !strings.HasPrefix(a, "pushed ") {
			res.Notes = append(res.Notes, a)
		}
	}
	moved := res.Commit == "" || slices.ContainsFunc(pr.Applied, func(a string) bool { return strings.HasPrefix(a, "moved ") })
	if err != nil {
		if !moved {
			return nil, err
		}
		return res, err
	}
	if o.Push {
		res.Pushed, res.Remote = true, o.Remote
	}
	return res, nil
}

// changeID is the Change-Id of the manifest commit in Gerrit review
// mode, else "".
func (o Options) changeID(repo string, res *Result) string {
	if o.Review == nil || o.Review.Kind != workspace.ReviewGerrit {
		return ""
	}
	return review.ChangeID(review.Key{Target: o.Review.Name.Target, Line: o.Review.Name.Line, Repo: repo, Branch: res.Branch,
		Step: "release manifest " + res.Release})
}

// sendReview sends what the local branch has beyond the remote's for
// review (the manifest commit, and any commit before it not yet merged)
// and says what it did. The remote branch must exist and be an ancestor
// of the local one: review mode never pushes the branch itself.
func (o Options) sendReview(ctx context.Context, dir string, res *Result) (string, error) {
	ref := "refs/heads/" + res.Branch
	got, err := gitx.LsRemote(ctx, dir, o.Remote, ref)
	if err != nil {
		return "", &plan.Undecided{Err: fmt.Errorf("reading %s: %w", o.Remote, err)}
	}
	base := got[ref]
	local, _, err := gitx.RevCommit(ctx, dir, ref)
	if err != nil {
		return "", err
	}
	switch {
	case base == "":
		return "", fmt.Errorf("%s has no branch %s; a review goes into an existing branch (release:branch creates it)", o.Remote, res.Branch)
	case base == local:
		return fmt.Sprintf("%s on %s already holds %s", res.Branch, o.Remote, res.Path), nil
	}
	if ok, err := gitx.IsAncestor(ctx, dir, base, local); err != nil || !ok {
		return "", cmp.Or(err, fmt.Errorf("%s on %s is at %s, which the local %s does not contain; pull first, then run again", res.Branch, o.Remote, gitx.Short(base), res.Branch))
	}
	out, err := gitx.Git(ctx, dir, "rev-list", "--count", local, "^"+base, "--")
	if err != nil {
		return "", err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(out))
	title := fmt.Sprintf("%s %s: %s", o.Review.Name.Target, o.Review.Name.Line, res.Path)
	body := fmt.Sprintf("relkit %s %s adds or updates %s on %s.\n\n%s", o.Review.Name.Target, o.Review.Name.Line, res.Path, res.Branch, res.Data)
	req := review.NewRequest(o.Review.Kind, o.Review.Name, res.Branch, base, local, n, title, body)
	r, err := review.Submit(ctx, o.Review.Options, dir, o.Remote, req)
	if err != nil {
		return "", err
	}
	return r.Summary, nil
}

// releasedContent refuses to write the manifest of a release that is
// already tagged unless the branch still holds exactly the tagged content
// (outside releases/): a manifest written later must describe the release,
// not what the branch became.
func releasedContent(ctx context.Context, dir, tag, head, branch string) error {
	tagCommit, ok, err := gitx.RevCommit(ctx, dir, "refs/tags/"+tag)
	if err != nil || !ok {
		return err
	}
	if tagCommit == head {
		return nil
	}
	_, err = gitx.Git(ctx, dir, "diff", "--quiet", tagCommit, head, "--", ".", ":(exclude)"+manifestfile.Dir)
	if err == nil {
		return nil
	}
	var ce *gitx.CmdError
	if errors.As(err, &ce) && ce.ExitCode() == 1 {
		return fmt.Errorf("release %s is already tagged (%s) and %s has changed since; a manifest written now would describe %s, not the release. Set VERSION on %s to the next development version first (release:point does), or check the release with release:verify",
			tag, gitx.Short(tagCommit), branch, branch, branch)
	}
	return err
}

// commitScratch stages the manifest in the scratch worktree and commits it
// on the detached HEAD; it returns the new commit.
func commitScratch(ctx context.Context, sc *gitx.Worktree, id gitx.Ident, res *Result, charts, images int, changeID string) (string, error) {
	env := append(id.Env(), "GIT_LITERAL_PATHSPECS=1")
	if _, err := gitx.GitEnv(ctx, sc.Dir, env, nil, "add", "--", res.Path); err != nil {
		return "", err
	}
	verb := "Add"
	if res.Replaces {
		verb = "Update"
	}
	msg := fmt.Sprintf("%s the release manifest of %s\n\nThe charts of %s at %s: %d chart(s) and %d image(s), each image with\nthe digest the registry serves and, for workspace components, the git tag\nand commit that built it. release:verify %s re-checks every digest.\n\n%s: %s\n",
		verb, res.Release, res.Branch, gitx.Short(res.Parent), charts, images, res.Release, Trailer, res.Release)
	if changeID != "" {
		msg = review.SetChangeID(msg, changeID)
	}
	if _, err := gitx.GitEnv(ctx, sc.Dir, env, []byte(msg), "commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", "-"); err != nil {
		return "", err
	}
	out, err := gitx.Git(ctx, sc.Dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	h := strings.TrimSpace(out)
	diff, err := gitx.Git(ctx, sc.Dir, "diff-tree", "-r", "--name-only", "--no-commit-id", "--no-renames", res.Parent, h)
	if err != nil {
		return "", err
	}
	if got := strings.TrimSpace(diff); got != res.Path {
		return "", fmt.Errorf("commit %s changes %q, expected only %s", gitx.Short(h), got, res.Path)
	}
	return h, nil
}

// WriteText writes what the run did for people; a dry run also shows the
// manifest.
func (r *Result) WriteText(w io.Writer) error {
	var b bytes.Buffer
	m := r.Manifest
	switch r.State {
	case DryRun:
		verb := "add"
		if r.Replaces {
			verb = "update"
		}
		fmt.Fprintf(&b, "Dry run: would %s %s on %s (after %s), %d chart(s), %d image(s):\n\n", verb, r.Path, r.Branch, gitx.Short(r.Parent), len(m.Charts), len(m.Images))
		b.Write(r.Data)
	case Unchanged:
		fmt.Fprintf(&b, "%s on %s already describes the branch (%d chart(s), %d image(s)); nothing to commit.\n", r.Path, r.Branch, len(m.Charts), len(m.Images))
	default:
		verb := "Created"
		if r.State == Updated {
			verb = "Updated"
		}
		fmt.Fprintf(&b, "%s %s on %s: commit %s after %s, %d chart(s), %d image(s).\n", verb, r.Path, r.Branch, gitx.Short(r.Commit), gitx.Short(r.Parent), len(m.Charts), len(m.Images))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "Note: %s.\n", n)
	}
	switch {
	case r.Reviewed != "":
		fmt.Fprintf(&b, "Review: %s.\n", r.Reviewed)
	case r.Pushed:
		fmt.Fprintf(&b, "Pushed %s to %s.\n", r.Branch, r.Remote)
	case r.State == DryRun && r.Remote != "":
		fmt.Fprintf(&b, "Dry run: would push %s to %s (never forced).\n", r.Branch, r.Remote)
	case r.State != DryRun && r.State != Unchanged:
		fmt.Fprintf(&b, "Not pushed; push with -push (or git push %s %s).\n", cmp.Or(r.Remote, "origin"), r.Branch)
	}
	_, err := io.WriteString(w, safetext.Clean(b.String()))
	return err
}

// WriteJSON writes the result as one JSON document.
func (r *Result) WriteJSON(w io.Writer) error {
	return safetext.WriteJSON(w, r)
}

// Write writes the result in format f: JSON, else text.
func (r *Result) Write(w io.Writer, f plan.Format) error {
	if f == plan.JSON {
		return r.WriteJSON(w)
	}
	return r.WriteText(w)
}
