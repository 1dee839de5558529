package chartpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// umbrellaRepo is a charts repo with an umbrella over a file://
// subchart, a vendored subchart, .helmignore rules, a schema, extra
// files, a symlink inside the repo and nested groups.
func umbrellaRepo(t *testing.T) *gitRepo {
	r := newRepo(t)
	r.commit("charts", map[string]string{
		"README.md":                       "charts\n",
		"common/_helpers.tpl":             "{{- define \"common.name\" -}}{{ .Chart.Name }}{{- end -}}\n",
		"omec/hss/Chart.yaml":             chartFile("hss", "1.2.3"),
		"omec/hss/values.yaml":            "image:\n  repository: registry.example.org/omec/hss\n  tag: 1.2.3\n",
		"omec/hss/values.schema.json":     `{"type": "object"}` + "\n",
		"omec/hss/templates/deploy.yaml":  deployment,
		"omec/hss/templates/_helpers.tpl": "-> ../../../common/_helpers.tpl",
		"omec/hss/templates/NOTES.txt":    "hss {{ .Chart.Version }}\n",
		"omec/hss/files/config.json":      "{\"a\": 1}\n",
		"omec/hss/.helmignore":            "# comments\n*.bak\nci/\n",
		"omec/hss/ci/test-values.yaml":    "x: 1\n",
		"omec/hss/notes.bak":              "ignored\n",
		"omec/hss/templates/.hidden.yaml": "ignored by helm's default rule\n",
		"umbrella/Chart.yaml": chartFile("umbrella", "2.0.0",
			dep("hss", "~1.2.0", "file://../omec/hss"),
			dep("telegraf", "1.0.0", "")),
		"umbrella/values.yaml":                       "hss:\n  image:\n    tag: 1.2.3\n",
		"umbrella/templates/cm.yaml":                 "kind: ConfigMap\n",
		"umbrella/charts/telegraf/Chart.yaml":        chartFile("telegraf", "1.0.0"),
		"umbrella/charts/telegraf/values.yaml":       "a: 1\n",
		"umbrella/charts/telegraf/templates/ds.yaml": "kind: DaemonSet\n",
		"umbrella/charts/telegraf/templates/_x.tpl":  "{{- define \"x\" -}}x{{- end -}}\n",
		"umbrella/charts/telegraf/README.md":         "telegraf\n",
		"umbrella/charts/telegraf/ci/values-ci.yaml": "b: 2\n",
		"umbrella/charts/telegraf/crds/crd.yaml":     "kind: CustomResourceDefinition\n",
	})
	return r
}

// helmWay builds the chart at dir of the worktree the way `helm
// dependency build` + `helm package` do: file:// dependencies saved into
// charts/, the chart loaded from its folder, saved with chartutil.Save,
// and loaded back from that archive.
func helmWay(t *testing.T, worktree, dir string) (*chart.Chart, []string) {
	t.Helper()
	tmp := t.TempDir()
	cp := exec.Command("cp", "-rL", filepath.Join(worktree, dir), filepath.Join(tmp, "chart"))
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c, err := loader.LoadDir(filepath.Join(tmp, "chart"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range c.Metadata.Dependencies {
		if rel, ok := strings.CutPrefix(d.Repository, "file://"); ok {
			sub, err := loader.LoadDir(filepath.Join(worktree, dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := chartutil.Save(sub, filepath.Join(tmp, "chart", "charts")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c, err = loader.LoadDir(filepath.Join(tmp, "chart")); err != nil {
		t.Fatal(err)
	}
	file, err := chartutil.Save(c, filepath.Join(tmp, "out"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	back, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	names, _ := entries(t, data)
	return back, names
}

type tarEntry struct {
	hdr  *tar.Header
	data []byte
}

// entries lists the names of a .tgz and its headers.
func entries(t *testing.T, data []byte) ([]string, []tarEntry) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var out []tarEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		names = append(names, h.Name)
		out = append(out, tarEntry{h, body})
	}
	return names, out
}

// sameChart compares two loaded charts file by file, subcharts by name.
func sameChart(t *testing.T, where string, got, want *chart.Chart) {
	t.Helper()
	if !reflect.DeepEqual(got.Metadata, want.Metadata) {
		t.Errorf("%s: metadata\n got %+v\nwant %+v", where, got.Metadata, want.Metadata)
	}
	if !reflect.DeepEqual(got.Lock, want.Lock) {
		t.Errorf("%s: lock\n got %+v\nwant %+v", where, got.Lock, want.Lock)
	}
	if !bytes.Equal(got.Schema, want.Schema) {
		t.Errorf("%s: schema %q, want %q", where, got.Schema, want.Schema)
	}
	if !reflect.DeepEqual(got.Values, want.Values) {
		t.Errorf("%s: values %v, want %v", where, got.Values, want.Values)
	}
	files := func(fs []*chart.File) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			m[f.Name] = string(f.Data)
		}
		return m
	}
	for _, kind := range []struct {
		name      string
		got, want []*chart.File
	}{{"templates", got.Templates, want.Templates}, {"files", got.Files, want.Files}, {"raw", got.Raw, want.Raw}} {
		if g, w := files(kind.got), files(kind.want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s\n got %v\nwant %v", where, kind.name, g, w)
		}
	}
	byName := func(cs []*chart.Chart) map[string]*chart.Chart {
		m := map[string]*chart.Chart{}
		for _, c := range cs {
			m[c.Name()] = c
		}
		return m
	}
	g, w := byName(got.Dependencies()), byName(want.Dependencies())
	if len(g) != len(w) {
		t.Errorf("%s: %d subcharts, want %d", where, len(g), len(w))
	}
	for n, wc := range w {
		gc, ok := g[n]
		if !ok {
			t.Errorf("%s: subchart %s missing", where, n)
			continue
		}
		sameChart(t, where+"/charts/"+n, gc, wc)
	}
}

func TestPackageEqualsHelmSave(t *testing.T) {
	r := umbrellaRepo(t)
	pkgs := packageAll(t, r.dir, nil)
	if got := slices.Sorted(mapsKeys(pkgs)); !reflect.DeepEqual(got, []string{"omec/hss", "umbrella"}) {
		t.Fatalf("charts found: %v", got)
	}
	for dir, p := range pkgs {
		ours, err := loader.LoadArchive(bytes.NewReader(p.Data))
		if err != nil {
			t.Fatalf("%s: helm's loader refuses the package: %v", dir, err)
		}
		want, wantNames := helmWay(t, r.dir, dir)
		sameChart(t, dir, ours, want)
		names, _ := entries(t, p.Data)
		sort.Strings(wantNames)
		if !reflect.DeepEqual(names, wantNames) {
			t.Errorf("%s: entries\n got %v\nwant %v", dir, names, wantNames)
		}
	}
	_, hss := entries(t, pkgs["omec/hss"].Data)
	for _, e := range hss {
		if strings.Contains(e.hdr.Name, "notes.bak") || strings.Contains(e.hdr.Name, "ci/") || strings.Contains(e.hdr.Name, ".hidden") {
			t.Errorf("%s is excluded by .helmignore but packaged", e.hdr.Name)
		}
	}
	if !slices.ContainsFunc(hss, func(e tarEntry) bool {
		return e.hdr.Name == "hss/templates/_helpers.tpl" && strings.Contains(string(e.data), "common.name")
	}) {
		t.Errorf("the symlinked _helpers.tpl is not packaged with its target's content")
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestArchiveIsReproducible(t *testing.T) {
	r := umbrellaRepo(t)
	chartTime := r.when()
	first := packageAll(t, r.dir, nil)
	second := packageAll(t, r.dir, nil)
	// A clone elsewhere, checked out later, packs the same bytes.
	clone := filepath.Join(t.TempDir(), "clone")
	gitIn(t, "", r.clock+3600, "clone", "-q", r.dir, clone)
	third := packageAll(t, clone, nil)
	for dir, p := range first {
		if !bytes.Equal(p.Data, second[dir].Data) || !bytes.Equal(p.Data, third[dir].Data) {
			t.Errorf("%s: two packagings of one commit differ", dir)
		}
		names, ents := entries(t, p.Data)
		if !slices.IsSorted(names) {
			t.Errorf("%s: entries not sorted: %v", dir, names)
		}
		for _, e := range ents {
			h := e.hdr
			if h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Typeflag != tar.TypeReg {
				t.Errorf("%s: %s: mode %o uid %d gid %d %q %q type %c", dir, h.Name, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.Typeflag)
			}
			if !h.ModTime.Equal(chartTime) {
				t.Errorf("%s: %s: mtime %s, want the chart's commit time %s", dir, h.Name, h.ModTime, chartTime)
			}
		}
		zr, err := gzip.NewReader(bytes.NewReader(p.Data))
		if err != nil {
			t.Fatal(err)
		}
		if !zr.ModTime.IsZero() || zr.OS != 255 || zr.Name != "" {
			t.Errorf("%s: gzip header time %v OS %d name %q", dir, zr.ModTime, zr.OS, zr.Name)
		}
	}

	// A commit elsewhere in the repo changes no package.
	r.commit("docs", map[string]string{"README.md": "more\n"})
	after := packageAll(t, r.dir, nil)
	for dir, p := range first {
		if after[dir].Digest != p.Digest {
			t.Errorf("%s: a commit outside the chart changed its digest", dir)
		}
	}
	// One template changed: hss and the umbrella that packs it change,
	// with the new commit's time.
	r.commit("fix", map[string]string{"omec/hss/templates/NOTES.txt": "hss {{ .Chart.Version }}!\n"})
	changed := packageAll(t, r.dir, nil)
	for dir, p := range first {
		if changed[dir].Digest == p.Digest {
			t.Errorf("%s: digest unchanged after its content changed", dir)
		}
		if !changed[dir].ModTime.Equal(r.when()) {
			t.Errorf("%s: mtime %s, want %s", dir, changed[dir].ModTime, r.when())
		}
	}
}

func TestModTimesFollowTheFirstParent(t *testing.T) {
	r := newRepo(t)
	r.commit("a", map[string]string{"a/Chart.yaml": chartFile("a", "1.0.0"), "b/Chart.yaml": chartFile("b", "1.0.0")})
	base := r.when()
	r.git("checkout", "-q", "-b", "side")
	r.commit("side change", map[string]string{"b/values.yaml": "x: 1\n"})
	sideTime := r.when()
	r.git("checkout", "-q", "main")
	r.clock += 600
	r.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
	mergeTime := r.when()
	tr := tree(t, r.dir)
	got, err := tr.ModTimes(context.Background(), map[string][]string{"a": {"a"}, "b": {"b"}, "both": {"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if !got["a"].Equal(base) || !got["b"].Equal(mergeTime) || !got["both"].Equal(mergeTime) || got["b"].Equal(sideTime) {
		t.Errorf("mod times %v; want a at %s, b and both at the merge %s", got, base, mergeTime)
	}
}

func TestShallowCloneIsUndecided(t *testing.T) {
	r := newRepo(t)
	r.commit("a", map[string]string{"a/Chart.yaml": chartFile("a", "1.0.0")})
	r.commit("b", map[string]string{"b/Chart.yaml": chartFile("b", "1.0.0")})
	clone := filepath.Join(t.TempDir(), "shallow")
	gitIn(t, "", r.clock, "clone", "-q", "--depth=1", "file://"+r.dir, clone)
	tr := tree(t, clone)
	_, err := tr.ModTimes(context.Background(), map[string][]string{"a": {"a"}})
	var se *ShallowError
	if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("shallow clone: err %v, want a ShallowError", err)
	}
	// b changed in the clone's one commit: that is known.
	if got, err := tr.ModTimes(context.Background(), map[string][]string{"b": {"b"}}); err == nil {
		t.Errorf("b's time in a one-commit shallow clone: %v, want undecided (the boundary commit adds every file)", got)
	}
}
