package patch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/yamledit"
)

// ChartBump is one chart version a patch changes.
type ChartBump struct {
	// Dir is the chart directory, Name the chart's name.
	Dir, Name string
	Old, New  string
	// Why says what made the bump necessary.
	Why string
	// Skipped says why New is not the next patch of Old ("4.1.1..4.1.3
	// used on master"); "" when it is.
	Skipped string
}

func (b ChartBump) reason() string {
	if b.Skipped == "" {
		return b.Why
	}
	return b.Why + "; " + b.Skipped
}

// Bumps are the file edits that bump charts, for one commit.
type Bumps struct {
	Charts []ChartBump
	// Files maps repo paths to their new content; Plan lists the same
	// changes for people.
	Files map[string][]byte
	Plan  []plan.File
}

// OwningChart returns the chart directory a repo file belongs to: the
// deepest chart directory above it ("" when none). Files of subcharts
// vendored under <chart>/charts/ belong to <chart>.
func OwningChart(dirs map[string]charts.Chart, file string) string {
	d := path.Dir(file)
	for range 1000 {
		if _, ok := dirs[d]; ok {
			return d
		}
		if d == "." || d == "/" {
			return ""
		}
		d = path.Dir(d)
	}
	return ""
}

// BumpCharts works out the chart bumps a branch needs after changes: every
// chart owning a changed file (touched) gets the next free patch release
// of its version at base (1.2.4 at base -> 1.2.5, whatever the change
// itself wrote; 1.2.6 when used says the chart already had 1.2.5
// somewhere: see NextFreeVersion), and every chart whose exact file://
// pin on a bumped chart must follow is bumped too, transitively. The
// edits are made against the files in the worktree w. Problems (an
// unreadable chart, a range pin the new version falls outside of) go to
// pr; an error from used (a chart repository that cannot be read) is
// returned, as relkit cannot tell which versions are free.
func BumpCharts(ctx context.Context, w *cherry.Worktree, base string, touched map[string]string, used UsedVersions, pr *plan.Repo) (*Bumps, error) {
	list, err := charts.Discover(ctx, w.Dir)
	if err != nil {
		return nil, err
	}
	g, err := gitx.Open(w.Repo)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	baseHash, err := g.Resolve(base)
	if err != nil {
		return nil, err
	}
	byDir := map[string]charts.Chart{}
	for _, c := range list {
		byDir[c.Dir] = c
	}
	// dependents: chart dir -> charts with a file:// dependency on it.
	dependents := map[string][]string{}
	for _, c := range list {
		for _, d := range c.Dependencies {
			rel, ok := strings.CutPrefix(d.Repository, "file://")
			if !ok || path.IsAbs(rel) {
				continue
			}
			t := path.Clean(path.Join(c.Dir, rel))
			dependents[t] = append(dependents[t], c.Dir)
		}
	}
	baseVersion := func(dir string) (string, bool, error) {
		data, err := g.FileAt(baseHash, byDir[dir].File)
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		meta, err := charts.ParseMeta(data)
		if err != nil {
			return "", false, fmt.Errorf("%s at %s: %w", byDir[dir].File, gitx.Short(base), err)
		}
		return meta.Version, true, nil
	}

	next := map[string]ChartBump{}
	type item struct{ dir, why string }
	var queue []item
	for _, dir := range sortedKeys(touched) {
		queue = append(queue, item{dir, touched[dir]})
	}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10*len(list)+len(touched) {
			return nil, fmt.Errorf("chart dependencies loop")
		}
		it := queue[0]
		queue = queue[1:]
		if _, done := next[it.dir]; done {
			continue
		}
		c, ok := byDir[it.dir]
		if !ok {
			continue
		}
		if c.Err != nil {
			pr.Problemf("%v; fix the chart before it can be bumped", c.Err)
			continue
		}
		old, existed, err := baseVersion(it.dir)
		if err != nil {
			return nil, err
		}
		if !existed {
			pr.Notef("%s is new on the branch; it keeps its version %s", c.File, c.Version)
			continue
		}
		v, err := semver.StrictNewVersion(old)
		if err != nil {
			pr.Problemf("%s: version %q at the branch's tip is not SemVer; bump it by hand", c.File, old)
			continue
		}
		name := c.Name
		if name == "" {
			name = path.Base(c.Dir)
		}
		where := map[string]string{}
		if used != nil {
			if where, err = used(ctx, name); err != nil {
				return nil, err
			}
		}
		taken := map[string]bool{}
		for u := range where {
			taken[u] = true
		}
		nv, skipped, err := NextFreeVersion(v.String(), taken)
		if err != nil {
			pr.Problemf("%s: %v", c.File, err)
			continue
		}
		b := ChartBump{Dir: c.Dir, Name: name, Old: old, New: nv, Why: it.why}
		if len(skipped) > 0 {
			b.Skipped = "not " + skipped[0] + ": " + SkippedReason(skipped, where)
			pr.Notef("%s %s -> %s: %s", name, old, nv, b.Skipped)
		}
		next[it.dir] = b
		for _, d := range dependents[it.dir] {
			queue = append(queue, item{d, "its file:// pin on " + name + " follows " + nv})
		}
	}

	edits := map[string][]yamledit.Edit{}
	labels := map[string]map[string]string{}
	addEdit := func(file string, e yamledit.Edit, label string) {
		edits[file] = append(edits[file], e)
		if labels[file] == nil {
			labels[file] = map[string]string{}
		}
		labels[file][yamledit.PathString(e.Path)] = label
	}
	out := &Bumps{Files: map[string][]byte{}}
	for _, dir := range sortedKeys(next) {
		b := next[dir]
		out.Charts = append(out.Charts, b)
		addEdit(byDir[dir].File, yamledit.Edit{Path: []string{"version"}, Value: b.New}, "version")
	}
	for _, c := range list {
		if len(c.Dependencies) == 0 || c.Err != nil {
			continue
		}
		data, err := w.ReadFile(c.DepsFile)
		if err != nil {
			return nil, err
		}
		for _, d := range depIndexes(data) {
			rel, ok := strings.CutPrefix(d.Repository, "file://")
			if !ok || path.IsAbs(rel) {
				continue
			}
			target := path.Clean(path.Join(c.Dir, rel))
			b, bumped := next[target]
			if !bumped {
				continue
			}
			pin, err := charts.FollowPin(d.Version, byDir[target].Version, b.New)
			if err != nil {
				pr.Problemf("%s:%d: dependency %s (%s): %v", c.DepsFile, d.Line, d.Name, d.Repository, err)
				continue
			}
			if pin != "" {
				addEdit(c.DepsFile, yamledit.Edit{Path: []string{"dependencies", strconv.Itoa(d.Index), "version"}, Value: pin},
					"dependency "+d.Name+" version")
			}
		}
	}
	for _, file := range sortedKeys(edits) {
		data, err := w.ReadFile(file)
		if err != nil {
			return nil, err
		}
		res, changes, err := yamledit.Apply(data, edits[file]...)
		if err != nil {
			pr.Problemf("%s: %v", file, err)
			continue
		}
		if len(changes) == 0 {
			continue
		}
		f := plan.File{Path: file, Old: data, New: res}
		for _, ch := range changes {
			f.Changes = append(f.Changes, plan.Change{Line: ch.Line, Field: labels[file][yamledit.PathString(ch.Path)], Old: ch.Old, New: ch.New})
		}
		out.Files[file] = res
		out.Plan = append(out.Plan, f)
	}
	return out, nil
}

// depIndexes reads the dependencies entries of a Chart.yaml or
// requirements.yaml; none when it does not parse.
func depIndexes(data []byte) []charts.DepEntry {
	doc, err := yamledit.Parse(data)
	if err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	top := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "dependencies" {
			list = top.Content[i+1]
		}
	}
	return charts.DepEntries(list)
}

// describeFiles writes a plan file list the way plan prints commit steps.
func describeFiles(files []plan.File) []string {
	var out []string
	for _, f := range files {
		for _, c := range f.Changes {
			out = append(out, fmt.Sprintf("%s:%d %s %s -> %s", f.Path, c.Line, c.Field, c.Old, c.New))
		}
	}
	return out
}
