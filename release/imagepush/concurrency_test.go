package imagepush

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	rplan "github.com/relkit/relkit/release/plan"
)

// Two runs, A and B, push different images to the same new tag of one
// registry at the same time. Each contacts the registry through its own
// front (a mirror of the official name, as images.mirrors configures), so
// that the fronts can hold one run's requests until the other reaches a
// given point: the interleavings that matter are forced, not hoped for.

// racePair is a registry with two fronts, one per run.
type racePair struct {
	front [2]*httptest.Server
	// hook, when set, is called for every request of run i (0 is A, 1 is
	// B) and serves it (next is the registry).
	hook atomic.Pointer[func(run int, w http.ResponseWriter, r *http.Request, next http.Handler)]
	mu   sync.Mutex
	log  [2][]string
	// keychain is the requests' keychain (nil: the default, which reads
	// DOCKER_CONFIG); the in-process registry needs none.
	keychain authn.Keychain
}

func newRacePair(t *testing.T, backend http.Handler) *racePair {
	t.Helper()
	p := &racePair{keychain: authn.NewMultiKeychain()}
	for i := range p.front {
		p.front[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			p.log[i] = append(p.log[i], r.Method+" "+r.URL.Path)
			p.mu.Unlock()
			if h := p.hook.Load(); h != nil {
				(*h)(i, w, r, backend)
				return
			}
			backend.ServeHTTP(w, r)
		}))
		t.Cleanup(p.front[i].Close)
	}
	return p
}

func (p *racePair) host(run int) string { return strings.TrimPrefix(p.front[run].URL, "http://") }

func (p *racePair) setHook(h func(run int, w http.ResponseWriter, r *http.Request, next http.Handler)) {
	p.hook.Store(&h)
}

// count counts run's logged requests with method on path.
func (p *racePair) count(run int, method, path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.log[run] {
		if l == method+" "+path {
			n++
		}
	}
	return n
}

// official is the repository both runs push to; each run's mirror maps it
// to its own front.
const official = "registry.example.org/team/app"

// raceRequest is run's request for content at tag.
func (p *racePair) request(run int, src, tag string) Request {
	req := request(src, []string{official}, tag)
	req.Mirrors = map[string]string{"registry.example.org": p.host(run)}
	req.Keychain = p.keychain
	return req
}

// waitFor waits for ch, failing the test after a bound (a deadlock in
// the interleaving would otherwise hang it).
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Errorf("timed out waiting for %s", what)
	}
}

type runResult struct {
	res Result
	err error
}

// race runs A and B at once and returns their results.
func race(t *testing.T, reqs [2]Request) [2]runResult {
	var out [2]runResult
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i].res, out[i].err = Push(ctxT(t), reqs[i])
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// wantLost checks the losing run: an error wrapping ErrTagConflict (exit
// 1, refused) naming both digests, and its target in status st.
func wantLost(t *testing.T, r runResult, st Status, ours, theirs v1.Hash) {
	t.Helper()
	if !errors.Is(r.err, ErrTagConflict) {
		t.Fatalf("losing run: err = %v, want ErrTagConflict\n%s", r.err, r.res)
	}
	if code := rplan.ExitCode(classify(r.err)); code != 1 {
		t.Errorf("losing run: exit %d, want 1", code)
	}
	for _, d := range []v1.Hash{ours, theirs} {
		if !strings.Contains(r.err.Error(), d.String()) {
			t.Errorf("losing run's error does not name %s:\n%v", d, r.err)
		}
	}
	if len(r.res.Targets) != 1 || r.res.Targets[0].Status != st || r.res.Targets[0].Found != theirs {
		t.Errorf("losing run's target: %s, want %s with Found = %s", r.res, st, theirs)
	}
}

func wantWon(t *testing.T, r runResult) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("winning run: %v\n%s", r.err, r.res)
	}
	wantAll(t, r.res, StatusPushed)
}

// TestConcurrentPushesOfDifferentImages forces the three ways two pushes
// to one new tag interleave once both passed the check before writing.
func TestConcurrentPushesOfDifferentImages(t *testing.T) {
	t.Parallel()
	forceInterleavings(t, func(t *testing.T) *racePair {
		return newRacePair(t, registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	})
}

// forceInterleavings runs the three forced interleavings on registries
// that newPair makes (a fresh one per case).
func forceInterleavings(t *testing.T, newPair func(t *testing.T) *racePair) {
	// New images per case: a registry that already holds an image's
	// blobs and manifest lets its run skip every write before the tag PUT.
	images := func(t *testing.T) (dA, dB v1.Hash, srcA, srcB string) {
		imgA, imgB := randomImage(t, 2), randomImage(t, 2)
		return digest(t, imgA), digest(t, imgB), layoutOf(t, imgA), layoutOf(t, imgB)
	}

	// bLandsAfterA holds A's tag PUT until B's arrives, then lets B's PUT
	// land right after A's PUT (afterReadBack false: before A reads the
	// tag back) or right after A's first read-back (true: before the
	// settle read). Either way A must fail saying how it found B's image
	// (wantErr), and the tag holds B's image.
	bLandsAfterA := func(t *testing.T, tag string, afterReadBack bool, wantErr func(dB v1.Hash) string) {
		tagPath := "/v2/team/app/manifests/" + tag
		dA, dB, srcA, srcB := images(t)
		p := newPair(t)
		bPutArrived, aPutDone, aReadBack, bPutDone := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
		var aPut atomic.Bool
		var aHeads atomic.Int32
		p.setHook(func(run int, w http.ResponseWriter, r *http.Request, next http.Handler) {
			onTag := r.URL.Path == tagPath
			switch {
			case run == 0 && onTag && r.Method == http.MethodPut:
				waitFor(t, bPutArrived, "B's PUT") // B passed its check while the tag was absent
				next.ServeHTTP(w, r)
				aPut.Store(true)
				close(aPutDone)
			case run == 0 && onTag && r.Method == http.MethodHead && aPut.Load():
				if afterReadBack && aHeads.Add(1) == 1 { // the read-back: still A's image
					next.ServeHTTP(w, r)
					close(aReadBack)
					return
				}
				waitFor(t, bPutDone, "B's PUT to land") // the read-back, or the settle read
				next.ServeHTTP(w, r)
			case run == 1 && onTag && r.Method == http.MethodPut:
				close(bPutArrived)
				if afterReadBack {
					waitFor(t, aReadBack, "A's read-back")
				} else {
					waitFor(t, aPutDone, "A's PUT")
				}
				next.ServeHTTP(w, r)
				close(bPutDone)
			default:
				next.ServeHTTP(w, r)
			}
		})
		out := race(t, [2]Request{p.request(0, srcA, tag), p.request(1, srcB, tag)})
		wantLost(t, out[0], StatusFailed, dA, dB)
		wantWon(t, out[1])
		if got := headDigest(t, p.host(0)+"/team/app:"+tag); got != dB {
			t.Errorf("the tag holds %s, want the winner's %s", got, dB)
		}
		if !strings.Contains(out[0].err.Error(), wantErr(dB)) {
			t.Errorf("A's error does not say how it found B's image (%q): %v", wantErr(dB), out[0].err)
		}
	}

	// A new tag per case: the registry may be shared.
	t.Run("B's PUT lands between A's PUT and A's read-back", func(t *testing.T) {
		bLandsAfterA(t, "1.0.0", false, func(dB v1.Hash) string { return "was read back holding " + dB.String() })
	})

	t.Run("A is written and read back before B's PUT: B stops at its check before the PUT", func(t *testing.T) {
		tag := "1.0.1" // a new tag per case: the registry may be shared
		tagPath := "/v2/team/app/manifests/" + tag
		dA, dB, srcA, srcB := images(t)
		p := newPair(t)
		bWriting, aDone := make(chan struct{}), make(chan struct{})
		var aFirst, bFirst sync.Once
		p.setHook(func(run int, w http.ResponseWriter, r *http.Request, next http.Handler) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				if run == 0 {
					aFirst.Do(func() { waitFor(t, bWriting, "B to start writing") }) // both passed the check
				} else {
					bFirst.Do(func() {
						close(bWriting)
						waitFor(t, aDone, "A's run to finish")
					})
				}
			}
			next.ServeHTTP(w, r)
		})
		reqB := p.request(1, srcB, tag)
		var out [2]runResult
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			out[0].res, out[0].err = Push(ctxT(t), p.request(0, srcA, tag))
			close(aDone)
		}()
		go func() {
			defer wg.Done()
			out[1].res, out[1].err = Push(ctxT(t), reqB)
		}()
		wg.Wait()
		wantWon(t, out[0])
		wantLost(t, out[1], StatusRefused, dB, dA)
		if n := p.count(1, http.MethodPut, tagPath); n != 0 {
			t.Errorf("B sent %d PUTs to the tag, want none: the check right before the PUT saw A's image", n)
		}
		if got := headDigest(t, p.host(1)+"/team/app:"+tag); got != dA {
			t.Errorf("the tag holds %s, want A's %s, untouched", got, dA)
		}
		if !strings.Contains(out[1].err.Error(), "now holds "+dA.String()) {
			t.Errorf("B's error does not say the tag now holds A's image: %v", out[1].err)
		}
	})

	t.Run("B's PUT lands after A's read-back: A's second read after the settle time catches it", func(t *testing.T) {
		bLandsAfterA(t, "1.0.2", true, func(v1.Hash) string { return "after it was read back" })
	})
}

// TestConcurrentPushesRace runs two pushes of different images to the
// same new tag many times with no forced order, only small random delays
// on the manifest requests: in every round exactly one run succeeds, the
// other fails naming both digests, and the tag holds the winner.
func TestConcurrentPushesRace(t *testing.T) {
	t.Parallel()
	p := newRacePair(t, registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	p.setHook(func(run int, w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		}
		next.ServeHTTP(w, r)
	})
	raceRounds(t, 30, func(run int, src, tag string) Request { return p.request(run, src, tag) },
		func(tag string) v1.Hash { return headDigest(t, p.host(0)+"/team/app:"+tag) })
}

// raceRounds runs rounds of two concurrent pushes of different images,
// each round to a new tag, and checks that exactly one wins every round.
func raceRounds(t *testing.T, rounds int, req func(run int, src, tag string) Request, holds func(tag string) v1.Hash) {
	t.Helper()
	imgA, imgB := randomImage(t, 1), randomImage(t, 1)
	d := [2]v1.Hash{digest(t, imgA), digest(t, imgB)}
	src := [2]string{layoutOf(t, imgA), layoutOf(t, imgB)}
	var wins [2]int
	late := 0 // rounds whose loser passed the check before writing
	for i := range rounds {
		tag := fmt.Sprintf("2.0.%d", i)
		reqs := [2]Request{req(0, src[0], tag), req(1, src[1], tag)}
		for j := range reqs {
			reqs[j].Settle = 100 * time.Millisecond
		}
		out := race(t, reqs)
		if (out[0].err == nil) == (out[1].err == nil) {
			t.Fatalf("round %d: A: %v, B: %v; want exactly one run to succeed\nA:\n%sB:\n%s", i, out[0].err, out[1].err, out[0].res, out[1].res)
		}
		w := 0
		if out[1].err == nil {
			w = 1
		}
		l := 1 - w
		wins[w]++
		wantWon(t, out[w])
		st := out[l].res.Targets[0].Status
		if st != StatusRefused && st != StatusFailed {
			t.Fatalf("round %d: the losing run's target is %s, want refused or failed", i, st)
		}
		wantLost(t, out[l], st, d[l], d[w])
		if strings.Contains(out[l].err.Error(), "another push wrote the tag at the same time") {
			late++
		}
		if got := holds(tag); got != d[w] {
			t.Fatalf("round %d: the tag holds %s, want the winner's %s", i, got, d[w])
		}
	}
	t.Logf("%d rounds: A won %d, B won %d; in %d rounds the loser had passed the check before writing and found out while writing", rounds, wins[0], wins[1], late)
}

// TestConcurrentPushesOfTheSameImage: two runs of the same image to one
// new tag both succeed; the one that finds the tag already holding its
// image right before its PUT writes no tag and reports it identical.
func TestConcurrentPushesOfTheSameImage(t *testing.T) {
	t.Parallel()
	p := newRacePair(t, registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	const tagPath = "/v2/team/app/manifests/1.0.0"
	img := randomImage(t, 2)
	src := layoutOf(t, img)
	bWriting, aDone := make(chan struct{}), make(chan struct{})
	var aFirst, bFirst sync.Once
	p.setHook(func(run int, w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if run == 0 {
				aFirst.Do(func() { waitFor(t, bWriting, "B to start writing") })
			} else {
				bFirst.Do(func() {
					close(bWriting)
					waitFor(t, aDone, "A's run to finish")
				})
			}
		}
		next.ServeHTTP(w, r)
	})
	var out [2]runResult
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		out[0].res, out[0].err = Push(ctxT(t), p.request(0, src, "1.0.0"))
		close(aDone)
	}()
	go func() {
		defer wg.Done()
		out[1].res, out[1].err = Push(ctxT(t), p.request(1, src, "1.0.0"))
	}()
	wg.Wait()
	wantWon(t, out[0])
	if out[1].err != nil {
		t.Fatalf("B: %v\n%s", out[1].err, out[1].res)
	}
	wantAll(t, out[1].res, StatusIdentical)
	if n := p.count(1, http.MethodPut, tagPath); n != 0 {
		t.Errorf("B sent %d PUTs to the tag, want none", n)
	}
	if got := headDigest(t, p.host(0)+"/team/app:1.0.0"); got != digest(t, img) {
		t.Errorf("the tag holds %s, want %s", got, digest(t, img))
	}
}
