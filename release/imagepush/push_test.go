package imagepush

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	rplan "github.com/relkit/relkit/release/plan"
)

func TestPushMultiArchIndexFromLayout(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	idx := randomIndex(t)
	want := digest(t, idx)
	dir := layoutOf(t, idx)
	repos := []string{reg.repo("omec/hss"), reg.repo("mirror/omec/hss")}
	var out bytes.Buffer
	req := request(dir, repos, "1.2.3", "v1.2.3")
	req.Progress = &out

	res, err := Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("Push: %v\n%s", err, res)
	}
	wantAll(t, res, StatusPushed)
	if len(res.Targets) != 4 {
		t.Fatalf("got %d targets, want 2 repos x 2 tags = 4:\n%s", len(res.Targets), res)
	}
	for _, tg := range res.Targets {
		if tg.Digest != want {
			t.Errorf("%s: reported digest %s, want the layout's index %s", tg.Ref, tg.Digest, want)
		}
		wantRemote(t, tg.Ref, want, true)
	}
	// Not a terminal: one line per finished target.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Errorf("progress has %d lines, want one per target (4):\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "pushed ") || !strings.Contains(l, want.String()) {
			t.Errorf("progress line %q: want \"pushed <ref> %s\"", l, want)
		}
	}
	if !res.Done() || res.CI != "GitHub Actions" {
		t.Errorf("Done()=%v CI=%q, want true and GitHub Actions", res.Done(), res.CI)
	}
}

func TestPushSameDigestTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	img := randomImage(t, 3)
	dir := layoutOf(t, img)
	req := request(dir, []string{reg.repo("team/app")}, "2.0.0", "2.0")
	if res, err := Push(ctxT(t), req); err != nil {
		t.Fatalf("first push: %v\n%s", err, res)
	}
	writes := reg.writes.Load()
	var out bytes.Buffer
	req.Progress = &out
	res, err := Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("second push of the same digest: %v\n%s", err, res)
	}
	wantAll(t, res, StatusIdentical)
	for _, tg := range res.Targets {
		if tg.Found != digest(t, img) {
			t.Errorf("%s: Found %s, want %s", tg.Ref, tg.Found, digest(t, img))
		}
	}
	if n := reg.writes.Load() - writes; n != 0 {
		t.Errorf("second push made %d write requests, want 0", n)
	}
	if !strings.Contains(out.String(), "identical") {
		t.Errorf("progress does not say identical:\n%s", out.String())
	}
}

func TestRefuseDifferentDigestUnderExistingTag(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	first := randomImage(t, 2)
	repo := reg.repo("team/app")
	if res, err := Push(ctxT(t), request(layoutOf(t, first), []string{repo}, "1.0.0")); err != nil {
		t.Fatalf("first push: %v\n%s", err, res)
	}
	writes := reg.writes.Load()

	second := randomIndex(t)
	res, err := Push(ctxT(t), request(layoutOf(t, second), []string{repo, reg.repo("other/app")}, "1.0.0", "1.0.1"))
	if !errors.Is(err, ErrTagConflict) {
		t.Fatalf("err = %v, want ErrTagConflict\n%s", err, res)
	}
	if !strings.Contains(err.Error(), repo+":1.0.0") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("error does not name the conflicting tag and say nothing was written: %v", err)
	}
	st := statuses(res)
	if st[repo+":1.0.0"] != StatusRefused {
		t.Errorf("%s:1.0.0 is %q, want refused\n%s", repo, st[repo+":1.0.0"], res)
	}
	for _, ref := range []string{repo + ":1.0.1", reg.repo("other/app") + ":1.0.0", reg.repo("other/app") + ":1.0.1"} {
		if st[ref] != StatusNotAttempted {
			t.Errorf("%s is %q, want not attempted", ref, st[ref])
		}
		if got := headDigest(t, ref); got != (v1.Hash{}) {
			t.Errorf("%s exists (%s) after a refused run; nothing may be written", ref, got)
		}
	}
	for _, tg := range res.Targets {
		if tg.Ref == repo+":1.0.0" && tg.Found != digest(t, first) {
			t.Errorf("Found = %s, want the first image %s", tg.Found, digest(t, first))
		}
	}
	if got := headDigest(t, repo+":1.0.0"); got != digest(t, first) {
		t.Errorf("1.0.0 now holds %s, want it untouched (%s)", got, digest(t, first))
	}
	if n := reg.writes.Load() - writes; n != 0 {
		t.Errorf("refused run made %d write requests, want 0", n)
	}
}

func TestRefuseOutsideCI(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	dir := layoutOf(t, randomImage(t, 1))
	repo := reg.repo("team/app")

	req := request(dir, []string{repo}, "1.0.0")
	req.Environ = []string{"HOME=/home/dev", "CI=true"} // CI=true alone is not enough
	res, err := Push(ctxT(t), req)
	if !errors.Is(err, ErrNotCI) {
		t.Fatalf("err = %v, want ErrNotCI", err)
	}
	wantAll(t, res, StatusRefused)
	if n := reg.total.Load(); n != 0 {
		t.Errorf("a push refused outside CI made %d requests, want 0", n)
	}

	// No environment given is outside CI too, whatever the process's
	// environment says.
	req.Environ = nil
	if res, err := Push(ctxT(t), req); !errors.Is(err, ErrNotCI) {
		t.Fatalf("nil Environ: err = %v, want ErrNotCI", err)
	} else {
		wantAll(t, res, StatusRefused)
	}
	req.Environ = []string{"HOME=/home/dev", "CI=true"}

	// A dry run outside CI checks and reports, and writes nothing.
	req.DryRun = true
	var out bytes.Buffer
	req.Progress = &out
	res, err = Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	wantAll(t, res, StatusPlanned)
	if n := reg.writes.Load(); n != 0 {
		t.Errorf("dry run made %d write requests, want 0", n)
	}
	if !strings.Contains(out.String(), "a real run would be refused") {
		t.Errorf("dry run output does not warn that a real run would be refused:\n%s", out.String())
	}

	// The test-only override pushes, loudly.
	req.DryRun = false
	req.Environ = []string{AllowLocalEnv + "=1"}
	out.Reset()
	res, err = Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("push with %s=1: %v", AllowLocalEnv, err)
	}
	wantAll(t, res, StatusPushed)
	if !strings.Contains(out.String(), "WARNING: "+AllowLocalEnv+"=1") {
		t.Errorf("override did not print the warning:\n%s", out.String())
	}
}

func TestRefuseWithoutReleaseTag(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	dir := layoutOf(t, randomImage(t, 1))
	res, err := Push(ctxT(t), request(dir, []string{reg.repo("team/app")}))
	if err == nil || !strings.Contains(err.Error(), ErrNoReleaseTag.Error()) {
		t.Fatalf("err = %v, want a no-release-tag refusal", err)
	}
	if len(res.Targets) != 0 || reg.total.Load() != 0 {
		t.Errorf("targets %v, requests %d; want none", res.Targets, reg.total.Load())
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	dir := layoutOf(t, randomImage(t, 1))
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"bad tag", request(dir, []string{reg.repo("a")}, "1.0.0", "bad tag"), `tag "bad tag"`},
		{"bad repo", request(dir, []string{"Registry.Example.org/UPPER/app"}, "1.0.0"), `repository "Registry.Example.org/UPPER/app"`},
		{"no repos", request(dir, nil, "1.0.0"), "no repositories"},
		{"no source", request("", []string{reg.repo("a")}, "1.0.0"), "no source"},
		{"two images one tag", func() Request {
			r := request(dir, []string{reg.repo("a")}, "1.0.0")
			r.Images = []Image{{Source: dir, Repos: []string{reg.repo("a")}, Tags: []string{"1.0.0"}}}
			return r
		}(), "one tag cannot hold two images"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Push(ctxT(t), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if n := reg.total.Load(); n != 0 {
		t.Errorf("invalid requests made %d registry requests, want 0", n)
	}
}

func TestSurvives429And500(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault func(n int64, r *http.Request) (int, http.Header, bool)
	}{
		{"429 with Retry-After on every fourth request", func(n int64, r *http.Request) (int, http.Header, bool) {
			switch {
			case n == 1:
				return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, false
			case n%4 == 1 && n < 60:
				return http.StatusTooManyRequests, http.Header{"Retry-After": {"0"}}, false
			}
			return 0, nil, false
		}},
		{"500 on every third request", func(n int64, r *http.Request) (int, http.Header, bool) {
			if n%3 == 1 && n < 60 {
				return http.StatusInternalServerError, nil, false
			}
			return 0, nil, false
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newTestReg(t)
			var faults, writeFaults atomic.Int64
			// One request (method and path) fails at most twice, well
			// under the retry budget: with uploads running in parallel
			// the every-nth-request pattern could otherwise land on the
			// same request every time and test bad luck, not retries.
			var mu sync.Mutex
			perRequest := map[string]int{}
			reg.setFault(func(n int64, r *http.Request) (int, http.Header, bool) {
				status, h, abort := tc.fault(n, r)
				if status != 0 {
					mu.Lock()
					key := r.Method + " " + r.URL.Path
					over := perRequest[key] >= 2
					if !over {
						perRequest[key]++
					}
					mu.Unlock()
					if over {
						return 0, nil, false
					}
				}
				if status != 0 {
					faults.Add(1)
					if r.Method != http.MethodGet && r.Method != http.MethodHead {
						writeFaults.Add(1)
					}
				}
				return status, h, abort
			})
			idx := randomIndex(t)
			res, err := Push(ctxT(t), request(layoutOf(t, idx), []string{reg.repo("team/app")}, "1.0.0"))
			if err != nil {
				t.Fatalf("Push: %v\n%s", err, res)
			}
			if faults.Load() < 5 || writeFaults.Load() == 0 {
				t.Fatalf("%d faults injected, %d on writes; want several, some on writes", faults.Load(), writeFaults.Load())
			}
			wantAll(t, res, StatusPushed)
			validateRemote(t, reg.repo("team/app")+":1.0.0", true)
		})
	}

	// Faults on the writes themselves: every first attempt at a blob
	// upload and at a manifest PUT fails.
	t.Run("500 on first upload attempts and manifest PUTs", func(t *testing.T) {
		reg := newTestReg(t)
		var failed atomic.Int64
		seen := map[string]bool{}
		reg.setFault(func(n int64, r *http.Request) (int, http.Header, bool) {
			key := r.Method + " " + r.URL.Path
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") ||
				r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
				if r.Method == http.MethodPost {
					key += fmt.Sprint(failed.Load())
				}
				if !seen[key] && failed.Load() < 6 {
					seen[key] = true
					failed.Add(1)
					return http.StatusServiceUnavailable, nil, false
				}
			}
			return 0, nil, false
		})
		res, err := Push(ctxT(t), request(layoutOf(t, randomIndex(t)), []string{reg.repo("team/app")}, "1.0.0", "1.0"))
		if err != nil {
			t.Fatalf("Push: %v\n%s", err, res)
		}
		if failed.Load() == 0 {
			t.Fatal("no fault was injected; the test tests nothing")
		}
		wantAll(t, res, StatusPushed)
		validateRemote(t, reg.repo("team/app")+":1.0", true)
	})

	t.Run("a registry that keeps failing gives up, bounded", func(t *testing.T) {
		reg := newTestReg(t)
		var puts atomic.Int64
		reg.setFault(func(n int64, r *http.Request) (int, http.Header, bool) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				puts.Add(1)
				return http.StatusInternalServerError, nil, false
			}
			return 0, nil, false
		})
		res, err := Push(ctxT(t), request(layoutOf(t, randomImage(t, 2)), []string{reg.repo("team/app")}, "1.0.0"))
		if !errors.Is(err, ErrIncomplete) {
			t.Fatalf("err = %v, want ErrIncomplete", err)
		}
		wantAll(t, res, StatusFailed)
		if n := puts.Load(); n != int64(fastRetry.Attempts) {
			t.Errorf("manifest PUT tried %d times, want Retry.Attempts = %d", n, fastRetry.Attempts)
		}
	})
}

// TestRegistryDiesMidPush kills the registry after k requests (connections
// aborted from then on), then revives it and checks that every target the
// result calls pushed is really there and intact.
func TestRegistryDiesMidPush(t *testing.T) {
	t.Parallel()
	idx := randomIndex(t)
	dir := layoutOf(t, idx)
	sawFailure, sawPushed := false, false
	for _, k := range []int64{4, 12, 30, 45, 60, 80} {
		t.Run(fmt.Sprint("after ", k, " requests"), func(t *testing.T) {
			reg := newTestReg(t)
			var dead atomic.Bool
			reg.setFault(func(n int64, r *http.Request) (int, http.Header, bool) {
				if n > k {
					dead.Store(true)
				}
				return 0, nil, dead.Load()
			})
			repos := []string{reg.repo("a/app"), reg.repo("b/app")}
			res, err := Push(ctxT(t), request(dir, repos, "1.0.0", "1.0"))
			reg.setFault(nil) // revive
			pushed := res.With(StatusPushed)
			t.Logf("killed after %d requests: %d of %d pushed; err: %v", k, len(pushed), len(res.Targets), err)
			if (err == nil) != (len(pushed) == len(res.Targets)) {
				t.Errorf("err = %v with %d of %d pushed; want an error exactly when not all are pushed", err, len(pushed), len(res.Targets))
			}
			if err != nil && !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrCheck) && !errors.Is(err, ErrSource) {
				t.Errorf("err = %v, want ErrIncomplete or ErrCheck", err)
			}
			if code := rplan.ExitCode(classify(err)); err != nil && code != rplan.ExitUndecided {
				t.Errorf("exit %d, want 3: a registry that died could not decide the push: %v", code, err)
			}
			for _, tg := range pushed {
				sawPushed = true
				wantRemote(t, tg.Ref, digest(t, idx), true) // reported pushed
			}
			for _, tg := range res.Targets {
				switch tg.Status {
				case StatusPushed:
				case StatusFailed, StatusNotAttempted:
					sawFailure = true
					if tg.Err == nil {
						t.Errorf("%s is %s without a reason", tg.Ref, tg.Status)
					}
				default:
					t.Errorf("%s: unexpected status %q", tg.Ref, tg.Status)
				}
			}
		})
	}
	if !sawFailure || !sawPushed {
		t.Errorf("the kill points never produced both outcomes (failure seen %v, pushed seen %v); adjust them", sawFailure, sawPushed)
	}
}

// TestRegistryClosedMidPush closes the real server (listener and
// connections) early in the write phase: nothing can be verified, so
// nothing may be reported as pushed.
func TestRegistryClosedMidPush(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	var once atomic.Bool
	reg.setFault(func(n int64, r *http.Request) (int, http.Header, bool) {
		if r.Method == http.MethodPost && once.CompareAndSwap(false, true) {
			go reg.srv.Close()
			return 0, nil, true
		}
		return 0, nil, false
	})
	res, err := Push(ctxT(t), request(layoutOf(t, randomIndex(t)), []string{reg.repo("a/app")}, "1.0.0", "1.0"))
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete\n%s", err, res)
	}
	wantAll(t, res, StatusFailed)
	if !once.Load() {
		t.Fatal("the server was never closed; the test tests nothing")
	}
}

// dockerTarball writes img as a `docker save` tarball tagged ref and
// returns the file.
func dockerTarball(t *testing.T, img v1.Image, ref string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "app.tar")
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestSourceDockerTarball(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	img := randomImage(t, 3)
	file := dockerTarball(t, img, "registry.example.org/team/app:1.4.0")
	res, err := Push(ctxT(t), request(file, []string{reg.repo("team/app")}, "1.4.0"))
	if err != nil {
		t.Fatalf("Push: %v\n%s", err, res)
	}
	wantAll(t, res, StatusPushed)
	wantRemote(t, reg.repo("team/app:1.4.0"), digest(t, img), false)
}

func TestSourceDockerTarballWithSeveralImages(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	a, b := randomImage(t, 1), randomImage(t, 2)
	file := filepath.Join(t.TempDir(), "two.tar")
	ta, _ := name.NewTag("registry.example.org/team/a:1.0.0")
	tb, _ := name.NewTag("registry.example.org/team/b:1.0.0")
	if err := tarball.MultiRefWriteToFile(file, map[name.Reference]v1.Image{ta: a, tb: b}); err != nil {
		t.Fatal(err)
	}
	// Without a name: refused, listing what is inside.
	_, err := Push(ctxT(t), request(file, []string{reg.repo("team/b")}, "1.0.0"))
	if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "registry.example.org/team/b:1.0.0") {
		t.Fatalf("err = %v, want ErrSource listing the saved names", err)
	}
	if n := reg.writes.Load(); n != 0 {
		t.Fatalf("%d writes after a bad source, want 0", n)
	}
	for _, spec := range []string{file + ":registry.example.org/team/b:1.0.0", "docker-archive:" + file + ":registry.example.org/team/b:1.0.0"} {
		res, err := Push(ctxT(t), request(spec, []string{reg.repo("team/b")}, "1.0.0"))
		if err != nil {
			t.Fatalf("Push %s: %v\n%s", spec, err, res)
		}
		if got := headDigest(t, reg.repo("team/b:1.0.0")); got != digest(t, b) {
			t.Errorf("%s: registry holds %s, want image b %s", spec, got, digest(t, b))
		}
	}
}

func TestSourceStagingRegistry(t *testing.T) {
	t.Parallel()
	staging := newTestReg(t)
	target := newTestReg(t)
	idx := randomIndex(t)
	stagingRef, _ := name.ParseReference(staging.repo("staging/app:build-42"))
	if err := remote.WriteIndex(stagingRef, idx); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{stagingRef.String(), "docker://" + stagingRef.String()} {
		// Same registry (blobs mounted) and another registry (copied).
		repos := []string{staging.repo("release/app"), target.repo("release/app")}
		res, err := Push(ctxT(t), request(spec, repos, "3.1.0"))
		if err != nil {
			t.Fatalf("Push %s: %v\n%s", spec, err, res)
		}
		for _, tg := range res.Targets {
			if tg.Status != StatusPushed && tg.Status != StatusIdentical {
				t.Errorf("%s: %s", tg.Ref, tg.Status)
			}
			wantRemote(t, tg.Ref, digest(t, idx), true) // the staging index, kept whole
		}
	}
}

func TestSourceErrorsWriteNothing(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	// Two manifests in index.json.
	two := layoutOf(t, randomImage(t, 1))
	p := mustLayout(t, two)
	if err := p.AppendImage(randomImage(t, 1)); err != nil {
		t.Fatal(err)
	}
	// A layer blob gone.
	broken := layoutOf(t, randomImage(t, 2))
	removeOneLayer(t, broken)

	for _, tc := range []struct{ spec, want string }{
		{two, "lists 2 manifests"},
		{broken, "missing from the layout"},
		{filepath.Join(t.TempDir(), "nope.tar"), "no such file"},
		{t.TempDir(), "not an OCI image layout"},
		{reg.repo("staging/none:1"), "fetching"},
	} {
		_, err := Push(ctxT(t), request(tc.spec, []string{reg.repo("team/app")}, "1.0.0"))
		if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("source %s: err = %v, want ErrSource mentioning %q", tc.spec, err, tc.want)
		}
	}
	if n := reg.writes.Load(); n != 0 {
		t.Errorf("%d write requests after bad sources, want 0", n)
	}
}

func TestMirrors(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	img := randomImage(t, 1)
	req := request(layoutOf(t, img), []string{"registry.example.org/team/app"}, "1.0.0")
	req.Mirrors = map[string]string{"registry.example.org": reg.host}
	res, err := Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("Push: %v\n%s", err, res)
	}
	wantAll(t, res, StatusPushed)
	tg := res.Targets[0]
	if tg.Ref != "registry.example.org/team/app:1.0.0" || tg.Contacted != reg.repo("team/app:1.0.0") {
		t.Errorf("Ref %q Contacted %q; want the official name and the mirror", tg.Ref, tg.Contacted)
	}
	if got := headDigest(t, reg.repo("team/app:1.0.0")); got != digest(t, img) {
		t.Errorf("mirror holds %s, want %s", got, digest(t, img))
	}
}

func TestSeveralImagesInOneRun(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	a, b := randomImage(t, 2), randomIndex(t)
	req := request(layoutOf(t, a), []string{reg.repo("team/a")}, "1.0.0")
	req.Images = []Image{{Source: layoutOf(t, b), Repos: []string{reg.repo("team/b")}, Tags: []string{"2.0.0"}}}
	res, err := Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("Push: %v\n%s", err, res)
	}
	wantAll(t, res, StatusPushed)
	if headDigest(t, reg.repo("team/a:1.0.0")) != digest(t, a) || headDigest(t, reg.repo("team/b:2.0.0")) != digest(t, b) {
		t.Errorf("registry does not hold both images:\n%s", res)
	}
}
