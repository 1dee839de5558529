package render

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/repofs"
)

// maxLinkDepth bounds chains of file:// dependencies (a file:// chart with
// file:// dependencies of its own...).
const maxLinkDepth = 10

// maxLinked bounds the file:// charts loaded for one top chart.
const maxLinked = 200

// linker makes a chart's file:// dependencies that are not vendored in its
// charts/ directory part of the loaded tree, the way `helm dependency
// build` would package them there: each referenced directory is loaded
// and added as a dependency, and so on down its own file:// dependencies.
type linker struct {
	root string
	// dirs maps each chart the linker added to its directory, relative to
	// the charts repo.
	dirs map[*chart.Chart]string
	// handled are the dependency entries the linker resolved or reported;
	// checkDeps leaves them alone.
	handled  map[*chart.Dependency]bool
	problems []depCheck
	// refused are the files of linked charts that repofs would not read.
	refused []error
	loaded  int
}

func newLinker(root string) *linker {
	return &linker{root: root, dirs: map[*chart.Chart]string{}, handled: map[*chart.Dependency]bool{}}
}

// link adds the unvendored file:// dependencies of c, the chart on disk at
// dir (relative to the charts repo). chain is the subchart names (aliases)
// from the top chart, stack the directories of the file:// chain so far
// (dir included), meta the chart's Chart.yaml as read by relkit (for the
// lines of problems; zero when unread).
func (l *linker) link(ctx context.Context, c *chart.Chart, dir string, chain, stack []string, meta charts.Chart) {
	if c.Metadata == nil {
		return
	}
	present := map[string]bool{}
	for _, d := range c.Dependencies() {
		present[d.Name()] = true
	}
	added := map[string]*chart.Chart{}
	for _, req := range c.Metadata.Dependencies {
		if req == nil {
			continue
		}
		rel, ok := strings.CutPrefix(req.Repository, "file://")
		if !ok || present[req.Name] {
			continue // vendored in charts/ (or not local): loaded already
		}
		l.handled[req] = true
		sub := added[req.Name]
		var reason string
		if sub == nil {
			sub, reason = l.load(ctx, rel, dir, req, stack)
		}
		if sub == nil {
			p := DepProblem{Parent: strings.Join(chain, "/"), Name: req.Name, Alias: req.Alias, Version: req.Version,
				Repository: req.Repository, File: depsFile(meta, dir, c), Line: depLine(meta, req), Reason: reason}
			l.problems = append(l.problems, depCheck{DepProblem: p, req: req})
			continue
		}
		// A pin the local chart does not satisfy is check:charts'
		// dependency-pin-mismatch; here the chart is rendered as helm
		// would once the pin follows, alias and condition included. The
		// pin changes in the loaded copy only.
		if req.Version == "" || !chartutil.IsCompatibleRange(req.Version, sub.Metadata.Version) {
			req.Version = sub.Metadata.Version
		}
		if added[req.Name] != nil {
			continue // a second alias of the same chart
		}
		added[req.Name] = sub
		c.AddDependency(sub)
		target := l.dirs[sub]
		subMeta, _ := charts.ReadChart(l.root, target)
		name := cmpOr(req.Alias, req.Name)
		l.link(ctx, sub, target, append(slices.Clone(chain), name), append(slices.Clip(stack), target), subMeta)
	}
}

// load loads the chart a file:// dependency of the chart at dir points to,
// or says why it cannot.
func (l *linker) load(ctx context.Context, rel, dir string, req *chart.Dependency, stack []string) (*chart.Chart, string) {
	if err := ctx.Err(); err != nil {
		return nil, err.Error()
	}
	target, ok := l.resolve(rel, dir)
	if !ok {
		return nil, fmt.Sprintf("%s is outside the charts repo, so relkit does not load it", req.Repository)
	}
	if i := slices.Index(stack, target); i >= 0 {
		return nil, fmt.Sprintf("file:// dependencies form a cycle: %s -> %s", strings.Join(stack[i:], " -> "), target)
	}
	if len(stack) > maxLinkDepth {
		return nil, fmt.Sprintf("file:// dependencies nest more than %d deep (%s)", maxLinkDepth, strings.Join(stack, " -> "))
	}
	if l.loaded >= maxLinked {
		return nil, fmt.Sprintf("more than %d file:// charts below one chart", maxLinked)
	}
	l.loaded++
	sub, err := loadChart(ctx, l.root, target)
	if err != nil {
		if _, _, ok := repofs.Refused(err); ok {
			l.refused = append(l.refused, err)
		}
		return nil, fmt.Sprintf("loading %s: %v", target, err)
	}
	if sub.Name() != req.Name {
		return nil, fmt.Sprintf("%s holds chart %q, not %q", path.Join(target, "Chart.yaml"), sub.Name(), req.Name)
	}
	l.dirs[sub] = target
	return sub, ""
}

// resolve turns the path of a file:// dependency of the chart at dir into
// a directory relative to the charts repo; false when it leaves the repo.
func (l *linker) resolve(rel, dir string) (string, bool) {
	if filepath.IsAbs(rel) {
		abs, err := filepath.Abs(l.root)
		if err != nil {
			return "", false
		}
		r, err := filepath.Rel(abs, filepath.Clean(rel))
		if err != nil || !filepath.IsLocal(r) && r != "." {
			return "", false
		}
		return filepath.ToSlash(r), true
	}
	target := path.Clean(path.Join(dir, filepath.ToSlash(rel)))
	if target != "." && !filepath.IsLocal(filepath.FromSlash(target)) {
		return "", false
	}
	return target, true
}

// depsFile is the file declaring the dependencies of chart c at dir.
func depsFile(meta charts.Chart, dir string, c *chart.Chart) string {
	if meta.DepsFile != "" {
		return meta.DepsFile
	}
	n := node{dir: dir}
	if c.Metadata.APIVersion == chart.APIVersionV1 {
		return n.file("requirements.yaml")
	}
	return n.file("Chart.yaml")
}

// depLine is the line of req's version in the chart's dependencies file.
func depLine(meta charts.Chart, req *chart.Dependency) int {
	for _, d := range meta.Dependencies {
		if d.Name == req.Name && d.Alias == req.Alias {
			return d.Line
		}
	}
	return 0
}
