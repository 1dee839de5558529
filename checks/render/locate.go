package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/repofs"
)

// readDir lists directory rel of the repo at root without leaving it.
func readDir(root, rel string) ([]os.DirEntry, error) {
	d, err := repofs.Open(root)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(rel)
}

// node is where one chart of a loaded tree lives on disk and where it sits
// in the tree.
type node struct {
	// dir is the chart directory relative to the charts repo, for a chart
	// on disk.
	dir string
	// archive is the .tgz (relative to the charts repo) holding the chart,
	// and inner the chart's path prefix inside it ("telegraf/").
	archive, inner string
	// subKeys are the value keys that belong to the chart's subcharts
	// (names and aliases, declared or vendored).
	subKeys []string
	// chain is the subchart names (aliases) from the top chart; set on the
	// processed tree.
	chain []string
	chart *chart.Chart
	// parent is the node above, nil for the top chart.
	parent *node
	// app caches the chart's appVersion and its Chart.yaml line.
	app struct {
		done  bool
		value string
		line  int
	}
}

// file names a file of the chart relative to the charts repo.
func (n *node) file(name string) string {
	switch {
	case n.archive != "":
		return n.archive + "#" + n.inner + name
	case n.dir == "" || n.dir == ".":
		return name
	}
	return n.dir + "/" + name
}

func (n *node) chainString() string { return strings.Join(n.chain, "/") }

// firstFile identifies a loaded chart across the copies the SDK makes when
// it applies aliases (the copies share their files).
func firstFile(c *chart.Chart) *chart.File {
	if len(c.Raw) > 0 {
		return c.Raw[0]
	}
	return nil
}

// candidate is a vendored subchart found in a charts/ directory.
type candidate struct {
	name, version string
	n             node
	used          bool
}

var tgzName = regexp.MustCompile(`^(.+?)-(v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*)\.tgz$`)

// locate records, for c and every chart below it, where it was loaded
// from, keyed by firstFile. linked maps the charts added for file://
// dependencies to their directories.
func locate(root string, c *chart.Chart, n node, locs map[*chart.File]node, linked map[*chart.Chart]string) {
	for _, req := range c.Metadata.Dependencies {
		if req != nil {
			n.subKeys = append(n.subKeys, cmpOr(req.Alias, req.Name))
		}
	}
	for _, d := range c.Dependencies() {
		if !slices.Contains(n.subKeys, d.Name()) {
			n.subKeys = append(n.subKeys, d.Name())
		}
	}
	if f := firstFile(c); f != nil {
		locs[f] = n
	}
	deps := c.Dependencies()
	if len(deps) == 0 {
		return
	}
	var cands []*candidate
	if n.archive == "" {
		cands = vendored(root, n.dir)
	}
	for _, d := range deps {
		child := node{archive: n.archive, inner: n.inner + "charts/" + d.Name() + "/"}
		if dir, ok := linked[d]; ok {
			child = node{dir: dir}
		} else if n.archive == "" {
			child = node{dir: path.Join(n.dir, "charts", d.Name())}
			if cd := pick(root, cands, d); cd != nil {
				child = cd.n
			}
		}
		locate(root, d, child, locs, linked)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// vendored lists the subcharts in dir/charts: directories with a
// Chart.yaml and .tgz archives (name and version from the file name; read
// from the archive later when that fails).
func vendored(root, dir string) []*candidate {
	cdir := path.Join(dir, "charts")
	entries, err := readDir(root, cdir)
	if err != nil {
		return nil
	}
	var out []*candidate
	for _, e := range entries {
		p := path.Join(cdir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_"):
		case e.IsDir() || e.Type()&os.ModeSymlink != 0:
			if c, err := charts.ReadChart(root, p); err == nil {
				out = append(out, &candidate{name: c.Name, version: c.Version, n: node{dir: p}})
			}
		case strings.HasSuffix(e.Name(), ".tgz"):
			cd := &candidate{n: node{archive: p}}
			if m := tgzName.FindStringSubmatch(e.Name()); m != nil {
				cd.name, cd.version, cd.n.inner = m[1], m[2], m[1]+"/"
			}
			out = append(out, cd)
		}
	}
	return out
}

// pick finds the vendored candidate for loaded subchart d: same name and
// version, else same name; archives whose file name did not say are read.
func pick(root string, cands []*candidate, d *chart.Chart) *candidate {
	find := func() *candidate {
		for _, exact := range []bool{true, false} {
			for _, c := range cands {
				if !c.used && c.name == d.Name() && (!exact || c.version == d.Metadata.Version) {
					c.used = true
					return c
				}
			}
		}
		return nil
	}
	if c := find(); c != nil {
		return c
	}
	for _, c := range cands {
		if c.n.archive != "" && !c.used {
			c.name, c.version, c.n.inner = archiveMeta(root, c.n.archive)
		}
	}
	return find()
}

// archiveMeta reads name and version from the Chart.yaml at the top of the
// chart archive at rel in the repo at root, and returns the archive's top
// directory as inner prefix.
func archiveMeta(root, rel string) (name, version, inner string) {
	data, err := repofs.Read(root, rel, repofs.MaxChartFile)
	if err != nil {
		return "", "", ""
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return "", "", ""
	}
	tr := tar.NewReader(gz)
	for range 100_000 {
		h, err := tr.Next()
		if err != nil {
			return "", "", ""
		}
		top, rest, ok := strings.Cut(strings.TrimPrefix(h.Name, "./"), "/")
		if !ok || rest != "Chart.yaml" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return "", "", ""
		}
		m, err := charts.ParseMeta(data)
		if err != nil {
			return "", "", ""
		}
		return m.Name, m.Version, top + "/"
	}
	return "", "", ""
}

// depCheck is a dependency problem with the SDK's dependency entry, whose
// Enabled flag is read after processing.
type depCheck struct {
	DepProblem
	req *chart.Dependency
}

// checkDeps finds declared dependencies that are not vendored (or only in
// another version), over the whole loaded tree, before the SDK drops them.
// Entries in skip (file:// dependencies the linker resolved or reported)
// are left out.
func checkDeps(top *chart.Chart, meta charts.Chart, locs map[*chart.File]node, skip map[*chart.Dependency]bool) []depCheck {
	var out []depCheck
	var walk func(c *chart.Chart, chain []string, depth int)
	walk = func(c *chart.Chart, chain []string, depth int) {
		if depth > 50 {
			return
		}
		n := locs[firstFile(c)]
		for _, req := range c.Metadata.Dependencies {
			if req == nil || skip[req] {
				continue
			}
			found, other := false, ""
			for _, d := range c.Dependencies() {
				if d.Name() != req.Name {
					continue
				}
				if req.Version == "" || chartutil.IsCompatibleRange(req.Version, d.Metadata.Version) {
					found = true
					break
				}
				other = d.Metadata.Version
			}
			if found {
				continue
			}
			p := DepProblem{Parent: strings.Join(chain, "/"), Name: req.Name, Alias: req.Alias, Version: req.Version,
				Repository: req.Repository, Found: other}
			if depth == 0 {
				p.File = meta.DepsFile
				p.Line = depLine(meta, req)
			} else {
				p.File = n.file("Chart.yaml")
				if c.Metadata.APIVersion == chart.APIVersionV1 {
					p.File = n.file("requirements.yaml")
				}
			}
			out = append(out, depCheck{DepProblem: p, req: req})
		}
		for _, d := range c.Dependencies() {
			walk(d, append(slices.Clone(chain), subchartKey(c, d)), depth+1)
		}
	}
	walk(top, nil, 0)
	return out
}

// tmpl is a template of the processed tree.
type tmpl struct {
	node *node
	// file is the template's path relative to the charts repo.
	file string
}

// treeIndex maps the processed chart tree: every template by the name the
// engine gives it, and every chart node.
type treeIndex struct {
	templates map[string]tmpl
	nodes     []*node
}

func indexTree(top *chart.Chart, locs map[*chart.File]node) *treeIndex {
	t := &treeIndex{templates: map[string]tmpl{}}
	var walk func(c *chart.Chart, parent *node, chain []string, depth int)
	walk = func(c *chart.Chart, parent *node, chain []string, depth int) {
		if depth > 50 {
			return
		}
		n := locs[firstFile(c)]
		n.chain, n.chart, n.parent = chain, c, parent
		np := &n
		t.nodes = append(t.nodes, np)
		full := c.ChartFullPath()
		for _, f := range c.Templates {
			if f != nil {
				t.templates[path.Join(full, f.Name)] = tmpl{node: np, file: np.file(f.Name)}
			}
		}
		for _, d := range c.Dependencies() {
			walk(d, np, append(slices.Clone(chain), d.Name()), depth+1)
		}
	}
	walk(top, nil, nil, 0)
	return t
}

// subchartKey is the name sub goes by under parent c: the alias of its
// dependency entry, if it has one, else the chart's own name. It is the
// key of sub's values in c's values and the step in a chart's chain.
func subchartKey(c, sub *chart.Chart) string {
	for _, req := range c.Metadata.Dependencies {
		if req != nil && req.Name == sub.Name() && req.Alias != "" {
			return req.Alias
		}
	}
	return sub.Name()
}
