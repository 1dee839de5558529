package patch

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
)

// BumpCharts' decisions from plain values: charts as Discover gives them,
// versions at the base and versions used as maps. No git.

// umbrella is a charts repo with an umbrella over two file:// subcharts,
// one of which pins another: sdcore -> (amf, smf), smf -> common.
func umbrella() []charts.Chart {
	return []charts.Chart{
		{Dir: "common", File: "common/Chart.yaml", Name: "common", Version: "1.0.0"},
		{Dir: "omec/amf", File: "omec/amf/Chart.yaml", Name: "amf", Version: "0.3.0"},
		{Dir: "omec/smf", File: "omec/smf/Chart.yaml", Name: "smf", Version: "0.5.0", DepsFile: "omec/smf/Chart.yaml",
			Dependencies: []charts.Dependency{{Name: "common", Version: "1.0.0", Repository: "file://../../common"}}},
		{Dir: "sdcore", File: "sdcore/Chart.yaml", Name: "sdcore", Version: "2.0.0", DepsFile: "sdcore/requirements.yaml",
			Dependencies: []charts.Dependency{
				{Name: "amf", Version: "~0.3.0", Repository: "file://../omec/amf"},
				{Name: "smf", Version: "0.5.0", Repository: "file://../omec/smf"},
				{Name: "redis", Version: "17.0.0", Repository: "https://charts.bitnami.com/bitnami"},
				{Name: "abs", Version: "1.0.0", Repository: "file:///srv/charts/abs"},
			}},
	}
}

func TestFileDependents(t *testing.T) {
	got := fileDependents(umbrella())
	want := map[string][]string{"common": {"omec/smf"}, "omec/amf": {"sdcore"}, "omec/smf": {"sdcore"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fileDependents = %v, want %v (no https://, no absolute file://)", got, want)
	}
}

// reads answers planBumps' reads from maps and records what was asked.
type reads struct {
	base   map[string]string // dir -> version at the base; missing: new
	used   map[string]map[string]string
	asked  []string
	failOn string
}

func (r *reads) chartReads() chartReads {
	return chartReads{
		baseVersion: func(dir string) (string, bool, error) {
			if dir == r.failOn {
				return "", false, errors.New("unreadable")
			}
			v, ok := r.base[dir]
			return v, ok, nil
		},
		used: func(name string) (map[string]string, error) {
			r.asked = append(r.asked, name)
			return r.used[name], nil
		},
	}
}

func TestPlanBumps(t *testing.T) {
	base := map[string]string{"common": "1.0.0", "omec/amf": "0.3.0", "omec/smf": "0.5.0", "sdcore": "2.0.0"}
	t.Run("a touched chart bumps its dependents transitively", func(t *testing.T) {
		rd := &reads{base: base, used: map[string]map[string]string{"smf": {"0.5.1": "on master", "0.5.2": "on master"}}}
		pr := &plan.Repo{}
		next, err := planBumps(umbrella(), map[string]string{"common": "fix picked"}, rd.chartReads(), pr)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]ChartBump{
			"common":   {Dir: "common", Name: "common", Old: "1.0.0", New: "1.0.1", Why: "fix picked"},
			"omec/smf": {Dir: "omec/smf", Name: "smf", Old: "0.5.0", New: "0.5.3", Why: "its file:// pin on common follows 1.0.1", Skipped: "not 0.5.1: 0.5.1..0.5.2 on master"},
			"sdcore":   {Dir: "sdcore", Name: "sdcore", Old: "2.0.0", New: "2.0.1", Why: "its file:// pin on smf follows 0.5.3"},
		}
		if !reflect.DeepEqual(next, want) {
			t.Errorf("planBumps:\n got %+v\nwant %+v", next, want)
		}
		if !slices.Equal(rd.asked, []string{"common", "smf", "sdcore"}) {
			t.Errorf("used versions asked for %v; want each bumped chart once, in walk order", rd.asked)
		}
		if len(pr.Problems) != 0 || len(pr.Notes) != 1 || pr.Notes[0] != "smf 0.5.0 -> 0.5.3: not 0.5.1: 0.5.1..0.5.2 on master" {
			t.Errorf("notes %q, problems %q", pr.Notes, pr.Problems)
		}
	})
	t.Run("two touched charts share a dependent: it is bumped once", func(t *testing.T) {
		rd := &reads{base: base}
		next, err := planBumps(umbrella(), map[string]string{"omec/amf": "a", "omec/smf": "b"}, rd.chartReads(), &plan.Repo{})
		if err != nil {
			t.Fatal(err)
		}
		if len(next) != 3 || next["sdcore"].New != "2.0.1" || next["sdcore"].Why != "its file:// pin on amf follows 0.3.1" {
			t.Errorf("planBumps = %+v", next)
		}
	})
	t.Run("what cannot be bumped", func(t *testing.T) {
		list := append(umbrella(),
			charts.Chart{Dir: "broken", File: "broken/Chart.yaml", Err: errors.New("broken/Chart.yaml: line 3: mapping values are not allowed")},
			charts.Chart{Dir: "newchart", File: "newchart/Chart.yaml", Name: "newchart", Version: "0.1.0"},
			charts.Chart{Dir: "odd", File: "odd/Chart.yaml", Version: "1.0"})
		b := map[string]string{"odd": "1.0"}
		for k, v := range base {
			b[k] = v
		}
		rd := &reads{base: b}
		pr := &plan.Repo{}
		next, err := planBumps(list, map[string]string{"broken": "x", "newchart": "x", "odd": "x", "gone": "x"}, rd.chartReads(), pr)
		if err != nil || len(next) != 0 {
			t.Fatalf("nothing is bumped: %+v %v", next, err)
		}
		problems := strings.Join(pr.Problems, "\n")
		testutil.ContainsAll(t, "problems", problems, "mapping values are not allowed; fix the chart before it can be bumped", `odd/Chart.yaml: version "1.0" at the branch's tip is not SemVer; bump it by hand`)
		if len(pr.Problems) != 2 || !slices.Equal(pr.Notes, []string{"newchart/Chart.yaml is new on the branch; it keeps its version 0.1.0"}) {
			t.Errorf("problems %q, notes %q", pr.Problems, pr.Notes)
		}
	})
	t.Run("a read that fails is an error", func(t *testing.T) {
		rd := &reads{base: base, failOn: "omec/smf"}
		if _, err := planBumps(umbrella(), map[string]string{"common": "x"}, rd.chartReads(), &plan.Repo{}); err == nil {
			t.Error("the dependent's unreadable base version must stop the plan")
		}
	})
	t.Run("a dependency cycle ends", func(t *testing.T) {
		list := []charts.Chart{
			{Dir: "a", File: "a/Chart.yaml", Name: "a", Version: "1.0.0", Dependencies: []charts.Dependency{{Name: "b", Repository: "file://../b"}}},
			{Dir: "b", File: "b/Chart.yaml", Name: "b", Version: "1.0.0", Dependencies: []charts.Dependency{{Name: "a", Repository: "file://../a"}}},
		}
		rd := &reads{base: map[string]string{"a": "1.0.0", "b": "1.0.0"}}
		next, err := planBumps(list, map[string]string{"a": "x"}, rd.chartReads(), &plan.Repo{})
		if err != nil || len(next) != 2 {
			t.Errorf("a cycle bumps each chart once: %+v %v", next, err)
		}
	})
}

func TestNextChartBump(t *testing.T) {
	c := charts.Chart{Dir: "omec/omec-control-plane"}
	b, err := nextChartBump(c, "4.1.0", map[string]string{"4.1.1": "on master", "4.1.2": "on master", "4.1.3": "in the chart repository"}, "fix")
	want := ChartBump{Dir: c.Dir, Name: "omec-control-plane", Old: "4.1.0", New: "4.1.4", Why: "fix",
		Skipped: "not 4.1.1: 4.1.1..4.1.2 on master; 4.1.3 in the chart repository"}
	if err != nil || b != want {
		t.Errorf("nextChartBump = %+v %v\nwant %+v", b, err, want)
	}
	if b.reason() != "fix; not 4.1.1: 4.1.1..4.1.2 on master; 4.1.3 in the chart repository" {
		t.Errorf("reason = %q", b.reason())
	}
	b, err = nextChartBump(charts.Chart{Dir: "x", Name: "app"}, "1.2.3-dev", nil, "fix")
	if err != nil || b.New != "1.2.3" || b.Skipped != "" || b.reason() != "fix" {
		t.Errorf("a pre-release releases itself: %+v %v", b, err)
	}
	if _, err := nextChartBump(c, "v1.0.0", nil, "fix"); err == nil {
		t.Error("a version that is not SemVer cannot be bumped")
	}
}

func TestPinEditsAndApply(t *testing.T) {
	list := umbrella()
	byDir := chartsByDir(list)
	next := map[string]ChartBump{
		"omec/amf": {Dir: "omec/amf", Name: "amf", Old: "0.3.0", New: "0.4.0"},
		"omec/smf": {Dir: "omec/smf", Name: "smf", Old: "0.5.0", New: "0.5.1"},
	}
	reqs := "dependencies:\n  - name: amf\n    version: \"~0.3.0\"   # a range\n    repository: file://../omec/amf\n" +
		"  - name: smf\n    version: 0.5.0\n    repository: file://../omec/smf\n" +
		"  - name: redis\n    version: 17.0.0\n    repository: https://charts.bitnami.com/bitnami\n"
	pr := &plan.Repo{}
	edits := pinEdits(byDir["sdcore"], []byte(reqs), byDir, next, pr)
	if len(edits) != 1 || edits[0].file != "sdcore/requirements.yaml" || edits[0].label != "dependency smf version" || edits[0].edit.Value != "0.5.1" ||
		!slices.Equal(edits[0].edit.Path, []string{"dependencies", "1", "version"}) {
		t.Errorf("pinEdits = %+v", edits)
	}
	if len(pr.Problems) != 1 || !strings.Contains(pr.Problems[0], "sdcore/requirements.yaml:3: dependency amf (file://../omec/amf)") {
		t.Errorf("a range 0.4.0 falls outside of is a problem naming file and line: %q", pr.Problems)
	}

	fe := versionEdits(byDir, next)
	fe.add(edits...)
	if len(fe["omec/amf/Chart.yaml"]) != 1 || len(fe["sdcore/requirements.yaml"]) != 1 {
		t.Fatalf("edits by file: %+v", fe)
	}
	f, changed, err := applyEdits("sdcore/requirements.yaml", []byte(reqs), fe["sdcore/requirements.yaml"])
	if err != nil || !changed {
		t.Fatalf("applyEdits: %v %v", changed, err)
	}
	if want := strings.Replace(reqs, "version: 0.5.0", "version: 0.5.1", 1); string(f.New) != want {
		t.Errorf("only the pin's bytes change:\n%s\nwant:\n%s", f.New, want)
	}
	if len(f.Changes) != 1 || f.Changes[0] != (plan.Change{Line: 6, Field: "dependency smf version", Old: "0.5.0", New: "0.5.1"}) {
		t.Errorf("changes %+v", f.Changes)
	}
	// Applied again: nothing changes.
	if _, changed, err := applyEdits("sdcore/requirements.yaml", f.New, fe["sdcore/requirements.yaml"]); changed || err != nil {
		t.Errorf("a file already at the values is unchanged: %v %v", changed, err)
	}
	if _, _, err := applyEdits("x.yaml", []byte("a: [1, 2\n"), fe["sdcore/requirements.yaml"]); err == nil {
		t.Error("a file that does not parse is an error")
	}
}
