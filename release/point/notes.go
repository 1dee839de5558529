package point

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Format is a release notes markup.
type Format string

const (
	Markdown Format = "markdown"
	RST      Format = "rst"
)

// Facts is everything the release notes say.
type Facts struct {
	Title, Version, Branch string
	// ChartsRepo and Tag name the charts repo and the release tag.
	ChartsRepo, Tag string
	// Prev is the release compared with ("" when there is none);
	// PrevOnBranch says it is an earlier point release of the branch.
	Prev         string
	PrevOnBranch bool
	Charts       []ChartFact
	Images       []ImageFact
	Components   []ComponentFact
	// Picked are the branch's own commits since Prev (or since it left the
	// main branch), relkit's bookkeeping commits left out.
	Picked []CommitFact
	// Unrendered names charts whose images could not all be listed.
	Unrendered []string
}

// ChartFact is one chart of the release.
type ChartFact struct {
	Name, Dir, Version string
	// Prev is the version in the previous release ("" when new).
	Prev string
}

// ImageFact is one image repository of the release.
type ImageFact struct {
	// Name is the repository, Tags its tags (or digests) in the release.
	Name   string
	Tags   []string
	Charts []string
	// Component builds it ("" for third-party images).
	Component string
	// Prev are its tags in the previous release.
	Prev []string
}

// ComponentFact is a component whose release changed.
type ComponentFact struct {
	Name     string
	Old, New string
	// Commits are the subjects of the component's commits between the two
	// release tags (VERSION-only and relkit commits left out).
	Commits []string
	// Taken says New is an existing release the branch's charts were
	// moved to as it was (patch:component -use), not one made for the
	// branch: every commit listed ships with it, none was picked.
	Taken bool
}

// CommitFact is one commit of the branch.
type CommitFact struct {
	Hash, Subject string
	// From is the commit it was cherry-picked from ("" when made there).
	From string
}

// Changed reports whether the chart's version differs from the previous
// release.
func (c ChartFact) Changed() bool { return c.Prev != c.Version }

// Changed reports whether the image's tags differ from the previous
// release.
func (i ImageFact) Changed() bool { return !slices.Equal(i.Tags, i.Prev) }

// maxCommits bounds the commits listed per range.
const maxCommits = 200

// facts gathers the notes of the release in the charts worktree. Every
// read of git and of the charts is here; what the reads mean is decided
// by the pure functions of notesfacts.go, and the page by Render.
func (pt *pointRun) facts(ctx context.Context) (*Facts, error) {
	ws, r := pt.ws, pt.ws.Charts
	f := &Facts{Title: Title(ws, pt.res.Version), Version: pt.res.Version, Branch: pt.s.Branch,
		ChartsRepo: r.Name, Tag: pt.releaseTag(), PrevOnBranch: pt.prevOnBranch}
	now, err := render.All(ctx, pt.wt.Dir, render.OptionsFrom(ws.Render))
	if err != nil {
		return nil, err
	}
	var prev []render.Result
	if pt.prevCommit != "" {
		f.Prev = pt.prevVersion
		w, err := gitx.AddIsolatedWorktree(ctx, r.Dir, pt.prevCommit, pt.s.Ident) // only read: nothing goes into the repo
		if err != nil {
			return nil, err
		}
		prev, err = render.All(ctx, w.Dir, render.OptionsFrom(ws.Render))
		w.Remove(ctx)
		if err != nil {
			return nil, err
		}
	}
	nowImages, bad := renderedImages(now, ws)
	prevImages, _ := renderedImages(prev, ws)
	f.Unrendered = bad
	f.Charts = chartFacts(chartsOf(now), chartsOf(prev))
	f.Images = imageFacts(nowImages, prevImages)
	if pt.prevCommit != "" {
		f.Components = changedComponents(f.Images, ws.Images.ReleaseTagForms)
		for i, cf := range f.Components {
			if c, ok := ws.Component(cf.Name); ok {
				f.Components[i].Commits = componentCommits(ctx, c, cf.Old, cf.New)
			}
		}
		markTaken(f.Components, pt.takenReleases(ctx))
	}
	f.Picked, err = pt.picked(ctx)
	return f, err
}

// branchRange is the git log range of the charts branch's own commits in
// the release: since the previous point release, or since the branch left
// main (main given as a rev).
func (pt *pointRun) branchRange(main string) []string {
	if pt.prevOnBranch {
		return []string{pt.relCommit, "^" + pt.prevCommit}
	}
	return []string{pt.relCommit, "^" + main}
}

// takenReleases lists the "<component> <version>" values of the
// plan.UseTrailer on the charts branch's commits in the range picked
// reads.
func (pt *pointRun) takenReleases(ctx context.Context) []string {
	r := pt.ws.Charts
	args := append([]string{"log", "--format=%B%x00"}, pt.branchRange("refs/heads/"+r.MainBranch)...)
	out, err := gitx.Git(ctx, r.Dir, append(args, "--")...)
	if err != nil {
		return nil
	}
	return trailerValuesOfLog(out, plan.UseTrailer)
}

// componentCommits lists the subjects of the commits in old..new of the
// component's release tags (in any prefix form), leaving out relkit's and
// VERSION-only commits.
func componentCommits(ctx context.Context, c *workspace.Repo, old, new string) []string {
	from, to, ok := releaseRange(c, old, new)
	if !ok {
		return nil
	}
	out, err := gitx.Git(ctx, c.Dir, "log", "--no-merges", "--max-count="+fmt.Sprint(maxCommits),
		"--format="+componentLogFormat, "--name-only", from+".."+to, "--")
	if err != nil {
		return nil
	}
	return componentSubjects(out, c.VersionFile)
}

// releaseRange finds the commits of the component's releases old and new;
// ok is false when either is not tagged.
func releaseRange(c *workspace.Repo, old, new string) (from, to string, ok bool) {
	g, err := gitx.Open(c.Dir)
	if err != nil {
		return "", "", false
	}
	defer g.Close()
	tags, err := g.ReleaseTags(c.TagPrefix)
	if err != nil {
		return "", "", false
	}
	a, ok1, err1 := tags.Release(old)
	b, ok2, err2 := tags.Release(new)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return "", "", false
	}
	return a.Commit.String(), b.Commit.String(), true
}

// picked lists the charts branch's own commits since the previous point
// release, or since the branch left main.
func (pt *pointRun) picked(ctx context.Context) ([]CommitFact, error) {
	r := pt.ws.Charts
	main := ""
	if !pt.prevOnBranch {
		out, err := gitx.Git(ctx, r.Dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+r.MainBranch)
		if err != nil {
			return nil, nil // no main branch: no list
		}
		main = strings.TrimSpace(out)
	}
	args := append([]string{"log", "--no-merges", "--max-count=" + fmt.Sprint(maxCommits), "--format=" + pickedLogFormat}, pt.branchRange(main)...)
	out, err := gitx.Git(ctx, r.Dir, append(args, "--")...)
	if err != nil {
		return nil, err
	}
	return pickedCommits(out), nil
}
