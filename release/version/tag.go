package version

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// TagForms are the prefixes a release tag may carry in a repo whose new
// tags take prefix: prefix itself, then "v", then none. Real repos
// switched prefix over the years (the SD-Core charts have 1.x tags and
// then v4.x tags), so every lookup accepts each form; the configured
// prefix only decides how relkit writes a new tag and which form it names
// first.
func TagForms(prefix string) []string {
	forms := []string{prefix}
	for _, f := range []string{"v", ""} {
		if f != prefix {
			forms = append(forms, f)
		}
	}
	return forms
}

// FromTag reads a git tag name as a release version (MAJOR.MINOR.PATCH,
// optionally +build, never a pre-release) of a repo whose tag prefix is
// prefix: "v2.1.0" and "2.1.0" both give "2.1.0" whatever the prefix, and
// "rel-2.1.0" does when the prefix is "rel-". The second result is the
// form (the prefix the tag used).
func FromTag(name, prefix string) (v, form string, ok bool) {
	for _, f := range TagForms(prefix) {
		if rest, cut := strings.CutPrefix(name, f); cut && IsRelease(rest) {
			return rest, f, true
		}
	}
	return "", "", false
}

// LineOf returns the line X.Y of a SemVer version.
func LineOf(v *semver.Version) Line { return Line{v.Major(), v.Minor()} }

// DocsLine is where the docs repo's VERSION may stand relative to the
// charts repo's VERSION on the same branch. The docs publish the release
// the charts make, so they are always on the charts' line X.Y; on a
// release branch they also name the same point release X.Y.n.
//
// The release process moves the two files at different moments
// (release:point sets the charts to X.Y.n and on to X.Y.(n+1)-dev, the
// docs to X.Y.n only; by hand the docs are often bumped first). So on a
// release branch each version stands for the releases it can be at: a
// release X.Y.n for n, a pre-release X.Y.n-dev for n-1 (released, not
// moved on) or n (being made). The two agree when those sets meet:
// charts 2.1.2-dev with docs 2.1.1 or 2.1.2 is fine; charts 2.1.3-dev
// with docs 2.1.1 means the docs missed 2.1.2. It returns "" when they
// agree, else what the docs version should be, for the message.
func DocsLine(charts, docs *semver.Version, releaseBranch bool) string {
	l := LineOf(charts)
	if LineOf(docs) != l {
		if releaseBranch {
			return fmt.Sprintf("%s.%d (the point release of the charts' %s)", l, charts.Patch(), charts.Original())
		}
		return l.String() + ".z (the charts' line)"
	}
	if !releaseBranch {
		return ""
	}
	lo, hi := patchRange(charts)
	dlo, dhi := patchRange(docs)
	if lo <= dhi && dlo <= hi {
		return ""
	}
	if charts.Prerelease() == "" || charts.Patch() == 0 {
		return fmt.Sprintf("%s.%d", l, charts.Patch())
	}
	return fmt.Sprintf("%s.%d or %s.%d", l, charts.Patch()-1, l, charts.Patch())
}

// patchRange is the point releases a version can stand for on a release
// branch: n for X.Y.n, n-1 to n for X.Y.n-<pre> (n-1 does not exist for
// X.Y.0-dev, which stands for X.Y.0 only).
func patchRange(v *semver.Version) (lo, hi uint64) {
	if v.Prerelease() == "" || v.Patch() == 0 {
		return v.Patch(), v.Patch()
	}
	return v.Patch() - 1, v.Patch()
}
