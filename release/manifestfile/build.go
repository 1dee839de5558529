package manifestfile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// Scan is what a charts tree holds and renders to, before any registry or
// git lookup.
type Scan struct {
	Charts []Chart
	// Images are the distinct rendered references, sorted, with Ref,
	// Repository, Tag, Charts and Component set.
	Images []Image
	// Problems are charts that did not render in full and references that
	// do not parse: a manifest built from this scan would be incomplete.
	Problems []string
}

// ScanCharts renders every chart under chartsDir offline with the
// workspace's render settings and collects the image references the
// templates render to (images only mentioned in values that no template
// renders are left out: they are not deployed). Local file://
// dependencies are rendered as `helm dependency build` would vendor them
// (the renderer loads them from their directories; chartsDir is only
// read). Each image is matched to the workspace component that builds it.
func ScanCharts(ctx context.Context, ws *workspace.Config, chartsDir string) (*Scan, error) {
	results, err := render.All(ctx, chartsDir, render.OptionsFrom(ws.Render))
	if err != nil {
		return nil, fmt.Errorf("%s: finding charts: %w", chartsDir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Scan{}
	byRef := map[string]*Image{}
	for _, res := range results {
		c := res.Chart
		name := c.Name
		if name == "" {
			name = path.Base(c.Dir)
		}
		s.Charts = append(s.Charts, Chart{Name: name, Path: c.Dir, Version: c.Version})
		if res.Err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("chart %s did not render: %v", c.Dir, res.Err))
			continue
		}
		for _, f := range res.Failed {
			s.Problems = append(s.Problems, fmt.Sprintf("chart %s: template %s did not render: %v", c.Dir, f.Template, f.Err))
		}
		for _, d := range res.Deps {
			if d.Enabled {
				what := "is missing from charts/"
				if d.Found != "" {
					what = "is in charts/ at " + d.Found
				}
				if d.Reason != "" {
					what += " (" + d.Reason + ")"
				}
				s.Problems = append(s.Problems, fmt.Sprintf("chart %s: dependency %s %s %s; run helm dependency build so every image is rendered", c.Dir, DependencyName(d.Name, d.Alias), d.Version, what))
			}
		}
		for _, img := range res.Images {
			if img.Source != render.FromTemplate {
				continue
			}
			im := byRef[img.Ref]
			if im == nil {
				im = &Image{Ref: img.Ref}
				byRef[img.Ref] = im
			}
			im.Charts = append(im.Charts, c.Dir)
		}
	}
	for _, ref := range slices.Sorted(maps.Keys(byRef)) {
		im := byRef[ref]
		r, err := imageref.Parse(ref)
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("charts %s render %v", strings.Join(im.Charts, ", "), err))
			continue
		}
		im.Repository, im.Tag = r.Name(), r.Tag
		if comp := imageref.ComponentFor(ws, r); comp != nil {
			im.Component = comp.Name
		}
		slices.Sort(im.Charts)
		im.Charts = slices.Compact(im.Charts)
		s.Images = append(s.Images, *im)
	}
	return s, nil
}

// BuildOptions tune Build.
type BuildOptions struct {
	// Release is the release version X.Y.Z; default: the charts repo
	// VERSION in the charts dir without its pre-release part.
	Release string
	// Branch is the release branch; default: the workspace's release
	// branch of the release's X.Y.
	Branch string
	// ChartsCommit; default: HEAD of the charts dir.
	ChartsCommit string
	// CreatedBy; default "relkit release:manifest".
	CreatedBy string
	// Checker asks the registries; default: one honouring the workspace's
	// registry mirrors. Share one across calls to reuse its connections.
	Checker *imageref.Checker
}

// DefaultCreatedBy is the createdBy of manifests release:manifest writes.
const DefaultCreatedBy = "relkit release:manifest"

// NewChecker returns a registry checker honouring the workspace's mirrors.
func NewChecker(ws *workspace.Config) (*imageref.Checker, error) {
	return imageref.NewChecker(imageref.Options{Mirrors: ws.Images.Mirrors})
}

// ReleaseVersion reads the charts repo VERSION in dir and returns it
// without its pre-release part: the release the content is heading for
// ("2.1.1-dev" gives "2.1.1").
func ReleaseVersion(ws *workspace.Config, dir string) (raw, release string, err error) {
	data, err := repofs.Read(dir, ws.Charts.VersionFile, repofs.MaxVersion)
	if err != nil {
		return "", "", fmt.Errorf("reading the charts repo version: %w", err)
	}
	f, prob := version.Parse(data)
	if prob != nil {
		return "", "", fmt.Errorf("%s:%d: %s", ws.Charts.VersionFile, prob.Line, prob.Reason)
	}
	v := f.Version
	return f.Raw, fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch()), nil
}

// BuildWith builds the manifest of the charts content in chartsDir: it
// renders every chart, asks the registry (through the mirrors) for the
// digest of every image reference, and finds the git tag and commit of
// every image a component builds. A chart that does not render in full, an
// image the registry does not have, an image tag that is no release of its
// component, or a component tag missing from the component repo is an
// error: a manifest must be complete. A registry that cannot be reached is
// a *plan.Undecided error.
func BuildWith(ctx context.Context, ws *workspace.Config, chartsDir string, o BuildOptions) (*Manifest, error) {
	if ws.Charts == nil {
		return nil, errors.New("the workspace has no charts repo")
	}
	m := &Manifest{APIVersion: APIVersion, Kind: Kind, Release: o.Release, Branch: o.Branch,
		ChartsCommit: o.ChartsCommit, CreatedBy: o.CreatedBy}
	if m.Release == "" {
		_, rel, err := ReleaseVersion(ws, chartsDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", chartsDir, err)
		}
		m.Release = rel
	}
	if !version.IsRelease(m.Release) {
		return nil, fmt.Errorf("release %q: expected a release version X.Y.Z", m.Release)
	}
	if m.Branch == "" {
		maj, rest, _ := strings.Cut(m.Release, ".")
		min, _, _ := strings.Cut(rest, ".")
		m.Branch = ws.ReleaseBranch(maj + "." + min)
	}
	if m.ChartsCommit == "" {
		out, err := gitx.Git(ctx, chartsDir, "rev-parse", "--verify", "HEAD^{commit}")
		if err != nil {
			return nil, fmt.Errorf("%s: reading HEAD: %w", chartsDir, err)
		}
		m.ChartsCommit = strings.TrimSpace(out)
	}
	if m.CreatedBy == "" {
		m.CreatedBy = DefaultCreatedBy
	}

	scan, err := ScanCharts(ctx, ws, chartsDir)
	if err != nil {
		return nil, err
	}
	m.Charts = scan.Charts
	probs := slices.Clone(scan.Problems)

	checker := o.Checker
	if checker == nil {
		if checker, err = NewChecker(ws); err != nil {
			return nil, err
		}
	}
	refs := make([]imageref.Ref, 0, len(scan.Images))
	for _, im := range scan.Images {
		r, _ := imageref.Parse(im.Ref) // parsed once already by ScanCharts
		refs = append(refs, r)
	}
	results := checker.CheckAll(ctx, refs)
	var unknown []string
	for i, res := range results {
		im := scan.Images[i]
		switch res.Status {
		case imageref.Exists:
			im.Digest = res.Digest
		case imageref.Missing:
			probs = append(probs, fmt.Sprintf("image %s (charts %s) is not in the registry (asked %s): %v; push it, or fix the chart, before writing the manifest",
				im.Ref, strings.Join(im.Charts, ", "), res.Contacted, res.Err))
		default:
			unknown = append(unknown, fmt.Sprintf("image %s: %v", im.Ref, res.Err))
		}
		if im.Component != "" {
			if p := provenance(ctx, ws, &im); p != "" {
				probs = append(probs, p)
			}
		}
		m.Images = append(m.Images, im)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, &plan.Undecided{Err: fmt.Errorf("the manifest of %s needs every image digest, and %d image(s) could not be looked up:\n  %s",
			m.Release, len(unknown), strings.Join(unknown, "\n  "))}
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("cannot write a complete manifest of %s from %s:\n  %s", m.Release, chartsDir, strings.Join(probs, "\n  "))
	}
	m.Sort()
	return m, nil
}

// provenance sets the git tag and commit of a component image. The image
// tag is read back to a release version through the component's
// imageTagForm (rel-1.2.3 -> 1.2.3; a release in one of the generally
// accepted forms is read too: check:images warns about it), and the
// version's git tag is looked up in both prefix forms (tagPrefix+1.2.3,
// v1.2.3, 1.2.3: repos switched prefixes over the years). It returns a
// problem, or "".
func provenance(ctx context.Context, ws *workspace.Config, im *Image) string {
	comp, ok := ws.Component(im.Component)
	if !ok {
		return ""
	}
	if im.Tag == "" {
		return fmt.Sprintf("image %s of component %s has no tag, so no git tag of %s can be named", im.Ref, comp.Name, comp.Name)
	}
	v, ok := comp.ImageTagVersion(im.Tag)
	if !ok {
		v, _, ok = imageref.ReleaseVersion(im.Tag, ws.Images.ReleaseTagForms)
	}
	if !ok {
		return fmt.Sprintf("image %s of component %s has tag %q, which is no release version in its imageTagForm %q, so no git tag of %s produced it; use a released image in charts %s",
			im.Ref, comp.Name, im.Tag, comp.ImageTag("{version}"), comp.Name, strings.Join(im.Charts, ", "))
	}
	// The release's tag in whatever prefix form it was made.
	rel, ok, err := gitx.FindRelease(comp.Dir, comp.TagPrefix, v)
	switch {
	case err != nil:
		return fmt.Sprintf("image %s: reading the release tags of component %s: %v", im.Ref, comp.Name, err)
	case !ok:
		im.GitTag = comp.Tag(v)
		var names []string
		for _, f := range version.TagForms(comp.TagPrefix) {
			names = append(names, f+v)
		}
		return fmt.Sprintf("image %s: component %s (%s) has no git tag %s; fetch its tags (git -C %s fetch --tags) or check that %s was released",
			im.Ref, comp.Name, comp.Dir, strings.Join(names, " or "), comp.Dir, v)
	case rel.Conflict():
		// CI's tag on the merge commit beside the VERSION commit's tag is
		// one release: the prefix form names it. Tags over different
		// VERSION histories leave unknown which commit built the image.
		if same, err := sameRelease(ctx, comp.Dir, rel, comp.VersionFile); err != nil {
			return fmt.Sprintf("image %s: reading the release tags of component %s: %v", im.Ref, comp.Name, err)
		} else if !same {
			return fmt.Sprintf("image %s: the tags of %s %s name different releases (%s), so which commit built the image is not known; delete the wrong tag by hand",
				im.Ref, comp.Name, v, rel.Describe())
		}
	}
	im.GitTag, im.GitCommit = rel.Tag, rel.Commit.String()
	return ""
}

func sameRelease(ctx context.Context, dir string, rel gitx.Release, path string) (bool, error) {
	g, err := gitx.Open(dir)
	if err != nil {
		return false, err
	}
	defer g.Close()
	return g.SameRelease(ctx, rel, path)
}

// DependencyName is how messages name a chart dependency: "alias (name)"
// when it has an alias, so an umbrella using one chart three times under
// three aliases names three different entries.
func DependencyName(name, alias string) string {
	if alias == "" || alias == name {
		return name
	}
	return alias + " (" + name + ")"
}
