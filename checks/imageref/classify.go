package imageref

import (
	"regexp"
	"slices"
	"strings"

	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// Class is what the release policy makes of a reference.
type Class string

const (
	// Untagged: neither tag nor digest; the runtime pulls "latest".
	Untagged Class = "untagged"
	// Release: the tag is a released SemVer version in an accepted form.
	Release Class = "release"
	// Moving: the tag is in the policy's moving-tag list.
	Moving Class = "moving"
	// NotRelease: a tag that is neither moving nor a release ("1.2.3-dev",
	// "master-771c0c3", "1.17").
	NotRelease Class = "not-release"
	// Pinned: a digest fixes the content; the tag, if any, is not moving.
	Pinned Class = "pinned"
	// PinnedMoving: a digest fixes the content but the tag next to it is a
	// moving one, which misleads readers.
	PinnedMoving Class = "pinned-moving"
)

// BuiltinForms are the release tag forms always accepted.
var BuiltinForms = []string{"{version}", "v{version}"}

// ReleaseVersion extracts the SemVer release version from tag when the tag
// has one of the accepted forms: "{version}", "v{version}" or one of forms
// (each holding "{version}" once). It returns the version and the form.
func ReleaseVersion(tag string, forms []string) (ver, form string, ok bool) {
	for _, list := range [][]string{BuiltinForms, forms} {
		for _, f := range list {
			if v, ok := VersionInForm(tag, f); ok {
				return v, f, true
			}
		}
	}
	return "", "", false
}

// VersionInForm returns the SemVer release version tag holds in form
// ("rel-{version}" and "rel-1.2.3" give "1.2.3").
func VersionInForm(tag, form string) (string, bool) {
	pre, suf, found := strings.Cut(form, "{version}")
	if !found || len(tag) < len(pre)+len(suf) || !strings.HasPrefix(tag, pre) || !strings.HasSuffix(tag, suf) {
		return "", false
	}
	mid := tag[len(pre) : len(tag)-len(suf)]
	return mid, version.IsRelease(mid)
}

// ClassifyTag classifies a tag alone: Untagged for "", Moving, Release or
// NotRelease.
func ClassifyTag(tag string, p workspace.ImagePolicy) Class {
	switch {
	case tag == "":
		return Untagged
	case p.IsMoving(tag):
		return Moving
	}
	if _, _, ok := ReleaseVersion(tag, p.ReleaseTagForms); ok {
		return Release
	}
	return NotRelease
}

// Classify classifies a reference. A digest pins the content, so a digest
// reference is Pinned whatever its tag, except a moving tag (PinnedMoving).
func Classify(r Ref, p workspace.ImagePolicy) Class {
	c := ClassifyTag(r.Tag, p)
	if r.Digest == "" {
		return c
	}
	if c == Moving {
		return PinnedMoving
	}
	return Pinned
}

// releaseCore finds X.Y.Z in a tag, not part of a longer dotted number.
var releaseCore = regexp.MustCompile(`(?:^|[^0-9.])(\d+\.\d+\.\d+)(?:$|[^0-9.])`)

// devMarker starts a prefix or suffix that marks a build, not a release
// ("-dev", "-rc1", "-SNAPSHOT", "master-", a build number, a commit).
var devMarker = regexp.MustCompile(`(?i)^[-._+]*(dev|rc|alpha|beta|pre|preview|snapshot|nightly|test|wip|unstable|canary|master|main|latest|edge|build|[0-9]+$|g?[0-9a-f]{7,40}$)`)

// SuggestForm returns the release tag form a tag would have if it is a
// release written in a project's own form ("rel-1.2.3" gives
// "rel-{version}", "1.2.3-aether-2.1.x" gives "{version}-aether-2.1.x"):
// exactly one SemVer release version, with a prefix or suffix that does
// not mark a development build. ok is false for anything else.
func SuggestForm(tag string) (form string, ok bool) {
	ms := releaseCore.FindAllStringSubmatchIndex(tag, -1)
	if len(ms) != 1 {
		return "", false
	}
	i, j := ms[0][2], ms[0][3]
	pre, ver, suf := tag[:i], tag[i:j], tag[j:]
	if !version.IsRelease(ver) || pre == "" && suf == "" || pre == "v" && suf == "" {
		return "", false
	}
	if suf != "" && devMarker.MatchString(suf) || pre != "" && devMarker.MatchString(reverseWords(pre)) {
		return "", false
	}
	return pre + "{version}" + suf, true
}

// reverseWords puts the words of a prefix last first ("build-dev-" gives
// "dev-build"), so the word next to the version is the one devMarker
// sees.
func reverseWords(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == '+' })
	slices.Reverse(words)
	return strings.Join(words, "-")
}
