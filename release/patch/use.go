package patch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// UseTrailer marks the charts commit of patch:component -use; its value is
// "<component> <version>", so the release notes can say the release was
// taken as it was, not made for the branch.
const UseTrailer = plan.UseTrailer

// maxExtraShown bounds the extra commits of a -use release listed in the
// plan and in the charts commit.
const maxExtraShown = 50

// planUse plans steps 2 and 3 of patch:component -use=X.Y.Z: no component
// release is made; the existing release use is checked (a release tag of
// the component, in the X.Y line the charts ship, newer than the shipped
// version, with every fix: the fix itself, a cherry-pick of it or the
// same change) and everything it carries beyond the shipped version is
// listed, as it ships too.
func (s *Session) planUse(ctx context.Context, pr *plan.Repo, comp *workspace.Repo, shipped, use string, revs []string) (componentResult, error) {
	var res componentResult
	dir := comp.Dir
	sv := semver.MustParse(shipped)
	uv, err := semver.StrictNewVersion(use)
	if err != nil || uv.Prerelease() != "" || uv.Metadata() != "" {
		pr.Problemf("-use=%s is not a release version; expected X.Y.Z, an existing release of %s in the %d.%d line that release %s ships", use, comp.Name, sv.Major(), sv.Minor(), s.Line)
		return res, nil
	}
	use = uv.String()
	if uv.Major() != sv.Major() || uv.Minor() != sv.Minor() || uv.LessThan(sv) {
		pr.Problemf("-use=%s is not a release after %s in the %d.%d line: release %s ships %s %s, and a patch moves it only to a newer %d.%d.z", use, shipped, sv.Major(), sv.Minor(), s.Line, comp.Name, shipped, sv.Major(), sv.Minor())
		return res, nil
	}
	commits, g, err := s.openFixes(ctx, comp, revs, pr)
	if g == nil {
		return res, err
	}
	defer g.Close()
	tags, err := g.Tags()
	if err != nil {
		return res, err
	}
	rts, err := releaseTags(g, tags, comp, use)
	if err != nil {
		return res, err
	}
	if len(rts) == 0 {
		pr.Problemf("-use=%s: %s has no tag %s; -use names an existing release of %s", use, comp.Name, strings.Join(versionTagNames(comp, use), " or "), comp.Name)
		return res, nil
	}
	t := rts[0]

	// Where the shipped release is: its tag, else the commit that set it.
	since, err := s.shippedCommit(ctx, g, tags, comp, shipped, pr)
	if err != nil || since == "" {
		return res, err
	}
	finder, err := newFixFinder(ctx, dir, since, []string{t.commit}, commits)
	if err != nil {
		return res, err
	}
	rep, err := finder.report(ctx, t.commit, commits)
	if err != nil {
		return res, err
	}
	if len(rep.lacks) > 0 {
		msg := fmt.Sprintf("-use=%s: %s %s (tag %s) lacks %s", use, comp.Name, use, t.name, strings.Join(rep.lacks, ", "))
		if better, err := s.releasesWithFixes(ctx, g, tags, comp, shipped, since, commits); err != nil {
			return res, err
		} else if len(better) > 0 {
			msg += fmt.Sprintf("; the releases after %s that have every fix: %s", shipped, strings.Join(better, ", "))
		} else {
			msg += fmt.Sprintf("; no release of %s after %s has every fix: release them on %s first", comp.Name, shipped, comp.MainBranch)
		}
		pr.Problemf("%s", msg)
		return res, nil
	}
	if use == shipped {
		pr.Donef("release %s already ships %s %s (tag %s), which has the fixes", s.Line, comp.Name, use, t.name)
	} else {
		pr.Notef("-use: %s %s is the existing release tag %s on %s; it has %s. No component tag, branch or commit is made", comp.Name, use, t.name, gitx.Short(t.commit), strings.Join(rep.has, ", "))
	}
	n, extra, err := extraCommits(ctx, dir, t.commit, since, maxExtraShown)
	if err != nil {
		return res, err
	}
	if use != shipped && n > 0 {
		pr.Notef("%s %s carries %d commit(s) beyond %s (%s), all of which ship with it (newest first):", comp.Name, use, n, shipped, gitx.Short(since))
		for _, c := range extra {
			pr.Notef("  %s", c)
		}
		if n > len(extra) {
			pr.Notef("  and %d more", n-len(extra))
		}
	}
	if lost, _, err := extraCommits(ctx, dir, since, t.commit, 0); err != nil {
		return res, err
	} else if lost > 0 {
		pr.Notef("%s %s does not contain %s: %d commit(s) of the shipped release are not in it", comp.Name, use, shipped, lost)
	}
	res = componentResult{version: use, tagCommit: t.commit, tagName: t.name, used: true,
		since: shipped, extraCount: n, extra: extra}
	return res, nil
}

// shippedCommit finds the commit of the shipped release: its tag (either
// prefix form), else the commit of main that set VERSION to it.
func (s *Session) shippedCommit(ctx context.Context, g *gitx.Repo, tags map[string]plumbing.Hash, comp *workspace.Repo, shipped string, pr *plan.Repo) (string, error) {
	rts, err := releaseTags(g, tags, comp, shipped)
	if err != nil {
		return "", err
	}
	if len(rts) > 0 {
		return rts[0].commit, nil
	}
	main, err := revCommit(ctx, comp.Dir, "refs/heads/"+comp.MainBranch)
	if err != nil {
		return "", err
	}
	if main == "" {
		pr.Problemf("has no branch %s (mainBranch in %s) and no tag for %s, so what ships beyond %s cannot be told", comp.MainBranch, s.WS.File, shipped, shipped)
		return "", nil
	}
	h, err := BranchPoint(ctx, g, plumbing.NewHash(main), comp.VersionFile, shipped, comp.MainBranch)
	var ns *NotSetError
	if errors.As(err, &ns) {
		pr.Problemf("the shipped %s %s has no tag (%s) and %v, so what ships beyond it cannot be told", comp.Name, shipped, strings.Join(versionTagNames(comp, shipped), " or "), err)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// releasesWithFixes lists the releases of the shipped line after shipped
// that have every fix.
func (s *Session) releasesWithFixes(ctx context.Context, g *gitx.Repo, tags map[string]plumbing.Hash, comp *workspace.Repo, shipped, since string, fixes []string) ([]string, error) {
	versions, err := lineReleases(tags, comp, shipped)
	if err != nil {
		return nil, err
	}
	var tips []string
	commitOf := map[string]string{}
	for _, v := range versions {
		rts, err := releaseTags(g, tags, comp, v)
		if err != nil || len(rts) == 0 {
			return nil, err
		}
		tips = append(tips, rts[0].commit)
		commitOf[v] = rts[0].commit
	}
	finder, err := newFixFinder(ctx, comp.Dir, since, tips, fixes)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range versions {
		rep, err := finder.report(ctx, commitOf[v], fixes)
		if err != nil {
			return nil, err
		}
		if len(rep.lacks) == 0 {
			out = append(out, v)
		}
	}
	return out, nil
}
