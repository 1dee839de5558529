package patch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"

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
	byDir := chartsByDir(list)
	rd := chartReads{
		baseVersion: func(dir string) (string, bool, error) {
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
		},
		used: func(name string) (map[string]string, error) {
			if used == nil {
				return map[string]string{}, nil
			}
			return used(ctx, name)
		},
	}
	next, err := planBumps(list, touched, rd, pr)
	if err != nil {
		return nil, err
	}
	edits := versionEdits(byDir, next)
	for _, c := range list {
		if len(c.Dependencies) == 0 || c.Err != nil {
			continue
		}
		data, err := w.ReadFile(c.DepsFile)
		if err != nil {
			return nil, err
		}
		edits.add(pinEdits(c, data, byDir, next, pr)...)
	}
	out := &Bumps{Files: map[string][]byte{}}
	for _, dir := range slices.Sorted(maps.Keys(next)) {
		out.Charts = append(out.Charts, next[dir])
	}
	for _, file := range slices.Sorted(maps.Keys(edits)) {
		data, err := w.ReadFile(file)
		if err != nil {
			return nil, err
		}
		f, changed, err := applyEdits(file, data, edits[file])
		if err != nil {
			pr.Problemf("%s: %v", file, err)
			continue
		}
		if changed {
			out.Files[file] = f.New
			out.Plan = append(out.Plan, f)
		}
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
