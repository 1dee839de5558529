package point

import (
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/version"
)

// The decisions of a point release, as pure functions of what the repo
// says (read in point.go): which release, whether an earlier tag is taken
// over, what the release and move-on commits say. Tested without git in
// decide_test.go.

// inLine parses cur (VERSION on the branch) and reports whether it is a
// version of line l, release or pre-release.
func inLine(cur string, l version.Line) (*semver.Version, bool) {
	v, err := semver.StrictNewVersion(cur)
	if err != nil || v.Major() != l.Major || v.Minor() != l.Minor {
		return nil, false
	}
	return v, true
}

// branchTip is what the tip of the charts branch says.
type branchTip struct {
	// Commit is the tip, Version VERSION there (a version of the line).
	Commit  string
	Version *semver.Version
	// Trailer is the tip's Relkit-Point-Release value ("" without one),
	// Parent its first parent ("" for a root commit).
	Trailer, Parent string
}

// releaseCase is how far the release is when the run starts.
type releaseCase int

const (
	// releaseDev: VERSION is X.Y.n-dev; X.Y.n is released by this run.
	releaseDev releaseCase = iota
	// releaseMovedOn: the tip is relkit's move-on commit right after the
	// tagged release commit; the charts are done.
	releaseMovedOn
	// releaseTaggedAtTip: VERSION is X.Y.n, tagged at the tip; only the
	// move-on commit is left.
	releaseTaggedAtTip
	// releaseAfterTag: VERSION is X.Y.n, tagged on an earlier commit
	// (TagCommit); X.Y.(n+1) is released, if that commit is on the branch.
	releaseAfterTag
	// releaseUntagged: VERSION is X.Y.n and no tag names it; the tip is
	// the release commit, if the tip is what set VERSION.
	releaseUntagged
)

// releaseChoice is which release a run makes and what is known of it.
type releaseChoice struct {
	Case releaseCase
	// Version is the release, X.Y.n.
	Version string
	// Commit is the release commit when it already exists (moved on,
	// tagged at the tip, untagged at the tip), else "".
	Commit string
	// TagCommit is the commit the tag of VERSION names (releaseAfterTag).
	TagCommit string
}

// chooseRelease decides which release the branch makes from its tip and
// the line's tagged releases (version -> commit). A move-on commit counts
// only when its trailer's release is tagged on its parent: a -dev VERSION
// with a stray trailer is an ordinary development version.
func chooseRelease(tip branchTip, tagged map[string]string) releaseChoice {
	v := tip.Version
	if done := tip.Trailer; done != "" && v.Prerelease() != "" && tip.Parent != "" {
		if c := tagged[done]; c != "" && c == tip.Parent {
			return releaseChoice{Case: releaseMovedOn, Version: done, Commit: c}
		}
	}
	cur := v.Original()
	switch c := tagged[cur]; {
	case v.Prerelease() != "":
		return releaseChoice{Case: releaseDev, Version: patchOf(v, v.Patch())}
	case c == tip.Commit:
		return releaseChoice{Case: releaseTaggedAtTip, Version: cur, Commit: tip.Commit}
	case c != "":
		return releaseChoice{Case: releaseAfterTag, Version: patchOf(v, v.Patch()+1), TagCommit: c}
	default:
		return releaseChoice{Case: releaseUntagged, Version: cur, Commit: tip.Commit}
	}
}

// patchOf is release X.Y.p of v's line.
func patchOf(v *semver.Version, p uint64) string {
	return fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), p)
}

// tagCommits maps the line's releases to the commits their tags name.
func tagCommits(tags map[string]gitx.Release) map[string]string {
	out := make(map[string]string, len(tags))
	for v, rel := range tags {
		out[v] = rel.Commit.String()
	}
	return out
}

// earlierTag is a tag of the release on a commit that is not the
// branch's: what the repo says about that commit.
type earlierTag struct {
	// Commit is the tagged commit, Parent its first parent ("" when
	// unreadable), Version VERSION there ("" when unreadable).
	Commit, Parent, Version string
	// ByRelkit says the tag carries relkit's message and the commit the
	// Relkit-Point-Release trailer of the release.
	ByRelkit bool
}

// adoptTag decides whether a release tag found off the branch is an
// earlier run's release commit, stopped before the branch moved: relkit
// made it, right on top of the tip, with VERSION at the release. Any other
// tag of the release is somebody else's and is never taken over.
func adoptTag(t earlierTag, tip, release string) bool {
	return t.Parent == tip && t.Version == release && t.ByRelkit
}

// docsTagCase is what to do about the docs' existing tag of the release.
type docsTagCase int

const (
	// docsTagDone: the tag is on the docs branch; nothing to do.
	docsTagDone docsTagCase = iota
	// docsTagAdopt: an earlier run's docs commit right after the tip;
	// the branch moves to it.
	docsTagAdopt
	// docsTagForeign: somebody else's tag off the branch; refused.
	docsTagForeign
)

// docsTag decides about the docs tag of the release from whether its
// commit is on the branch and, when not, whether it is an earlier run's.
func docsTag(onBranch bool, t earlierTag, tip string) docsTagCase {
	switch {
	case onBranch:
		return docsTagDone
	case t.Parent == tip && t.ByRelkit:
		return docsTagAdopt
	default:
		return docsTagForeign
	}
}

// newestBelow returns the newest of versions (lowest first) below rv, ""
// when there is none: the release notes compare with it when the line has
// no earlier point release on the branch.
func newestBelow(versions []string, rv *semver.Version) string {
	for i := len(versions) - 1; i >= 0; i-- {
		if semver.MustParse(versions[i]).LessThan(rv) {
			return versions[i]
		}
	}
	return ""
}

// checksBase is what the checks compare the branch with: the previous
// point release when it is on the branch, else the main branch (the
// branch's charts are then new against main).
func checksBase(prevCommit string, prevOnBranch bool, mainBranch string) string {
	if prevOnBranch {
		return prevCommit
	}
	return "refs/heads/" + mainBranch
}

// manifestState says how the release manifest the release commit writes
// compares with the file already on the branch (prev, when it exists).
func manifestState(prev []byte, exists bool, next []byte, branch string) string {
	switch {
	case !exists:
		return "new"
	case string(prev) == string(next):
		return "unchanged"
	default:
		return "replacing the one on " + branch
	}
}

// releaseMessage is the release commit's message.
func releaseMessage(title, release, branch, manifestPath string, charts, images int) string {
	return fmt.Sprintf("Release %s\n\nPoint release %s of %s, with its release manifest %s:\n%d chart(s) and %d image(s), each image with the digest the registry\nserves. release:verify %s re-checks them.\n\n%s: %s\n",
		title, release, branch, manifestPath, charts, images, release, Trailer, release)
}

// moveOnVersions are the version the branch moves on to after release rv
// (X.Y.(n+1)-dev) and the release it heads for (X.Y.(n+1)).
func moveOnVersions(rv *semver.Version) (dev, next string) {
	next = patchOf(rv, rv.Patch()+1)
	return next + "-dev", next
}

// moveOnMessage is the move-on commit's message; manifestPath is set when
// the commit also adds the release manifest the tagged commit lacks.
func moveOnMessage(title, release, tag, branch, next, manifestPath string) string {
	extra := ""
	if manifestPath != "" {
		extra = fmt.Sprintf("\nThe tagged release commit has no release manifest; this commit adds\n%s, describing it.\n", manifestPath)
	}
	return fmt.Sprintf("Start %s development on %s\n\n%s is released (tag %s); the next point release of\n%s is %s.\n%s\n%s: %s\n",
		next, branch, title, tag, branch, next, extra, Trailer, release)
}
