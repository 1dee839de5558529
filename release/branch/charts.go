package branch

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/yamledit"
)

// chartAt is a chart as committed: its Chart.yaml (and requirements.yaml)
// read from a commit, not from the worktree.
type chartAt struct {
	dir        string // repo-relative, "." for a chart at the root
	file       string // dir/Chart.yaml
	data       []byte
	version    string
	line       int
	apiVersion string
	depsFile   string // the file holding the dependencies
	depsData   []byte
	deps       []charts.DepEntry
	reqHash    plumbing.Hash // requirements.yaml blob, if any
}

// maxTreeDirs bounds the directories a chart search visits.
const maxTreeDirs = 1_000_000

// skipChartDir mirrors charts.Discover: directories never searched.
func skipChartDir(name string) bool {
	switch name {
	case "node_modules", "vendor":
		return true
	}
	return strings.HasPrefix(name, ".")
}

// chartsAt finds the charts of a commit the way charts.Discover finds them
// in a worktree: every directory with a Chart.yaml, except subcharts under
// another chart's charts/ directory and hidden, vendor and node_modules
// directories.
func chartsAt(g *gitx.Repo, commit plumbing.Hash) ([]*chartAt, error) {
	root, err := g.CommitTree(commit)
	if err != nil {
		return nil, err
	}
	var out []*chartAt
	visited := 0
	var walk func(t *object.Tree, dir string) error
	walk = func(t *object.Tree, dir string) error {
		visited++
		if visited > maxTreeDirs {
			return fmt.Errorf("more than %d directories", maxTreeDirs)
		}
		isChart := false
		var c *chartAt
		for _, e := range t.Entries {
			if e.Name == "Chart.yaml" && e.Mode.IsFile() {
				isChart = true
				c = &chartAt{dir: dir, file: path.Join(dir, "Chart.yaml")}
				blob, err := readBlob(g, e.Hash)
				if err != nil {
					return fmt.Errorf("%s: %w", c.file, err)
				}
				c.data = blob
			}
		}
		if isChart {
			for _, e := range t.Entries {
				if e.Name == "requirements.yaml" && e.Mode.IsFile() {
					c.reqHash = e.Hash
				}
			}
			if len(out) >= charts.MaxCharts {
				return fmt.Errorf("more than %d charts", charts.MaxCharts)
			}
			out = append(out, c)
		}
		for _, e := range t.Entries {
			if e.Mode != filemode.Dir || skipChartDir(e.Name) || (isChart && e.Name == "charts") {
				continue
			}
			sub, err := g.TreeObject(e.Hash)
			if err != nil {
				return err
			}
			if err := walk(sub, path.Join(dir, e.Name)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, "."); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *chartAt) int { return strings.Compare(a.dir, b.dir) })
	return out, nil
}

func readBlob(g *gitx.Repo, h plumbing.Hash) ([]byte, error) {
	b, err := g.BlobObject(h)
	if err != nil {
		return nil, err
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// topValue returns the value node of key in a mapping.
func topValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// parse reads the chart's metadata and dependencies.
func (c *chartAt) parse(g *gitx.Repo) error {
	doc, err := yamledit.Parse(c.data)
	if err != nil {
		return fmt.Errorf("%s:%w", c.file, lineErr(err))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s:1: expected a mapping with name and version", c.file)
	}
	top := doc.Content[0]
	if v := topValue(top, "version"); v != nil {
		c.version, c.line = v.Value, v.Line
	}
	if v := topValue(top, "apiVersion"); v != nil {
		c.apiVersion = v.Value
	}
	c.depsFile, c.deps = c.file, charts.DepEntries(topValue(top, "dependencies"))
	if (c.apiVersion == "v1" || c.apiVersion == "") && c.reqHash != plumbing.ZeroHash {
		c.depsFile = path.Join(c.dir, "requirements.yaml")
		if c.depsData, err = readBlob(g, c.reqHash); err != nil {
			return fmt.Errorf("%s: %w", c.depsFile, err)
		}
		rdoc, err := yamledit.Parse(c.depsData)
		if err != nil {
			return fmt.Errorf("%s:%w", c.depsFile, lineErr(err))
		}
		c.deps = nil
		if len(rdoc.Content) > 0 && rdoc.Content[0].Kind == yaml.MappingNode {
			c.deps = charts.DepEntries(topValue(rdoc.Content[0], "dependencies"))
		}
	}
	return nil
}

// lineErr formats a yamledit error as ":LINE: reason" (or ": reason").
func lineErr(err error) error {
	if e, ok := err.(*yamledit.Error); ok && e.Line > 0 {
		return fmt.Errorf("%d: %s", e.Line, strings.TrimPrefix(e.Error(), fmt.Sprintf("line %d: ", e.Line)))
	}
	return fmt.Errorf(" %w", err)
}

// chartNext is a chart version's next minor release: 1.2.n -> 1.3.0.
func chartNext(v *semver.Version) string {
	return fmt.Sprintf("%d.%d.0", v.Major(), v.Minor()+1)
}

// planCharts bumps every chart of the charts repo to its next minor
// version, and makes file:// dependency pins follow the chart they point
// at. Problems go to pr; it returns the changed files and the number of
// charts.
func (c *cut) planCharts(ctx context.Context, st *repoState, pr *plan.Repo) ([]plan.File, int, error) {
	list, err := chartsAt(st.g, plumbing.NewHash(st.head))
	if err != nil {
		return nil, 0, err
	}
	byDir := map[string]*chartAt{}
	next := map[string]string{} // chart dir -> new version
	for _, ch := range list {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if err := ch.parse(st.g); err != nil {
			pr.Problemf("%v", err)
			continue
		}
		byDir[ch.dir] = ch
		if ch.version == "" {
			pr.Problemf("%s: no version; expected a SemVer chart version", ch.file)
			continue
		}
		v, err := semver.StrictNewVersion(ch.version)
		if err != nil {
			pr.Problemf("%s:%d: chart version %q is not SemVer; expected MAJOR.MINOR.PATCH", ch.file, ch.line, ch.version)
			continue
		}
		next[ch.dir] = chartNext(v)
	}
	edits := map[string][]yamledit.Edit{}
	labels := map[string]map[string]string{} // file -> path string -> label
	data := map[string][]byte{}
	addEdit := func(file string, content []byte, e yamledit.Edit, label string) {
		edits[file] = append(edits[file], e)
		data[file] = content
		if labels[file] == nil {
			labels[file] = map[string]string{}
		}
		labels[file][yamledit.PathString(e.Path)] = label
	}
	for _, ch := range list {
		nv, ok := next[ch.dir]
		if !ok {
			continue
		}
		addEdit(ch.file, ch.data, yamledit.Edit{Path: []string{"version"}, Value: nv}, "version")
		depsData := ch.data
		if ch.depsFile != ch.file {
			depsData = ch.depsData
		}
		for _, d := range ch.deps {
			target, ok := strings.CutPrefix(d.Repository, "file://")
			if !ok || path.IsAbs(target) {
				continue
			}
			tdir := path.Clean(path.Join(ch.dir, target))
			tch, ok := byDir[tdir]
			tnext, bumped := next[tdir]
			if !ok || !bumped {
				continue
			}
			pin, err := charts.FollowPin(d.Version, tch.version, tnext)
			if err != nil {
				pr.Problemf("%s:%d: dependency %s (%s): %v", ch.depsFile, d.Line, d.Name, d.Repository, err)
				continue
			}
			if pin == "" {
				continue
			}
			if d.Version != tch.version {
				pr.Notef("%s:%d: the pin %s of %s did not match the chart (%s); it now pins the new %s", ch.depsFile, d.Line, d.Version, d.Name, tch.version, tnext)
			}
			addEdit(ch.depsFile, depsData, yamledit.Edit{Path: []string{"dependencies", strconv.Itoa(d.Index), "version"}, Value: pin},
				fmt.Sprintf("dependency %s version", d.Name))
		}
	}
	var files []plan.File
	for _, file := range slices.Sorted(maps.Keys(edits)) {
		out, changes, err := yamledit.Apply(data[file], edits[file]...)
		if err != nil {
			pr.Problemf("%s:%v", file, lineErr(err))
			continue
		}
		if len(changes) == 0 {
			continue
		}
		f := plan.File{Path: file, Old: data[file], New: out}
		for _, ch := range changes {
			f.Changes = append(f.Changes, plan.Change{Line: ch.Line, Field: labels[file][yamledit.PathString(ch.Path)], Old: ch.Old, New: ch.New})
		}
		files = append(files, f)
	}
	return files, len(next), nil
}
