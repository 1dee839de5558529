package chartpkg

import (
	"path"
	"slices"
	"strings"

	"github.com/relkit/relkit/release/charts"
)

// Discover lists the chart folders of the commit with the rules of
// charts.Discover: every folder holding a Chart.yaml, nested groups
// included, except subcharts under another chart's charts/ folder and
// folders Discover never searches (.git, vendor, hidden ones, ...).
// Symlinked folders are not searched, as a directory walk does not follow
// them. Folders come back sorted.
func (t *Tree) Discover() []string {
	var dirs []string
	var walk func(dir string)
	walk = func(dir string) {
		if t.isChart(dir) {
			d := dir
			if d == "" {
				d = "."
			}
			dirs = append(dirs, d)
		}
		for _, name := range slices.Sorted(slices.Values(t.children[dir])) {
			child := path.Join(dir, name)
			if !t.entries[child].isTree() || charts.SkipDir(name) {
				continue
			}
			if name == "charts" && t.isChart(dir) {
				continue // subcharts belong to their parent
			}
			walk(child)
		}
	}
	walk("")
	return dirs
}

func (t *Tree) hasRootChart() bool {
	e, ok := t.entries["Chart.yaml"]
	return ok && (e.isFile() || e.isSymlink())
}

func (t *Tree) isChart(dir string) bool {
	if dir == "" {
		return t.hasRootChart()
	}
	e, ok := t.entries[dir+"/Chart.yaml"]
	return ok && (e.isFile() || e.isSymlink())
}

// ChartFile is the Chart.yaml path of a folder Discover returned.
func ChartFile(dir string) string {
	if dir == "." || dir == "" {
		return "Chart.yaml"
	}
	return strings.TrimSuffix(dir, "/") + "/Chart.yaml"
}
