package imageref

import (
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
			pre, suf, found := strings.Cut(f, "{version}")
			if !found || len(tag) < len(pre)+len(suf) || !strings.HasPrefix(tag, pre) || !strings.HasSuffix(tag, suf) {
				continue
			}
			mid := tag[len(pre) : len(tag)-len(suf)]
			if version.IsRelease(mid) {
				return mid, f, true
			}
		}
	}
	return "", "", false
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
