package patch

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/yamledit"
)

// The decisions of BumpCharts, apart from its reads (the charts in the
// worktree, their versions at the branch's base, the versions used
// anywhere), so each is tested without git.

func chartsByDir(list []charts.Chart) map[string]charts.Chart {
	byDir := map[string]charts.Chart{}
	for _, c := range list {
		byDir[c.Dir] = c
	}
	return byDir
}

// fileDependency is the chart directory a file:// dependency of chart dir
// points at; ok is false for other repositories and absolute paths.
func fileDependency(dir, repository string) (string, bool) {
	rel, ok := strings.CutPrefix(repository, "file://")
	if !ok || path.IsAbs(rel) {
		return "", false
	}
	return path.Clean(path.Join(dir, rel)), true
}

// fileDependents maps each chart directory to the charts with a file://
// dependency on it.
func fileDependents(list []charts.Chart) map[string][]string {
	dependents := map[string][]string{}
	for _, c := range list {
		for _, d := range c.Dependencies {
			if t, ok := fileDependency(c.Dir, d.Repository); ok {
				dependents[t] = append(dependents[t], c.Dir)
			}
		}
	}
	return dependents
}

// chartReads are what planBumps reads, as functions so tests need no git:
// a chart's version at the branch's base (existed false for a chart new
// on the branch), and the versions a chart name has used anywhere
// (version -> where).
type chartReads struct {
	baseVersion func(dir string) (version string, existed bool, err error)
	used        func(name string) (map[string]string, error)
}

// planBumps decides the chart bumps: every touched chart (dir -> why) and,
// transitively, every chart whose file:// dependency points at a bumped
// one. A chart new on the branch keeps its version; one that cannot be
// bumped is a problem of pr. Errors are reads that failed.
func planBumps(list []charts.Chart, touched map[string]string, rd chartReads, pr *plan.Repo) (map[string]ChartBump, error) {
	byDir, dependents := chartsByDir(list), fileDependents(list)
	next := map[string]ChartBump{}
	type item struct{ dir, why string }
	var queue []item
	for _, dir := range slices.Sorted(maps.Keys(touched)) {
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
		old, existed, err := rd.baseVersion(it.dir)
		if err != nil {
			return nil, err
		}
		if !existed {
			pr.Notef("%s is new on the branch; it keeps its version %s", c.File, c.Version)
			continue
		}
		if _, err := semver.StrictNewVersion(old); err != nil {
			pr.Problemf("%s: version %q at the branch's tip is not SemVer; bump it by hand", c.File, old)
			continue
		}
		where, err := rd.used(bumpName(c))
		if err != nil {
			return nil, err
		}
		b, err := nextChartBump(c, old, where, it.why)
		if err != nil {
			pr.Problemf("%s: %v", c.File, err)
			continue
		}
		if b.Skipped != "" {
			pr.Notef("%s %s -> %s: %s", b.Name, old, b.New, b.Skipped)
		}
		next[it.dir] = b
		for _, d := range dependents[it.dir] {
			queue = append(queue, item{d, "its file:// pin on " + b.Name + " follows " + b.New})
		}
	}
	return next, nil
}

// bumpName is the name a chart's versions are looked up by: its name, else
// its directory's base name.
func bumpName(c charts.Chart) string {
	if c.Name == "" {
		return path.Base(c.Dir)
	}
	return c.Name
}

// nextChartBump decides chart c's bump from old, its version at the base
// (SemVer), and where, the versions its name used anywhere (version ->
// where): the next patch release not used, with the skipped ones named.
func nextChartBump(c charts.Chart, old string, where map[string]string, why string) (ChartBump, error) {
	v, err := semver.StrictNewVersion(old)
	if err != nil {
		return ChartBump{}, err
	}
	taken := map[string]bool{}
	for u := range where {
		taken[u] = true
	}
	nv, skipped, err := NextFreeVersion(v.String(), taken)
	if err != nil {
		return ChartBump{}, err
	}
	b := ChartBump{Dir: c.Dir, Name: bumpName(c), Old: old, New: nv, Why: why}
	if len(skipped) > 0 {
		b.Skipped = "not " + skipped[0] + ": " + SkippedReason(skipped, where)
	}
	return b, nil
}

// labeledEdit is a YAML edit with the field name the plan shows for it.
type labeledEdit struct {
	file  string
	edit  yamledit.Edit
	label string
}

// fileEdits are the edits of a bump, by file.
type fileEdits map[string][]labeledEdit

func (fe fileEdits) add(list ...labeledEdit) {
	for _, e := range list {
		fe[e.file] = append(fe[e.file], e)
	}
}

// versionEdits sets each bumped chart's version in its Chart.yaml.
func versionEdits(byDir map[string]charts.Chart, next map[string]ChartBump) fileEdits {
	fe := fileEdits{}
	for _, dir := range slices.Sorted(maps.Keys(next)) {
		fe.add(labeledEdit{byDir[dir].File, yamledit.Edit{Path: []string{"version"}, Value: next[dir].New}, "version"})
	}
	return fe
}

// pinEdits makes the exact file:// pins of chart c (its dependencies file
// holds data) follow the charts they point at to their bumped versions; a
// range the new version falls outside of is a problem of pr.
func pinEdits(c charts.Chart, data []byte, byDir map[string]charts.Chart, next map[string]ChartBump, pr *plan.Repo) []labeledEdit {
	var out []labeledEdit
	for _, d := range depIndexes(data) {
		target, ok := fileDependency(c.Dir, d.Repository)
		if !ok {
			continue
		}
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
			out = append(out, labeledEdit{c.DepsFile, yamledit.Edit{Path: []string{"dependencies", strconv.Itoa(d.Index), "version"}, Value: pin},
				"dependency " + d.Name + " version"})
		}
	}
	return out
}

// applyEdits applies one file's edits and describes the changes for the
// plan; changed is false when the file already held every value.
func applyEdits(file string, data []byte, edits []labeledEdit) (plan.File, bool, error) {
	var ye []yamledit.Edit
	labels := map[string]string{}
	for _, e := range edits {
		ye = append(ye, e.edit)
		labels[yamledit.PathString(e.edit.Path)] = e.label
	}
	res, changes, err := yamledit.Apply(data, ye...)
	if err != nil || len(changes) == 0 {
		return plan.File{}, false, err
	}
	f := plan.File{Path: file, Old: data, New: res}
	for _, ch := range changes {
		f.Changes = append(f.Changes, plan.Change{Line: ch.Line, Field: labels[yamledit.PathString(ch.Path)], Old: ch.Old, New: ch.New})
	}
	return f, true, nil
}
