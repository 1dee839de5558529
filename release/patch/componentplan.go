package patch

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// The decisions of planComponentRelease, as pure functions of what the
// component repo says (read in component.go), tested without git.

// fixState is where a fix stands on the component's release branch.
type fixState int

const (
	// fixPending: not on the branch; it is picked.
	fixPending fixState = iota
	// fixOnBranch: the fix commit itself is on the branch.
	fixOnBranch
	// fixPicked: a cherry-pick of it is.
	fixPicked
)

// pickState tells where fix c stands from found, what cherry.FindPick
// found on the branch ("" for nothing).
func pickState(c, found string) fixState {
	switch found {
	case "":
		return fixPending
	case c:
		return fixOnBranch
	default:
		return fixPicked
	}
}

// firstPatchRelease is the first candidate for the patch release after
// VERSION cur at the branch's base: the next patch of a release, the
// release a pre-release leads to (1.4.2-dev gives 1.4.2).
func firstPatchRelease(cur *semver.Version) string {
	p := cur.Patch() + 1
	if cur.Prerelease() != "" {
		p = cur.Patch()
	}
	return fmt.Sprintf("%d.%d.%d", cur.Major(), cur.Minor(), p)
}

// fixedTagFacts is what the repo says about a tag of the release the
// branch's VERSION holds.
type fixedTagFacts struct {
	// onBranch: the tagged commit is on the branch; hasFixes: it has
	// every fix (itself or picked).
	onBranch, hasFixes bool
	// mine: relkit made the release for this branch (see relkitRelease);
	// why says what is missing when not.
	mine bool
	why  string
}

// fixedVerdict is what a release tag with the fixes means for the plan.
type fixedVerdict int

const (
	// fixedSkip: the tag is off the branch or lacks a fix; look further.
	fixedSkip fixedVerdict = iota
	// fixedNotMine: somebody else's release has the fixes; refused,
	// pointing at -use.
	fixedNotMine
	// fixedShippedNoBranch: the shipped release itself has the fixes and
	// the branch does not exist; nothing to release, no branch to start.
	fixedShippedNoBranch
	// fixedDone: the release has the fixes; the branch is placed at it.
	fixedDone
)

// judgeFixedRelease decides about a tag of cur, the release VERSION holds
// on the branch when no fix is left to pick. The release the charts ship
// (shipped) is a fact whoever made it; another release counts as done
// only when relkit made it: one made by hand is the user's to choose,
// with -use.
func judgeFixedRelease(cur, shipped string, branchExists bool, f fixedTagFacts) fixedVerdict {
	switch {
	case !f.onBranch || !f.hasFixes:
		return fixedSkip
	case cur != shipped && !f.mine:
		return fixedNotMine
	case cur == shipped && !branchExists:
		return fixedShippedNoBranch
	default:
		return fixedDone
	}
}

// earlierPatch is what the repo says about the tag (in the repo's prefix
// form) of the next patch release.
type earlierPatch struct {
	commit string
	// mine: relkit made it for this branch; after: the branch's base is
	// an ancestor of it; hasFixes: it has every fix.
	mine, after, hasFixes bool
}

// adoptEarlierPatch decides whether the tag is this patch's release from
// an earlier run that stopped before the branch moved: relkit's, on a
// commit after the base (not the base itself), with every fix. Any other
// tag makes the version taken.
func adoptEarlierPatch(f earlierPatch, base string) bool {
	return f.mine && f.after && f.commit != base && f.hasFixes
}

// componentReleaseMessage is the title and message of the commit that
// releases component name at version for release line (branch), listing
// the picks.
func componentReleaseMessage(name, version, line, branch string, picks []string) (title, msg string) {
	title = name + " " + version
	body := fmt.Sprintf("Patch release of %s for release %s (%s).", name, line, branch)
	if len(picks) > 0 {
		body += "\n\n" + strings.Join(picks, "\n")
	}
	return title, fmt.Sprintf("Release %s\n\n%s\n\n%s: %s\n", title, body, Trailer, branch)
}

// placement is what placing the release branch at a commit takes.
type placement int

const (
	branchInPlace placement = iota
	branchCreate
	branchMove
)

// branchPlacement decides how the local branch (local, "" when missing)
// gets to tip.
func branchPlacement(local, tip string) placement {
	switch local {
	case tip:
		return branchInPlace
	case "":
		return branchCreate
	default:
		return branchMove
	}
}
