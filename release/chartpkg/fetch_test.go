package chartpkg

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/relkit/relkit/checks/chartrepo"
)

// redisPackage is a small third-party chart package.
func redisPackage(t *testing.T, version string) []byte {
	t.Helper()
	c, err := loader.LoadFiles([]*loader.BufferedFile{
		{Name: "Chart.yaml", Data: []byte(chartFile("redis", version))},
		{Name: "values.yaml", Data: []byte("port: 6379\n")},
		{Name: "templates/svc.yaml", Data: []byte("kind: Service\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := Archive(c, time.Unix(1_600_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// chartServer is a loopback https-like chart repository (plain HTTP on
// 127.0.0.1): index.yaml and packages, with a switch to fail.
type chartServer struct {
	*httptest.Server
	index    atomic.Value // string
	files    map[string][]byte
	status   atomic.Int32 // non-zero: answer every request with it
	requests atomic.Int64
}

func serveCharts(t *testing.T, files map[string][]byte, digests map[string]string) *chartServer {
	t.Helper()
	s := &chartServer{files: files}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n  redis:\n")
	for file, d := range digests {
		v := strings.TrimSuffix(strings.TrimPrefix(file, "redis-"), ".tgz")
		fmt.Fprintf(&b, "  - apiVersion: v2\n    name: redis\n    version: %s\n    digest: %s\n    urls: [packages/%s]\n", v, strings.TrimPrefix(d, "sha256:"), file)
	}
	s.index.Store(b.String())
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if c := s.status.Load(); c != 0 {
			w.WriteHeader(int(c))
			return
		}
		switch {
		case r.URL.Path == "/repo/index.yaml":
			io.WriteString(w, s.index.Load().(string))
		case strings.HasPrefix(r.URL.Path, "/repo/packages/"):
			data, ok := s.files[strings.TrimPrefix(r.URL.Path, "/repo/packages/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// appWithRedis is a repo with one chart depending on redis from repo.
func appWithRedis(t *testing.T, repo, constraint string, lock *chart.Lock) *gitRepo {
	r := newRepo(t)
	files := map[string]string{
		"app/Chart.yaml":          chartFile("app", "0.1.0", dep("redis", constraint, repo)),
		"app/templates/app.yaml":  "kind: ConfigMap\n",
		"app/values.yaml":         "redis:\n  port: 1\n",
		"app/charts/.gitignore":   "*.tgz\n",
		"other/Chart.yaml":        chartFile("other", "1.0.0"),
		"other/templates/cm.yaml": "kind: ConfigMap\n",
	}
	if lock != nil {
		req := []*chart.Dependency{{Name: "redis", Version: constraint, Repository: repo}}
		sum, err := hashJSON([2][]*chart.Dependency{req, lock.Dependencies})
		if err != nil {
			t.Fatal(err)
		}
		if lock.Digest == "" {
			lock.Digest = sum
		}
		var b strings.Builder
		fmt.Fprintf(&b, "dependencies:\n- name: redis\n  repository: %s\n  version: %s\ndigest: %s\ngenerated: \"2024-01-02T03:04:05Z\"\n",
			lock.Dependencies[0].Repository, lock.Dependencies[0].Version, lock.Digest)
		files["app/Chart.lock"] = b.String()
	}
	r.commit("app", files)
	return r
}

func loadApp(t *testing.T, r *gitRepo, f *Fetcher) (*Chart, error) {
	t.Helper()
	l := &Loader{Tree: tree(t, r.dir), Fetcher: f}
	return l.Load(context.Background(), "app")
}

func subchartVersion(c *chart.Chart, name string) string {
	for _, d := range c.Dependencies() {
		if d.Name() == name {
			return d.Metadata.Version
		}
	}
	return ""
}

func TestRemoteDependencyFromAnHTTPSRepository(t *testing.T) {
	pkg := redisPackage(t, "17.0.0")
	srv := serveCharts(t, map[string][]byte{"redis-17.0.0.tgz": pkg}, map[string]string{"redis-17.0.0.tgz": Digest(pkg)})
	repo := srv.URL + "/repo"
	r := appWithRedis(t, repo, "17.0.0", nil)
	cache := filepath.Join(r.dir, ".git", "relkit", "charts-cache")

	// A dry run reads through but writes no cache.
	c, err := loadApp(t, r, &Fetcher{CacheDir: cache, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := subchartVersion(c.Chart, "redis"); v != "17.0.0" || len(c.Remote) != 1 || c.Remote[0].Digest != Digest(pkg) || c.Remote[0].Cached {
		t.Fatalf("redis %q, remote %+v", v, c.Remote)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("a read-only fetcher wrote the cache: %v", err)
	}
	// A real run fills the cache; the next one needs no network.
	if _, err := loadApp(t, r, &Fetcher{CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	c, err = loadApp(t, r, &Fetcher{CacheDir: cache})
	if err != nil {
		t.Fatalf("with the repository gone, the cached package should do: %v", err)
	}
	if !c.Remote[0].Cached || subchartVersion(c.Chart, "redis") != "17.0.0" {
		t.Errorf("not from the cache: %+v", c.Remote)
	}
	// A cached file that does not match its recorded digest is not used.
	matches, _ := filepath.Glob(filepath.Join(cache, "*.tgz"))
	if len(matches) != 1 {
		t.Fatalf("cache holds %v", matches)
	}
	if err := os.WriteFile(matches[0], append(pkg, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadApp(t, r, &Fetcher{CacheDir: cache}); !IsUnreachable(err) {
		t.Errorf("tampered cache with the repository gone: %v, want unreachable", err)
	}
}

func TestRemoteDependencyDigestMismatchIsRefused(t *testing.T) {
	pkg := redisPackage(t, "17.0.0")
	other := redisPackage(t, "17.0.1")
	srv := serveCharts(t, map[string][]byte{"redis-17.0.0.tgz": pkg}, map[string]string{"redis-17.0.0.tgz": Digest(other)})
	r := appWithRedis(t, srv.URL+"/repo", "17.0.0", nil)
	cache := filepath.Join(r.dir, ".git", "relkit", "charts-cache")
	_, err := loadApp(t, r, &Fetcher{CacheDir: cache})
	if err == nil || IsUnreachable(err) || !strings.Contains(err.Error(), Digest(pkg)) || !strings.Contains(err.Error(), Digest(other)) {
		t.Errorf("digest mismatch: %v; want a refusal naming both digests", err)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "*")); len(m) != 0 {
		t.Errorf("a package that failed its check was cached: %v", m)
	}
}

func TestRemoteDependencyUnreachableIsUndecided(t *testing.T) {
	pkg := redisPackage(t, "17.0.0")
	srv := serveCharts(t, map[string][]byte{"redis-17.0.0.tgz": pkg}, map[string]string{"redis-17.0.0.tgz": Digest(pkg)})
	srv.status.Store(http.StatusServiceUnavailable)
	r := appWithRedis(t, srv.URL+"/repo", "17.0.0", nil)
	if _, err := loadApp(t, r, &Fetcher{}); !IsUnreachable(err) {
		t.Errorf("503: %v, want unreachable", err)
	}
	srv.Close()
	if _, err := loadApp(t, r, &Fetcher{}); !IsUnreachable(err) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("closed port: %v, want unreachable", err)
	}
	// Not found is an answer: refused, not undecided.
	srv2 := serveCharts(t, nil, nil)
	r2 := appWithRedis(t, srv2.URL+"/repo", "17.0.0", nil)
	if _, err := loadApp(t, r2, &Fetcher{}); err == nil || IsUnreachable(err) || !strings.Contains(err.Error(), "does not list this version") {
		t.Errorf("missing version: %v", err)
	}
}

func TestChartLockPinsAndMustBeInStep(t *testing.T) {
	pkg := redisPackage(t, "17.0.2")
	srv := serveCharts(t, map[string][]byte{"redis-17.0.2.tgz": pkg}, map[string]string{"redis-17.0.2.tgz": Digest(pkg)})
	repo := srv.URL + "/repo"
	lock := &chart.Lock{Dependencies: []*chart.Dependency{{Name: "redis", Repository: repo, Version: "17.0.2"}}}
	c, err := loadApp(t, appWithRedis(t, repo, "~17.0.0", lock), &Fetcher{})
	if err != nil {
		t.Fatal(err)
	}
	if v := subchartVersion(c.Chart, "redis"); v != "17.0.2" {
		t.Errorf("the lock pins 17.0.2, packaged %q", v)
	}
	stale := &chart.Lock{Digest: "sha256:0000", Dependencies: []*chart.Dependency{{Name: "redis", Repository: repo, Version: "17.0.2"}}}
	if _, err := loadApp(t, appWithRedis(t, repo, "~17.0.0", stale), &Fetcher{}); err == nil || !strings.Contains(err.Error(), "Chart.lock is out of step") {
		t.Errorf("stale lock: %v", err)
	}
	if _, err := loadApp(t, appWithRedis(t, repo, "~17.0.0", nil), &Fetcher{}); err == nil || !strings.Contains(err.Error(), "is a range") {
		t.Errorf("range without a lock: %v", err)
	}
}

func TestRemoteDependencyFromOCI(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	pkg := redisPackage(t, "17.0.0+up.1")
	ref, err := name.NewTag(host+"/charts/redis:"+chartrepo.Tag("17.0.0+up.1"), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(pkg, chartrepo.ChartLayerMediaType))
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), chartrepo.ConfigMediaType)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	r := appWithRedis(t, "oci://"+host+"/charts", "17.0.0+up.1", nil)
	c, err := loadApp(t, r, &Fetcher{})
	if err != nil {
		t.Fatal(err)
	}
	if v := subchartVersion(c.Chart, "redis"); v != "17.0.0+up.1" || c.Remote[0].Digest != Digest(pkg) {
		t.Errorf("redis %q from OCI, %+v", v, c.Remote)
	}
	// A mirror for the registry host is used instead of it.
	r2 := appWithRedis(t, "oci://registry.invalid/charts", "17.0.0+up.1", nil)
	if _, err := loadApp(t, r2, &Fetcher{Registry: chartrepo.Options{Mirrors: map[string]string{"registry.invalid": host}}}); err != nil {
		t.Errorf("through the mirror: %v", err)
	}
	reg.Close()
	if _, err := loadApp(t, appWithRedis(t, "oci://"+host+"/charts", "17.0.0+up.1", nil), &Fetcher{}); !IsUnreachable(err) {
		t.Errorf("registry gone: %v, want unreachable", err)
	}
}
