package imagepush

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var zeroHash v1.Hash

// ciEnv is an environment CheckEnvironment accepts.
var ciEnv = []string{"CI=true", "GITHUB_ACTIONS=true"}

// fastRetry keeps the retry tests short and bounded.
var fastRetry = Retry{Attempts: 4, Initial: 5 * time.Millisecond, MaxRetryAfter: 3 * time.Second}

// testReg is an in-process registry on 127.0.0.1 with request counters and
// an optional fault injector in front.
type testReg struct {
	srv    *httptest.Server
	host   string
	total  atomic.Int64
	writes atomic.Int64 // POST, PATCH, PUT, DELETE
	mu     sync.Mutex
	fault  func(n int64, r *http.Request) (status int, header http.Header, abort bool)
	log    []string
	// linkMounts makes the registry mount across repositories (the
	// in-process registry does not: it starts an upload, 202). Its blob
	// store is shared by all repositories, so a mount is a 201 when the
	// blob exists in the repository named by from.
	linkMounts atomic.Bool
	mountPOSTs atomic.Int64 // POST .../blobs/uploads/?mount=
	mounted    atomic.Int64 // of which answered 201
}

func newTestReg(t testing.TB) *testReg {
	t.Helper()
	tr := &testReg{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tr.total.Add(1)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			tr.writes.Add(1)
		}
		tr.mu.Lock()
		fault := tr.fault
		tr.log = append(tr.log, r.Method+" "+r.URL.Path)
		tr.mu.Unlock()
		if fault != nil {
			status, h, abort := fault(n, r)
			if abort {
				panic(http.ErrAbortHandler)
			}
			if status != 0 {
				for k, vs := range h {
					w.Header()[k] = vs
				}
				if r.Body != nil {
					_, _ = io.Copy(io.Discard, r.Body)
				}
				w.WriteHeader(status)
				return
			}
		}
		if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
			tr.mountPOSTs.Add(1)
			if tr.linkMounts.Load() && tr.mount(w, r, inner) {
				tr.mounted.Add(1)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

// mount answers a cross-repository mount with 201 when the blob is in the
// repository it is mounted from; false leaves the request to the registry.
func (tr *testReg) mount(w http.ResponseWriter, r *http.Request, inner http.Handler) bool {
	q := r.URL.Query()
	repo, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/uploads/")
	if !ok || q.Get("from") == "" {
		return false
	}
	head := httptest.NewRequestWithContext(r.Context(), http.MethodHead, "/v2/"+q.Get("from")+"/blobs/"+q.Get("mount"), nil)
	rec := httptest.NewRecorder()
	inner.ServeHTTP(rec, head)
	if rec.Code != http.StatusOK {
		return false
	}
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+q.Get("mount"))
	w.Header().Set("Docker-Content-Digest", q.Get("mount"))
	w.WriteHeader(http.StatusCreated)
	return true
}

func (tr *testReg) setFault(f func(n int64, r *http.Request) (int, http.Header, bool)) {
	tr.mu.Lock()
	tr.fault = f
	tr.mu.Unlock()
}

func (tr *testReg) requests() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.log...)
}

func (tr *testReg) repo(path string) string { return tr.host + "/" + path }

// request is a Push request against test registries: CI environment, no
// credentials, fast retries.
func request(source string, repos []string, tags ...string) Request {
	return Request{
		Source:   source,
		Repos:    repos,
		Tags:     tags,
		Environ:  ciEnv,
		Keychain: authn.NewMultiKeychain(),
		Retry:    fastRetry,
		// The second read of pushed tags is for concurrent runs; the
		// tests that race two runs set their own.
		Settle: 10 * time.Millisecond,
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	idx, err := random.Index(512, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func randomImage(t testing.TB, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(512, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// layoutOf writes t (an image or an index) as the only entry of a new OCI
// layout and returns its directory.
func layoutOf(t testing.TB, content any) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	switch c := content.(type) {
	case v1.ImageIndex:
		err = p.AppendIndex(c)
	case v1.Image:
		err = p.AppendImage(c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func digest(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// headDigest asks the registry for ref with a fresh client; it returns
// the zero hash when the tag does not exist.
func headDigest(t testing.TB, ref string) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if isNotFound(err) {
		return v1.Hash{}
	}
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest
}

// wantRemote checks that the registry holds want under ref and that it
// downloads intact (an index when index is set).
func wantRemote(t testing.TB, ref string, want v1.Hash, index bool) {
	t.Helper()
	if got := headDigest(t, ref); got != want {
		t.Errorf("%s holds %s, want %s", ref, got, want)
	}
	validateRemote(t, ref, index)
}

// validateRemote downloads ref completely and checks every digest.
func validateRemote(t testing.TB, ref string, index bool) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if index {
		idx, err := remote.Index(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			t.Fatalf("reading index %s: %v", ref, err)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatalf("index %s is not intact in the registry: %v", ref, err)
		}
		return
	}
	img, err := remote.Image(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatalf("reading image %s: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("image %s is not intact in the registry: %v", ref, err)
	}
}

func statuses(res Result) map[string]Status {
	m := map[string]Status{}
	for _, t := range res.Targets {
		m[t.Ref] = t.Status
	}
	return m
}

func wantAll(t testing.TB, res Result, want Status) {
	t.Helper()
	if len(res.Targets) == 0 {
		t.Fatalf("result has no targets; want all %s", want)
	}
	for _, tg := range res.Targets {
		if tg.Status != want {
			t.Errorf("%s: status %q, want %q (err: %v)\nresult:\n%s", tg.Ref, tg.Status, want, tg.Err, res)
		}
	}
}

func mustLayout(t testing.TB, dir string) layout.Path {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// layoutTop opens the OCI layout at dir and returns its index and the
// descriptor of its first (in these tests, only) manifest.
func layoutTop(t testing.TB, dir string) (v1.ImageIndex, v1.Descriptor) {
	t.Helper()
	idx, err := mustLayout(t, dir).ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return idx, im.Manifests[0]
}

// removeOneLayer deletes the first layer blob of the layout's only image.
func removeOneLayer(t testing.TB, dir string) {
	t.Helper()
	_, m := layoutManifest(t, dir, 0)
	if err := os.Remove(blobFile(dir, m.Layers[0].Digest)); err != nil {
		t.Fatal(err)
	}
}
