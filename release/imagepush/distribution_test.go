package imagepush

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	rplan "github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testtool"
)

// distribution is a docker-registry process with htpasswd auth on a free
// loopback port, and a counting reverse proxy in front of it.
type distribution struct {
	host       string // the proxy: what the tests push to
	user, pass string
	writes     atomic.Int64
	mounts     atomic.Int64 // POST .../blobs/uploads/?mount= answered 201
}

func startDistribution(t *testing.T) *distribution {
	t.Helper()
	d := &distribution{user: "relkit-ci", pass: randomHex(t)}
	hash, err := bcrypt.GenerateFromPassword([]byte(d.pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	addr := testtool.ServeDockerRegistry(t, testtool.RegistryOptions{Htpasswd: d.user + ":" + string(hash) + "\n", Delete: true})
	target, _ := url.Parse("http://" + addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			d.writes.Add(1)
		}
		rec := &statusRecorder{ResponseWriter: w}
		proxy.ServeHTTP(rec, r)
		if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" && rec.status == http.StatusCreated {
			d.mounts.Add(1)
		}
	}))
	t.Cleanup(front.Close)
	d.host = strings.TrimPrefix(front.URL, "http://")
	d.login(t, d.pass)
	return d
}

// login writes a DOCKER_CONFIG with credentials for the proxy host (and
// further hosts in front of it), which authn.DefaultKeychain reads.
func (d *distribution) login(t *testing.T, pass string, more ...string) {
	t.Helper()
	cfgDir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(d.user + ":" + pass))
	auths := map[string]any{d.host: map[string]string{"auth": auth}}
	for _, h := range more {
		auths[h] = map[string]string{"auth": auth}
	}
	data, _ := json.Marshal(map[string]any{"auths": auths})
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfgDir)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// distRequest is a request against the distribution registry with the
// default keychain (the DOCKER_CONFIG written by login).
func distRequest(source string, repos []string, tags ...string) Request {
	r := request(source, repos, tags...)
	r.Keychain = nil
	return r
}

func TestDistributionRegistry(t *testing.T) {
	d := startDistribution(t)
	ctx := ctxT(t)
	repo := func(p string) string { return d.host + "/" + p }

	idx := randomIndex(t)
	dir := layoutOf(t, idx)
	repos := []string{repo("omec/hss"), repo("aether/hss")}

	t.Run("multi-arch index to two repositories, blobs mounted into the second", func(t *testing.T) {
		res, err := Push(ctx, distRequest(dir, repos, "1.2.3", "v1.2.3"))
		if err != nil {
			t.Fatalf("Push: %v\n%s", err, res)
		}
		wantAll(t, res, StatusPushed)
		for _, tg := range res.Targets {
			wantRemote(t, tg.Ref, digest(t, idx), true)
		}
		// 3 images x (2 layers + config) blobs in the second repository.
		if n := d.mounts.Load(); n < 9 {
			t.Errorf("%d blobs mounted across repositories, want the second repository's 9", n)
		}
	})

	t.Run("same digest again is a no-op", func(t *testing.T) {
		before := d.writes.Load()
		res, err := Push(ctx, distRequest(dir, repos, "1.2.3", "v1.2.3"))
		if err != nil {
			t.Fatalf("Push: %v\n%s", err, res)
		}
		wantAll(t, res, StatusIdentical)
		if n := d.writes.Load() - before; n != 0 {
			t.Errorf("%d write requests, want 0", n)
		}
	})

	t.Run("different digest under an existing tag is refused", func(t *testing.T) {
		before := d.writes.Load()
		res, err := Push(ctx, distRequest(layoutOf(t, randomImage(t, 1)), repos, "1.2.4", "1.2.3"))
		if !errors.Is(err, ErrTagConflict) {
			t.Fatalf("err = %v, want ErrTagConflict\n%s", err, res)
		}
		if n := d.writes.Load() - before; n != 0 {
			t.Errorf("%d write requests, want 0", n)
		}
		if got := headDigest(t, repo("omec/hss:1.2.4")); got != zeroHash {
			t.Errorf("1.2.4 was written (%s) although 1.2.3 was refused", got)
		}
		if len(res.With(StatusRefused)) != 2 || len(res.With(StatusNotAttempted)) != 2 {
			t.Errorf("want 2 refused (1.2.3 in both repos) and 2 not attempted:\n%s", res)
		}
	})

	t.Run("staging reference in the same registry is mounted", func(t *testing.T) {
		staging, _ := name.ParseReference(repo("staging/upf:build-7"))
		img := randomImage(t, 3)
		if err := remote.Write(staging, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			t.Fatal(err)
		}
		before := d.mounts.Load()
		res, err := Push(ctx, distRequest(staging.String(), []string{repo("omec/upf")}, "0.9.0"))
		if err != nil {
			t.Fatalf("Push: %v\n%s", err, res)
		}
		wantAll(t, res, StatusPushed)
		if n := d.mounts.Load() - before; n < 4 {
			t.Errorf("%d blobs mounted from staging, want 4 (3 layers + config)", n)
		}
		validateRemote(t, repo("omec/upf:0.9.0"), false)
	})

	t.Run("wrong credentials write nothing", func(t *testing.T) {
		d.login(t, "wrong-password")
		before := d.writes.Load()
		res, err := Push(ctx, distRequest(dir, []string{repo("omec/smf")}, "1.0.0"))
		if !errors.Is(err, ErrCheck) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v, want ErrCheck with the 401\n%s", err, res)
		}
		if code := rplan.ExitCode(classify(err)); code != rplan.ExitUndecided {
			t.Errorf("refused credentials: exit %d, want 3", code)
		}
		if n := d.writes.Load() - before; n != 0 {
			t.Errorf("%d write requests, want 0", n)
		}
	})
}

// distributionPair is a racePair whose fronts proxy to a docker-registry.
func distributionPair(t *testing.T, d *distribution) *racePair {
	target, _ := url.Parse("http://" + d.host)
	p := newRacePair(t, httputil.NewSingleHostReverseProxy(target))
	p.keychain = nil
	d.login(t, d.pass, p.host(0), p.host(1))
	return p
}

// TestDistributionConcurrentPushes races two pushes of different images
// to one new tag on docker-registry: the forced interleavings, then many
// free rounds; exactly one run wins each time.
func TestDistributionConcurrentPushes(t *testing.T) {
	d := startDistribution(t)
	t.Run("forced", func(t *testing.T) {
		forceInterleavings(t, func(t *testing.T) *racePair { return distributionPair(t, d) })
	})
	t.Run("free", func(t *testing.T) {
		p := distributionPair(t, d)
		p.setHook(func(run int, w http.ResponseWriter, r *http.Request, next http.Handler) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				time.Sleep(time.Duration(mrand.IntN(3000)) * time.Microsecond)
			}
			next.ServeHTTP(w, r)
		})
		raceRounds(t, 12, p.request, func(tag string) v1.Hash { return headDigest(t, p.host(0)+"/team/app:"+tag) })
	})
}
