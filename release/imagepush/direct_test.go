package imagepush

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// stage writes content (an image or an index) to ref in the registry.
func stage(t *testing.T, ref string, content remote.Taggable) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	switch c := content.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(r, c)
	case v1.Image:
		err = remote.Write(r, c)
	}
	if err != nil {
		t.Fatalf("staging %s: %v", ref, err)
	}
}

// blobCount counts the distinct blobs (configs and layers) of content.
func blobCount(t *testing.T, content remote.Taggable) int {
	t.Helper()
	var blobs []v1.Hash
	var children []manifestChild
	if err := walk(content, 0, map[v1.Hash]bool{}, &blobs, &children); err != nil {
		t.Fatal(err)
	}
	return len(blobs)
}

// count returns how many logged requests (METHOD /path) satisfy match.
func count(log []string, match func(method, path string) bool) int {
	n := 0
	for _, l := range log {
		method, path, _ := strings.Cut(l, " ")
		if match(method, path) {
			n++
		}
	}
	return n
}

func TestDirectMountFromStagingRegistry(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	reg.linkMounts.Store(true)
	img, idx := randomImage(t, 3), randomIndex(t)
	stage(t, reg.repo("staging/app:build-1"), img)
	stage(t, reg.repo("staging/multi:build-1"), idx)
	logStart := len(reg.requests())
	postsBefore := reg.mountPOSTs.Load()

	req := request(reg.repo("staging/app:build-1"), []string{reg.repo("release/app"), reg.repo("mirror/app")}, "1.0.0", "1.0")
	req.Images = []Image{{Source: reg.repo("staging/multi:build-1"), Repos: []string{reg.repo("release/multi")}, Tags: []string{"2.0.0"}}}
	res, err := Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("Push: %v\n%s", err, res)
	}
	wantAll(t, res, StatusPushed)
	for _, tg := range res.Targets {
		isIndex := strings.Contains(tg.Ref, "/multi:")
		want := digest(t, img)
		if isIndex {
			want = digest(t, idx)
		}
		wantRemote(t, tg.Ref, want, isIndex)
	}

	// Every blob mounted once per repository (not per tag), directly.
	wantMounts := 2*blobCount(t, img) + blobCount(t, idx)
	if n := reg.mountPOSTs.Load() - postsBefore; n != int64(wantMounts) {
		t.Errorf("%d mount requests, want %d (each blob once per repository)", n, wantMounts)
	}
	if n := reg.mounted.Load(); n != int64(wantMounts) {
		t.Errorf("%d blobs mounted (201), want %d", n, wantMounts)
	}
	log := reg.requests()[logStart:]
	if n := count(log, func(m, p string) bool { return m == http.MethodHead && strings.Contains(p, "/blobs/") }); n != 0 {
		t.Errorf("%d blob HEAD requests, want 0 on the direct path:\n%s", n, strings.Join(log, "\n"))
	}
	if n := count(log, func(m, p string) bool {
		return m == http.MethodPatch || m == http.MethodPut && strings.Contains(p, "/blobs/uploads/")
	}); n != 0 {
		t.Errorf("%d blob upload requests, want 0 (all mounted)", n)
	}
	// 2 repositories x 2 tags of the image, and the index's 3 children by
	// digest and the index.
	if n := count(log, func(m, p string) bool { return m == http.MethodPut && strings.Contains(p, "/manifests/") }); n != 8 {
		t.Errorf("%d manifest PUTs, want 8 (4 tags of the image, 3 children and the tag of the index)", n)
	}
}

func TestDirectMountFallsBackWhenRefused(t *testing.T) {
	t.Parallel()
	// The in-process registry ignores mount and starts an upload (202),
	// like a registry that does not mount across repositories.
	reg := newTestReg(t)
	img := randomImage(t, 3)
	stage(t, reg.repo("staging/app:build-1"), img)
	logStart := len(reg.requests())

	req := request(reg.repo("staging/app:build-1"), []string{reg.repo("release/app"), reg.repo("mirror/app")}, "1.0.0", "1.0")
	res, err := Push(ctxT(t), req)
	if err != nil {
		t.Fatalf("Push: %v\n%s", err, res)
	}
	wantAll(t, res, StatusPushed)
	for _, tg := range res.Targets {
		wantRemote(t, tg.Ref, digest(t, img), false)
	}
	if reg.mountPOSTs.Load() == 0 || reg.mounted.Load() != 0 {
		t.Errorf("%d mount requests, %d mounted; want the direct path tried and refused", reg.mountPOSTs.Load(), reg.mounted.Load())
	}
	// The fallback is remote.Write: it asks about each blob first.
	log := reg.requests()[logStart:]
	if n := count(log, func(m, p string) bool { return m == http.MethodHead && strings.Contains(p, "/blobs/") }); n == 0 {
		t.Errorf("no blob HEAD requests; want the remote.Write fallback after the refused mount:\n%s", strings.Join(log, "\n"))
	}
}

func TestDirectMountRetries503(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	reg.linkMounts.Store(true)
	img := randomImage(t, 2)
	stage(t, reg.repo("staging/app:build-1"), img)
	logStart := len(reg.requests())
	var failed atomic.Int64
	reg.setFault(func(_ int64, r *http.Request) (int, http.Header, bool) {
		if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" && failed.Add(1) <= 2 {
			return http.StatusServiceUnavailable, nil, false
		}
		return 0, nil, false
	})

	res, err := Push(ctxT(t), request(reg.repo("staging/app:build-1"), []string{reg.repo("release/app")}, "1.0.0"))
	if err != nil {
		t.Fatalf("Push: %v\n%s", err, res)
	}
	wantAll(t, res, StatusPushed)
	validateRemote(t, reg.repo("release/app:1.0.0"), false)
	if n, want := reg.mounted.Load(), int64(blobCount(t, img)); n != want {
		t.Errorf("%d blobs mounted, want %d: the 503s are retried on the direct path", n, want)
	}
	log := reg.requests()[logStart:]
	if n := count(log, func(m, p string) bool { return m == http.MethodHead && strings.Contains(p, "/blobs/") }); n != 0 {
		t.Errorf("%d blob HEAD requests, want 0: a 503 is retried, not a reason to fall back", n)
	}
}
