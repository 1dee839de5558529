package point

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/release/version"
)

// The decisions of a point release, from plain values: no git.

func TestInLine(t *testing.T) {
	l := version.Line{Major: 2, Minor: 1}
	for _, tc := range []struct {
		cur string
		ok  bool
	}{
		{"2.1.0", true}, {"2.1.3-dev", true}, {"2.1.0-rc1", true},
		{"2.2.0", false}, {"3.1.0", false}, {"2.10.0", false},
		{"v2.1.0", false}, {"2.1", false}, {"", false}, {"2.1.0 ", false},
	} {
		if _, ok := inLine(tc.cur, l); ok != tc.ok {
			t.Errorf("inLine(%q, 2.1) = %v, want %v", tc.cur, ok, tc.ok)
		}
	}
}

func TestChooseRelease(t *testing.T) {
	const tip, parent, other = "tip", "parent", "other"
	for _, tc := range []struct {
		name    string
		version string
		trailer string
		parent  string
		tagged  map[string]string
		want    releaseChoice
	}{
		{"dev version: release its patch", "2.1.3-dev", "", parent, nil,
			releaseChoice{Case: releaseDev, Version: "2.1.3"}},
		{"dev version after relkit's move-on: done", "2.1.4-dev", "2.1.3", parent, map[string]string{"2.1.3": parent},
			releaseChoice{Case: releaseMovedOn, Version: "2.1.3", Commit: parent}},
		{"move-on trailer, but the release is tagged elsewhere", "2.1.4-dev", "2.1.3", parent, map[string]string{"2.1.3": other},
			releaseChoice{Case: releaseDev, Version: "2.1.4"}},
		{"move-on trailer of an untagged release", "2.1.4-dev", "2.1.3", parent, nil,
			releaseChoice{Case: releaseDev, Version: "2.1.4"}},
		{"move-on trailer on a root commit", "2.1.4-dev", "2.1.3", "", map[string]string{"2.1.3": ""},
			releaseChoice{Case: releaseDev, Version: "2.1.4"}},
		{"a trailer on a release version is no move-on", "2.1.3", "2.1.2", parent, map[string]string{"2.1.2": parent},
			releaseChoice{Case: releaseUntagged, Version: "2.1.3", Commit: tip}},
		{"release tagged at the tip", "2.1.3", "", parent, map[string]string{"2.1.3": tip},
			releaseChoice{Case: releaseTaggedAtTip, Version: "2.1.3", Commit: tip}},
		{"release tagged earlier: the next patch", "2.1.3", "", parent, map[string]string{"2.1.3": other},
			releaseChoice{Case: releaseAfterTag, Version: "2.1.4", TagCommit: other}},
		{"release nobody tagged", "2.1.3", "", parent, map[string]string{"2.1.2": other},
			releaseChoice{Case: releaseUntagged, Version: "2.1.3", Commit: tip}},
		{"a pre-release other than -dev counts as development", "2.1.0-rc1", "", parent, map[string]string{"2.1.0-rc1": tip},
			releaseChoice{Case: releaseDev, Version: "2.1.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt := branchTip{Commit: tip, Version: semver.MustParse(tc.version), Trailer: tc.trailer, Parent: tc.parent}
			if got := chooseRelease(bt, tc.tagged); got != tc.want {
				t.Errorf("chooseRelease = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAdoptTag(t *testing.T) {
	mine := earlierTag{Commit: "c", Parent: "tip", Version: "2.1.3", ByRelkit: true}
	for _, tc := range []struct {
		name string
		edit func(*earlierTag)
		want bool
	}{
		{"an earlier run's release commit right after the tip", func(*earlierTag) {}, true},
		{"made by hand", func(e *earlierTag) { e.ByRelkit = false }, false},
		{"not right after the tip", func(e *earlierTag) { e.Parent = "older" }, false},
		{"parent unreadable", func(e *earlierTag) { e.Parent = "" }, false},
		{"VERSION is something else there", func(e *earlierTag) { e.Version = "2.1.4-dev" }, false},
		{"VERSION unreadable", func(e *earlierTag) { e.Version = "" }, false},
	} {
		e := mine
		tc.edit(&e)
		if got := adoptTag(e, "tip", "2.1.3"); got != tc.want {
			t.Errorf("%s: adoptTag = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDocsTag(t *testing.T) {
	for _, tc := range []struct {
		name     string
		onBranch bool
		parent   string
		byRelkit bool
		want     docsTagCase
	}{
		{"tag on the branch, whoever made it", true, "elsewhere", false, docsTagDone},
		{"an earlier run's commit after the tip", false, "tip", true, docsTagAdopt},
		{"relkit's, but not after the tip", false, "older", true, docsTagForeign},
		{"after the tip, but by hand", false, "tip", false, docsTagForeign},
	} {
		if got := docsTag(tc.onBranch, earlierTag{Parent: tc.parent, ByRelkit: tc.byRelkit}, "tip"); got != tc.want {
			t.Errorf("%s: docsTag = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNewestBelow(t *testing.T) {
	versions := []string{"1.0.0", "2.0.1", "2.1.0", "2.1.10", "4.0.0"}
	for _, tc := range []struct{ rv, want string }{
		{"2.1.11", "2.1.10"}, {"2.1.10", "2.1.0"}, {"2.1.1", "2.1.0"}, {"2.1.0", "2.0.1"},
		{"3.0.0", "2.1.10"}, {"1.0.0", ""}, {"0.1.0", ""},
	} {
		if got := newestBelow(versions, semver.MustParse(tc.rv)); got != tc.want {
			t.Errorf("newestBelow(%s) = %q, want %q", tc.rv, got, tc.want)
		}
	}
	if got := newestBelow(nil, semver.MustParse("2.1.0")); got != "" {
		t.Errorf("no releases: %q", got)
	}
}

func TestChecksBase(t *testing.T) {
	if got := checksBase("abc", true, "master"); got != "abc" {
		t.Errorf("an earlier point release on the branch is the base, got %q", got)
	}
	if got := checksBase("abc", false, "main"); got != "refs/heads/main" {
		t.Errorf("a release off the branch is no base: main is, got %q", got)
	}
	if got := checksBase("", false, "master"); got != "refs/heads/master" {
		t.Errorf("no release at all: main is the base, got %q", got)
	}
}

func TestManifestState(t *testing.T) {
	m := []byte("release: 2.1.0\n")
	for _, tc := range []struct {
		prev   []byte
		exists bool
		want   string
	}{
		{nil, false, "new"},
		{m, true, "unchanged"},
		{[]byte("release: 2.1.0\nimages: []\n"), true, "replacing the one on aether-2.1"},
		{[]byte{}, true, "replacing the one on aether-2.1"},
	} {
		if got := manifestState(tc.prev, tc.exists, m, "aether-2.1"); got != tc.want {
			t.Errorf("manifestState(%q, %v) = %q, want %q", tc.prev, tc.exists, got, tc.want)
		}
	}
}

func TestMoveOnVersions(t *testing.T) {
	for _, tc := range []struct{ rv, dev, next string }{
		{"2.1.0", "2.1.1-dev", "2.1.1"}, {"2.1.9", "2.1.10-dev", "2.1.10"}, {"10.20.30", "10.20.31-dev", "10.20.31"},
	} {
		if dev, next := moveOnVersions(semver.MustParse(tc.rv)); dev != tc.dev || next != tc.next {
			t.Errorf("moveOnVersions(%s) = %s, %s; want %s, %s", tc.rv, dev, next, tc.dev, tc.next)
		}
	}
}

func TestCommitMessages(t *testing.T) {
	rel := releaseMessage("Aether 2.1.0", "2.1.0", "aether-2.1", "releases/2.1.0.yaml", 6, 15)
	want := "Release Aether 2.1.0\n\nPoint release 2.1.0 of aether-2.1, with its release manifest releases/2.1.0.yaml:\n" +
		"6 chart(s) and 15 image(s), each image with the digest the registry\nserves. release:verify 2.1.0 re-checks them.\n\n" +
		"Relkit-Point-Release: 2.1.0\n"
	if rel != want {
		t.Errorf("release message:\n%s\nwant:\n%s", rel, want)
	}
	plain := moveOnMessage("Aether 2.1.0", "2.1.0", "v2.1.0", "aether-2.1", "2.1.1", "")
	want = "Start 2.1.1 development on aether-2.1\n\nAether 2.1.0 is released (tag v2.1.0); the next point release of\naether-2.1 is 2.1.1.\n\n" +
		"Relkit-Point-Release: 2.1.0\n"
	if plain != want {
		t.Errorf("move-on message:\n%s\nwant:\n%s", plain, want)
	}
	with := moveOnMessage("Aether 2.1.0", "2.1.0", "v2.1.0", "aether-2.1", "2.1.1", "releases/2.1.0.yaml")
	if !strings.Contains(with, "\nThe tagged release commit has no release manifest; this commit adds\nreleases/2.1.0.yaml, describing it.\n\nRelkit-Point-Release: 2.1.0\n") {
		t.Errorf("a move-on commit adding the manifest says so:\n%s", with)
	}
	// Both are found again by their trailer.
	for _, msg := range []string{rel, plain, with} {
		if got := trailerValue(msg, Trailer); got != "2.1.0" {
			t.Errorf("trailer of %q = %q", msg, got)
		}
	}
}
