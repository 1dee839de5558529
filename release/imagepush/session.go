package imagepush

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/relkit/relkit/checks/imageref"
	rplan "github.com/relkit/relkit/release/plan"
)

// session is the shared machinery of one run: one authenticated transport,
// puller and pusher per registry host, all on one connection pool.
//
// The per-host transport is authenticated once (one ping, one token
// exchange covering every repository of the run on that host) and handed
// to go-containerregistry as a transport.Wrapper, so pullers and pushers
// do not ping and log in again for each repository. Retries are layered
// the way remote does it: requests without a body are retried by the
// transport, blob uploads and manifest PUTs by digest whole by the pusher.
// A manifest PUT under a tag is sent once (withoutRetry) and retried by
// publish, which checks the tag again before each attempt.
type session struct {
	req    Request
	jobs   int
	rep    *reporter
	kc     authn.Keychain
	retry  Retry
	base   *http.Transport
	scopes map[string][]string // host -> initial token scopes

	mu      sync.Mutex
	clients map[string]*client

	// conflict is set once a tag of the run was found holding another
	// image after the writing started: no further tag is written.
	conflict atomic.Bool
}

type client struct {
	once   sync.Once
	err    error
	puller *remote.Puller
	pusher *remote.Pusher
	// http is the authenticated, retrying client of the direct requests
	// (cross-repository mounts).
	http *http.Client
	// noMount is set once the registry declined a mount: no more direct
	// mounts are tried on it.
	noMount atomic.Bool
}

func newSession(req Request, jobs int, rep *reporter, scopes map[string][]string) *session {
	kc := req.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	base := remote.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 4 * jobs * jobs
	return &session{req: req, jobs: jobs, rep: rep, kc: kc, retry: req.Retry.WithDefaults(),
		base: base, scopes: scopes, clients: map[string]*client{}}
}

func (s *session) close() { s.base.CloseIdleConnections() }

// scopes lists the token scopes each contacted host needs: push on every
// target repository, pull on every registry source.
func scopes(targets []*target, images []Image, mirrors map[string]string) map[string][]string {
	m := map[string][]string{}
	add := func(r name.Repository, action string) {
		sc := r.Scope(action)
		if !slices.Contains(m[r.RegistryStr()], sc) {
			m[r.RegistryStr()] = append(m[r.RegistryStr()], sc)
		}
	}
	for _, t := range targets {
		add(t.contact.Repository, transport.PushScope)
	}
	for _, im := range images {
		if _, err := os.Stat(im.Source); err == nil {
			continue // a local source
		}
		if ref, err := name.ParseReference(strings.TrimPrefix(im.Source, "docker://")); err == nil {
			if r, err := imageref.ContactRepository(ref.Context(), mirrors); err == nil {
				add(r, transport.PullScope)
			}
		}
	}
	return m
}

// client returns the puller and pusher for the registry of repo, logging
// in on first use.
func (s *session) client(ctx context.Context, reg name.Registry) (*client, error) {
	host := reg.RegistryStr()
	s.mu.Lock()
	c, ok := s.clients[host]
	if !ok {
		c = &client{}
		s.clients[host] = c
	}
	s.mu.Unlock()
	c.once.Do(func() { c.err = s.login(ctx, reg, c) })
	return c, c.err
}

func (s *session) login(ctx context.Context, reg name.Registry, c *client) error {
	auth, err := authn.Resolve(ctx, s.kc, reg)
	if err != nil {
		return fmt.Errorf("credentials for %s: %w", reg, err)
	}
	backoff := s.retry.Backoff()
	var once http.RoundTripper = imageref.RetryAfterTransport(s.base, s.retry.MaxRetryAfter)
	var rt http.RoundTripper = &retryUnlessOnce{
		retrying: transport.NewRetry(once, transport.WithRetryBackoff(backoff),
			transport.WithRetryStatusCodes(imageref.RetryStatusCodes...), transport.WithRetryPredicate(imageref.Retryable)),
		once: once,
	}
	rt = transport.NewUserAgent(rt, "relkit-imagepush")
	scopes := s.scopes[reg.RegistryStr()]
	if len(scopes) == 0 {
		scopes = []string{reg.Scope(transport.PullScope)}
	}
	wrapped, err := transport.NewWithContext(ctx, reg, auth, rt, scopes)
	if err != nil {
		return fmt.Errorf("logging in to %s: %w", reg, err)
	}
	c.http = &http.Client{Transport: wrapped, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a mount that redirects is not a mount
	}}
	opts := []remote.Option{
		remote.WithTransport(wrapped),
		remote.WithJobs(s.jobs),
		remote.WithRetryBackoff(backoff),
		remote.WithRetryStatusCodes(imageref.RetryStatusCodes...),
		remote.WithRetryPredicate(imageref.Retryable),
	}
	if c.puller, err = remote.NewPuller(opts...); err != nil {
		return err
	}
	if ch := s.rep.updates(); ch != nil {
		opts = append(opts, remote.WithProgress(ch))
	}
	c.pusher, err = remote.NewPusher(opts...)
	return err
}

func (s *session) sourceOptions() []SourceOption {
	return []SourceOption{WithMirrors(s.req.Mirrors), withPuller(func(ctx context.Context, reg name.Registry) ([]remote.Option, error) {
		c, err := s.client(ctx, reg)
		if err != nil {
			return nil, err
		}
		return []remote.Option{remote.Reuse(c.puller)}, nil
	})}
}

// check HEADs every target and classifies it. It returns an error (and
// marks the unchecked targets not attempted) when anything is refused or
// cannot be checked: then nothing may be written.
func (s *session) check(ctx context.Context, targets []*target) error {
	var mu sync.Mutex
	var conflicts, problems []string
	allUnreachable := true
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.jobs)
	for _, t := range targets {
		g.Go(func() error {
			c, err := s.client(gctx, t.contact.Registry)
			var found *v1.Descriptor
			if err == nil {
				found, err = c.puller.Head(gctx, t.contact)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case isNotFound(err):
				// To write.
			case err != nil:
				t.res.Status, t.res.Err = StatusFailed, fmt.Errorf("%w: HEAD %s: %w", ErrCheck, t.contact, err)
				problems = append(problems, t.res.Err.Error())
				allUnreachable = allUnreachable && imageref.Unreachable(err)
			case found.Digest == t.res.Digest:
				t.res.Found = found.Digest
				t.res.Status = StatusIdentical
				s.rep.finished(*t.res)
			default:
				t.res.Found = found.Digest
				t.res.Status = StatusRefused
				t.res.Err = fmt.Errorf("%w: the registry holds %s, the source is %s; release tags are immutable, so publish a new release instead", ErrTagConflict, found.Digest, t.res.Digest)
				conflicts = append(conflicts, t.res.Ref+": holds "+found.Digest.String())
			}
			return nil
		})
	}
	_ = g.Wait()
	if len(conflicts) == 0 && len(problems) == 0 {
		return ctx.Err()
	}
	blocked := errors.New("nothing was written: another target was refused or could not be checked")
	for _, t := range targets {
		if t.res.Status == "" {
			t.res.Status, t.res.Err = StatusNotAttempted, blocked
		}
	}
	var msgs []string
	if len(conflicts) > 0 {
		msgs = append(msgs, fmt.Sprintf("%v (tags are immutable; source digest %s):\n  %s",
			ErrTagConflict, targets[0].res.Digest, strings.Join(conflicts, "\n  ")))
	}
	msgs = append(msgs, problems...)
	err := errors.New(strings.Join(msgs, "\n") + "\nnothing was written")
	if len(conflicts) > 0 {
		return wrapAll(err, ErrTagConflict)
	}
	if allUnreachable {
		// The registry could not be asked: could not decide (exit 3).
		return &rplan.Undecided{Err: wrapAll(err, ErrCheck)}
	}
	return wrapAll(err, ErrCheck)
}

// repoGroup is the targets of one image in one contacted repository. The
// first tag carries the content (blobs, child manifests, manifest); the
// other tags are only a PUT of the same manifest.
type repoGroup struct {
	img  int
	repo name.Repository
	ts   []*target
	// from is a repository of the same registry holding every blob of the
	// image (the staging source, or the repository written first): the
	// blobs are mounted from it.
	from *name.Repository
}

// pushed says whether the group's content is in its repository.
func (g *repoGroup) pushed() bool {
	for _, t := range g.ts {
		if t.res.Status == StatusPushed {
			return true
		}
	}
	return false
}

// write pushes the targets that need it, one group per image and
// repository. An image whose source is a repository of the target's
// registry is mounted from there into every repository at once. Otherwise
// the first repository per registry (the lead) is written first, then the
// others mount the blobs from the lead.
func (s *session) write(ctx context.Context, todo []*target, sources []*Source) {
	type groupKey struct {
		img  int
		repo string
	}
	type leadKey struct {
		img int
		reg string
	}
	var groups []*repoGroup
	byKey := map[groupKey]*repoGroup{}
	for _, t := range todo {
		k := groupKey{t.img, t.contact.Repository.String()}
		g, ok := byKey[k]
		if !ok {
			g = &repoGroup{img: t.img, repo: t.contact.Repository}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.ts = append(g.ts, t)
	}
	lead := map[leadKey]*repoGroup{}
	var first, second []*repoGroup
	for _, g := range groups {
		if from, ok := sources[g.img].mountFrom(g.repo); ok {
			g.from = &from
			first = append(first, g)
			continue
		}
		k := leadKey{g.img, g.repo.RegistryStr()}
		if _, ok := lead[k]; !ok {
			// Leads whose targets all ended identical are not in todo;
			// the registry already holds their blobs, which is as good.
			lead[k] = g
			first = append(first, g)
			continue
		}
		second = append(second, g)
	}
	cts := make([]contents, len(sources))
	s.writeGroups(ctx, first, sources, cts)
	for _, g := range second {
		if l := lead[leadKey{g.img, g.repo.RegistryStr()}]; l.pushed() {
			from := l.repo
			g.from = &from
		}
	}
	s.writeGroups(ctx, second, sources, cts)
}

func (s *session) writeGroups(ctx context.Context, groups []*repoGroup, sources []*Source, cts []contents) {
	if len(groups) == 0 {
		return
	}
	var g errgroup.Group // no shared cancel: one failed target does not stop the others
	g.SetLimit(s.jobs)
	for _, grp := range groups {
		g.Go(func() error {
			s.writeGroup(ctx, grp, sources[grp.img], &cts[grp.img])
			for _, t := range grp.ts {
				// Pushed targets are reported once Push has read them
				// again after the settle time.
				if t.res.Status != StatusPushed {
					s.rep.finished(*t.res)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
}

// writeGroup writes the image's content into the group's repository
// (blobs, child manifests, and the manifest by digest), then publishes it
// under every tag of the group.
func (s *session) writeGroup(ctx context.Context, g *repoGroup, src *Source, cts *contents) {
	fail := func(ts []*target, err error) {
		for _, t := range ts {
			t.res.Status, t.res.Err = StatusFailed, err
		}
	}
	if err := ctx.Err(); err != nil {
		fail(g.ts, fmt.Errorf("not written: %w", err))
		return
	}
	if s.stopped(g.ts) {
		return
	}
	c, err := s.client(ctx, g.repo.Registry)
	if err != nil {
		fail(g.ts, fmt.Errorf("writing %s: %w", g.repo, err))
		return
	}
	if err := s.writeContent(ctx, c, g, src, cts); err != nil {
		fail(g.ts, fmt.Errorf("writing the image into %s: %w", g.repo, err))
		return
	}
	var eg errgroup.Group
	eg.SetLimit(s.jobs)
	for _, t := range g.ts {
		eg.Go(func() error {
			s.publish(ctx, c, t, src.Taggable)
			return nil
		})
	}
	_ = eg.Wait()
}

// writeContent puts everything the image's manifest needs into the
// group's repository, and the manifest itself by digest (which names no
// tag, so it cannot clash with another run): mounted directly when it
// can, else through remote.Write (which still offers the blobs for
// mounting from g.from).
func (s *session) writeContent(ctx context.Context, c *client, g *repoGroup, src *Source, cts *contents) error {
	content := src.Taggable
	byDigest := g.repo.Digest(src.Digest.String())
	if g.from == nil {
		return c.pusher.Push(ctx, byDigest, content)
	}
	if !c.noMount.Load() {
		err := s.writeDirect(ctx, c, g.repo, *g.from, content, cts)
		if err == nil || !errors.Is(err, errNoMount) {
			return err
		}
	}
	return c.pusher.Push(ctx, byDigest, mountable(content, g.from.Digest(src.Digest.String())))
}

// wrapAll returns err, also matching sentinel with errors.Is.
func wrapAll(err, sentinel error) error { return &sentinelError{err: err, sentinel: sentinel} }

type sentinelError struct{ err, sentinel error }

func (e *sentinelError) Error() string   { return e.err.Error() }
func (e *sentinelError) Unwrap() []error { return []error{e.err, e.sentinel} }
