package chartpublish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/release/chartpkg"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// A dry run prints every package with its digest and destination and
// writes nothing; -push publishes every chart, nested ones included, the
// subcharts before the umbrella; a rerun is a no-op.
func TestPublishToGitSite(t *testing.T) {
	fx := newFixture(t, platform())
	ws := fx.gitWS()

	out, err := run(t, ws, Options{DryRun: true, Push: true})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if fx.tip("gh-pages") != "" {
		t.Fatal("a dry run created the site branch")
	}
	testutil.ContainsAll(t, "dry run output", out, "publish hss 1.2.3  sha256:", "-> hss-1.2.3.tgz", "publish sd-core 2.0.0", "after hss 1.2.3, mme 0.4.0", "publish web 0.1.0", "4 chart package(s) to publish")
	// The umbrella comes after both subcharts.
	if i, j := strings.Index(out, "publish mme"), strings.Index(out, "publish sd-core"); i < 0 || j < i {
		t.Errorf("sd-core is not planned after mme:\n%s", out)
	}
	// Without -push nothing is written either.
	if out, err := run(t, ws, Options{}); err != nil || fx.tip("gh-pages") != "" || !strings.Contains(out, "dry run") {
		t.Fatalf("without -push: %v, branch %q\n%s", err, fx.tip("gh-pages"), out)
	}

	out, err = run(t, ws, Options{Push: true})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	tip := fx.tip("gh-pages")
	if tip == "" {
		t.Fatalf("no gh-pages branch after the push:\n%s", out)
	}
	idx := fx.siteIndex("gh-pages", "")
	planned := digestRE.FindAllString(out, -1)
	for _, cv := range [][2]string{{"hss", "1.2.3"}, {"mme", "0.4.0"}, {"sd-core", "2.0.0"}, {"web", "0.1.0"}} {
		v := idx.Lookup(cv[0], cv[1])
		if v == nil {
			t.Errorf("index.yaml lacks %s %s", cv[0], cv[1])
			continue
		}
		file := cv[0] + "-" + cv[1] + ".tgz"
		data := fx.siteFile("gh-pages", file)
		if chartpkg.Digest(data) != v.Digest || !slices.Contains(planned, v.Digest) || !slices.Equal(v.URLs, []string{file}) {
			t.Errorf("%s: digest %s in index, %s in the file, urls %v; planned %v", file, v.Digest, chartpkg.Digest(data), v.URLs, planned)
		}
		c := loadPackage(t, data)
		if c.Name() != cv[0] || c.Metadata.Version != cv[1] {
			t.Errorf("%s loads as %s %s", file, c.Name(), c.Metadata.Version)
		}
	}
	if subs := loadPackage(t, fx.siteFile("gh-pages", "sd-core-2.0.0.tgz")).Dependencies(); len(subs) != 2 {
		t.Errorf("the umbrella holds %d subcharts, want hss and mme", len(subs))
	}

	// Rerun: nothing to do, the branch does not move.
	out, err = run(t, ws, Options{Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") || fx.tip("gh-pages") != tip {
		t.Errorf("rerun: %v, tip %s -> %s\n%s", err, tip, fx.tip("gh-pages"), out)
	}
	if !strings.Contains(out, "done: hss 1.2.3 is published with the same digest") {
		t.Errorf("rerun does not say what is published:\n%s", out)
	}
}

// A chart changed under a version already published is refused with
// both digests, and the site is left as it was; so is a package file
// that index.yaml does not list but that holds other content.
func TestChangeUnderAPublishedVersionIsRefused(t *testing.T) {
	fx, ws := publishedToGit(t)
	tip := fx.tip("gh-pages")
	published := fx.siteIndex("gh-pages", "").Lookup("mme", "0.4.0").Digest
	fx.commit("change mme without a bump", map[string]string{"omec/mme/templates/cm.yaml": "kind: ConfigMap\ndata: {a: b}\n", "apps/web/Chart.yaml": chartYAML("web", "0.2.0")})

	out, err := run(t, ws, Options{Push: true})
	var refused *plan.Refused
	if !errors.As(err, &refused) || plan.ExitCode(err) != plan.ExitFailed {
		t.Fatalf("want a refusal (exit 1), got %v\n%s", err, out)
	}
	ds := digestRE.FindAllString(err.Error(), -1)
	if !slices.Contains(ds, published) || len(ds) < 2 || !strings.Contains(err.Error(), "mme 0.4.0") {
		t.Errorf("refusal does not name both digests of mme 0.4.0 (%s): %v", published, err)
	}
	// The umbrella embeds mme, so it changed too, and web's new version
	// waits as well: nothing was written.
	if fx.tip("gh-pages") != tip || fx.siteIndex("gh-pages", "").Lookup("web", "0.2.0") != nil {
		t.Errorf("a refused run wrote to the site")
	}
}

// Back-to-back merges: whatever the last run missed is published now,
// not only what HEAD^ changed.
func TestEverythingMissedIsPublished(t *testing.T) {
	fx, ws := publishedToGit(t)
	fx.commit("bump web", map[string]string{"apps/web/Chart.yaml": chartYAML("web", "0.2.0")})
	fx.commit("new chart", map[string]string{"apps/api/Chart.yaml": chartYAML("api", "1.0.0"), "apps/api/templates/d.yaml": "kind: Deployment\n"})
	fx.commit("docs", map[string]string{"README.md": "more\n"})
	out, err := run(t, ws, Options{Push: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	idx := fx.siteIndex("gh-pages", "")
	for _, cv := range [][2]string{{"web", "0.2.0"}, {"web", "0.1.0"}, {"api", "1.0.0"}, {"hss", "1.2.3"}} {
		if idx.Lookup(cv[0], cv[1]) == nil {
			t.Errorf("index.yaml lacks %s %s:\n%s", cv[0], cv[1], out)
		}
	}
	if got := idx.Entries["web"]; len(got) != 2 || got[0].Version != "0.2.0" {
		t.Errorf("web entries not highest first: %+v", got)
	}
}

// A file:// subchart bumped without bumping its umbrella changes the
// umbrella's package under its published version: the umbrella is
// refused, and so nothing is written.
func TestSubchartBumpWithoutUmbrellaBumpIsRefused(t *testing.T) {
	fx, ws := publishedToGit(t)
	tip := fx.tip("gh-pages")
	fx.commit("bump hss", map[string]string{"omec/hss/Chart.yaml": chartYAML("hss", "1.2.4")})
	out, err := run(t, ws, Options{Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(err.Error(), "sd-core 2.0.0 is already in") || fx.tip("gh-pages") != tip {
		t.Fatalf("want sd-core refused and nothing written: %v\n%s", err, out)
	}
	fx.commit("bump sd-core", map[string]string{"sdcore/Chart.yaml": chartYAML("sd-core", "2.0.1",
		dep("hss", "~1.2.0", "file://../omec/hss"), dep("mme", "0.4.0", "file://../omec/mme"))})
	if out, err := run(t, ws, Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	idx := fx.siteIndex("gh-pages", "")
	if idx.Lookup("hss", "1.2.4") == nil || idx.Lookup("sd-core", "2.0.1") == nil || idx.Lookup("sd-core", "2.0.0") == nil {
		t.Errorf("entries: %+v", idx.Entries)
	}
}

// Two publishers that planned on the same tip: the second push is
// rejected, and the retry merges so that no entry is lost. Then several
// publishers at once, each with its own charts.
func TestConcurrentPublishersLoseNoEntry(t *testing.T) {
	a := newFixture(t, map[string]string{"a/Chart.yaml": chartYAML("alpha", "1.0.0"), "a/templates/x.yaml": "kind: A\n"})
	wsA := a.gitWS()
	// b publishes to a's site.
	b := newFixture(t, map[string]string{"b/Chart.yaml": chartYAML("beta", "1.0.0"), "b/templates/x.yaml": "kind: B\n"})
	wsB := b.ws("    git: file://" + a.site + "\n")

	ctx := context.Background()
	pa, err := Plan(ctx, wsA, Options{Push: true, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Plan(ctx, wsB, Options{Push: true, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// a publishes while b is between reading the branch and pushing.
	var aErr error
	pb.beforePush = func() {
		if pa != nil {
			aErr = pa.Apply(ctx, io.Discard)
			pa = nil
		}
	}
	var log strings.Builder
	if err := pb.Apply(ctx, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if aErr != nil {
		t.Fatal(aErr)
	}
	if !strings.Contains(log.String(), "moved since it was read") {
		t.Errorf("the second publisher did not meet the moved branch:\n%s", log.String())
	}
	idx := a.siteIndex("gh-pages", "")
	if idx.Lookup("alpha", "1.0.0") == nil || idx.Lookup("beta", "1.0.0") == nil {
		t.Fatalf("an entry was lost: %+v", idx.Entries)
	}

	// Four more publishers at the same time, one chart each.
	const n = 4
	var plans []*Publication
	for i := range n {
		f := newFixture(t, map[string]string{"c/Chart.yaml": chartYAML(fmt.Sprintf("c%d", i), "1.0.0"), "c/templates/x.yaml": "kind: C\n"})
		p, err := Plan(ctx, f.ws("    git: file://"+a.site+"\n"), Options{Push: true, Attempts: 20, RetryWait: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Apply(ctx, io.Discard)
		}()
	}
	wg.Wait()
	idx = a.siteIndex("gh-pages", "")
	for i := range n {
		if errs[i] != nil {
			t.Errorf("publisher %d: %v", i, errs[i])
		}
		if idx.Lookup(fmt.Sprintf("c%d", i), "1.0.0") == nil {
			t.Errorf("c%d lost from index.yaml", i)
		}
	}
	if idx.Lookup("alpha", "1.0.0") == nil || idx.Lookup("beta", "1.0.0") == nil {
		t.Errorf("earlier entries lost")
	}
	// The same commit published twice at once: the later one finds its
	// entries there and writes nothing.
	p1, _ := Plan(ctx, b.ws("    git: site.git\n"), Options{Push: true, RetryWait: time.Millisecond})
	p2, _ := Plan(ctx, b.ws("    git: site.git\n"), Options{Push: true, RetryWait: time.Millisecond})
	if err := p1.Apply(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	tip := b.tip("gh-pages")
	log.Reset()
	if err := p2.Apply(ctx, &log); err != nil || b.tip("gh-pages") != tip || !strings.Contains(log.String(), "already published by another run") {
		t.Errorf("second identical publisher: %v, tip moved %v\n%s", err, b.tip("gh-pages") != tip, log.String())
	}
}

// A folder inside the branch and a base URL; entries written by others
// (helm repo index) stay as they were.
func TestSiteDirBaseURLAndForeignEntries(t *testing.T) {
	fx := newFixture(t, map[string]string{"web/Chart.yaml": chartYAML("web", "0.1.0"), "web/templates/s.yaml": "kind: Service\n"})
	// Someone published by hand before relkit.
	seed := t.TempDir()
	gitAt(t, seed, fx.clock, "init", "-q", "-b", "gh-pages")
	foreign := "apiVersion: v1\nentries:\n  legacy:\n  - apiVersion: v1\n    name: legacy\n    version: 0.9.0\n    digest: 0123abcd\n    urls: [https://old.example.org/legacy-0.9.0.tgz]\n    created: \"2019-01-02T03:04:05.123456789Z\"\n    keywords: [old]\ngenerated: \"2019-01-02T03:04:05Z\"\n"
	writeFile(t, seed+"/repo/index.yaml", foreign)
	writeFile(t, seed+"/README.md", "site\n")
	gitAt(t, seed, fx.clock, "add", "-A")
	gitAt(t, seed, fx.clock, "commit", "-q", "-m", "site")
	gitAt(t, seed, fx.clock, "push", "-q", fx.site, "gh-pages")

	ws := fx.ws("    git: site.git\n    dir: repo\n    url: https://charts.example.org/repo/\n")
	if out, err := run(t, ws, Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	idx := fx.siteIndex("gh-pages", "repo")
	v := idx.Lookup("web", "0.1.0")
	if v == nil || !slices.Equal(v.URLs, []string{"https://charts.example.org/repo/web-0.1.0.tgz"}) {
		t.Fatalf("web entry %+v", v)
	}
	if chartpkg.Digest(fx.siteFile("gh-pages", "repo/web-0.1.0.tgz")) != v.Digest {
		t.Error("package and index digest differ")
	}
	raw := string(fx.siteFile("gh-pages", "repo/index.yaml"))
	if !strings.Contains(raw, "keywords:\n    - old") || !strings.Contains(raw, "2019-01-02T03:04:05.123456789Z") || !strings.Contains(raw, "https://old.example.org/legacy-0.9.0.tgz") {
		t.Errorf("the foreign entry changed:\n%s", raw)
	}
	if string(fx.siteFile("gh-pages", "README.md")) != "site\n" {
		t.Error("README.md of the site lost")
	}
}

// A dependency from a loopback https chart repository is fetched at its
// pinned version, checked against the repository's digest, and packaged
// under charts/; unreachable is exit 3 and writes nothing.
func TestDependencyFromAnHTTPSChartRepository(t *testing.T) {
	redis := newFixture(t, map[string]string{"redis/Chart.yaml": chartYAML("redis", "17.0.0"), "redis/templates/s.yaml": "kind: Service\n"})
	pub, err := Plan(context.Background(), redis.gitWS(), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	pkg := pub.Packages[0]
	var mu sync.Mutex
	down := false
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case down:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/stable/index.yaml":
			fmt.Fprintf(w, "apiVersion: v1\nentries:\n  redis:\n  - name: redis\n    version: 17.0.0\n    digest: %s\n    urls: [redis-17.0.0.tgz]\n", strings.TrimPrefix(pkg.Digest, "sha256:"))
		case r.URL.Path == "/stable/redis-17.0.0.tgz":
			w.Write(pkg.Data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	fx := newFixture(t, map[string]string{
		"app/Chart.yaml":         chartYAML("app", "0.1.0", dep("redis", "17.0.0", srv.URL+"/stable")),
		"app/templates/cm.yaml":  "kind: ConfigMap\n",
		"app/charts/.gitignore":  "*.tgz\n",
		"other/Chart.yaml":       chartYAML("other", "1.0.0"),
		"other/templates/x.yaml": "kind: X\n",
	})
	ws := fx.gitWS()
	mu.Lock()
	down = true
	mu.Unlock()
	out, err := run(t, ws, Options{Push: true, HTTPClient: srv.Client()})
	if plan.ExitCode(err) != plan.ExitUndecided || fx.tip("gh-pages") != "" {
		t.Fatalf("repository down: exit %d (%v), site %q\n%s", plan.ExitCode(err), err, fx.tip("gh-pages"), out)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	if out, err := run(t, ws, Options{Push: true, HTTPClient: srv.Client()}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c := loadPackage(t, fx.siteFile("gh-pages", "app-0.1.0.tgz"))
	if len(c.Dependencies()) != 1 || c.Dependencies()[0].Name() != "redis" || c.Dependencies()[0].Metadata.Version != "17.0.0" {
		t.Errorf("app's package does not hold redis 17.0.0: %v", c.Dependencies())
	}
	// The verified package is cached: the repository going away does not
	// change a rerun (nothing to do).
	srv.Close()
	if out, err := run(t, ws, Options{Push: true, HTTPClient: srv.Client()}); err != nil || !strings.Contains(out, "Nothing to do") {
		t.Errorf("rerun from the cache: %v\n%s", err, out)
	}
}

// An unreachable site is exit 3.
func TestSiteUnreachable(t *testing.T) {
	fx := newFixture(t, map[string]string{"web/Chart.yaml": chartYAML("web", "0.1.0")})
	ws := fx.ws("    git: file://" + fx.root + "/nothing-here.git\n")
	out, err := run(t, ws, Options{Push: true})
	if plan.ExitCode(err) != plan.ExitUndecided {
		t.Errorf("unreachable site: exit %d (%v)\n%s", plan.ExitCode(err), err, out)
	}
}

func TestOrder(t *testing.T) {
	pk := func(dir string, needs ...string) *chartpkg.Package {
		return &chartpkg.Package{Chart: &chartpkg.Chart{Dir: dir, Needs: needs}}
	}
	got, cycle := Order(map[string]*chartpkg.Package{
		"a-umbrella": pk("a-umbrella", "z/sub", "m/mid"),
		"m/mid":      pk("m/mid", "z/sub"),
		"z/sub":      pk("z/sub"),
		"b":          pk("b"),
		"c":          pk("c", "gone"), // a dependency that is not a package here
	})
	if want := []string{"z/sub", "m/mid", "a-umbrella", "b", "c"}; !slices.Equal(got, want) || cycle != "" {
		t.Errorf("order %v (cycle %q), want %v", got, cycle, want)
	}
	_, cycle = Order(map[string]*chartpkg.Package{"x": pk("x", "y"), "y": pk("y", "x")})
	if cycle != "x -> y -> x" {
		t.Errorf("cycle %q", cycle)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// charts.repository is read too: a version there with another package is
// refused (nothing written), one there with the same package is still
// written to the charts.publish targets that lack it.
func TestChartsRepositoryIsReadNotWritten(t *testing.T) {
	fx := newFixture(t, map[string]string{"web/Chart.yaml": chartYAML("web", "0.1.0"), "api/Chart.yaml": chartYAML("api", "1.0.0")})
	pub, err := Plan(context.Background(), fx.gitWS(), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	digest := map[string]string{}
	for _, pk := range pub.Packages {
		digest[pk.Name()] = strings.TrimPrefix(pk.Digest, "sha256:")
	}
	index := func(webDigest string) {
		writeFile(t, filepath.Join(fx.root, "served", "index.yaml"), fmt.Sprintf(
			"apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 0.1.0\n    digest: %s\n    urls: [web-0.1.0.tgz]\n  api:\n  - name: api\n    version: 1.0.0\n    digest: %s\n    urls: [api-1.0.0.tgz]\n",
			webDigest, digest["api"]))
	}
	ws := func() *workspace.Config {
		writeFile(t, filepath.Join(fx.root, "relkit.yaml"), "charts:\n  path: charts\n  repository: served\n  publish:\n    git: site.git\n")
		w, err := workspace.Load(filepath.Join(fx.root, "relkit.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	index(strings.Repeat("0", 64))
	out, err := run(t, ws(), Options{Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(err.Error(), "web 0.1.0 is already in") || !strings.Contains(err.Error(), "(charts.repository)") || fx.tip("gh-pages") != "" {
		t.Fatalf("want web refused for charts.repository's other digest: %v\n%s", err, out)
	}
	index(digest["web"])
	if out, err := run(t, ws(), Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	idx := fx.siteIndex("gh-pages", "")
	if idx.Lookup("web", "0.1.0") == nil || idx.Lookup("api", "1.0.0") == nil {
		t.Errorf("the site lacks what charts.repository already serves: %+v", idx.Entries)
	}
}
