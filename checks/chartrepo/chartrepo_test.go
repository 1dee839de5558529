package chartrepo_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/checks/chartrepo/repotest"
)

// holding is one question to a chart repository and its answer.
type holding struct {
	chart, version string
	want           bool
}

// wantHolds asks r every question of rows.
func wantHolds(t *testing.T, r chartrepo.Repository, rows []holding) {
	t.Helper()
	for _, c := range rows {
		if got := has(t, r, c.chart, c.version); got != c.want {
			t.Errorf("%s: Has(%s, %s) = %v, want %v", r, c.chart, c.version, got, c.want)
		}
	}
}

func has(t *testing.T, r chartrepo.Repository, chart, version string) bool {
	t.Helper()
	ok, err := r.Has(context.Background(), chart, version)
	if err != nil {
		t.Fatalf("%s: Has(%s, %s): %v", r, chart, version, err)
	}
	return ok
}

func TestHTTPIndexExactVersions(t *testing.T) {
	srv := repotest.ServeIndex(t, repotest.Index(map[string][]string{
		"onos":         {"1.2.3", "1.2.4+build.5"},
		"onos-progran": {"0.1.0"},
	}))
	for _, ref := range []string{srv.URL + "/charts", srv.URL + "/charts/", srv.URL + "/charts/index.yaml"} {
		r, err := chartrepo.Open(ref, chartrepo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantHolds(t, r, []holding{
			{"onos", "1.2.3", true},
			{"onos", "1.2", false}, // no constraint matching
			{"onos", "1.2.4", false},
			{"onos", "1.2.4+build.5", true},
			{"onos", "0.1.0", false}, // another chart's version
			{"onos-progran", "0.1.0", true},
			{"missing", "1.2.3", false},
		})
	}
	// 3 references, each fetched once however many questions were asked.
	if n := srv.Requests.Load(); n != 3 {
		t.Errorf("index fetched %d times for 3 repositories, want 3", n)
	}
}

func TestLocalIndex(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "repo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A hand-written index with an unquoted version and extra keys.
	idx := "apiVersion: v1\nentries:\n  hss:\n  - name: hss\n    version: 2.0.0\n    appVersion: 1.0\n    urls: [hss-2.0.0.tgz]\n  unversioned: []\n"
	if err := os.WriteFile(filepath.Join(dir, "index.yaml"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, base string }{
		{dir, ""},
		{filepath.Join(dir, "index.yaml"), ""},
		{"file://" + dir, ""},
		{"repo", root}, // relative to the workspace root
		{"repo/index.yaml", root},
	} {
		r, err := chartrepo.Open(tc.ref, chartrepo.Options{BaseDir: tc.base})
		if err != nil {
			t.Fatal(err)
		}
		if !has(t, r, "hss", "2.0.0") || has(t, r, "hss", "2.0.1") {
			t.Errorf("%s: want hss 2.0.0 listed and 2.0.1 not", tc.ref)
		}
	}
}

func TestIndexProblemsAreErrors(t *testing.T) {
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(bad, []byte("entries: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notIndex := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(notIndex, []byte("foo: bar\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := repotest.ServeIndex(t, repotest.Index(nil))
	for _, tc := range []struct{ ref, want string }{
		{repotest.Unreachable(t) + "/charts", "connection refused"},
		{srv.URL + "/elsewhere", "404 Not Found; expected 200 OK"},
		{bad, bad + ": "},
		{notIndex, "expected a Helm repository index"},
		{filepath.Join(t.TempDir(), "nothing"), "no such file"},
	} {
		r, err := chartrepo.Open(tc.ref, chartrepo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Has(ctx, "x", "1.0.0")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Has error = %v, want it to contain %q", tc.ref, err, tc.want)
		}
	}
	if _, err := chartrepo.Open("s3://bucket/charts", chartrepo.Options{}); err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
		t.Errorf("Open(s3://...) error = %v, want unsupported scheme", err)
	}
}

func TestPasswordNotShown(t *testing.T) {
	u := strings.Replace(repotest.Unreachable(t), "http://", "http://ci:s3cret@", 1)
	r, err := chartrepo.Open(u+"/charts", chartrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Has(context.Background(), "x", "1.0.0")
	if err == nil {
		t.Fatal("want an error from an unreachable repository")
	}
	for _, s := range []string{r.String(), err.Error()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("password shown in %q", s)
		}
	}
}

func TestOCIRepository(t *testing.T) {
	ctx := context.Background()
	host := repotest.Registry(t)
	if err := repotest.PushChart(ctx, host, "aether/charts", "onos", "1.2.3"); err != nil {
		t.Fatal(err)
	}
	if err := repotest.PushChart(ctx, host, "aether/charts", "onos", "1.3.0+meta.1"); err != nil {
		t.Fatal(err)
	}
	r, err := chartrepo.Open("oci://"+host+"/aether/charts", chartrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantHolds(t, r, []holding{
		{"onos", "1.2.3", true},
		{"onos", "1.2", false},
		{"onos", "1.3.0+meta.1", true}, // stored as tag 1.3.0_meta.1
		{"onos", "1.3.0", false},
		{"onos-progran", "1.2.3", false}, // never pushed: the registry does not know the repository
	})
	// No namespace: charts sit at the registry root.
	if err := repotest.PushChart(ctx, host, "", "hss", "0.1.0"); err != nil {
		t.Fatal(err)
	}
	root, err := chartrepo.Open("oci://"+host, chartrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !has(t, root, "hss", "0.1.0") {
		t.Error("oci://host without namespace: want hss 0.1.0 found")
	}
}

func TestOCIUnreachable(t *testing.T) {
	host := strings.TrimPrefix(repotest.Unreachable(t), "http://")
	r, err := chartrepo.Open("oci://"+host+"/charts", chartrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Has(context.Background(), "onos", "1.0.0"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Has on an unreachable registry: error = %v, want connection refused", err)
	}
}

func TestOCIBadReference(t *testing.T) {
	for _, ref := range []string{"oci://", "oci:///charts"} {
		if _, err := chartrepo.Open(ref, chartrepo.Options{}); err == nil {
			t.Errorf("Open(%q): want an error", ref)
		}
	}
}

// Versions lists exactly what a repository holds for one chart: every
// index.yaml entry, and every OCI tag with Helm's '_' read back as '+'.
func TestVersions(t *testing.T) {
	ctx := context.Background()
	srv := repotest.ServeIndex(t, repotest.Index(map[string][]string{
		"5g-control-plane": {"4.1.0", "4.1.4", "4.2.0+build.1"},
		"sd-core":          {"4.1.0"},
	}))
	idx, err := chartrepo.Open(srv.URL+"/charts", chartrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	host := repotest.Registry(t)
	for _, v := range []string{"4.1.0", "4.1.4", "4.2.0+build.1"} {
		if err := repotest.PushChart(ctx, host, "sdcore", "5g-control-plane", v); err != nil {
			t.Fatal(err)
		}
	}
	oci, err := chartrepo.Open("oci://"+host+"/sdcore", chartrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []chartrepo.Repository{idx, oci} {
		got, err := chartrepo.Versions(ctx, r, "5g-control-plane")
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		slices.Sort(got)
		if strings.Join(got, " ") != "4.1.0 4.1.4 4.2.0+build.1" {
			t.Errorf("%s: versions of 5g-control-plane = %q", r, got)
		}
		none, err := chartrepo.Versions(ctx, r, "never-published")
		if err != nil || len(none) != 0 {
			t.Errorf("%s: a chart never published has no versions, got %q, %v", r, none, err)
		}
	}
	gone, _ := chartrepo.Open(repotest.Unreachable(t)+"/charts", chartrepo.Options{})
	if _, err := chartrepo.Versions(ctx, gone, "sd-core"); err == nil {
		t.Error("an unreachable repository must be an error, not an empty list")
	}
}
