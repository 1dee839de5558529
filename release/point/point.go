// Package point makes a point release of a release line (release:point
// X.Y): the charts repo's <prefix>X.Y goes from X.Y.n-dev (or the last
// release X.Y.(n-1)) to the release X.Y.n, committed and tagged as
// release:tag tags (an annotated tag on the commit that set VERSION), then
// on to X.Y.(n+1)-dev. The release commit also adds the release manifest
// releases/X.Y.n.yaml (release/manifest: every chart and version, every
// image the charts render with its registry digest; see manifest.go), so
// the tag carries it and release:verify X.Y.n can re-check the release;
// the registry must answer for every image, or nothing is written. The
// docs repo's <prefix>X.Y gets the same version and tag together with
// release notes for X.Y.n: every chart version and image tag of the
// release, and what changed since the previous point release (chart
// versions, component patch releases, the fixes picked onto the branch).
//
// The checks (check:charts against the last point release, check:images)
// must pass on the branch first. Every commit is made in a scratch
// worktree, the whole run is planned before anything moves (release/plan),
// -dryRun prints the plan, -push pushes each branch and tag atomically per
// repo, never forced. A second run finds the finished work (the commit
// trailer Relkit-Point-Release and the tags) and does only what is left.
package point

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/yamledit"
)

// Trailer marks release:point's commits; its value is the release.
const Trailer = "Relkit-Point-Release"

// Options of a point release.
type Options struct {
	// Line is the release line, "X.Y".
	Line string
	// DryRun plans and prints but writes nothing.
	DryRun bool
	// Push checks the remotes and pushes the branches and tags.
	Push bool
	// Remote defaults to origin.
	Remote string
	// Author overrides the identity of commits and tags.
	Author string
	// Checks run on the charts branch first; nil means plan.DefaultChecks.
	Checks plan.CheckFunc
	// Review, when set, sends the release and move-on commits for review
	// instead of pushing them (release/review.Mode); tags stay local.
	Review plan.ReviewMode
}

// Result is what a plan found out, beside the plan itself.
type Result struct {
	// Version is the release, X.Y.n ("" when it could not be told).
	Version string
	// NotesPath is the release notes page in the docs repo, Notes its
	// content as planned ("" when the docs already have the release).
	NotesPath string
	Notes     []byte
	// ManifestPath is the release manifest in the charts repo
	// (releases/X.Y.n.yaml); Manifest is the one this plan built, nil
	// when the release already had one (or it could not be built).
	ManifestPath string
	Manifest     *manifestfile.Manifest
}

// Plan works out release:point X.Y without writing anything but objects.
// The error is a *plan.Undecided when a repo or remote could not be read.
func Plan(ctx context.Context, ws *workspace.Config, opt Options) (*plan.Plan, *Result, error) {
	s, err := plan.NewSession(ctx, ws, opt.Line, plan.SessionOptions{DryRun: opt.DryRun, Push: opt.Push, Remote: opt.Remote, Author: opt.Author, Checks: opt.Checks, Review: opt.Review})
	if err != nil {
		return nil, nil, err
	}
	p := s.NewPlan("release:point " + s.Line)
	chr := plan.RepoPlan(ws.Charts)
	p.Repos = []*plan.Repo{chr}
	var dr *plan.Repo
	if ws.Docs != nil {
		dr = plan.RepoPlan(ws.Docs)
		p.Repos = append(p.Repos, dr)
	}
	res := &Result{}
	if err := s.NeedHistory(ctx, ws.Charts, chr); err != nil {
		return p, res, err
	}
	if dr != nil {
		if err := s.NeedHistory(ctx, ws.Docs, dr); err != nil {
			return p, res, err
		}
	}
	pt := &pointRun{s: s, ws: ws, res: res}
	defer pt.close(ctx)
	if err := pt.charts(ctx, chr); err != nil {
		if plan.RefuseFile(chr, err) {
			return p, res, nil
		}
		var rep *reported
		if !errors.As(err, &rep) {
			chr.Problemf("could not read the repo: %v", err)
		}
		return p, res, plan.AsUndecided(err)
	}
	if len(chr.Problems) > 0 {
		return p, res, nil
	}
	if dr != nil {
		if err := pt.docs(ctx, dr); err != nil {
			if plan.RefuseFile(dr, err) {
				return p, res, nil
			}
			dr.Problemf("could not read the repo: %v", err)
			return p, res, plan.AsUndecided(err)
		}
	}
	if s.Push {
		if len(chr.Problems) == 0 {
			if err := s.PlanPush(ctx, chr, ws.Charts.Dir, s.Branch, pt.chartsTip, map[string]string{pt.releaseTag(): pt.relCommit}); err != nil {
				chr.Problemf("could not read the remote: %v", err)
				return p, res, plan.AsUndecided(err)
			}
		}
		if dr != nil && len(dr.Problems) == 0 && pt.docsTip != "" {
			if err := s.PlanPush(ctx, dr, ws.Docs.Dir, s.Branch, pt.docsTip, map[string]string{pt.docsTagName: pt.docsTag}); err != nil {
				dr.Problemf("could not read the remote: %v", err)
				return p, res, plan.AsUndecided(err)
			}
		}
	}
	return p, res, nil
}

// Run plans release:point, prints the plan and, unless it is a dry run or
// refused, applies it.
func Run(ctx context.Context, ws *workspace.Config, opt Options, w io.Writer, f plan.Format) error {
	p, _, err := Plan(ctx, ws, opt)
	if p == nil {
		return err
	}
	s, _ := plan.NewSession(ctx, ws, opt.Line, plan.SessionOptions{Author: opt.Author, Review: opt.Review})
	return s.Run(ctx, p, err, w, f)
}

// pointRun is one planned point release.
type pointRun struct {
	s   *plan.Session
	ws  *workspace.Config
	res *Result
	// The charts branch: its release commit (tagged), the commit the
	// branch ends at, and the previous point release compared with.
	relCommit, chartsTip string
	prevTag, prevCommit  string
	prevVersion          string
	prevOnBranch         bool
	// relTag is the name of the release's existing tag ("" until one is
	// found; see releaseTag).
	relTag string
	// The docs branch's end and tagged commit, and the tag's name.
	docsTip, docsTag, docsTagName string
	// wt is the charts worktree at the release commit.
	wt *cherry.Worktree
	// checker asks the registry for the manifest's digests.
	checker *imageref.Checker
}

func (pt *pointRun) close(ctx context.Context) {
	if pt.wt != nil {
		pt.wt.Remove(ctx)
	}
}

// lineTags reads the charts repo's release tags, in any prefix form, and
// returns them with the line's releases by version (X.Y.z): the commit
// and the name of the tag relkit goes by (see gitx.Release).
func lineTags(g *gitx.Repo, r *workspace.Repo, l version.Line) (*gitx.ReleaseTags, map[string]gitx.Release, error) {
	all, err := g.ReleaseTags(r.TagPrefix)
	if err != nil {
		return nil, nil, err
	}
	line, err := all.LineReleases(l)
	return all, line, err
}

// commitOf is the commit release v's tag names ("" when v is not tagged).
func commitOf(tags map[string]gitx.Release, v string) string {
	if rel, ok := tags[v]; ok {
		return rel.Commit.String()
	}
	return ""
}

// releaseTag is the name of the release's tag: the existing one (in
// whatever prefix form it was made), else the one this run creates.
func (pt *pointRun) releaseTag() string {
	if pt.relTag != "" {
		return pt.relTag
	}
	return pt.ws.Charts.Tag(pt.res.Version)
}

func versionAt(g *gitx.Repo, commit, file string) (string, error) {
	data, err := g.FileAt(plumbing.NewHash(commit), file)
	if err != nil {
		return "", err
	}
	tok, _, _, err := yamledit.VersionToken(data)
	return tok, err
}

// byRelkit reports whether tag (on commit) is an earlier run's release:
// an annotated tag with relkit's message on a commit with the trailer
// Relkit-Point-Release: release. A tag made by hand on a commit after
// the branch is somebody else's, and never taken over.
func byRelkit(g *gitx.Repo, tag, commit, release string) bool {
	tags, err := g.Tags()
	if err != nil {
		return false
	}
	obj, err := g.TagObject(tags[tag])
	if err != nil || !plan.TagByRelkit(obj.Message) {
		return false
	}
	c, err := g.CommitObject(plumbing.NewHash(commit))
	return err == nil && trailerValue(c.Message, Trailer) == release
}

func trailerValue(msg, key string) string {
	for _, line := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// branchTip returns the commit of the local release branch in r; when r
// has no such branch it records that as a problem of pr and returns "".
func (pt *pointRun) branchTip(ctx context.Context, r *workspace.Repo, pr *plan.Repo) (string, error) {
	s := pt.s
	tip, err := plan.LocalBranch(ctx, r.Dir, s.Branch)
	if err != nil || tip != "" {
		return tip, err
	}
	pr.Problemf("has no branch %s; cut it with release:branch %s, or fetch it (git fetch %s %s:%s)", s.Branch, s.Line, s.Remote, s.Branch, s.Branch)
	return "", nil
}

// charts plans the charts branch: which release, its commit and tag (made
// here or found from an earlier run), the checks, and the move-on commit.
// The decisions are decide.go's; this reads the repo for them and records
// what they say in pr.
func (pt *pointRun) charts(ctx context.Context, pr *plan.Repo) error {
	s, r := pt.s, pt.ws.Charts
	tip, err := pt.branchTip(ctx, r, pr)
	if err != nil || tip == "" {
		return err
	}
	pt.chartsTip = tip
	g, err := gitx.Open(r.Dir)
	if err != nil {
		return err
	}
	defer g.Close()
	line, err := version.ParseLine(s.Line)
	if err != nil {
		return err
	}
	allTags, tags, err := lineTags(g, r, line)
	if err != nil {
		return err
	}
	cur, err := versionAt(g, tip, r.VersionFile)
	if err != nil {
		pr.Problemf("%s on %s: %v", r.VersionFile, s.Branch, err)
		return nil
	}
	cv, ok := inLine(cur, line)
	if !ok {
		pr.Problemf("%s on %s is %q, not in the %s line; expected %s.n or %s.n-dev", r.VersionFile, s.Branch, cur, s.Line, s.Line, s.Line)
		return nil
	}
	cm, err := g.CommitObject(plumbing.NewHash(tip))
	if err != nil {
		return err
	}
	bt := branchTip{Commit: tip, Version: cv, Trailer: trailerValue(cm.Message, Trailer)}
	if cm.NumParents() > 0 {
		bt.Parent = cm.ParentHashes[0].String()
	}
	choice := chooseRelease(bt, tagCommits(tags))
	if ok, err := pt.confirmRelease(ctx, g, pr, choice, tags, cur, tip); err != nil || !ok {
		return err
	}
	release := choice.Version
	pt.res.Version = release
	rv := semver.MustParse(release)
	if rel, ok := tags[release]; ok && rel.Conflict() {
		pr.Problemf("the tags of %s name different commits (%s); relkit never moves or deletes tags: decide which is the release and delete the other tag by hand", release, rel.Describe())
		return nil
	}
	if pt.relCommit == "" {
		if rel, ok := tags[release]; ok && !pt.adoptEarlierTag(ctx, g, pr, rel, tip) {
			return nil
		}
	}

	// The previous point release of the line, else the newest release
	// before this one in the repo.
	if err := pt.previous(ctx, allTags, line, rv, tip); err != nil {
		return err
	}
	if choice.Case == releaseMovedOn {
		pt.manifestDone(g, pr, tip)
		return pt.openRelease(ctx)
	}
	w, err := pt.checked(ctx, pr, tip)
	if err != nil || w == nil {
		return err
	}
	var moveOnManifest []byte // the manifest the move-on commit adds
	if pt.relCommit == "" {
		if ok, err := pt.releaseCommit(ctx, pr, w, tip); err != nil || !ok {
			return err
		}
	} else {
		_, tagged := tags[release]
		data, ok, err := pt.existingRelease(ctx, pr, w, tip, tagged)
		if !ok || err != nil {
			return err
		}
		moveOnManifest = data
	}
	if _, ok := tags[release]; !ok {
		pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateTag, Ref: "refs/tags/" + pt.releaseTag(), Commit: pt.relCommit,
			Message: plan.TagMessage(r.Name, release)})
	}
	if ok, err := pt.moveOnCommit(ctx, pr, w, tip, rv, moveOnManifest); err != nil || !ok {
		return err
	}
	// The worktree stays at the release for the notes.
	_, err = w.Git(ctx, nil, "checkout", "--quiet", "--detach", pt.relCommit)
	return err
}

// checked opens the charts worktree at tip and runs the checks there, on
// the branch as it is; it returns nil when the release is refused (the
// branch checked out, no identity to commit with, a failed check).
func (pt *pointRun) checked(ctx context.Context, pr *plan.Repo, tip string) (*cherry.Worktree, error) {
	s, r := pt.s, pt.ws.Charts
	w, err := cherry.AddOnBranch(ctx, s, pr, r.Dir, tip)
	if err != nil || w == nil {
		return nil, err
	}
	pt.wt = w
	s.CheckCharts(ctx, w.Dir, checksBase(pt.prevCommit, pt.prevOnBranch, r.MainBranch), pr, nil)
	if len(pr.Problems) > 0 {
		pr.Problemf("the checks must pass on %s before a point release", s.Branch)
		return nil, nil
	}
	return w, nil
}

// existingRelease puts w at the release commit that already exists
// (tagged, or VERSION set at the tip) and returns the release manifest
// the move-on commit adds when that commit lacks one (nil when it has it).
func (pt *pointRun) existingRelease(ctx context.Context, pr *plan.Repo, w *cherry.Worktree, tip string, tagged bool) ([]byte, bool, error) {
	if pt.relCommit != tip {
		if _, err := w.Git(ctx, nil, "checkout", "--quiet", "--detach", pt.relCommit); err != nil {
			return nil, false, err
		}
	}
	return pt.manifestOfRelease(ctx, pr, w, tagged)
}

// confirmRelease checks what choice needs the repo for and records it:
// the release commit when it exists, a note of work already done, or a
// problem that refuses the release (ok false).
func (pt *pointRun) confirmRelease(ctx context.Context, g *gitx.Repo, pr *plan.Repo, choice releaseChoice, tags map[string]gitx.Release, cur, tip string) (bool, error) {
	s, r := pt.s, pt.ws.Charts
	switch choice.Case {
	case releaseMovedOn:
		pt.relCommit, pt.relTag = choice.Commit, tags[choice.Version].Tag
		pr.Donef("%s %s is released (tag %s) and %s moved on to %s; no change since", r.Name, choice.Version, pt.relTag, s.Branch, cur)
	case releaseTaggedAtTip:
		pt.relCommit, pt.relTag = choice.Commit, tags[cur].Tag
		pr.Donef("%s %s is tagged %s at the tip of %s", r.VersionFile, cur, pt.relTag, s.Branch)
	case releaseAfterTag:
		ok, err := gitx.IsAncestor(ctx, r.Dir, choice.TagCommit, tip)
		if err != nil || !ok {
			if err == nil {
				pr.Problemf("tag %s is on %s, which is not on %s; check it by hand", tags[cur].Tag, gitx.Short(choice.TagCommit), s.Branch)
			}
			return false, err
		}
	case releaseUntagged:
		last, err := g.LastChange(ctx, plumbing.NewHash(tip), r.VersionFile)
		if err != nil {
			return false, err
		}
		if last.String() != tip {
			pr.Problemf("%s is already %s (set by %s) but not tagged, and commits followed; set it to %s-dev or tag the release by hand", r.VersionFile, cur, gitx.Short(last.String()), cur)
			return false, nil
		}
		pt.relCommit = choice.Commit
	}
	return true, nil
}

// readEarlierTag reads what adoptTag and docsTag decide on: the parent
// of the tagged commit, VERSION there (in file, "" to skip) and whether
// relkit made tag for release.
func readEarlierTag(ctx context.Context, g *gitx.Repo, dir, tag, commit, file, release string) earlierTag {
	t := earlierTag{Commit: commit, ByRelkit: byRelkit(g, tag, commit, release)}
	if parent, err := gitx.Git(ctx, dir, "rev-parse", commit+"^1"); err == nil {
		t.Parent = strings.TrimSpace(parent)
	}
	if file != "" {
		t.Version, _ = versionAt(g, commit, file)
	}
	return t
}

// adoptEarlierTag takes over an earlier run's release tag on a commit
// right after the tip (the run stopped before the branch moved); any
// other existing tag of the release refuses it (false).
func (pt *pointRun) adoptEarlierTag(ctx context.Context, g *gitx.Repo, pr *plan.Repo, rel gitx.Release, tip string) bool {
	r, c := pt.ws.Charts, rel.Commit.String()
	if adoptTag(readEarlierTag(ctx, g, r.Dir, rel.Tag, c, r.VersionFile, rel.Version), tip, rel.Version) {
		pt.relCommit, pt.relTag = c, rel.Tag
		pr.Donef("tag %s from an earlier run names the release commit %s", rel.Tag, gitx.Short(c))
		return true
	}
	pr.Problemf("tag %s already exists on %s, which is not a release of %s that relkit made; relkit never moves tags and takes over only its own earlier work: check it by hand", rel.Tag, gitx.Short(c), pt.s.Branch)
	return false
}

// releaseCommit makes the release commit in w (at tip): VERSION set to
// the release and the release manifest, which is built first so nothing
// is committed unless the registry gave every digest.
func (pt *pointRun) releaseCommit(ctx context.Context, pr *plan.Repo, w *cherry.Worktree, tip string) (bool, error) {
	s, r, release := pt.s, pt.ws.Charts, pt.res.Version
	out, old, ok, err := versionEdit(w, pr, r.VersionFile, release)
	if !ok || err != nil {
		return false, err
	}
	m, ok, err := pt.buildManifest(ctx, pr, w, tip)
	if !ok || err != nil {
		return false, err
	}
	mpath := manifestfile.Path(release)
	prev, err := w.ReadFile(mpath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	what := manifestState(prev, err == nil, m.Marshal(), s.Branch)
	title := Title(pt.ws, release)
	h, err := w.Commit(ctx, releaseMessage(title, release, s.Branch, mpath, len(m.Charts), len(m.Images)),
		map[string][]byte{r.VersionFile: out, mpath: m.Marshal()})
	if err != nil {
		return false, err
	}
	pt.relCommit = h
	pr.Notef("new commit %s \"Release %s\":", gitx.Short(h), title)
	pr.Notef("  %s:1 version %s -> %s", r.VersionFile, old, release)
	pr.Notef("  %s: release manifest (%s), %d chart(s), %d image(s) with their registry digests, describing %s", mpath, what, len(m.Charts), len(m.Images), gitx.Short(tip))
	return true, nil
}

// versionEdit reads file (VERSION) in w and returns it set to v, with the
// version it held; a file that holds no version is a problem of pr (ok
// false), one that cannot be read an error.
func versionEdit(w *cherry.Worktree, pr *plan.Repo, file, v string) (out []byte, old string, ok bool, err error) {
	data, err := w.ReadFile(file)
	if err != nil {
		return nil, "", false, err
	}
	out, old, err = yamledit.SetVersion(data, v)
	if err != nil {
		pr.Problemf("%s: %v", file, err)
		return nil, "", false, nil
	}
	return out, old, true, nil
}

// moveOnCommit makes the commit after the release (w at the release
// commit) that moves VERSION to the next -dev version, adding the release
// manifest when the tagged commit lacks one, and plans the branch's move
// from tip to it.
func (pt *pointRun) moveOnCommit(ctx context.Context, pr *plan.Repo, w *cherry.Worktree, tip string, rv *semver.Version, manifestData []byte) (bool, error) {
	s, r, release := pt.s, pt.ws.Charts, pt.res.Version
	next, nextRel := moveOnVersions(rv)
	out, old, ok, err := versionEdit(w, pr, r.VersionFile, next)
	if !ok || err != nil {
		return false, err
	}
	files := map[string][]byte{r.VersionFile: out}
	mpath, withManifest := manifestfile.Path(release), ""
	if manifestData != nil {
		files[mpath], withManifest = manifestData, mpath
	}
	h, err := w.Commit(ctx, moveOnMessage(Title(pt.ws, release), release, pt.releaseTag(), s.Branch, nextRel, withManifest), files)
	if err != nil {
		return false, err
	}
	pr.Notef("new commit %s \"Start %s development on %s\": %s:1 version %s -> %s", gitx.Short(h), nextRel, s.Branch, r.VersionFile, old, next)
	if manifestData != nil {
		pr.Notef("  %s: release manifest of %s (new)", mpath, release)
	}
	pr.Steps = append(pr.Steps, cherry.MoveStep(r.Dir, s.Branch, tip, h, fmt.Sprintf("%s: release %s, then %s", gitx.Short(h), release, next)))
	pt.chartsTip = h
	return true, nil
}

// openRelease adds a worktree at the release commit (for the notes).
func (pt *pointRun) openRelease(ctx context.Context) error {
	w, err := cherry.Add(ctx, pt.ws.Charts.Dir, pt.relCommit, pt.s.Ident, pt.s.DryRun)
	if err != nil {
		return err
	}
	pt.wt = w
	return nil
}

// previous finds the release the notes compare with: the newest point
// release of the line before rv on the branch, else the newest release
// tag of the repo below rv (tags in any prefix form).
func (pt *pointRun) previous(ctx context.Context, tags *gitx.ReleaseTags, line version.Line, rv *semver.Version, tip string) error {
	rel, ok, err := tags.Last(ctx, line, rv.Original(), tip)
	if err != nil {
		return err
	}
	if ok {
		pt.prevVersion, pt.prevTag, pt.prevCommit, pt.prevOnBranch = rel.Version, rel.Tag, rel.Commit.String(), true
		return nil
	}
	v := newestBelow(tags.Versions(), rv)
	if v == "" {
		return nil
	}
	rel, _, err = tags.Release(v)
	if err != nil {
		return err
	}
	pt.prevVersion, pt.prevTag, pt.prevCommit = rel.Version, rel.Tag, rel.Commit.String()
	return nil
}

func (pt *pointRun) docs(ctx context.Context, pr *plan.Repo) error {
	s, r, release := pt.s, pt.ws.Docs, pt.res.Version
	tip, err := pt.branchTip(ctx, r, pr)
	if err != nil || tip == "" {
		return err
	}
	pt.docsTip = tip
	g, err := gitx.Open(r.Dir)
	if err != nil {
		return err
	}
	defer g.Close()
	tags, err := g.ReleaseTags(r.TagPrefix)
	if err != nil {
		return err
	}
	rel, tagged, err := tags.Release(release)
	if err != nil {
		return err
	}
	tag := r.Tag(release)
	pt.docsTagName = tag
	if tagged {
		if rel.Conflict() {
			pr.Problemf("the tags of %s name different commits (%s); relkit never moves or deletes tags: decide which is the release and delete the other tag by hand", release, rel.Describe())
			return nil
		}
		tag, pt.docsTagName, pt.docsTag = rel.Tag, rel.Tag, rel.Commit.String()
		on, err := gitx.IsAncestor(ctx, r.Dir, pt.docsTag, tip)
		if err != nil {
			return err
		}
		switch docsTag(on, readEarlierTag(ctx, g, r.Dir, tag, pt.docsTag, "", release), tip) {
		case docsTagDone:
			pr.Donef("tag %s is on %s", tag, s.Branch)
		case docsTagAdopt:
			pr.Donef("tag %s from an earlier run names the docs commit %s", tag, gitx.Short(pt.docsTag))
			if err := plan.NotCheckedOut(ctx, r.Dir, s.Branch, pr); err != nil {
				return err
			}
			pr.Steps = append(pr.Steps, cherry.MoveStep(r.Dir, s.Branch, tip, pt.docsTag, gitx.Short(pt.docsTag)+": "+release+" and its release notes"))
			pt.docsTip = pt.docsTag
		default:
			pr.Problemf("tag %s already exists on %s, which is not on %s and is not relkit's earlier work; relkit never moves tags: check it by hand", tag, gitx.Short(pt.docsTag), s.Branch)
		}
		return nil
	}
	w, err := cherry.AddOnBranch(ctx, s, pr, r.Dir, tip)
	if err != nil || w == nil {
		return err
	}
	defer w.Remove(ctx)
	files := map[string][]byte{}
	var changes []string
	data, err := w.ReadFile(r.VersionFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		pr.Notef("%s has no %s; only the release notes are committed", s.Branch, r.VersionFile)
	case err != nil:
		return err
	default:
		out, old, err := yamledit.SetVersion(data, release)
		if err != nil {
			pr.Problemf("%s: %v", r.VersionFile, err)
			return nil
		}
		if old != release {
			files[r.VersionFile] = out
			changes = append(changes, fmt.Sprintf("%s:1 version %s -> %s", r.VersionFile, old, release))
		}
	}
	notesPath, format, err := notesPage(ctx, w.Dir, r, release)
	if err != nil {
		return err
	}
	facts, err := pt.facts(ctx)
	if err != nil {
		return err
	}
	existing, err := w.ReadFile(notesPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	page := Page(existing, facts, format)
	pt.res.NotesPath, pt.res.Notes = notesPath, page
	if string(existing) != string(page) {
		files[notesPath] = page
		what := "new page"
		if existing != nil {
			what = "the generated section added to the existing page (what people wrote stays)"
			if hasMarkers(existing) {
				what = "its generated section rewritten"
			}
		}
		changes = append(changes, fmt.Sprintf("%s: release notes, %s", notesPath, what))
	}
	title := Title(pt.ws, release)
	msg := fmt.Sprintf("Release %s\n\n%s %s and its release notes.\n\n%s: %s\n", title, r.VersionFile, release, Trailer, release)
	h, err := w.Commit(ctx, msg, files)
	if err != nil {
		return err
	}
	if h == "" {
		h = tip
		pr.Notef("%s already holds %s and its notes; only the tag is missing", s.Branch, release)
	} else {
		pr.Notef("new commit %s \"Release %s\":", gitx.Short(h), title)
		for _, c := range changes {
			pr.Notef("  %s", c)
		}
		pr.Steps = append(pr.Steps, cherry.MoveStep(r.Dir, s.Branch, tip, h, gitx.Short(h)+": "+release+" and its release notes"))
	}
	pr.Steps = append([]plan.Step{{Kind: plan.CreateTag, Ref: "refs/tags/" + tag, Commit: h, Message: plan.TagMessage(r.Name, release)}}, pr.Steps...)
	pt.docsTip, pt.docsTag = h, h
	return nil
}

// Title is how the notes name release v: the branch prefix as a product
// name ("aether-" gives "Aether 2.1.1"), else "Release 2.1.1".
func Title(ws *workspace.Config, v string) string {
	name := strings.Trim(path.Base(ws.BranchPrefix), "-_./")
	if name == "" {
		return "Release " + v
	}
	return strings.ToUpper(name[:1]) + name[1:] + " " + v
}

// notesPage is the release notes path for version and its format: the
// docs repo's releaseNotes setting ({version} replaced), by default
// release-notes/{version}.md, or .rst when the docs are mostly
// reStructuredText.
func notesPage(ctx context.Context, dir string, r *workspace.Repo, version string) (string, Format, error) {
	pattern := r.ReleaseNotes
	files, err := gitx.Paths(ctx, dir, "ls-files", "-z")
	if err != nil {
		return "", "", err
	}
	md, rst := 0, 0
	for _, f := range files {
		switch strings.ToLower(path.Ext(f)) {
		case ".md", ".markdown":
			md++
		case ".rst":
			rst++
		}
	}
	mostlyRST := rst > md
	if pattern == "" {
		pattern = "release-notes/{version}.md"
		if mostlyRST {
			pattern = "release-notes/{version}.rst"
		}
	}
	p := strings.ReplaceAll(pattern, "{version}", version)
	switch strings.ToLower(path.Ext(p)) {
	case ".rst":
		return p, RST, nil
	case ".md", ".markdown":
		return p, Markdown, nil
	}
	if mostlyRST {
		return p, RST, nil
	}
	return p, Markdown, nil
}
