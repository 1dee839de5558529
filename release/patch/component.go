package patch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/yamledit"
)

// PlanComponent works out patch:component NAME X.Y COMMITS: (1) the
// version of NAME that the charts of <prefix>X.Y ship, from the image
// references rendered offline with their values provenance; (2) the
// component's <prefix>X.Y branch, or where it would start (the commit that
// set VERSION to that version); (3) the fixes picked there and the next
// free patch release committed and tagged; (4) the charts of <prefix>X.Y
// pointed at the new tag where their values set it, the charts bumped and
// checked. Nothing but objects is written; the plan does the rest.
func PlanComponent(ctx context.Context, ws *workspace.Config, opt Options) (*plan.Plan, error) {
	s, err := NewSession(ctx, ws, opt.Line, opt)
	if err != nil {
		return nil, err
	}
	comp, ok := ws.Component(opt.Component)
	if !ok {
		var names []string
		for _, c := range ws.Components {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("no component %q in %s; the components are: %s", opt.Component, ws.File, strings.Join(names, ", "))
	}
	if len(opt.Commits) == 0 {
		return nil, errors.New("patch:component needs at least one commit of the component (several as a comma-separated list)")
	}
	p := s.NewPlan(fmt.Sprintf("patch:component %s %s %s", comp.Name, s.Line, strings.Join(opt.Commits, ",")))
	cr, chr := plan.RepoPlan(comp), plan.RepoPlan(ws.Charts)
	p.Repos = []*plan.Repo{cr, chr}
	fail := func(pr *plan.Repo, err error) (*plan.Plan, error) {
		if plan.RefuseFile(pr, err) {
			return p, nil
		}
		pr.Problemf("could not read the repo: %v", err)
		return p, plan.AsUndecided(err)
	}

	if err := s.NeedHistory(ctx, ws.Charts, chr); err != nil {
		return p, err
	}
	if err := s.NeedHistory(ctx, comp, cr); err != nil {
		return p, err
	}

	// 1. The version the release ships.
	tip, err := plan.LocalBranch(ctx, ws.Charts.Dir, s.Branch)
	if err != nil {
		return fail(chr, err)
	}
	if tip == "" {
		chr.Problemf("has no branch %s; cut it with release:branch %s, or fetch it (git fetch %s %s:%s)", s.Branch, s.Line, s.Remote, s.Branch, s.Branch)
		return p, nil
	}
	wc, err := cherry.Add(ctx, ws.Charts.Dir, tip, s.Ident, s.DryRun)
	if err != nil {
		return fail(chr, err)
	}
	defer wc.Remove(ctx)
	shipped, err := s.shippedImages(ctx, wc.Dir, comp, chr)
	if err != nil {
		return fail(chr, err)
	}
	if len(chr.Problems) > 0 {
		return p, nil
	}
	ver := shipped[0].version
	chr.Notef("release %s ships %s %s (%s)", s.Line, comp.Name, ver, describeShipped(shipped))

	// 2 and 3. The component's branch, fix and release; with -use, an
	// existing release that has the fixes instead, and the component
	// stays as it is.
	var cres componentResult
	if opt.Use != "" {
		cres, err = s.planUse(ctx, cr, comp, ver, opt.Use, opt.Commits)
	} else {
		cres, err = s.planComponentRelease(ctx, cr, comp, ver, opt.Commits)
	}
	if err != nil {
		return fail(cr, err)
	}
	if len(cr.Problems) > 0 || cres.version == "" {
		return p, nil
	}
	if s.Push && !cres.used && cres.tip != "" {
		tags := map[string]string{}
		if cres.tagCommit != "" {
			tags[cres.tagName] = cres.tagCommit
		}
		if err := s.PlanPush(ctx, cr, comp.Dir, s.Branch, cres.tip, tags); err != nil {
			return fail(cr, err)
		}
	}

	// 4. The charts.
	final, err := s.pointCharts(ctx, chr, wc, tip, comp, shipped, cres)
	if err != nil {
		return fail(chr, err)
	}
	if s.Push && len(chr.Problems) == 0 {
		if err := s.PlanPush(ctx, chr, ws.Charts.Dir, s.Branch, final, nil); err != nil {
			return fail(chr, err)
		}
	}
	return p, nil
}

// RunComponent plans patch:component, prints the plan and, unless it is a
// dry run or refused, applies it.
func RunComponent(ctx context.Context, ws *workspace.Config, opt Options, w io.Writer, f plan.Format) error {
	p, err := PlanComponent(ctx, ws, opt)
	if p == nil {
		return err
	}
	s, _ := NewSession(ctx, ws, opt.Line, opt)
	return s.Run(ctx, p, err, w, f)
}

// shippedImage is one place the charts use an image of the component.
type shippedImage struct {
	img     render.Image
	tag     string
	version string
	form    string // the tag's form, "v{version}"
}

func describeShipped(list []shippedImage) string {
	var parts []string
	seen := map[string]bool{}
	for _, s := range list {
		where := s.img.Chart
		if s.img.ValuesFile != "" {
			where = fmt.Sprintf("%s:%d %s", s.img.ValuesFile, s.img.ValuesLine, s.img.ValuesPath)
		}
		if !seen[s.img.Ref+where] {
			seen[s.img.Ref+where] = true
			parts = append(parts, s.img.Ref+" set at "+where)
		}
	}
	return strings.Join(parts, "; ")
}

// shippedImages renders the charts in dir and returns every use of the
// component's images, all at one release version; anything else is a
// problem of pr.
func (s *Session) shippedImages(ctx context.Context, dir string, comp *workspace.Repo, pr *plan.Repo) ([]shippedImage, error) {
	results, err := render.All(ctx, dir, render.OptionsFrom(s.WS.Render))
	if err != nil {
		return nil, err
	}
	var out []shippedImage
	versions := map[string][]string{}
	for _, res := range results {
		if res.Err != nil {
			pr.Problemf("chart %s does not render (%v), so which %s it ships cannot be told", res.Chart.Dir, res.Err, comp.Name)
			continue
		}
		for _, img := range res.Images {
			ref, err := imageref.Parse(img.Ref)
			if err != nil {
				continue
			}
			if !slices.ContainsFunc(comp.Images, ref.SameRepository) {
				continue
			}
			if ref.Tag == "" {
				pr.Problemf("%s (chart %s) has no tag; expected a release tag of %s", img.Ref, img.Chart, comp.Name)
				continue
			}
			// The component's own image tag form counts as a release form
			// here even when images.releaseTagForms does not list it
			// (rel-3.1.0 is 3.1.0 for a component tagging rel-{version}).
			forms := s.WS.Images.ReleaseTagForms
			if comp.ImageTagForm != "" {
				forms = append(slices.Clip(forms), comp.ImageTagForm)
			}
			v, form, ok := imageref.ReleaseVersion(ref.Tag, forms)
			if !ok {
				pr.Problemf("%s (chart %s) is not a release tag, so no release of %s can be patched from it", img.Ref, img.Chart, comp.Name)
				continue
			}
			out = append(out, shippedImage{img: img, tag: ref.Tag, version: v, form: form})
			versions[v] = append(versions[v], img.Ref+" ("+img.Chart+")")
		}
	}
	if len(pr.Problems) > 0 {
		return nil, nil
	}
	switch len(versions) {
	case 0:
		pr.Problemf("no chart of %s uses an image of %s (%s)", s.Branch, comp.Name, strings.Join(comp.Images, ", "))
	case 1:
	default:
		var parts []string
		for _, v := range slices.Sorted(maps.Keys(versions)) {
			parts = append(parts, v+": "+strings.Join(versions[v], ", "))
		}
		pr.Problemf("the charts of %s ship several versions of %s, so which one to patch is unclear: %s", s.Branch, comp.Name, strings.Join(parts, "; "))
	}
	return out, nil
}

// componentResult is the planned state of the component.
type componentResult struct {
	// version is the release carrying the fixes ("" when there is none).
	version string
	// tip is the commit the component's branch ends at.
	tip string
	// tagCommit is the commit tagged with version.
	tagCommit string
	// tagName is the tag of version.
	tagName string
	// tagPlanned says the tag is created by this plan.
	tagPlanned bool
	// used says version is an existing release taken with -use; extra
	// lists (newest first, bounded) the extraCount commits it carries
	// beyond since, the version the charts shipped.
	used       bool
	since      string
	extraCount int
	extra      []string
}

// planComponentRelease plans steps 2 and 3: the branch (lazily), the
// picks, the patch release and its tag. The decisions are
// componentplan.go's; this reads the repo for them.
func (s *Session) planComponentRelease(ctx context.Context, pr *plan.Repo, comp *workspace.Repo, shipped string, revs []string) (componentResult, error) {
	var res componentResult
	dir := comp.Dir
	commits, g, err := s.openFixes(ctx, comp, revs, pr)
	if g == nil {
		return res, err
	}
	defer g.Close()
	main, err := revCommit(ctx, dir, "refs/heads/"+comp.MainBranch)
	if err != nil {
		return res, err
	}
	if main == "" {
		pr.Problemf("has no branch %s (mainBranch in %s)", comp.MainBranch, s.WS.File)
		return res, nil
	}
	br, err := s.componentBranch(ctx, g, pr, comp, main, shipped)
	if err != nil || br.base == "" {
		return res, err
	}
	todo, err := s.pendingFixes(ctx, pr, dir, br.base, commits, main)
	if err != nil {
		return res, err
	}
	tags, err := g.Tags()
	if err != nil {
		return res, err
	}
	data, err := g.FileAt(plumbing.NewHash(br.base), comp.VersionFile)
	if err != nil {
		return res, fmt.Errorf("%s at %s: %w", comp.VersionFile, gitx.Short(br.base), err)
	}
	cur, _, _, err := yamledit.VersionToken(data)
	if err != nil {
		pr.Problemf("%s at %s: %v", comp.VersionFile, gitx.Short(br.base), err)
		return res, nil
	}
	curV, err := semver.StrictNewVersion(cur)
	if err != nil {
		pr.Problemf("%s at %s holds %q, not a SemVer version", comp.VersionFile, gitx.Short(br.base), cur)
		return res, nil
	}

	// Already released with the fixes? The release the charts ship is a
	// fact whoever made it; any other release on the branch counts as
	// done only when relkit made it (an earlier run): a release made by
	// hand is for the user to choose, with -use.
	if len(todo) == 0 && curV.Prerelease() == "" {
		res, done, err := s.releasedWithFixes(ctx, g, pr, comp, tags, br, cur, shipped, commits, main)
		if done || err != nil {
			return res, err
		}
	}

	// The next patch release must be free: a tag of it (in either prefix
	// form) is taken over only when relkit made it in an earlier run of
	// this patch (its marks, on a commit after base with every fix);
	// any other makes the version taken, and a taken version is refused
	// rather than skipped (see refuseTaken).
	next := firstPatchRelease(curV)
	var taken []takenVersion
	for range 1000 {
		rts, err := releaseTags(g, tags, comp, next)
		if err != nil {
			return res, err
		}
		if len(rts) == 0 {
			break
		}
		for _, t := range rts {
			ok, err := s.earlierPatchRun(ctx, g, comp, t, next, br.base, commits, main)
			if err != nil {
				return res, err
			}
			if ok {
				pr.Donef("tag %s from an earlier run has the fixes on top of %s", t.name, gitx.Short(br.base))
				res.version, res.tip, res.tagCommit, res.tagName = next, t.commit, t.commit, t.name
				return res, s.placeBranch(ctx, pr, dir, br.local, br.base, res.tip)
			}
		}
		taken = append(taken, takenVersion{version: next, tags: rts})
		next = semver.MustParse(next).IncPatch().String()
	}
	if len(taken) > 0 {
		return res, s.refuseTaken(ctx, pr, comp, shipped, cur, br.base, br.exists, commits, taken, next)
	}
	return s.releaseFixes(ctx, pr, comp, br, todo, next)
}

// componentBranch is where the component's release branch is or starts.
type componentBranch struct {
	// local is the local branch's commit ("" when missing), base the
	// commit the picks go on ("" when the branch cannot be told), exists
	// whether the branch exists (locally or as remote-tracking).
	local, base string
	exists      bool
}

// componentBranch finds the component's release branch: the local one,
// else the remote-tracking one, else the lazy branch point (the commit
// that set VERSION to the shipped release).
func (s *Session) componentBranch(ctx context.Context, g *gitx.Repo, pr *plan.Repo, comp *workspace.Repo, main, shipped string) (componentBranch, error) {
	dir := comp.Dir
	local, err := plan.LocalBranch(ctx, dir, s.Branch)
	if err != nil {
		return componentBranch{}, err
	}
	br := componentBranch{local: local, base: local}
	if br.base == "" {
		tracking, err := revCommit(ctx, dir, "refs/remotes/"+s.Remote+"/"+s.Branch)
		if err != nil {
			return componentBranch{}, err
		}
		if tracking != "" {
			br.base = tracking
			pr.Notef("%s exists only as %s/%s; the local branch is created from it", s.Branch, s.Remote, s.Branch)
		}
	}
	br.exists = br.base != ""
	switch {
	case !br.exists:
		point, how, err := s.lazyPoint(ctx, g, comp, main, shipped, pr)
		if err != nil || point == "" {
			return componentBranch{}, err
		}
		br.base = point
		pr.Notef("lazy branch: %s does not exist yet; it starts at %s %q, %s", s.Branch, gitx.Short(point), cherry.Subject(ctx, dir, point), how)
	case local != "":
		pr.Donef("branch %s exists at %s", s.Branch, gitx.Short(local))
	}
	return br, nil
}

// pendingFixes returns the commits not yet on the branch (base), noting
// the ones already there or picked.
func (s *Session) pendingFixes(ctx context.Context, pr *plan.Repo, dir, base string, commits []string, main string) ([]string, error) {
	var todo []string
	for _, c := range commits {
		found, err := cherry.FindPick(ctx, dir, base, c, main)
		if err != nil {
			return nil, err
		}
		switch pickState(c, found) {
		case fixOnBranch:
			pr.Donef("%s %q is already on %s", gitx.Short(c), cherry.Subject(ctx, dir, c), s.Branch)
		case fixPicked:
			pr.Donef("%s %q is already picked onto %s as %s", gitx.Short(c), cherry.Subject(ctx, dir, c), s.Branch, gitx.Short(found))
		default:
			todo = append(todo, c)
		}
	}
	return todo, nil
}

// releasedWithFixes looks for a tag of cur (VERSION at the branch's base,
// a release) that has every fix; done says the plan ends there (a
// release found, or a refusal).
func (s *Session) releasedWithFixes(ctx context.Context, g *gitx.Repo, pr *plan.Repo, comp *workspace.Repo, tags map[string]plumbing.Hash, br componentBranch, cur, shipped string, commits []string, main string) (componentResult, bool, error) {
	var res componentResult
	dir := comp.Dir
	rts, err := releaseTags(g, tags, comp, cur)
	if err != nil {
		return res, true, err
	}
	for _, t := range rts {
		// Only what can change the verdict is read: whose release it is
		// matters only for a tag on the branch with every fix, and only
		// when it is not the shipped release.
		var f fixedTagFacts
		if f.onBranch, err = gitx.IsAncestor(ctx, dir, t.commit, br.base); err != nil {
			return res, true, err
		}
		if f.onBranch {
			f.hasFixes = s.containsAll(ctx, dir, t.commit, commits, main)
		}
		if f.onBranch && f.hasFixes && cur != shipped {
			if f.mine, f.why, err = relkitRelease(g, t, s.Branch); err != nil {
				return res, true, err
			}
		}
		switch judgeFixedRelease(cur, shipped, br.exists, f) {
		case fixedSkip:
			continue
		case fixedNotMine:
			pr.Problemf("%s is at %s %s (tag %s on %s), which has the fixes, but relkit did not make that release (%s): relkit takes over only its own earlier work. To point the charts of %s at it, run again with -use=%s",
				s.Branch, comp.Name, cur, t.name, gitx.Short(t.commit), f.why, s.Branch, cur)
			return res, true, nil
		case fixedShippedNoBranch:
			pr.Donef("%s %s (tag %s) has the fixes", comp.Name, cur, t.name)
			// Nothing to release, so no branch to start either.
			pr.Notef("the shipped release already has the fixes; %s is not created", s.Branch)
			res.version, res.tagCommit, res.tagName = cur, t.commit, t.name
			return res, true, nil
		default:
			pr.Donef("%s %s (tag %s) has the fixes", comp.Name, cur, t.name)
			res.version, res.tip, res.tagCommit, res.tagName = cur, br.base, t.commit, t.name
			return res, true, s.placeBranch(ctx, pr, dir, br.local, br.base, res.tip)
		}
	}
	return res, false, nil
}

// earlierPatchRun reports whether tag t of next is this patch's release
// from an earlier run (see adoptEarlierPatch).
func (s *Session) earlierPatchRun(ctx context.Context, g *gitx.Repo, comp *workspace.Repo, t releaseTag, next, base string, commits []string, main string) (bool, error) {
	if t.name != comp.Tag(next) {
		return false, nil
	}
	f := earlierPatch{commit: t.commit}
	var err error
	if f.mine, _, err = relkitRelease(g, t, s.Branch); err != nil {
		return false, err
	}
	if f.after, err = gitx.IsAncestor(ctx, comp.Dir, base, t.commit); err != nil {
		return false, err
	}
	// Finding the fixes reads history: only when nothing else refuses.
	if f.mine && f.after && f.commit != base {
		f.hasFixes = s.containsAll(ctx, comp.Dir, t.commit, commits, main)
	}
	return adoptEarlierPatch(f, base), nil
}

// releaseFixes picks todo onto the branch in a scratch worktree, commits
// release next and plans its tag and the branch.
func (s *Session) releaseFixes(ctx context.Context, pr *plan.Repo, comp *workspace.Repo, br componentBranch, todo []string, next string) (componentResult, error) {
	var res componentResult
	dir, base := comp.Dir, br.base
	if br.local != "" {
		if err := plan.NotCheckedOut(ctx, dir, s.Branch, pr); err != nil {
			return res, err
		}
	}
	s.CanCommit(ctx, dir, pr)
	if len(pr.Problems) > 0 {
		return res, nil
	}
	w, err := cherry.Add(ctx, dir, base, s.Ident, s.DryRun)
	if err != nil {
		return res, err
	}
	defer w.Remove(ctx)
	var subjects []string
	for _, c := range todo {
		r, err := w.Pick(ctx, c, nil)
		var ce *cherry.ConflictError
		if errors.As(err, &ce) {
			pr.Problemf("cherry-picking %s %q onto %s (at %s) conflicts in: %s. Nothing was changed. To finish by hand:\n      %s",
				gitx.Short(c), ce.Subject, s.Branch, gitx.Short(base), strings.Join(ce.Files, ", "), strings.Join(handCommands(ce, s.Branch, br.local == "", base), "\n      "))
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if r.Commit == "" {
			pr.Notef("%s %q brings nothing %s does not have; skipped", gitx.Short(c), r.Subject, s.Branch)
			continue
		}
		pr.Notef("new commit %s: cherry-pick -x of %s %q", gitx.Short(r.Commit), gitx.Short(c), r.Subject)
		subjects = append(subjects, fmt.Sprintf("- %s (cherry picked from %s)", r.Subject, gitx.Short(c)))
	}
	vdata, err := w.ReadFile(comp.VersionFile)
	if err != nil {
		return res, err
	}
	newData, old, err := yamledit.SetVersion(vdata, next)
	if err != nil {
		pr.Problemf("%s: %v", comp.VersionFile, err)
		return res, nil
	}
	title, msg := componentReleaseMessage(comp.Name, next, s.Line, s.Branch, subjects)
	bump, err := w.Commit(ctx, msg, map[string][]byte{comp.VersionFile: newData})
	if err != nil {
		return res, err
	}
	pr.Notef("new commit %s \"Release %s\": %s:1 version %s -> %s", gitx.Short(bump), title, comp.VersionFile, old, next)
	tagName := comp.Tag(next)
	pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateTag, Ref: "refs/tags/" + tagName, Commit: bump,
		Message: plan.TagMessage(comp.Name, next)})
	res.version, res.tip, res.tagCommit, res.tagName, res.tagPlanned = next, bump, bump, tagName, true
	return res, s.placeBranch(ctx, pr, dir, br.local, base, bump)
}

// placeBranch plans the local branch at tip: created when missing, moved
// (fast-forward) when behind.
func (s *Session) placeBranch(ctx context.Context, pr *plan.Repo, dir, local, base, tip string) error {
	switch branchPlacement(local, tip) {
	case branchCreate:
		pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateBranch, Ref: "refs/heads/" + s.Branch, Commit: tip})
	case branchMove:
		if err := plan.NotCheckedOut(ctx, dir, s.Branch, pr); err != nil {
			return err
		}
		pr.Steps = append(pr.Steps, cherry.MoveStep(dir, s.Branch, local, tip, gitx.Short(tip)))
	}
	return nil
}

// containsAll reports whether every commit is on tip or picked onto it
// since it left main.
func (s *Session) containsAll(ctx context.Context, dir, tip string, commits []string, main string) bool {
	for _, c := range commits {
		found, err := cherry.FindPick(ctx, dir, tip, c, main)
		if err != nil || found == "" {
			return false
		}
	}
	return true
}

// lazyPoint finds where the component's release branch starts: the
// commit on main that set VERSION to the shipped version; when main never
// had it (a release made on another branch), the commit that set it in
// the history of its release tag.
func (s *Session) lazyPoint(ctx context.Context, g *gitx.Repo, comp *workspace.Repo, main, shipped string, pr *plan.Repo) (string, string, error) {
	h, err := BranchPoint(ctx, g, plumbing.NewHash(main), comp.VersionFile, shipped, comp.MainBranch)
	if err == nil {
		return h.String(), fmt.Sprintf("the newest commit of %s that set %s to %s", comp.MainBranch, comp.VersionFile, shipped), nil
	}
	var ns *NotSetError
	if !errors.As(err, &ns) {
		return "", "", err
	}
	tags, terr := g.Tags()
	if terr != nil {
		return "", "", terr
	}
	// The shipped release's tag in any prefix form (repos switched forms).
	rts, terr := releaseTags(g, tags, comp, shipped)
	if terr != nil {
		return "", "", terr
	}
	for _, t := range rts {
		h, err2 := BranchPoint(ctx, g, plumbing.NewHash(t.commit), comp.VersionFile, shipped, t.name)
		if err2 == nil {
			return h.String(), fmt.Sprintf("the commit that set %s to %s in the history of tag %s (%s never had %s)",
				comp.VersionFile, shipped, t.name, comp.MainBranch, shipped), nil
		}
	}
	pr.Problemf("cannot branch %s lazily: %v", s.Branch, err)
	return "", "", nil
}

func handCommands(ce *cherry.ConflictError, br string, create bool, base string) []string {
	cmds := []string{"git switch " + br}
	if create {
		cmds = []string{"git switch -c " + br + " " + base}
	}
	cmds = append(cmds,
		"git cherry-pick -x "+ce.Source,
		"# resolve the conflicts in "+strings.Join(ce.Files, ", ")+", then:",
		"git add -- "+strings.Join(ce.Files, " "),
		"git cherry-pick --continue",
		"# then run the same patch:component again: the fix is found on the branch and only the release and the charts are left")
	return cmds
}

// pointCharts plans step 4: the charts of the release branch use the new
// tag, the charts that changed are bumped, and the checks pass. It returns
// the commit the charts branch ends at.
func (s *Session) pointCharts(ctx context.Context, pr *plan.Repo, w *cherry.Worktree, tip string, comp *workspace.Repo, shipped []shippedImage, cres componentResult) (string, error) {
	type key struct {
		file, path string
		line       int
	}
	seen := map[key]bool{}
	edits := map[string][]TagEdit{}
	var newRefs []string
	formNoted := false
	for _, sh := range shipped {
		// The new tag takes the component's imageTagForm: that is the tag
		// image:push publishes, whatever form the chart used so far.
		newTag := comp.ImageTag(cres.version)
		if sh.form != comp.ImageTagForm && comp.ImageTagForm != "" && !formNoted {
			formNoted = true
			pr.Notef("%s uses the tag form %s; the new tag %s follows imageTagForm %s of %s", sh.img.Ref, sh.form, newTag, comp.ImageTagForm, comp.Name)
		}
		newRefs = append(newRefs, strings.TrimSuffix(sh.img.Ref, sh.tag)+newTag)
		k := key{sh.img.ValuesFile, sh.img.ValuesPath, sh.img.ValuesLine}
		if seen[k] {
			continue
		}
		seen[k] = true
		if sh.tag == newTag {
			continue
		}
		data, err := w.ReadFile(sh.img.ValuesFile)
		if err != nil && sh.img.ValuesFile != "" {
			return "", err
		}
		e, err := TagEditFor(data, sh.img, sh.tag, newTag)
		if err != nil {
			pr.Problemf("%v", err)
			continue
		}
		edits[e.File] = append(edits[e.File], e)
	}
	if len(pr.Problems) > 0 {
		return tip, nil
	}
	if len(edits) == 0 {
		pr.Donef("the charts of %s already use %s %s", s.Branch, comp.Name, cres.version)
		return tip, nil
	}
	// Write the tag edits first: the chart bumps read the files as edited.
	files := map[string][]byte{}
	var display []string
	touched := map[string]string{}
	list, err := charts.Discover(ctx, w.Dir)
	if err != nil {
		return "", err
	}
	byDir := map[string]charts.Chart{}
	for _, c := range list {
		byDir[c.Dir] = c
	}
	for _, file := range slices.Sorted(maps.Keys(edits)) {
		data, err := w.ReadFile(file)
		if err != nil {
			return "", err
		}
		var ye []yamledit.Edit
		for _, e := range edits[file] {
			ye = append(ye, yamledit.Edit{Path: e.Path, Value: e.New})
			display = append(display, fmt.Sprintf("%s:%d %s %s -> %s", file, e.Line, e.Display, e.Old, e.New))
		}
		out, _, err := yamledit.Apply(data, ye...)
		if err != nil {
			pr.Problemf("%s: %v", file, err)
			continue
		}
		if err := repofs.Write(w.Dir, file, out, 0o644); err != nil {
			return "", err
		}
		files[file] = out
		if d := OwningChart(byDir, file); d != "" {
			touched[d] = fmt.Sprintf("%s set to %s", comp.Name, cres.version)
		}
	}
	if len(pr.Problems) > 0 {
		return tip, nil
	}
	bumps, err := BumpCharts(ctx, w, tip, touched, s.UsedChartVersions(), pr)
	if err != nil {
		return "", err
	}
	if len(pr.Problems) > 0 {
		return tip, nil
	}
	for f, data := range bumps.Files {
		files[f] = data
	}
	display = append(display, describeFiles(bumps.Plan)...)
	var b strings.Builder
	fmt.Fprintf(&b, "Update %s to %s on %s\n\n", comp.Name, cres.version, s.Branch)
	if cres.used {
		fmt.Fprintf(&b, "Existing release %s of %s (tag %s), taken with patch:component -use\nfor release %s: no release of %s was made for %s. Besides the fixes it\nships the %d commit(s) it carries beyond %s (newest first):\n",
			cres.version, comp.Name, cres.tagName, s.Line, comp.Name, s.Branch, cres.extraCount, cres.since)
		for _, c := range cres.extra {
			fmt.Fprintf(&b, "- %s\n", c)
		}
		if n := cres.extraCount - len(cres.extra); n > 0 {
			fmt.Fprintf(&b, "- and %d more\n", n)
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "Patch release %s of %s (tag %s) for release %s.\n\n", cres.version, comp.Name, cres.tagName, s.Line)
	}
	for _, line := range display {
		fmt.Fprintf(&b, "- %s\n", line)
	}
	fmt.Fprintf(&b, "\n%s: %s\n", Trailer, s.Branch)
	if cres.used {
		fmt.Fprintf(&b, "%s: %s %s\n", UseTrailer, comp.Name, cres.version)
	}
	msg := b.String()
	h, err := w.Commit(ctx, msg, files)
	if err != nil {
		return "", err
	}
	if h == "" {
		pr.Donef("the charts of %s already use %s %s", s.Branch, comp.Name, cres.version)
		return tip, nil
	}
	first, _, _ := strings.Cut(msg, "\n")
	pr.Notef("new commit %s %q:", gitx.Short(h), first)
	for _, line := range display {
		pr.Notef("  %s", line)
	}
	tag := cres.tagName
	s.CheckCharts(ctx, w.Dir, tip, pr, func(f report.Finding) string {
		if !cres.tagPlanned {
			return ""
		}
		for _, ref := range newRefs {
			if strings.Contains(f.Subject, ref) || strings.Contains(f.Message, ref) {
				return fmt.Sprintf("tag %s of %s is created by this plan; CI builds the image from it once pushed", tag, comp.Name)
			}
		}
		return ""
	})
	if err := plan.NotCheckedOut(ctx, s.WS.Charts.Dir, s.Branch, pr); err != nil {
		return "", err
	}
	pr.Steps = append(pr.Steps, cherry.MoveStep(s.WS.Charts.Dir, s.Branch, tip, h,
		fmt.Sprintf("%s: %s %s, %d chart(s) bumped", gitx.Short(h), comp.Name, cres.version, len(bumps.Charts))))
	return h, nil
}
