package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
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
	"github.com/relkit/relkit/release/workspace"
)

const imagesCheck = "images"

// ImagesOptions tune check:images.
type ImagesOptions struct {
	// Registry turns on the registry existence check (the -registry flag
	// or RELKIT_REGISTRY=1).
	Registry bool
	// Now is the day waivers are compared with (default: today).
	Now time.Time
	// Client configures the registry client; its Mirrors default to the
	// workspace's images.mirrors.
	Client imageref.Options
}

// RegistryFromEnv reports whether RELKIT_REGISTRY asks for the registry
// check ("1", "true" or "yes").
func RegistryFromEnv() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("RELKIT_REGISTRY"))) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// Images checks the container images of every chart of the charts repo:
// released SemVer tags only (moving, dev and untagged references are
// errors unless waived), each tag present in its registry (with
// RELKIT_REGISTRY=1), and tags of images a workspace component builds
// present as git tags of that component.
func Images(ctx context.Context, ws *workspace.Config) *report.Report {
	return ImagesWith(ctx, ws, ImagesOptions{Registry: RegistryFromEnv()})
}

// ImagesCheck returns check:images with fixed options, for a target that
// takes a -registry flag.
func ImagesCheck(o ImagesOptions) Func {
	return func(ctx context.Context, ws *workspace.Config) *report.Report { return ImagesWith(ctx, ws, o) }
}

// ImagesWith runs check:images with options.
func ImagesWith(ctx context.Context, ws *workspace.Config, o ImagesOptions) *report.Report {
	rep := report.New(imagesCheck)
	if ws.Charts == nil || ws.Charts.Dir == "" {
		rep.Undecided(errors.New("check:images: the workspace config names no charts repo"))
		return rep
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	results, err := render.All(ctx, ws.Charts.Dir, render.OptionsFrom(ws.Render))
	if err != nil {
		rep.Undecided(fmt.Errorf("finding the charts of %s: %w", ws.Charts.Name, err))
		return rep
	}
	c := &imageCheck{ws: ws, opts: o, out: map[findingKey]*occurrence{}}
	var images []render.Image
	for _, r := range results {
		c.chartFindings(r)
		images = append(images, r.Images...)
	}
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

// findingKey deduplicates findings: one per rule, image and location, with
// every chart and template that uses it listed in the message.
type findingKey struct {
	rule, subject, file string
	line                int
}

type occurrence struct {
	sev      report.Severity
	message  string
	contexts []string
}

type imageCheck struct {
	ws   *workspace.Config
	opts ImagesOptions
	mu   sync.Mutex
	out  map[findingKey]*occurrence
}

// add records a finding at file:line for subject, used in context ctxt.
func (c *imageCheck) add(rule string, sev report.Severity, file string, line int, subject, ctxt, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := findingKey{rule, subject, file, line}
	o, ok := c.out[k]
	if !ok {
		o = &occurrence{sev: sev, message: msg}
		c.out[k] = o
	}
	if ctxt != "" && !slices.Contains(o.contexts, ctxt) {
		o.contexts = append(o.contexts, ctxt)
	}
}

func (c *imageCheck) findings() []report.Finding {
	var out []report.Finding
	for k, o := range c.out {
		msg := o.message
		if n := len(o.contexts); n > 0 {
			shown := o.contexts[:min(n, 5)]
			slices.Sort(shown)
			msg += " (used by " + strings.Join(shown, "; ")
			if n > 5 {
				msg += fmt.Sprintf("; and %d more", n-5)
			}
			msg += ")"
		}
		out = append(out, report.Finding{Check: imagesCheck, Rule: k.rule, Severity: o.sev, Repo: c.ws.Charts.Name,
			File: k.file, Line: k.line, Subject: k.subject, Message: msg})
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

func (c *imageCheck) chartFindings(r render.Result) {
	chart := r.Chart
	for _, f := range refusedFindings(imagesCheck, c.ws.Charts.Name, errors.Join(r.Err, errors.Join(r.Refused...))) {
		c.add(f.Rule, f.Severity, f.File, 0, f.Subject, "", f.Message)
	}
	if repofs.Refusals(r.Err) != nil {
		return // not rendered: the finding above says why
	}
	var bad *charts.ChartError
	if errors.As(r.Err, &bad) {
		c.add("chart-invalid", report.Error, bad.File, bad.Line, chart.Dir, "",
			fmt.Sprintf("chart %s cannot be read, so its images were not checked: %v; expected a YAML mapping (apiVersion, name, version...) that helm can load", chart.Dir, bad.Err))
		return
	}
	if r.Err != nil {
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
			break // chart-render-failed says it all
		}
		file, _, _ := strings.Cut(f.Template, "#")
		c.add("chart-template-failed", report.Warning, file, 0, f.Template, "",
			fmt.Sprintf("template %s of chart %s did not render, so its images are not checked: %v; other templates were checked (give the chart a values file in render.values if it needs one)", f.Template, chart.Dir, f.Err))
	}
}

// policy applies the tag rules (and waivers) to one image and returns the
// parsed reference when it names something a registry can be asked about.
func (c *imageCheck) policy(img render.Image) (imageref.Ref, bool) {
	file, line := where(img)
	ctxt := usedBy(img)
	r, err := imageref.Parse(img.Ref)
	if err != nil {
		c.add("image-invalid", report.Error, file, line, img.Ref, ctxt, fmt.Sprintf("%v; expected registry/path:tag", err))
		return r, false
	}
	p := c.ws.Images
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
	}
	if rule == "" {
		return r, r.Tag != "" || r.Digest != ""
	}
	msg += origin(img)
	for _, w := range p.Waivers {
		if !w.Matches(r.Name(), r.Tag) && !w.Matches(r.Canonical(), r.Tag) {
			continue
		}
		at := ""
		if c.ws.File != "" && w.Line > 0 {
			at = fmt.Sprintf(" (%s:%d)", path.Base(c.ws.File), w.Line)
		}
		day := w.Expires.Format(time.DateOnly)
		if w.Expired(c.opts.Now) {
			c.add("waiver-expired", report.Error, file, line, img.Ref, ctxt,
				fmt.Sprintf("the waiver for %s:%s%s expired on %s (%s), so it no longer excuses: %s; expected a release tag, or a renewed waiver", w.Image, w.Tag, at, day, w.Reason, msg))
		} else {
			c.add("image-waived", report.Warning, file, line, img.Ref, ctxt,
				fmt.Sprintf("waived until %s%s: %s. Without the waiver: %s", day, at, w.Reason, msg))
		}
		return r, r.Tag != "" || r.Digest != ""
	}
	c.add(rule, sev, file, line, img.Ref, ctxt, msg)
	return r, r.Tag != "" || r.Digest != ""
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
		file, line := where(img)
		via := ""
		if res.Contacted != "" && !strings.HasPrefix(res.Contacted, img.Ref) {
			via = " (asked " + res.Contacted + ")"
		}
		c.add("image-missing", report.Error, file, line, img.Ref, usedBy(img),
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
		repo, err := gitx.Open(r.Dir)
		if err == nil {
			var m map[string]plumbing.Hash
			m, err = repo.Tags()
			for k := range m {
				t.tags[k] = true
			}
			repo.Close()
		}
		if err != nil {
			t.err = fmt.Errorf("reading the git tags of component %s (%s): %w", r.Name, r.Dir, err)
			rep.Undecided(t.err)
		}
		return t
	}
	missing := map[string]string{} // ref -> message
	for _, s := range distinct {
		r := refs[s]
		if r.Tag == "" {
			continue
		}
		ver, _, ok := imageref.ReleaseVersion(r.Tag, c.ws.Images.ReleaseTagForms)
		if !ok {
			continue
		}
		comp := imageref.ComponentFor(c.ws, r)
		if comp == nil {
			continue
		}
		t := tagsOf(comp)
		if t.err != nil {
			continue
		}
		want := []string{comp.Tag(r.Tag), r.Tag, comp.Tag(ver), ver}
		if slices.ContainsFunc(want, func(s string) bool { return t.tags[s] }) {
			continue
		}
		missing[s] = fmt.Sprintf("image %s is built by component %s, but %s has no git tag %s (nor %s); expected the image tag to come from a release of %s (VERSION %s merged and tagged)",
			s, comp.Name, comp.Name, comp.Tag(ver), r.Tag, comp.Name, ver)
	}
	for _, img := range images {
		msg, ok := missing[img.Ref]
		if !ok {
			continue
		}
		file, line := where(img)
		c.add("image-tag-not-in-repo", report.Error, file, line, img.Ref, usedBy(img), msg+origin(img))
	}
}
