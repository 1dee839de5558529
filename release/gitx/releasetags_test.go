package gitx_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

func build(t *testing.T, script func(r *demo.Repo)) *demo.Repo {
	t.Helper()
	return workspacetest.Repo(t, filepath.Join(t.TempDir(), "repo"), "master", script)
}

func open(t *testing.T, dir string) *gitx.Repo {
	t.Helper()
	g, err := gitx.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func line(t *testing.T, s string) version.Line {
	l, err := version.ParseLine(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A charts repo in the shape of the SD-Core charts: 1.0.0 ... 1.4.0
// without a prefix, then v4.0.0 and v4.1.x; non-release tags beside them;
// 2.1.0 and v2.1.0 on different commits.
func TestReleaseTagsAcrossPrefixes(t *testing.T) {
	t.Parallel()
	var c map[string]string = map[string]string{}
	r := build(t, func(r *demo.Repo) {
		for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
			c[v] = r.SetVersion(v + "\n")
			r.Tag(v, "", "")
		}
		c["2.1.0"] = r.SetVersion("2.1.0\n")
		r.Tag("2.1.0", "", "")
		c["merge"] = r.Commit("CI merge after 2.1.0", map[string]string{"README": "x\n"})
		r.Tag("v2.1.0", "annotated by CI", "")
		c["4.0.0"] = r.SetVersion("4.0.0\n")
		r.Tag("v4.0.0", "annotated", "")
		r.Tag("4.0.0", "", "") // both forms on one commit: no conflict
		c["4.1.0"] = r.SetVersion("4.1.0\n")
		r.Tag("v4.1.0", "", "")
		c["4.1.10"] = r.SetVersion("4.1.10\n")
		r.Tag("v4.1.10", "", "")
		c["4.1.2"] = r.SetVersion("4.1.2\n")
		r.Tag("v4.1.2", "", "")
		for _, junk := range []string{"aether-2.1", "chart-1.2.3", "v4.2.0-rc1", "2024-05-01", "V4.3.0", "vv4.4.0", "rel-4.5.0", "v18446744073709551616.0.0", "1.2.99999999999999999999"} {
			r.Tag(junk, "", "")
		}
	})
	g := open(t, r.Dir)
	for _, prefix := range []string{"", "v"} {
		tags, err := g.ReleaseTags(prefix)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "2.1.0", "4.0.0", "4.1.0", "4.1.2", "4.1.10"}
		if got := tags.Versions(); !slices.Equal(got, want) {
			t.Errorf("prefix %q: versions %v, want %v (SemVer order, every form, no pre-release or other names)", prefix, got, want)
		}
		if got := tags.Line(line(t, "4.1")); !slices.Equal(got, []string{"4.1.0", "4.1.2", "4.1.10"}) {
			t.Errorf("prefix %q: line 4.1 = %v", prefix, got)
		}
		if got := tags.Line(line(t, "1.4")); !slices.Equal(got, []string{"1.4.0"}) {
			t.Errorf("prefix %q: line 1.4 = %v", prefix, got)
		}
		byVersion, err := tags.LineReleases(line(t, "4.1"))
		if err != nil || len(byVersion) != 3 || byVersion["4.1.2"].Tag != "v4.1.2" || byVersion["4.1.2"].Commit.String() != c["4.1.2"] {
			t.Errorf("prefix %q: LineReleases(4.1) = %+v %v", prefix, byVersion, err)
		}
		if byVersion, err := tags.LineReleases(line(t, "2.1")); err != nil || !byVersion["2.1.0"].Conflict() || byVersion["2.1.0"].Tag != prefix+"2.1.0" {
			t.Errorf("prefix %q: LineReleases(2.1) = %+v %v; want 2.1.0's conflict kept, named by the prefix form", prefix, byVersion, err)
		}
		rel, ok, err := tags.Release("1.2.0")
		if err != nil || !ok || rel.Tag != "1.2.0" || rel.Commit.String() != c["1.2.0"] || rel.Conflict() {
			t.Errorf("prefix %q: 1.2.0 = %+v %v %v", prefix, rel, ok, err)
		}
		rel, _, _ = tags.Release("4.0.0")
		if rel.Conflict() || len(rel.Tags) != 2 || rel.Tag != prefix+"4.0.0" || rel.Commit.String() != c["4.0.0"] {
			t.Errorf("prefix %q: 4.0.0 = %+v; want both forms on one commit, the prefix form named first", prefix, rel)
		}
		rel, _, _ = tags.Release("2.1.0")
		if !rel.Conflict() || rel.Tag != prefix+"2.1.0" {
			t.Errorf("prefix %q: 2.1.0 = %+v; want a conflict named by the prefix form", prefix, rel)
		}
		if _, ok, _ := tags.Release("4.5.0"); ok {
			t.Errorf("prefix %q: rel-4.5.0 counted as a release", prefix)
		}
		if !tags.Has("1.0.0") || tags.Has("4.2.0") || tags.Has("4.3.0") || tags.Has("18446744073709551616.0.0") {
			t.Errorf("prefix %q: Has is wrong", prefix)
		}
		var sv []string
		for _, v := range tags.SemVers() {
			sv = append(sv, v.Original())
		}
		if !slices.Equal(sv, want) {
			t.Errorf("prefix %q: SemVers %v, want %v", prefix, sv, want)
		}
		conflicts, err := tags.Conflicts()
		if err != nil || len(conflicts) != 1 || conflicts[0].Version != "2.1.0" || !conflicts[0].Conflict() {
			t.Errorf("prefix %q: Conflicts = %+v %v; want only 2.1.0 (4.0.0's two tags share a commit)", prefix, conflicts, err)
		}
	}
	// A prefix of its own counts beside the two usual forms.
	tags, _ := g.ReleaseTags("rel-")
	if !tags.Has("4.5.0") || !tags.Has("4.1.0") || !tags.Has("1.0.0") {
		t.Errorf("prefix rel-: %v", tags.Versions())
	}

	// Last: the newest of the line, below a bound, reachable from a commit.
	tags, _ = g.ReleaseTags("")
	ctx := context.Background()
	for _, tc := range []struct {
		line, below, from string
		want              string
	}{
		{"4.1", "", "", "4.1.10"},
		{"4.1", "4.1.10", "", "4.1.2"},
		{"4.1", "", c["4.1.10"], "4.1.10"},
		{"4.1", "", c["4.1.0"], "4.1.0"},
		{"4.1", "4.1.0", "", ""},
		{"4.1", "", c["4.0.0"], ""},
		{"3.0", "", "", ""},
	} {
		rel, ok, err := tags.Last(ctx, line(t, tc.line), tc.below, tc.from)
		if err != nil || ok != (tc.want != "") || rel.Version != tc.want {
			t.Errorf("Last(%s, below %q, from %.7s) = %q %v %v; want %q", tc.line, tc.below, tc.from, rel.Version, ok, err, tc.want)
		}
	}
	// 2.1.0 and CI's v2.1.0 on the merge commit after it are one release;
	// tags over different VERSION histories are not.
	rel21, _, _ := tags.Release("2.1.0")
	rel12, _, _ := tags.Release("1.2.0")
	for _, tc := range []struct {
		tags []gitx.TaggedCommit
		want bool
	}{
		{rel21.Tags, true},
		{rel12.Tags, true},
		{append(slices.Clone(rel21.Tags), rel12.Tags...), false},
	} {
		if same, err := g.SameRelease(ctx, gitx.Release{Tags: tc.tags}, "VERSION"); err != nil || same != tc.want {
			t.Errorf("SameRelease(%+v) = %v %v, want %v", tc.tags, same, err, tc.want)
		}
	}
	// A conflict: the form that the commit reaches names the release.
	rel, ok, err := tags.Last(ctx, line(t, "2.1"), "", c["2.1.0"])
	if err != nil || !ok || rel.Tag != "2.1.0" || rel.Commit.String() != c["2.1.0"] {
		t.Errorf("Last(2.1 from the VERSION commit) = %+v %v %v; want tag 2.1.0 there", rel, ok, err)
	}
	tagsV, _ := g.ReleaseTags("v")
	rel, ok, err = tagsV.Last(ctx, line(t, "2.1"), "", c["2.1.0"])
	if err != nil || !ok || rel.Tag != "2.1.0" {
		t.Errorf("prefix v: Last(2.1 from the VERSION commit) = %+v %v %v; v2.1.0 is not reachable from there", rel, ok, err)
	}
}

// CarriesRelease: a tag on the merge commit CI made after the VERSION
// commit is the same release; another VERSION, or another history, is not.
func TestCarriesRelease(t *testing.T) {
	t.Parallel()
	h := map[string]string{}
	r := build(t, func(r *demo.Repo) {
		r.SetVersion("1.0.0\n")
		r.SetVersion("1.1.0-dev\n")
		r.Checkout("release", "HEAD")
		h["set"] = r.SetVersion("1.1.0\n")
		h["after"] = r.Commit("docs after the release commit", map[string]string{"NOTES": "x\n"})
		r.Checkout("master", "")
		h["main"] = r.Commit("work on master", map[string]string{"main.go": "package main\n"})
		h["merge"] = r.Merge("release", "Merge release 1.1.0")
		h["ci"] = r.Commit("CI bookkeeping", map[string]string{"ci.txt": "1\n"})
		h["dev"] = r.SetVersion("1.1.1-dev\n")
		h["back"] = r.SetVersion("1.1.0\n") // flip-flop back to the release
		r.Checkout("side", h["main"])
		h["side"] = r.SetVersion("1.1.0\n") // the same version set elsewhere
	})
	g := open(t, r.Dir)
	ctx := context.Background()
	for _, tc := range []struct {
		tagged, setter string
		want           bool
	}{
		{"set", "set", true},
		{"after", "set", true},
		{"merge", "set", true},
		{"ci", "set", true},
		{"dev", "set", false},  // VERSION is another version there
		{"back", "set", false}, // VERSION changed in between
		{"side", "set", false}, // not descending from the setter
		{"main", "set", false}, // an ancestor, before VERSION was set
		{"back", "back", true},
	} {
		got, err := g.CarriesRelease(ctx, plumbing.NewHash(h[tc.tagged]), plumbing.NewHash(h[tc.setter]), "VERSION")
		if err != nil || got != tc.want {
			t.Errorf("CarriesRelease(%s, set by %s) = %v %v, want %v", tc.tagged, tc.setter, got, err, tc.want)
		}
	}
	if ok, _ := g.CarriesRelease(ctx, plumbing.NewHash(h["set"]), plumbing.ZeroHash, "VERSION"); ok {
		t.Errorf("an uncommitted VERSION carries no tagged release")
	}
}
