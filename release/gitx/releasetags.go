package gitx

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/version"
)

// ReleaseTags are the tags of a repository that name release versions, in
// every form version.TagForms accepts: the one place that answers "is
// 2.1.0 released, by which tag, on which commit" and "which releases does
// line 2.1 have", for check:versions, check:charts, release:status,
// release:tag, release:point and its notes. Use it while the Repo is open;
// it is not safe for concurrent use (it caches peeled tags).
type ReleaseTags struct {
	repo   *Repo
	prefix string
	// byVersion lists each version's tags, the prefix form first.
	byVersion map[string][]TagRef
	// sorted holds every version by SemVer, lowest first; made on first
	// use (check:versions on a repo with thousands of tags mostly asks
	// about one version).
	sorted []semverString
	peeled map[plumbing.Hash]plumbing.Hash
}

type semverString struct {
	s string
	v *semver.Version
}

// TagRef is one tag as the ref store holds it.
type TagRef struct {
	// Name is the tag's name ("v2.1.0"), Form its prefix ("v").
	Name, Form string
	// Target is what the ref names: the tag object of an annotated tag,
	// the commit of a lightweight one.
	Target plumbing.Hash
}

// TaggedCommit is one tag with the commit it names.
type TaggedCommit struct {
	Name   string
	Commit plumbing.Hash
}

// Release is a released version: its tags and the commit they name.
type Release struct {
	Version string
	// Tag is the name relkit gives the release (the prefix form when it
	// exists, else the first other form) and Commit the commit it names.
	Tag    string
	Commit plumbing.Hash
	// Tags are every tag of the version, Tag first.
	Tags []TaggedCommit
}

// Conflict reports whether the version's tags name different commits
// (2.1.0 and v2.1.0 made apart): which one is the release is then a
// question for a person, and check:versions reports it.
func (r Release) Conflict() bool {
	for _, t := range r.Tags {
		if t.Commit != r.Commit {
			return true
		}
	}
	return false
}

// Describe lists the tags and their commits ("2.1.0 on 1a2b3c4, v2.1.0
// on 5d6e7f8").
func (r Release) Describe() string {
	parts := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		parts[i] = t.Name + " on " + Short(t.Commit.String())
	}
	return strings.Join(parts, ", ")
}

// ReleaseTags reads the repository's release tags; prefix is the repo's
// configured tagPrefix (it orders the forms, it does not filter them).
func (r *Repo) ReleaseTags(prefix string) (*ReleaseTags, error) {
	all, err := r.Tags()
	if err != nil {
		return nil, fmt.Errorf("%s: listing tags: %w", r.Dir, err)
	}
	return newReleaseTags(r, prefix, all), nil
}

func newReleaseTags(r *Repo, prefix string, all map[string]plumbing.Hash) *ReleaseTags {
	t := &ReleaseTags{repo: r, prefix: prefix, byVersion: map[string][]TagRef{}, peeled: map[plumbing.Hash]plumbing.Hash{}}
	forms := version.TagForms(prefix)
	for name, h := range all {
		v, form, ok := version.FromTag(name, prefix)
		if !ok || (len(v) >= len("18446744073709551616.0.0") && !parses(v)) {
			continue
		}
		refs := append(t.byVersion[v], TagRef{Name: name, Form: form, Target: h})
		if len(refs) > 1 {
			slices.SortFunc(refs, func(a, b TagRef) int {
				return cmp.Or(cmp.Compare(slices.Index(forms, a.Form), slices.Index(forms, b.Form)), strings.Compare(a.Name, b.Name))
			})
		}
		t.byVersion[v] = refs
	}
	return t
}

// parses reports whether v fits semver's uint64 numbers. The grammar
// has no bound, so a hostile tag such as v99999999999999999999.0.0 is a
// release by name; it is not one relkit can order, and dropping it here
// keeps every later semver.MustParse safe. Only names long enough to
// overflow are parsed, so building the set stays cheap.
func parses(v string) bool {
	_, err := semver.StrictNewVersion(v)
	return err == nil
}

// semvers returns every version parsed and sorted, lowest first.
func (t *ReleaseTags) semvers() []semverString {
	if t.sorted == nil && len(t.byVersion) > 0 {
		t.sorted = make([]semverString, 0, len(t.byVersion))
		for v := range t.byVersion {
			t.sorted = append(t.sorted, semverString{v, semver.MustParse(v)})
		}
		slices.SortFunc(t.sorted, func(a, b semverString) int { return cmp.Or(a.v.Compare(b.v), strings.Compare(a.s, b.s)) })
	}
	return t.sorted
}

// SemVers lists every released version parsed, lowest first. The versions
// are shared: do not modify them.
func (t *ReleaseTags) SemVers() []*semver.Version {
	out := make([]*semver.Version, len(t.semvers()))
	for i, sv := range t.semvers() {
		out[i] = sv.v
	}
	return out
}

// Versions lists every released version, lowest first by SemVer.
func (t *ReleaseTags) Versions() []string {
	out := make([]string, len(t.semvers()))
	for i, sv := range t.semvers() {
		out[i] = sv.s
	}
	return out
}

// Line lists the released versions of line l, lowest first.
func (t *ReleaseTags) Line(l version.Line) []string {
	var out []string
	for _, sv := range t.semvers() {
		if sv.v.Major() == l.Major && sv.v.Minor() == l.Minor {
			out = append(out, sv.s)
		}
	}
	return out
}

// LineReleases returns the releases of line l by version (X.Y.z), each
// with the tag relkit goes by and the commit it names: the line's tags as
// release:point and release:status read them. Only the line's tags are
// peeled.
func (t *ReleaseTags) LineReleases(l version.Line) (map[string]Release, error) {
	out := map[string]Release{}
	for _, v := range t.Line(l) {
		rel, _, err := t.Release(v)
		if err != nil {
			return nil, err
		}
		out[v] = rel
	}
	return out, nil
}

// Has reports whether some tag names version v.
func (t *ReleaseTags) Has(v string) bool { return len(t.byVersion[v]) > 0 }

// Conflicts lists the releases whose tags name different commits, lowest
// version first. Only versions with several tags on different refs are
// peeled.
func (t *ReleaseTags) Conflicts() ([]Release, error) {
	var out []Release
	for _, sv := range t.semvers() {
		refs := t.byVersion[sv.s]
		if !slices.ContainsFunc(refs, func(r TagRef) bool { return r.Target != refs[0].Target }) {
			continue
		}
		rel, _, err := t.Release(sv.s)
		if err != nil {
			return nil, err
		}
		if rel.Conflict() {
			out = append(out, rel)
		}
	}
	return out, nil
}

// Commit is the commit a tag ref names, peeled once and remembered.
func (t *ReleaseTags) Commit(ref TagRef) (plumbing.Hash, error) {
	if c, ok := t.peeled[ref.Target]; ok {
		return c, nil
	}
	c, err := t.repo.Peel(ref.Target)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: reading tag %s: %w", t.repo.Dir, ref.Name, err)
	}
	t.peeled[ref.Target] = c
	return c, nil
}

// Release returns version v's release; ok is false when no tag names v.
// Only the tags of v are peeled, so asking about one version of a repo
// with thousands of tags stays cheap.
func (t *ReleaseTags) Release(v string) (Release, bool, error) {
	refs := t.byVersion[v]
	if len(refs) == 0 {
		return Release{}, false, nil
	}
	rel := Release{Version: v}
	for _, ref := range refs {
		c, err := t.Commit(ref)
		if err != nil {
			return Release{}, false, err
		}
		rel.Tags = append(rel.Tags, TaggedCommit{Name: ref.Name, Commit: c})
	}
	rel.Tag, rel.Commit = rel.Tags[0].Name, rel.Tags[0].Commit
	return rel, true, nil
}

// Last returns the newest release of line l below version below ("" for
// no bound) whose commit `from` reaches ("" for anywhere); ok is false
// when there is none. When a version's tags disagree, the first of them
// that from reaches names the release (the conflict itself is
// check:versions' to report).
func (t *ReleaseTags) Last(ctx context.Context, l version.Line, below, from string) (Release, bool, error) {
	var bound *semver.Version
	if below != "" {
		var err error
		if bound, err = semver.StrictNewVersion(below); err != nil {
			return Release{}, false, err
		}
	}
	line := t.Line(l)
	for i := len(line) - 1; i >= 0; i-- {
		if bound != nil && !semver.MustParse(line[i]).LessThan(bound) {
			continue
		}
		rel, _, err := t.Release(line[i])
		if err != nil {
			return Release{}, false, err
		}
		if from == "" {
			return rel, true, nil
		}
		for _, tc := range rel.Tags {
			ok, err := IsAncestor(ctx, t.repo.Dir, tc.Commit.String(), from)
			if err != nil {
				return Release{}, false, err
			}
			if ok {
				rel.Tag, rel.Commit = tc.Name, tc.Commit
				return rel, true, nil
			}
		}
	}
	return Release{}, false, nil
}

// CarriesRelease reports whether commit c carries the release that commit
// setter made by setting path (a VERSION file): c is setter, or descends
// from it with path unchanged in between, so the last change of path seen
// from c is setter. CI tags the merge commit one or two commits after the
// commit that set VERSION; such a tag names the same release. A tag on a
// commit where path holds something else, or that does not descend from
// setter, is another release.
func (r *Repo) CarriesRelease(ctx context.Context, c, setter plumbing.Hash, path string) (bool, error) {
	if setter.IsZero() {
		return false, nil
	}
	if c == setter {
		return true, nil
	}
	last, err := r.LastChange(ctx, c, path)
	if err != nil {
		return false, err
	}
	return last == setter, nil
}

// SameRelease reports whether every tag of rel names a commit carrying
// one release: seen from each, the last change of path (the VERSION file)
// is the same commit. Tags on the VERSION commit and on CI's merge commit
// after it are one release; tags over different VERSION histories are not.
func (r *Repo) SameRelease(ctx context.Context, rel Release, path string) (bool, error) {
	var setter plumbing.Hash
	for i, t := range rel.Tags {
		last, err := r.LastChange(ctx, t.Commit, path)
		if err != nil {
			return false, err
		}
		if i > 0 && last != setter {
			return false, nil
		}
		setter = last
	}
	return true, nil
}

// FindRelease opens the repository at dir and returns release v's tags in
// any form (prefix is the repo's tagPrefix); ok is false when no tag
// names v. For callers that hold a directory, not an open Repo.
func FindRelease(dir, prefix, v string) (Release, bool, error) {
	g, err := Open(dir)
	if err != nil {
		return Release{}, false, err
	}
	defer g.Close()
	tags, err := g.ReleaseTags(prefix)
	if err != nil {
		return Release{}, false, err
	}
	return tags.Release(v)
}
