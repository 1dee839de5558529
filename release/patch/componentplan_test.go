package patch

import (
	"testing"

	"github.com/Masterminds/semver/v3"
)

// The decisions of patch:component's release, from plain values: no git.

func TestPickState(t *testing.T) {
	for _, tc := range []struct {
		found string
		want  fixState
	}{{"", fixPending}, {"fix", fixOnBranch}, {"pick", fixPicked}} {
		if got := pickState("fix", tc.found); got != tc.want {
			t.Errorf("pickState(fix, %q) = %v, want %v", tc.found, got, tc.want)
		}
	}
}

func TestFirstPatchRelease(t *testing.T) {
	for cur, want := range map[string]string{
		"1.4.1": "1.4.2", "1.4.2-dev": "1.4.2", "2.0.0-rc1": "2.0.0", "3.1.9": "3.1.10", "0.0.0": "0.0.1",
	} {
		if got := firstPatchRelease(semver.MustParse(cur)); got != want {
			t.Errorf("firstPatchRelease(%s) = %s, want %s", cur, got, want)
		}
	}
}

func TestJudgeFixedRelease(t *testing.T) {
	good := fixedTagFacts{onBranch: true, hasFixes: true, mine: true}
	for _, tc := range []struct {
		name         string
		cur          string
		branchExists bool
		edit         func(*fixedTagFacts)
		want         fixedVerdict
	}{
		{"relkit's earlier release on the branch", "1.4.2", true, nil, fixedDone},
		{"the tag is off the branch", "1.4.2", true, func(f *fixedTagFacts) { f.onBranch = false }, fixedSkip},
		{"a fix is missing", "1.4.2", true, func(f *fixedTagFacts) { f.hasFixes = false }, fixedSkip},
		{"a release made by hand", "1.4.2", true, func(f *fixedTagFacts) { f.mine = false }, fixedNotMine},
		{"the shipped release, by hand, on an existing branch", "1.4.1", true, func(f *fixedTagFacts) { f.mine = false }, fixedDone},
		{"the shipped release already has the fixes, no branch yet", "1.4.1", false, func(f *fixedTagFacts) { f.mine = false }, fixedShippedNoBranch},
		{"relkit's release, no local or remote branch", "1.4.2", false, nil, fixedDone},
		{"off the branch and by hand: skipped, not refused", "1.4.2", true, func(f *fixedTagFacts) { f.onBranch, f.mine = false, false }, fixedSkip},
	} {
		f := good
		if tc.edit != nil {
			tc.edit(&f)
		}
		if got := judgeFixedRelease(tc.cur, "1.4.1", tc.branchExists, f); got != tc.want {
			t.Errorf("%s: judgeFixedRelease = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAdoptEarlierPatch(t *testing.T) {
	good := earlierPatch{commit: "rel", mine: true, after: true, hasFixes: true}
	for _, tc := range []struct {
		name string
		edit func(*earlierPatch)
		want bool
	}{
		{"an earlier run's release after the base", func(*earlierPatch) {}, true},
		{"made by hand", func(f *earlierPatch) { f.mine = false }, false},
		{"not after the base", func(f *earlierPatch) { f.after = false }, false},
		{"on the base itself", func(f *earlierPatch) { f.commit = "base" }, false},
		{"without every fix", func(f *earlierPatch) { f.hasFixes = false }, false},
	} {
		f := good
		tc.edit(&f)
		if got := adoptEarlierPatch(f, "base"); got != tc.want {
			t.Errorf("%s: adoptEarlierPatch = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestComponentReleaseMessage(t *testing.T) {
	title, msg := componentReleaseMessage("amf", "1.4.2", "2.1", "aether-2.1", []string{"- Fix the keepalive (cherry picked from 924d30f)", "- Retry (cherry picked from 1a2b3c4)"})
	want := "Release amf 1.4.2\n\nPatch release of amf for release 2.1 (aether-2.1).\n\n" +
		"- Fix the keepalive (cherry picked from 924d30f)\n- Retry (cherry picked from 1a2b3c4)\n\nRelkit-Patch: aether-2.1\n"
	if title != "amf 1.4.2" || msg != want {
		t.Errorf("message %q:\n%s\nwant:\n%s", title, msg, want)
	}
	_, msg = componentReleaseMessage("amf", "1.4.3", "2.1", "aether-2.1", nil)
	if want := "Release amf 1.4.3\n\nPatch release of amf for release 2.1 (aether-2.1).\n\nRelkit-Patch: aether-2.1\n"; msg != want {
		t.Errorf("without picks:\n%s\nwant:\n%s", msg, want)
	}
	if v := trailerValues(msg, Trailer); len(v) != 1 || v[0] != "aether-2.1" {
		t.Errorf("relkitRelease finds the branch in the trailer: %q", v)
	}
}

func TestBranchPlacement(t *testing.T) {
	for _, tc := range []struct {
		local, tip string
		want       placement
	}{{"abc", "abc", branchInPlace}, {"", "abc", branchCreate}, {"old", "abc", branchMove}, {"", "", branchInPlace}} {
		if got := branchPlacement(tc.local, tc.tip); got != tc.want {
			t.Errorf("branchPlacement(%q, %q) = %v, want %v", tc.local, tc.tip, got, tc.want)
		}
	}
}
