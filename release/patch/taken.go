package patch

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// releaseTag is a git tag naming a release of a component.
type releaseTag struct {
	name string
	// ref is what the tag ref points at (a tag object or a commit),
	// commit the commit it names.
	ref    plumbing.Hash
	commit string
}

// versionTagNames are the tags that can name release v of r: the form
// tagPrefix gives first, then v and v-prefixed v, as repos switch
// prefixes over the years and a tag in either form makes v taken.
func versionTagNames(r *workspace.Repo, v string) []string {
	names := []string{r.Tag(v)}
	for _, n := range []string{v, "v" + v} {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// releaseTags returns the tags of release v present in tags (name -> ref).
func releaseTags(g *gitx.Repo, tags map[string]plumbing.Hash, r *workspace.Repo, v string) ([]releaseTag, error) {
	var out []releaseTag
	for _, n := range versionTagNames(r, v) {
		h, ok := tags[n]
		if !ok {
			continue
		}
		c, err := g.Peel(h)
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", n, err)
		}
		out = append(out, releaseTag{name: n, ref: h, commit: c.String()})
	}
	return out, nil
}

// trailerValues returns the values of trailer key in a commit message.
func trailerValues(msg, key string) []string {
	var out []string
	for line := range strings.Lines(msg) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// relkitRelease tells whether t is a release patch:component made for
// branch: an annotated tag with relkit's message on a commit carrying the
// trailer "Relkit-Patch: <branch>". Anything else (a tag made by hand or
// by another tool, a release of main, one made for another branch) is
// somebody else's work, which a rerun never takes over; why says what is
// missing.
func relkitRelease(g *gitx.Repo, t releaseTag, branch string) (ok bool, why string, err error) {
	obj, err := g.Storer.EncodedObject(plumbing.AnyObject, t.ref)
	if err != nil {
		return false, "", err
	}
	if obj.Type() != plumbing.TagObject {
		return false, "a lightweight tag", nil
	}
	tag, err := object.DecodeTag(g.Storer, obj)
	if err != nil {
		return false, "", err
	}
	if !plan.TagByRelkit(tag.Message) {
		return false, "its tag message is not relkit's", nil
	}
	c, err := g.CommitObject(plumbing.NewHash(t.commit))
	if err != nil {
		return false, "", err
	}
	if !slices.Contains(trailerValues(c.Message, Trailer), branch) {
		return false, fmt.Sprintf("its commit has no %s: %s trailer", Trailer, branch), nil
	}
	return true, "", nil
}

// maxRange bounds the commits read to find copies of the fixes.
const maxRange = 5000

// fixFinder tells whether releases contain fixes: the fix commit itself
// (ancestry), a cherry-pick of it (its -x trailer), or a commit making
// the same change (same git patch-id), among the commits of the releases
// that base lacks. The range is read once for all releases.
type fixFinder struct {
	dir   string
	equiv map[string][]equivCommit
}

type equivCommit struct{ commit, how string }

func newFixFinder(ctx context.Context, dir, base string, tips, fixes []string) (*fixFinder, error) {
	f := &fixFinder{dir: dir, equiv: map[string][]equivCommit{}}
	if len(tips) == 0 || len(fixes) == 0 {
		return f, nil
	}
	isFix := map[string]bool{}
	for _, c := range fixes {
		isFix[c] = true
	}
	rng := append(slices.Clone(tips), "^"+base, "--")
	out, err := gitx.Git(ctx, dir, append([]string{"log", "--max-count=" + strconv.Itoa(maxRange), "--format=%x1e%H%x00%B"}, rng...)...)
	if err != nil {
		return nil, err
	}
	for rec := range strings.SplitSeq(out, "\x1e") {
		h, body, ok := strings.Cut(rec, "\x00")
		if !ok {
			continue
		}
		for _, from := range cherry.PickedFrom(body) {
			if isFix[from] && from != h {
				f.equiv[from] = append(f.equiv[from], equivCommit{h, "cherry-picked as " + gitx.Short(h)})
			}
		}
	}
	fixIDs, err := patchIDs(ctx, dir, append([]string{"--no-walk"}, fixes...))
	if err != nil {
		return nil, err
	}
	byID := map[string]string{}
	for c, id := range fixIDs {
		byID[id] = c
	}
	rangeIDs, err := patchIDs(ctx, dir, rng[:len(rng)-1])
	if err != nil {
		return nil, err
	}
	for _, c := range slices.Sorted(maps.Keys(rangeIDs)) {
		if fix, ok := byID[rangeIDs[c]]; ok && c != fix {
			f.equiv[fix] = append(f.equiv[fix], equivCommit{c, "same change as " + gitx.Short(c)})
		}
	}
	return f, nil
}

// maxPatchIDs bounds the commits whose diffs are read for patch-ids (the
// diffs are held in memory); -x trailers are read over maxRange.
const maxPatchIDs = 1000

// patchIDs maps the non-merge commits revs names (the newest maxPatchIDs)
// to their stable patch-id (commits with an empty diff have none).
func patchIDs(ctx context.Context, dir string, revs []string) (map[string]string, error) {
	args := append([]string{"log", "-p", "--no-merges", "--no-color", "--no-ext-diff", "--no-textconv", "--max-count=" + strconv.Itoa(maxPatchIDs), "--format=commit %H"}, revs...)
	diff, err := gitx.Git(ctx, dir, append(args, "--")...)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if strings.TrimSpace(diff) == "" {
		return out, nil
	}
	ids, err := gitx.GitEnv(ctx, dir, nil, []byte(diff), "patch-id", "--stable")
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(ids) {
		if f := strings.Fields(line); len(f) == 2 {
			out[f[1]] = f[0]
		}
	}
	return out, nil
}

// find says whether tip has fix, and how ("" for the fix itself).
func (f *fixFinder) find(ctx context.Context, tip, fix string) (bool, string, error) {
	ok, err := gitx.IsAncestor(ctx, f.dir, fix, tip)
	if err != nil || ok {
		return ok, "", err
	}
	for _, e := range f.equiv[fix] {
		ok, err := gitx.IsAncestor(ctx, f.dir, e.commit, tip)
		if err != nil {
			return false, "", err
		}
		if ok {
			return true, e.how, nil
		}
	}
	return false, "", nil
}

// fixReport says which fixes tip has and lacks.
type fixReport struct {
	has, lacks []string // "9f8e7d6 \"Fix NGAP\" (cherry-picked as 1a2b3c4)"
}

func (f *fixFinder) report(ctx context.Context, tip string, fixes []string) (fixReport, error) {
	var r fixReport
	for _, c := range fixes {
		ok, how, err := f.find(ctx, tip, c)
		if err != nil {
			return r, err
		}
		d := fmt.Sprintf("%s %q", gitx.Short(c), cherry.Subject(ctx, f.dir, c))
		if how != "" {
			d += " (" + how + ")"
		}
		if ok {
			r.has = append(r.has, d)
		} else {
			r.lacks = append(r.lacks, d)
		}
	}
	return r, nil
}

// extraCommits counts the non-merge commits of tip that base lacks and
// lists the newest of them (at most show) as "1a2b3c4 subject".
func extraCommits(ctx context.Context, dir, tip, base string, show int) (int, []string, error) {
	n, err := gitx.Git(ctx, dir, "rev-list", "--count", "--no-merges", tip, "^"+base, "--")
	if err != nil {
		return 0, nil, err
	}
	count, _ := strconv.Atoi(strings.TrimSpace(n))
	if count == 0 || show <= 0 {
		return count, nil, nil
	}
	out, err := gitx.Git(ctx, dir, "log", "--no-merges", "--max-count="+strconv.Itoa(show), "--format=%h %s", tip, "^"+base, "--")
	if err != nil {
		return 0, nil, err
	}
	var list []string
	for line := range strings.Lines(out) {
		if line = strings.TrimRight(line, "\n"); line != "" {
			list = append(list, line)
		}
	}
	return count, list, nil
}

// lineReleases lists the releases of r in the major.minor line of after
// that are newer than after, oldest first, with their tags (either
// prefix form).
func lineReleases(tags map[string]plumbing.Hash, r *workspace.Repo, after string) ([]string, error) {
	av, err := semver.StrictNewVersion(after)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var vs []*semver.Version
	for name := range tags {
		for _, p := range []string{r.TagPrefix, "", "v"} {
			v, ok := strings.CutPrefix(name, p)
			if !ok {
				continue
			}
			sv, err := semver.StrictNewVersion(v)
			if err != nil || sv.Prerelease() != "" || sv.Metadata() != "" || sv.Major() != av.Major() || sv.Minor() != av.Minor() || !sv.GreaterThan(av) || seen[sv.String()] {
				continue
			}
			seen[sv.String()] = true
			vs = append(vs, sv)
		}
	}
	slices.SortFunc(vs, func(a, b *semver.Version) int { return a.Compare(b) })
	var out []string
	for _, v := range vs {
		out = append(out, v.String())
	}
	return out, nil
}

// takenVersion is a candidate patch version somebody else's tag holds.
type takenVersion struct {
	version string
	tags    []releaseTag
}

// maxTakenShown bounds the taken versions a refusal describes one by one.
const maxTakenShown = 12

// refuseTaken records why no new patch release of comp can be made on
// the branch: every candidate version from the first one is a tag that is
// not relkit's earlier work. It says, per version, the tag, how many
// commits it carries beyond what the branch has and which, and whether it
// has the fixes; then offers -use with a release that has them all.
func (s *Session) refuseTaken(ctx context.Context, pr *plan.Repo, comp *workspace.Repo, shipped, cur, base string, branchExists bool, fixes []string, taken []takenVersion, free string) error {
	var tips []string
	for _, tv := range taken {
		tips = append(tips, tv.tags[0].commit)
	}
	finder, err := newFixFinder(ctx, comp.Dir, base, tips, fixes)
	if err != nil {
		return err
	}
	beyond := "beyond " + cur
	if branchExists {
		beyond = "that " + s.Branch + " lacks"
	}
	cv := semver.MustParse(cur)
	var b strings.Builder
	fmt.Fprintf(&b, "no free patch version for a release of %s on %s: release %s ships %s %s, and every next version from %s on is already a tag of %s, none of them relkit's earlier work for these fixes on %s:",
		comp.Name, s.Branch, s.Line, comp.Name, shipped, taken[0].version, comp.Name, s.Branch)
	var withFixes []string
	for i, tv := range taken {
		t := tv.tags[0]
		rep, err := finder.report(ctx, t.commit, fixes)
		if err != nil {
			return err
		}
		if len(rep.lacks) == 0 {
			withFixes = append(withFixes, tv.version)
		}
		if i >= maxTakenShown {
			continue
		}
		var names []string
		for _, x := range tv.tags {
			names = append(names, x.name)
		}
		n, subjects, err := extraCommits(ctx, comp.Dir, t.commit, base, 3)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n      %s: tag %s on %s, %d commit(s) %s", tv.version, strings.Join(names, " and "), gitx.Short(t.commit), n, beyond)
		if len(subjects) > 0 {
			fmt.Fprintf(&b, " (newest: %s", quoteList(subjects))
			if n > len(subjects) {
				fmt.Fprintf(&b, " and %d more", n-len(subjects))
			}
			b.WriteString(")")
		}
		switch {
		case len(rep.lacks) == 0:
			fmt.Fprintf(&b, "; has every fix: %s", strings.Join(rep.has, ", "))
		case len(rep.has) == 0:
			fmt.Fprintf(&b, "; lacks %s", strings.Join(rep.lacks, ", "))
		default:
			fmt.Fprintf(&b, "; has %s but lacks %s", strings.Join(rep.has, ", "), strings.Join(rep.lacks, ", "))
		}
	}
	if len(taken) > maxTakenShown {
		fmt.Fprintf(&b, "\n      and %d more taken versions (%s..%s)", len(taken)-maxTakenShown, taken[maxTakenShown].version, taken[len(taken)-1].version)
	}
	fmt.Fprintf(&b, "\n    The next version no tag holds, %s, would sort after releases that carry changes %s lacks, so relkit does not release it.", free, s.Branch)
	if len(withFixes) > 0 {
		fmt.Fprintf(&b, "\n    To ship an existing release that has the fixes instead (no new tag; the charts of %s move to it and everything it carries %s ships too: review it), run again with -use=%s",
			s.Branch, beyond, withFixes[0])
		if len(withFixes) > 1 {
			fmt.Fprintf(&b, " (or a newer one: %s)", strings.Join(withFixes[1:], ", "))
		}
	} else {
		fmt.Fprintf(&b, "\n    None of them has every fix: release the fixes on %s first, then run again with -use=<that release>, or ship them in the next minor release of %s instead of %d.%d.x.",
			comp.MainBranch, comp.Name, cv.Major(), cv.Minor())
	}
	pr.Problemf("%s", b.String())
	return nil
}

func quoteList(list []string) string {
	var q []string
	for _, s := range list {
		q = append(q, strconv.Quote(s))
	}
	return strings.Join(q, ", ")
}
