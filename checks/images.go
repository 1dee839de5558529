package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

const imagesCheck = "images"

// Images checks the container images of every chart of the charts repo:
// released SemVer tags only (moving, dev and untagged references are
// errors unless waived), each tag present in its registry (with
// o.Registry), and tags of images a workspace component builds present as
// git tags of that component.
func Images(ctx context.Context, ws *workspace.Config, o Options) *report.Report {
	rep := report.New(imagesCheck)
	if ws.Charts == nil || ws.Charts.Dir == "" {
		rep.Undecided(errors.New("check:images: the workspace config names no charts repo"))
		return rep
	}
	o.Now = o.now()
	ropts := render.OptionsFrom(ws.Render)
	for _, sk := range ws.Render.Skip {
		ropts.Skip = append(ropts.Skip, sk.Chart)
	}
	results, err := render.All(ctx, ws.Charts.Dir, ropts)
	if err != nil {
		rep.Undecided(fmt.Errorf("finding the charts of %s: %w", ws.Charts.Name, err))
		return rep
	}
	c := &imageCheck{ws: ws, opts: o, out: map[findingKey]*occurrence{}}
	var images []render.Image
	for _, r := range results {
		c.chartFindings(rep, r)
		images = append(images, r.Images...)
	}
	c.staleSkips(rep, results)
	refs := map[string]imageref.Ref{}
	for _, img := range images {
		if r, ok := c.policy(img); ok {
			refs[img.Ref] = r
		}
	}
	distinct := slices.Sorted(func(yield func(string) bool) {
		for k := range refs {
			if !yield(k) {
				return
			}
		}
	})
	if o.Registry {
		c.registry(ctx, rep, refs, distinct, images)
	}
	c.crossRepo(rep, refs, distinct, images)
	if err := ctx.Err(); err != nil {
		rep.Undecided(err)
	}
	rep.Add(c.findings()...)
	return rep
}

// findingKey deduplicates findings: one per rule and values line (or,
// for an image not traced to one, per rule, image and location), with
// every chart and template that uses it listed in the message.
type findingKey struct {
	rule, subject, file string
	line                int
}

type occurrence struct {
	sev report.Severity
	// refs are the subjects found at the location: one, unless one values
	// line gives several references (a chart rendered alone and as the
	// subchart of an umbrella that adds a registry).
	refs     []subject
	contexts map[string]bool
}

type subject struct {
	name, message string
	rendered      bool
}

type imageCheck struct {
	ws    *workspace.Config
	opts  Options
	mu    sync.Mutex
	out   map[findingKey]*occurrence
	comps map[string]*workspace.Repo
}

// add records a finding at file:line for subject, used in context ctxt.
func (c *imageCheck) add(rule string, sev report.Severity, file string, line int, name, ctxt, msg string) {
	c.record(findingKey{rule, name, file, line}, sev, subject{name: name, message: msg}, ctxt)
}

// addImage records a finding about an image where it is set: a values
// line holds one finding per rule whatever references the templates made
// of it, named by the most complete of them.
func (c *imageCheck) addImage(rule string, sev report.Severity, img render.Image, msg string) {
	file, line := where(img)
	k := findingKey{rule, img.Ref, file, line}
	if line > 0 {
		k.subject = ""
	}
	c.record(k, sev, subject{name: img.Ref, message: msg, rendered: img.Source == render.FromTemplate}, usedBy(img))
}

func (c *imageCheck) record(k findingKey, sev report.Severity, s subject, ctxt string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.out[k]
	if !ok {
		o = &occurrence{sev: sev, contexts: map[string]bool{}}
		c.out[k] = o
	}
	if sev == report.Error {
		o.sev = sev
	}
	if !slices.ContainsFunc(o.refs, func(r subject) bool { return r.name == s.name }) {
		o.refs = append(o.refs, s)
	}
	if ctxt != "" {
		o.contexts[ctxt] = true
	}
}

// primary orders the references of one location: rendered before values
// only, then the longest (a registry prefix included), then by name.
func primary(a, b subject) int {
	if a.rendered != b.rendered {
		if a.rendered {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(len(b.name), len(a.name)), cmp.Compare(a.name, b.name))
}

func (c *imageCheck) findings() []report.Finding {
	var out []report.Finding
	for k, o := range c.out {
		slices.SortFunc(o.refs, primary)
		first := o.refs[0]
		msg := first.message
		if len(o.refs) > 1 {
			var others []string
			for _, r := range o.refs[1:] {
				others = append(others, r.name)
			}
			msg += "; the same line also gives " + strings.Join(others, ", ")
		}
		if n := len(o.contexts); n > 0 {
			ctxts := slices.Sorted(maps.Keys(o.contexts))
			msg += " (used by " + strings.Join(ctxts[:min(n, 5)], "; ")
			if n > 5 {
				msg += fmt.Sprintf("; and %d more", n-5)
			}
			msg += ")"
		}
		out = append(out, report.Finding{Check: imagesCheck, Rule: k.rule, Severity: o.sev, Repo: c.ws.Charts.Name,
			File: k.file, Line: k.line, Subject: first.name, Message: msg})
	}
	slices.SortFunc(out, func(a, b report.Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}

// where is the finding location of an image: the values line that sets its
// tag when traced (the archive itself for a file inside a vendored
// archive), else its template.
func where(img render.Image) (string, int) {
	if img.ValuesFile != "" {
		file, inner, archived := strings.Cut(img.ValuesFile, "#")
		if archived && inner != "" {
			return file, 0
		}
		return file, img.ValuesLine
	}
	file, _, _ := strings.Cut(img.Template, "#")
	return file, 0
}

// usedBy says which chart and template use an image, for messages.
func usedBy(img render.Image) string {
	s := "chart " + img.Chart
	if img.Subchart != "" {
		s += " (subchart " + img.Subchart + ")"
	}
	switch {
	case img.Template != "":
		t := img.Template
		if file, inner, ok := strings.Cut(t, "#"); ok {
			t = path.Base(file) + ":" + inner
		} else {
			t = strings.TrimPrefix(t, img.Chart+"/")
		}
		s += " template " + t
	default:
		s += " (in values only: no template renders it with the default values)"
	}
	return s
}

// origin describes where the tag is set, for messages.
func origin(img render.Image) string {
	switch {
	case img.ValuesHolds == render.HoldsAppVersion:
		return fmt.Sprintf("; the tag is the chart's appVersion (%s:%d)", img.ValuesFile, img.ValuesLine)
	case img.ValuesFile != "" && strings.Contains(img.ValuesFile, "#"):
		return fmt.Sprintf("; set by %s in %s line %d, inside a vendored archive", img.ValuesPath, img.ValuesFile, img.ValuesLine)
	case img.ValuesFile != "":
		return fmt.Sprintf("; set by %s", img.ValuesPath)
	case img.Template != "":
		return "; written in the template (no values line sets it)"
	}
	return ""
}

// chartFindings reports what kept a chart's images from being known: a
// chart render.skip leaves out (a warning), a chart that cannot render
// with its values (could not decide), one that did not render or crossed
// a render limit (an error), and dependencies and templates left out.
func (c *imageCheck) chartFindings(rep *report.Report, r render.Result) {
	chart := r.Chart
	for _, f := range refusedFindings(imagesCheck, c.ws.Charts.Name, errors.Join(r.Err, errors.Join(r.Refused...))) {
		c.add(f.Rule, f.Severity, f.File, 0, f.Subject, "", f.Message)
	}
	if repofs.Refusals(r.Err) != nil {
		return // not rendered: the finding above says why
	}
	if r.Skipped {
		for _, sk := range c.ws.Render.Skip {
			if sk.Chart == chart.Dir {
				c.add("chart-render-skipped", report.Warning, chart.File, 0, chart.Dir, "",
					fmt.Sprintf("chart %s is not rendered, so its images are not checked: %s lists it under render.skip: %s", chart.Dir, c.configLine(sk.Line), sk.Reason))
			}
		}
		return
	}
	if err := needsValues(r); err != nil {
		rep.Undecided(fmt.Errorf("chart %s cannot render with its values, so the images of its templates are unknown: %w; expected the values it needs in a file named by render.values, or the chart under render.skip with a reason, in %s",
			chart.Dir, err, path.Base(cmp.Or(c.ws.File, workspace.DefaultFile))))
	}
	var bad *charts.ChartError
	if errors.As(r.Err, &bad) {
		c.add("chart-invalid", report.Error, bad.File, bad.Line, chart.Dir, "",
			fmt.Sprintf("chart %s cannot be read, so its images were not checked: %v; expected a YAML mapping (apiVersion, name, version...) that helm can load", chart.Dir, bad.Err))
		return
	}
	if r.Err != nil && !render.NeedsValues(r.Err) {
		n := len(r.Images)
		c.add("chart-render-failed", report.Error, chart.File, 0, chart.Dir, "",
			fmt.Sprintf("chart %s could not be rendered, so the images of its templates were not checked (%d found in its values are): %v", chart.Dir, n, r.Err))
	}
	for _, d := range r.Deps {
		name := d.Name
		if d.Alias != "" {
			name += " (alias " + d.Alias + ")"
		}
		where := chart.Dir
		if d.Parent != "" {
			where += " subchart " + d.Parent
		}
		var msg string
		if d.Reason != "" {
			msg = fmt.Sprintf("%s depends on %s %s from %s, which is not vendored in charts/ and could not be loaded from its directory: %s; rendered without it, so its images are not checked",
				where, name, d.Version, d.Repository, d.Reason)
		} else if d.Found != "" {
			msg = fmt.Sprintf("%s depends on %s %s but charts/ holds version %s; rendered the vendored %s as is (without alias or condition); expected the vendored chart to match the pin (helm dependency update)",
				where, name, d.Version, d.Found, d.Found)
		} else {
			msg = fmt.Sprintf("%s depends on %s %s from %s, which is not vendored in charts/; rendered without it, so its images are not checked; expected it vendored (helm dependency build) to check them",
				where, name, d.Version, cmp.Or(d.Repository, "an unnamed repository"))
		}
		if !d.Enabled {
			msg += " (the default values disable it)"
		}
		c.add("chart-dependency-missing", report.Warning, d.File, d.Line, d.Name+" "+d.Version, "", msg)
	}
	for _, f := range r.Failed {
		if r.Err != nil {
			break // chart-render-failed or the undecided entry says it all
		}
		if render.NeedsValues(f.Err) {
			continue // undecided above
		}
		file, _, _ := strings.Cut(f.Template, "#")
		c.add("chart-template-failed", report.Warning, file, 0, f.Template, "",
			fmt.Sprintf("template %s of chart %s did not render, so its images are not checked: %v; other templates were checked (give the chart a values file in render.values if it needs one)", f.Template, chart.Dir, f.Err))
	}
}

// needsValues joins the template failures of a chart that come from
// `required` or `fail`, each naming its template; nil when there are none.
func needsValues(r render.Result) error {
	var parts []string
	for _, f := range r.Failed {
		if render.NeedsValues(f.Err) {
			parts = append(parts, fmt.Sprintf("template %s: %v", f.Template, f.Err))
		}
	}
	if len(parts) == 0 && r.Err != nil && render.NeedsValues(r.Err) {
		parts = append(parts, r.Err.Error())
	}
	if len(parts) == 0 {
		return nil
	}
	return errors.New(strings.Join(parts, "; "))
}

// staleSkips reports render.skip entries that name no chart of the charts
// repo: a chart renamed or removed, or a typo that skips nothing.
func (c *imageCheck) staleSkips(rep *report.Report, results []render.Result) {
	for _, sk := range c.ws.Render.Skip {
		if slices.ContainsFunc(results, func(r render.Result) bool { return r.Chart.Dir == sk.Chart }) {
			continue
		}
		rep.Add(report.Finding{Check: imagesCheck, Rule: "render-skip-stale", Severity: report.Warning,
			File: path.Base(cmp.Or(c.ws.File, workspace.DefaultFile)), Line: sk.Line, Subject: sk.Chart,
			Message: fmt.Sprintf("render.skip names chart %s, but the charts repo %s has no chart there; expected the directory of a chart (with its Chart.yaml), or the entry removed", sk.Chart, c.ws.Charts.Name)})
	}
}

// configLine names a line of the workspace config for messages.
func (c *imageCheck) configLine(line int) string {
	name := path.Base(cmp.Or(c.ws.File, workspace.DefaultFile))
	if line > 0 {
		return fmt.Sprintf("%s:%d", name, line)
	}
	return name
}

// policy applies the tag rules (and waivers) to one image and returns the
// parsed reference when it names something a registry can be asked about.
func (c *imageCheck) policy(img render.Image) (imageref.Ref, bool) {
	r, err := imageref.Parse(img.Ref)
	if err != nil {
		c.addImage("image-invalid", report.Error, img, fmt.Sprintf("%v; expected registry/path:tag", err))
		return r, false
	}
	p := c.ws.Images
	if comp := c.component(r); comp != nil {
		// The form a component's images are pushed in is a release form
		// for them (image:push writes it).
		p.ReleaseTagForms = append(slices.Clip(p.ReleaseTagForms), tagForm(comp))
	}
	var rule, msg string
	sev := report.Error
	switch imageref.Classify(r, p) {
	case imageref.Untagged:
		rule, msg = "image-untagged", fmt.Sprintf("%s has no tag or digest, so the cluster pulls whatever latest is; expected a released SemVer tag such as %s:1.2.3", img.Ref, r.Name())
	case imageref.Moving:
		rule, msg = "image-moving-tag", fmt.Sprintf("tag %q of %s is a moving tag; expected a released SemVer tag (1.2.3 or v1.2.3)", r.Tag, r.Name())
	case imageref.PinnedMoving:
		rule, sev, msg = "image-moving-tag", report.Warning, fmt.Sprintf("%s is pinned by digest, but its tag %q is a moving tag that tells readers nothing; expected the released tag next to the digest", r.Name(), r.Tag)
	case imageref.NotRelease:
		forms := strings.Join(append(slices.Clone(imageref.BuiltinForms), p.ReleaseTagForms...), ", ")
		rule, msg = "image-not-release", fmt.Sprintf("tag %q of %s is not a released SemVer version; expected one of the release forms %s with a version like 1.2.3", r.Tag, r.Name(), forms)
		if form, ok := imageref.SuggestForm(r.Tag); ok {
			msg += fmt.Sprintf("; if %q is how %s tags its releases, add %q to images.releaseTagForms in %s", r.Tag, r.Name(), form, c.configLine(0))
		}
	}
	if rule == "" {
		return r, r.Tag != "" || r.Digest != ""
	}
	msg += origin(img)
	for _, w := range p.Waivers {
		if !waives(w, img, r) {
			continue
		}
		at := ""
		if c.ws.File != "" && w.Line > 0 {
			at = fmt.Sprintf(" (%s:%d)", path.Base(c.ws.File), w.Line)
		}
		day := w.Expires.Format(time.DateOnly)
		if w.Expired(c.opts.Now) {
			c.addImage("waiver-expired", report.Error, img,
				fmt.Sprintf("the waiver for %s:%s%s expired on %s (%s), so it no longer excuses: %s; expected a release tag, or a renewed waiver", w.Image, w.Tag, at, day, w.Reason, msg))
		} else {
			c.addImage("image-waived", report.Warning, img,
				fmt.Sprintf("waived until %s%s: %s. Without the waiver: %s", day, at, w.Reason, msg))
		}
		return r, r.Tag != "" || r.Digest != ""
	}
	c.addImage(rule, sev, img, msg)
	return r, r.Tag != "" || r.Digest != ""
}

// waives reports whether waiver w covers the image: by the full name it
// renders to, or by the name its values line writes (a Docker Hub name
// behind a proxy prefix the template adds), each as written or
// normalised (docker.io/x is index.docker.io/x is x).
func waives(w workspace.Waiver, img render.Image, r imageref.Ref) bool {
	names := []imageref.Ref{r}
	if img.ValuesRef != "" && img.ValuesRef != img.Ref {
		if vr, err := imageref.Parse(img.ValuesRef); err == nil {
			names = append(names, vr)
		}
	}
	for _, n := range names {
		if w.Matches(n.Name(), r.Tag) || w.Matches(n.Canonical(), r.Tag) || n.SameRepository(w.Image) && w.Matches(w.Image, r.Tag) {
			return true
		}
	}
	return false
}

// registry asks each distinct reference's registry whether it exists.
func (c *imageCheck) registry(ctx context.Context, rep *report.Report, refs map[string]imageref.Ref, distinct []string, images []render.Image) {
	o := c.opts.Client
	if o.Mirrors == nil {
		o.Mirrors = c.ws.Images.Mirrors
	}
	checker, err := imageref.NewChecker(o)
	if err != nil {
		rep.Undecided(fmt.Errorf("registry client: %w", err))
		return
	}
	list := make([]imageref.Ref, 0, len(distinct))
	for _, s := range distinct {
		list = append(list, refs[s])
	}
	results := checker.CheckAll(ctx, list)
	byRef := map[string]imageref.Result{}
	undecided := map[string][]imageref.Result{}
	for _, res := range results {
		byRef[res.Ref] = res
		if res.Status == imageref.Unknown {
			h := refs[res.Ref].Host()
			undecided[h] = append(undecided[h], res)
		}
	}
	for _, h := range slices.Sorted(func(yield func(string) bool) {
		for k := range undecided {
			if !yield(k) {
				return
			}
		}
	}) {
		list := undecided[h]
		rep.Undecided(fmt.Errorf("could not decide whether %d image(s) on %s exist (first: %s): %v", len(list), h, list[0].Ref, list[0].Err))
	}
	for _, img := range images {
		res, ok := byRef[img.Ref]
		if !ok || res.Status != imageref.Missing {
			continue
		}
		via := ""
		if res.Contacted != "" && !strings.HasPrefix(res.Contacted, img.Ref) {
			via = " (asked " + res.Contacted + ")"
		}
		c.addImage("image-missing", report.Error, img,
			fmt.Sprintf("the registry has no %s%s: %v; expected the image pushed (by CI) before a chart references it%s", img.Ref, via, res.Err, origin(img)))
	}
}

// crossRepo checks that the release tag of each image a workspace
// component builds is a git tag of that component.
func (c *imageCheck) crossRepo(rep *report.Report, refs map[string]imageref.Ref, distinct []string, images []render.Image) {
	type compTags struct {
		tags map[string]bool
		err  error
	}
	cache := map[string]*compTags{}
	tagsOf := func(r *workspace.Repo) *compTags {
		if t, ok := cache[r.Name]; ok {
			return t
		}
		t := &compTags{tags: map[string]bool{}}
		cache[r.Name] = t
		// A shallow clone lacks the tags of its cut-off history.
		_, err := gitx.NeedHistory(context.Background(), r.Name, r.Dir, "")
		var repo *gitx.Repo
		if err == nil {
			repo, err = gitx.Open(r.Dir)
		}
		if err == nil {
			var m map[string]plumbing.Hash
			m, err = repo.Tags()
			for k := range m {
				t.tags[k] = true
			}
			repo.Close()
		}
		var sh *gitx.ShallowError
		if errors.As(err, &sh) {
			t.err = err
			rep.Undecided(t.err)
		} else if err != nil {
			t.err = fmt.Errorf("reading the git tags of component %s (%s): %w", r.Name, r.Dir, err)
			rep.Undecided(t.err)
		}
		return t
	}
	missing := map[string]string{} // ref -> message
	forms := map[string]string{}   // ref -> image-tag-form message
	for _, s := range distinct {
		r := refs[s]
		if r.Tag == "" {
			continue
		}
		comp := c.component(r)
		if comp == nil {
			continue
		}
		form := tagForm(comp)
		ver, ok := imageref.VersionInForm(r.Tag, form)
		if !ok {
			ver, form, ok = imageref.ReleaseVersion(r.Tag, c.ws.Images.ReleaseTagForms)
		}
		if !ok {
			continue
		}
		if form != tagForm(comp) {
			forms[s] = fmt.Sprintf("image %s of component %s is tagged %q, release %s in the form %q; %s's imageTagForm is %q, so image:push tags that release %q; expected the charts to use %q (or imageTagForm set to %q in %s if %s pushes that form)",
				s, comp.Name, r.Tag, ver, form, comp.Name, tagForm(comp), comp.ImageTag(ver), comp.ImageTag(ver), form, c.configLine(comp.Line), comp.Name)
		}
		t := tagsOf(comp)
		if t.err != nil {
			continue
		}
		// The image tag holds the version in its form; the git tag is
		// the version in any prefix form (repos switched over the years).
		want := []string{comp.Tag(r.Tag), r.Tag}
		for _, form := range version.TagForms(comp.TagPrefix) {
			want = append(want, form+ver) // 1.2.3 and v1.2.3 whatever tagPrefix says
		}
		if slices.ContainsFunc(want, func(s string) bool { return t.tags[s] }) {
			continue
		}
		missing[s] = fmt.Sprintf("image %s is built by component %s, but %s has no git tag %s or v%s (tag %q is release %s in the form %q); expected the image tag to come from a release of %s (VERSION %s merged and tagged)",
			s, comp.Name, comp.Name, ver, ver, r.Tag, ver, form, comp.Name, ver)
	}
	for _, img := range images {
		if msg, ok := forms[img.Ref]; ok {
			c.addImage("image-tag-form", report.Warning, img, msg+origin(img))
		}
		if msg, ok := missing[img.Ref]; ok {
			c.addImage("image-tag-not-in-repo", report.Error, img, msg+origin(img))
		}
	}
}

// component is the workspace component that builds r's repository, if
// any, looked up once per repository.
func (c *imageCheck) component(r imageref.Ref) *workspace.Repo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if comp, ok := c.comps[r.Name()]; ok {
		return comp
	}
	comp := imageref.ComponentFor(c.ws, r)
	if c.comps == nil {
		c.comps = map[string]*workspace.Repo{}
	}
	c.comps[r.Name()] = comp
	return comp
}

// tagForm is the form of a component's release image tags.
func tagForm(comp *workspace.Repo) string {
	return cmp.Or(comp.ImageTagForm, workspace.DefaultImageTagForm)
}
