// Package render renders the charts of a charts repo offline with the Helm
// SDK (loader, chartutil and engine only: no cluster, no network) and
// collects every container image the rendered manifests and the values
// hold, with where each came from: chart, template, and the values file and
// line that set its tag.
package render

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/workspace"
)

// Options say how charts are rendered.
type Options struct {
	// KubeVersion is the Kubernetes version the templates see
	// (.Capabilities.KubeVersion); default workspace.DefaultKubeVersion.
	KubeVersion string
	// APIVersions are added to the SDK's default API versions
	// (.Capabilities.APIVersions), e.g. "batch/v1/CronJob".
	APIVersions []string
	// Values maps a chart directory (relative to the charts repo) to value
	// files (relative to the charts repo) merged over its defaults in order.
	Values map[string][]string
	// Jobs bounds the charts rendered at once (default GOMAXPROCS).
	Jobs int
}

// OptionsFrom takes the render settings of a workspace config.
func OptionsFrom(r workspace.Render) Options {
	return Options{KubeVersion: r.KubeVersion, APIVersions: r.APIVersions, Values: r.Values}
}

// Source says where an image was found.
type Source string

const (
	// FromTemplate: in a rendered manifest.
	FromTemplate Source = "template"
	// FromValues: in values only; no template rendered it with these
	// values (a disabled subchart, a feature switched off).
	FromValues Source = "values"
)

// Holds says what the traced values scalar contains.
type Holds string

const (
	// HoldsRef: an image reference ending with the tag (or digest).
	HoldsRef Holds = "ref"
	// HoldsTag: the tag alone.
	HoldsTag Holds = "tag"
	// HoldsDigest: the digest alone.
	HoldsDigest Holds = "digest"
	// HoldsAppVersion: the chart's appVersion in Chart.yaml supplies the tag.
	HoldsAppVersion Holds = "appVersion"
)

// Image is one image reference found in a chart, with its provenance.
type Image struct {
	// Ref is the image reference as rendered (or as written in values).
	Ref string
	// Chart is the chart directory relative to the charts repo.
	Chart string
	// Subchart is the chain of subchart names (aliases) below Chart, joined
	// with "/"; "" for the chart's own templates.
	Subchart string
	// Template is the template file relative to the charts repo; a file
	// inside a vendored archive is "charts/x-1.0.0.tgz#x/templates/a.yaml".
	// "" for images found in values only.
	Template string
	Source   Source
	// ValuesFile is the file that sets the tag (relative to the charts repo,
	// "archive.tgz#inner/values.yaml" inside an archive); "" when the tag
	// could not be traced to one scalar.
	ValuesFile string
	// ValuesLine is the 1-based line of that scalar.
	ValuesLine int
	// ValuesPath is the key path of the scalar in ValuesFile
	// ("images.tags.hss", "telegraf.image.tag", "appVersion").
	ValuesPath string
	// ValuesKeys is the same path as keys, sequence indexes in decimal
	// ({"workflow", "steps", "0", "image"}), the form yamledit.Edit takes.
	ValuesKeys []string
	// ValuesHolds says whether the scalar is the whole reference, the tag,
	// the digest, or the chart's appVersion.
	ValuesHolds Holds
}

// InArchive reports whether the values scalar lives inside a vendored
// chart archive (and cannot be edited in place).
func (i Image) InArchive() bool { return strings.Contains(i.ValuesFile, "#") }

// DepProblem is a declared dependency that could not be rendered as
// declared.
type DepProblem struct {
	// Parent is the subchart chain of the chart declaring it ("" for the
	// chart itself).
	Parent     string
	Name       string
	Alias      string
	Version    string
	Repository string
	// File and Line locate the declaration (Line 0 when unknown).
	File string
	Line int
	// Found is the version present in charts/ when only the version
	// differs ("" when the dependency is absent).
	Found string
	// Enabled is false when the default values disable the dependency.
	Enabled bool
	// Reason says why a file:// dependency could not be loaded from its
	// directory (outside the charts repo, a cycle, a load error); "" for a
	// dependency that is simply not vendored.
	Reason string
}

// TemplateError is a template that failed to render.
type TemplateError struct {
	Template string
	Err      error
}

// Result is what rendering one chart gave.
type Result struct {
	Chart  charts.Chart
	Images []Image
	// Deps lists dependencies missing from charts/ (or present in another
	// version) that no file:// directory supplied; rendering went on
	// without them.
	Deps []DepProblem
	// Failed lists templates that did not render when others did; their
	// images are not in Images.
	Failed []TemplateError
	// Refused lists the files of file:// dependencies that were not read
	// (see repofs.Refused); those dependencies are in Deps too.
	Refused []error
	// Rendered counts the templates rendered.
	Rendered int
	// Err is set when nothing could be rendered. When files of the chart
	// were refused (a symlink leading out of the repo, a FIFO, an
	// oversized file), Err joins those refusals (see repofs.Refused) and
	// the chart is not rendered.
	Err error
}

// All discovers the charts under root and renders them, at most o.Jobs at
// a time. Results come back in chart order. A chart whose Chart.yaml does
// not parse has a Result with Err set to its *charts.ChartError.
func All(ctx context.Context, root string, o Options) ([]Result, error) {
	list, err := charts.Discover(ctx, root)
	if err != nil {
		return nil, err
	}
	return Charts(ctx, root, list, o), nil
}

// Charts renders the given charts of the repo at root in parallel.
func Charts(ctx context.Context, root string, list []charts.Chart, o Options) []Result {
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	caps, capErr := capabilities(o)
	out := make([]Result, len(list))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, c := range list {
		if capErr != nil {
			out[i] = Result{Chart: c, Err: capErr}
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = Result{Chart: c, Err: ctx.Err()}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = renderChart(ctx, root, c, o, caps)
		}()
	}
	wg.Wait()
	return out
}

// Render renders one chart of the repo at root.
func Render(ctx context.Context, root string, c charts.Chart, o Options) Result {
	caps, err := capabilities(o)
	if err != nil {
		return Result{Chart: c, Err: err}
	}
	return renderChart(ctx, root, c, o, caps)
}

// capabilities builds what .Capabilities shows: the configured Kubernetes
// version (not the SDK's old default) and the default API versions plus
// the configured ones.
func capabilities(o Options) (*chartutil.Capabilities, error) {
	kv := o.KubeVersion
	if kv == "" {
		kv = workspace.DefaultKubeVersion
	}
	v, err := chartutil.ParseKubeVersion(kv)
	if err != nil {
		return nil, fmt.Errorf("render.kubeVersion %q: %v; expected something like v1.31.0", kv, err)
	}
	apis := slices.Clone(chartutil.DefaultVersionSet)
	for _, a := range o.APIVersions {
		if !apis.Has(a) {
			apis = append(apis, a)
		}
	}
	return &chartutil.Capabilities{KubeVersion: *v, APIVersions: apis, HelmVersion: chartutil.DefaultCapabilities.HelmVersion}, nil
}

// maxIsolated bounds the one-template-at-a-time renders of a chart whose
// full render failed.
const maxIsolated = 1000

func renderChart(ctx context.Context, root string, c charts.Chart, o Options, caps *chartutil.Capabilities) Result {
	res := Result{Chart: c}
	if c.Err != nil {
		res.Err = c.Err
		return res
	}
	if err := ctx.Err(); err != nil {
		res.Err = err
		return res
	}
	ch, err := loadChart(ctx, root, c.Dir)
	if err != nil {
		res.Err = fmt.Errorf("loading %s: %w", c.Dir, err)
		return res
	}
	// file:// dependencies not vendored in charts/ come from their
	// directories, as helm dependency build would put them there.
	lk := newLinker(root)
	lk.link(ctx, ch, c.Dir, nil, []string{c.Dir}, c)
	res.Refused = lk.refused
	top := node{dir: c.Dir}
	locs := map[*chart.File]node{}
	locate(root, ch, top, locs, lk.dirs)
	deps := append(lk.problems, checkDeps(ch, c, locs, lk.handled)...)

	// Values: the chart's defaults (coalesced by the SDK) under the files the
	// config names, merged in order.
	vals := map[string]any{}
	var extra []*valuesDoc
	for _, f := range o.Values[c.Dir] {
		data, err := repofs.Read(root, f, repofs.MaxValues)
		if err != nil {
			res.Err = fmt.Errorf("values file %s for chart %s (render.values in the workspace config): %w", f, c.Dir, err)
			return res
		}
		v, err := chartutil.ReadValues(data)
		if err != nil {
			res.Err = fmt.Errorf("%s: %w", f, err)
			return res
		}
		mergeMaps(vals, v)
		extra = append(extra, parseValuesDoc(f, data))
	}
	docs := docCache{}
	valueImages := scanValueImages(ch, locs, extra, docs)

	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		res.Err = fmt.Errorf("%s: processing dependencies: %w", c.Dir, err)
		return res
	}
	for i := range deps {
		deps[i].Enabled = deps[i].req == nil || deps[i].req.Enabled
		res.Deps = append(res.Deps, deps[i].DepProblem)
	}
	topVals, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals,
		chartutil.ReleaseOptions{Name: "release-name", Namespace: "default", Revision: 1, IsInstall: true}, caps, true)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", c.Dir, err)
		return res
	}

	tree := indexTree(ch, locs)
	rendered, err := engine.Engine{}.Render(ch, topVals)
	if err != nil {
		rendered, res.Failed = renderIsolated(ctx, ch, topVals, tree)
		if len(rendered) == 0 && len(res.Failed) > 0 {
			res.Err = err
			res.Images = uncovered(valueImages, nil, c.Dir)
			return res
		}
	}
	res.Rendered = len(rendered)

	tr := newTracer(tree, extra, docs)
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range rendered {
			if !yield(k) {
				return
			}
		}
	}) {
		if path.Base(key) == "NOTES.txt" {
			continue
		}
		tp, ok := tree.templates[key]
		if !ok {
			continue
		}
		for _, ref := range collectImages(rendered[key]) {
			img := Image{Ref: ref, Chart: c.Dir, Subchart: tp.node.chainString(), Template: tp.file, Source: FromTemplate}
			tr.trace(&img, tp.node)
			res.Images = append(res.Images, img)
		}
	}
	res.Images = append(res.Images, uncovered(valueImages, res.Images, c.Dir)...)
	return res
}

// renderIsolated renders each template alone (with every partial of the
// chart tree, so includes still resolve) after the full render failed, so
// one broken template or missing dependency does not hide the images of
// the others.
func renderIsolated(ctx context.Context, ch *chart.Chart, vals chartutil.Values, tree *treeIndex) (map[string]string, []TemplateError) {
	out := map[string]string{}
	var failed []TemplateError
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range tree.templates {
			if !yield(k) {
				return
			}
		}
	})
	n := 0
	for _, key := range keys {
		tp := tree.templates[key]
		if strings.HasPrefix(path.Base(key), "_") || path.Base(key) == "NOTES.txt" {
			continue
		}
		if n++; n > maxIsolated || ctx.Err() != nil {
			failed = append(failed, TemplateError{Template: tp.file, Err: fmt.Errorf("not rendered: more than %d templates failed or the run was cancelled", maxIsolated)})
			continue
		}
		only := filterTree(ch, func(c *chart.Chart, f *chart.File) bool {
			return strings.HasPrefix(path.Base(f.Name), "_") || path.Join(c.ChartFullPath(), f.Name) == key
		})
		r, err := engine.Engine{}.Render(only, vals)
		if err != nil {
			failed = append(failed, TemplateError{Template: tp.file, Err: err})
			continue
		}
		if s, ok := r[key]; ok {
			out[key] = s
		}
	}
	return out, failed
}

// filterTree copies the chart tree keeping the templates keep accepts.
func filterTree(c *chart.Chart, keep func(*chart.Chart, *chart.File) bool) *chart.Chart {
	n := *c
	n.Templates = nil
	for _, t := range c.Templates {
		if keep(c, t) {
			n.Templates = append(n.Templates, t)
		}
	}
	var deps []*chart.Chart
	for _, d := range c.Dependencies() {
		deps = append(deps, filterTree(d, keep))
	}
	n.SetDependencies(deps...)
	return &n
}

// mergeMaps merges src into dst the way helm merges -f files: maps merge
// recursively, anything else replaces.
func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeMaps(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
