package imageref

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/relkit/relkit/checks/imageref/imagereftest"
)

// newRegistry serves an in-memory OCI registry on 127.0.0.1, optionally
// behind wrap, and returns its host:port.
func newRegistry(t testing.TB, wrap func(http.Handler) http.Handler) (*httptest.Server, string) {
	t.Helper()
	_, srv, host := newRegistryPair(t, wrap)
	return srv, host
}

// newRegistryPair serves one in-memory registry on two loopback addresses:
// plain (to push fixtures) and behind wrap (to check against).
func newRegistryPair(t testing.TB, wrap func(http.Handler) http.Handler) (plainHost string, srv *httptest.Server, host string) {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	if wrap != nil {
		h = wrap(h)
	}
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(plain.URL, "http://"), srv, strings.TrimPrefix(srv.URL, "http://")
}

// push writes a small random image under each tag of repo at host (plain
// HTTP), straight to the registry handler's address.
func push(t testing.TB, host, repo string, tags ...string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	pusher, err := remote.NewPusher(remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		ref, err := name.NewTag(host+"/"+repo+":"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.Reuse(pusher)); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}
	d, _ := img.Digest()
	return d.String()
}

func mustParse(t testing.TB, s string) Ref {
	t.Helper()
	r, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newChecker(t testing.TB, o Options) *Checker {
	t.Helper()
	if o.Keychain == nil {
		o.Keychain = authn.NewMultiKeychain() // anonymous unless a test asks
	}
	c, err := NewChecker(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counter wraps a handler and counts requests per "METHOD path-kind".
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		switch {
		case r.URL.Path == "/v2/":
			kind = "ping"
		case strings.Contains(r.URL.Path, "/manifests/"):
			kind = "manifest"
		}
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[r.Method+" "+kind]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func TestCheckExistsMissing(t *testing.T) {
	var cnt counter
	plain, _, host := newRegistryPair(t, cnt.wrap)
	digest := push(t, plain, "team/app", "1.0.0", "1.0.1")
	c := newChecker(t, Options{Jobs: 8})
	ctx := context.Background()

	var refs []Ref
	for i := range 50 {
		refs = append(refs, mustParse(t, fmt.Sprintf("%s/team/app:1.0.%d", host, i%2)))
	}
	refs = append(refs, mustParse(t, host+"/team/app:9.9.9"), mustParse(t, host+"/team/nope:1.0.0"),
		mustParse(t, host+"/team/app@"+digest), mustParse(t, host+"/team/app:1.0.0@"+digest))
	before := cnt.get("GET ping")
	res := c.CheckAll(ctx, refs)
	if len(res) != 6 {
		t.Fatalf("CheckAll returned %d results for 6 distinct references: %+v", len(res), res)
	}
	want := []Status{Exists, Exists, Missing, Missing, Exists, Exists}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("%s: status %s (err %v); expected %s", r.Ref, r.Status, r.Err, want[i])
		}
	}
	if res[0].Digest != digest {
		t.Errorf("%s: digest %s; expected %s", res[0].Ref, res[0].Digest, digest)
	}
	// One shared puller: one ping per repository, one HEAD per reference.
	if pings := cnt.get("GET ping") - before; pings > 2 {
		t.Errorf("%d pings for 2 repositories; expected the puller to reuse its ping", pings)
	}
	if heads := cnt.get("HEAD manifest"); heads != 6 {
		t.Errorf("%d manifest HEADs for 6 distinct references; expected 6", heads)
	}
}

func TestCheckMirror(t *testing.T) {
	_, host := newRegistry(t, nil)
	push(t, host, "proxy/team/app", "1.0.0")
	push(t, host, "hub/library/nginx", "1.25.3")
	c := newChecker(t, Options{Mirrors: map[string]string{
		"registry.example.org": host + "/proxy",
		"docker.io":            host + "/hub",
	}})
	for ref, contacted := range map[string]string{
		"registry.example.org/team/app:1.0.0": host + "/proxy/team/app:1.0.0",
		"nginx:1.25.3":                        host + "/hub/library/nginx:1.25.3",
	} {
		r := c.Check(context.Background(), mustParse(t, ref))
		if r.Status != Exists || r.Contacted != contacted {
			t.Errorf("%s: status %s via %s (err %v); expected exists via %s", ref, r.Status, r.Contacted, r.Err, contacted)
		}
	}
}

// failFirst answers the first n manifest requests with status code (and
// Retry-After when set), then passes through.
func failFirst(n int32, code int, retryAfter string, seen *atomic.Int32) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead {
				if seen.Add(1) <= n {
					if retryAfter != "" {
						w.Header().Set("Retry-After", retryAfter)
					}
					w.WriteHeader(code)
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
}

func recordSleeps(c *Checker) *[]time.Duration {
	var mu sync.Mutex
	var got []time.Duration
	c.rt.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
		return ctx.Err()
	}
	return &got
}

func TestCheckRetries500Then200(t *testing.T) {
	var seen atomic.Int32
	plain, _, host := newRegistryPair(t, failFirst(1, http.StatusInternalServerError, "", &seen))
	push(t, plain, "team/app", "1.0.0")
	c := newChecker(t, Options{BaseDelay: time.Millisecond})
	r := c.Check(context.Background(), mustParse(t, host+"/team/app:1.0.0"))
	if r.Status != Exists {
		t.Fatalf("status %s (err %v); expected exists after one 500", r.Status, r.Err)
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("%d manifest HEADs; expected 2 (one 500, one retry)", n)
	}
}

func TestCheckAlways500IsUndecided(t *testing.T) {
	var seen atomic.Int32
	plain, _, host := newRegistryPair(t, failFirst(1000, http.StatusBadGateway, "", &seen))
	push(t, plain, "team/app", "1.0.0")
	c := newChecker(t, Options{Attempts: 3})
	sleeps := recordSleeps(c)
	r := c.Check(context.Background(), mustParse(t, host+"/team/app:1.0.0"))
	if r.Status != Unknown || r.Err == nil {
		t.Fatalf("status %s (err %v); expected unknown: a failing registry decides nothing", r.Status, r.Err)
	}
	if n := seen.Load(); n != 3 {
		t.Errorf("%d attempts; expected 3", n)
	}
	if len(*sleeps) != 2 {
		t.Errorf("waited %d times; expected 2 backoffs between 3 attempts", len(*sleeps))
	}
}

func TestCheckHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header string
		max    time.Duration
		want   time.Duration
	}{
		{"7", 10 * time.Second, 7 * time.Second},
		{"3600", 10 * time.Second, 10 * time.Second}, // capped
		{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 5 * time.Second, 5 * time.Second},
	} {
		var seen atomic.Int32
		plain, _, host := newRegistryPair(t, failFirst(1, http.StatusTooManyRequests, tc.header, &seen))
		push(t, plain, "team/app", "1.0.0")
		c := newChecker(t, Options{MaxDelay: tc.max})
		sleeps := recordSleeps(c)
		r := c.Check(context.Background(), mustParse(t, host+"/team/app:1.0.0"))
		if r.Status != Exists {
			t.Errorf("Retry-After %s: status %s (err %v); expected exists after the retry", tc.header, r.Status, r.Err)
		}
		if len(*sleeps) != 1 || (*sleeps)[0] != tc.want {
			t.Errorf("Retry-After %s (cap %s): waited %v; expected exactly [%s]", tc.header, tc.max, *sleeps, tc.want)
		}
	}
}

func TestCheckRegistryDown(t *testing.T) {
	srv, host := newRegistry(t, nil)
	srv.Close()
	c := newChecker(t, Options{})
	res := c.CheckAll(context.Background(), []Ref{mustParse(t, host+"/team/app:1.0.0"), mustParse(t, host+"/team/other:1.0.0")})
	for _, r := range res {
		if r.Status != Unknown || r.Err == nil || !strings.Contains(r.Err.Error(), host) {
			t.Errorf("%s: status %s err %v; expected unknown naming %s", r.Ref, r.Status, r.Err, host)
		}
	}
}

func TestCheckNotARegistry(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c := newChecker(t, Options{})
	r := c.Check(context.Background(), mustParse(t, host+"/team/app:1.0.0"))
	if r.Status != Unknown {
		t.Errorf("a server answering 404 to /v2/: status %s (err %v); expected unknown, not missing", r.Status, r.Err)
	}
}

// basicAuth demands user:pass, answering 401 with a Basic challenge.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="relkit-test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// dockerConfig writes a config.json with credentials for host and points
// DOCKER_CONFIG at it.
func dockerConfig(t *testing.T, host, user, pass string) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

func TestCheckBasicAuth(t *testing.T) {
	var reg http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	open := httptest.NewServer(reg)
	defer open.Close()
	guarded := httptest.NewServer(basicAuth("relkit", "s3cret")(reg))
	defer guarded.Close()
	push(t, strings.TrimPrefix(open.URL, "http://"), "team/app", "1.0.0")
	host := strings.TrimPrefix(guarded.URL, "http://")

	wantAuthOutcomes(t, host)
}

// wantAuthOutcomes checks host, which holds team/app:1.0.0 for user
// relkit, password s3cret, through the docker config (the checker's
// authn.DefaultKeychain): with those credentials the tag exists and
// another is missing; with a wrong password the answer is unknown, never
// missing or exists.
func wantAuthOutcomes(t *testing.T, host string) {
	t.Helper()
	check := func(pass, tag string) Result {
		t.Helper()
		dockerConfig(t, host, "relkit", pass)
		c, err := NewChecker(Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Check(context.Background(), mustParse(t, host+"/team/app:"+tag))
	}
	if r := check("s3cret", "1.0.0"); r.Status != Exists {
		t.Errorf("with credentials: status %s (err %v); expected exists", r.Status, r.Err)
	}
	if r := check("s3cret", "2.0.0"); r.Status != Missing {
		t.Errorf("with credentials, unknown tag: status %s (err %v); expected missing", r.Status, r.Err)
	}
	if r := check("wrong", "1.0.0"); r.Status != Unknown || r.Err == nil {
		t.Errorf("with wrong credentials: status %s (err %v); expected unknown, never missing or exists", r.Status, r.Err)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"0": 0, " 0 ": 0, "5": 5 * time.Second, now.Add(30 * time.Second).Format(http.TimeFormat): 30 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat): 0, "99999999": 86400 * time.Second,
	} {
		got, ok := RetryAfter(in, now)
		if !ok || got != want {
			t.Errorf("RetryAfter(%q) = %s %v; expected %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "soon"} {
		if _, ok := RetryAfter(in, now); ok {
			t.Errorf("RetryAfter(%q) accepted; expected it ignored", in)
		}
	}
}

// BenchmarkCheckAll1000 checks 1,000 distinct tags against an in-process
// registry with one Checker (the bench script compares this with 1,000
// sequential `crane digest` processes).
func BenchmarkCheckAll1000(b *testing.B) {
	_, host := newRegistry(b, nil)
	refs, err := imagereftest.SeedRegistry(context.Background(), host, 1000)
	if err != nil {
		b.Fatal(err)
	}
	var parsed []Ref
	for _, s := range refs {
		parsed = append(parsed, mustParse(b, s))
	}
	b.ResetTimer()
	for b.Loop() {
		c := newChecker(b, Options{})
		for _, r := range c.CheckAll(context.Background(), parsed) {
			if r.Status != Exists {
				b.Fatalf("%s: %s %v", r.Ref, r.Status, r.Err)
			}
		}
	}
}
