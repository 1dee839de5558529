package imageref

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Status is a registry's answer about one reference.
type Status string

const (
	// Exists: the registry served the manifest's descriptor.
	Exists Status = "exists"
	// Missing: the registry said the manifest or repository is unknown.
	Missing Status = "missing"
	// Unknown: the registry could not be reached, refused our credentials,
	// or kept failing; nothing can be concluded.
	Unknown Status = "unknown"
)

// Result is the outcome of one existence check.
type Result struct {
	// Ref is the reference as asked.
	Ref string
	// Contacted is the reference sent to the registry (after mirrors).
	Contacted string
	Status    Status
	// Digest is the manifest digest when Status is Exists.
	Digest string
	// Err explains Missing and Unknown.
	Err error
}

// Options configure a Checker. The zero value works.
type Options struct {
	// Mirrors maps a registry host to the host (optionally with a path
	// prefix) that serves its content. Docker Hub references match the keys
	// "docker.io" and "index.docker.io".
	Mirrors map[string]string
	// Jobs bounds the concurrent requests of CheckAll (default 16).
	Jobs int
	// Keychain resolves credentials (default authn.DefaultKeychain, which
	// reads $DOCKER_CONFIG/config.json and credential helpers).
	Keychain authn.Keychain
	// Transport is the base HTTP transport (default: a clone of
	// http.DefaultTransport keeping Jobs idle connections per host).
	Transport http.RoundTripper
	// Attempts is the number of tries of a request answered 429 or 5xx
	// (default 4).
	Attempts int
	// BaseDelay is the first backoff delay, doubled each retry (default
	// 250ms).
	BaseDelay time.Duration
	// MaxDelay caps every wait, including a registry's Retry-After (default
	// 10s).
	MaxDelay time.Duration
	// Timeout bounds one reference's check, retries included (default 2m).
	Timeout time.Duration
}

// Checker asks registries whether references exist. One Checker shares a
// single puller (so one ping and one token per repository) and one HTTP
// transport for the whole run. It is safe for concurrent use.
type Checker struct {
	opts   Options
	rt     *retryTransport
	puller *remote.Puller
	// down remembers registry hosts whose connection was refused, so a dead
	// registry costs one attempt, not one per reference.
	down sync.Map // host -> error
}

// NewChecker builds a Checker.
func NewChecker(o Options) (*Checker, error) {
	if o.Jobs <= 0 {
		o.Jobs = 16
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.Jobs
		t.MaxIdleConns = max(t.MaxIdleConns, 4*o.Jobs)
		o.Transport = t
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 250 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	rt := &retryTransport{base: o.Transport, attempts: o.Attempts, baseDelay: o.BaseDelay, maxDelay: o.MaxDelay, sleep: Sleep}
	p, err := remote.NewPuller(
		remote.WithAuthFromKeychain(o.Keychain),
		remote.WithTransport(rt),
		// Retries are rt's job (it honours Retry-After); keep the library's
		// own retry layer out of the way.
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithUserAgent("relkit"),
	)
	if err != nil {
		return nil, err
	}
	return &Checker{opts: o, rt: rt, puller: p}, nil
}

// mirrorFor returns the mirror of r's registry, or "".
func (c *Checker) mirrorFor(r Ref) string {
	if len(c.opts.Mirrors) == 0 {
		return ""
	}
	keys := []string{r.Registry, r.Host()}
	if h := r.Host(); h == name.DefaultRegistry || h == "docker.io" {
		keys = append(keys, "docker.io", name.DefaultRegistry)
	}
	for _, k := range keys {
		if m, ok := c.opts.Mirrors[k]; ok && k != "" && m != "" {
			return strings.TrimSuffix(m, "/")
		}
	}
	return ""
}

// Target is the reference the Checker sends to the registry for r: mirror
// applied, Docker Hub names normalised, the digest preferred over the tag.
func (c *Checker) Target(r Ref) (name.Reference, error) {
	repo, err := name.NewRepository(r.Name())
	if err != nil {
		return nil, err
	}
	host, path := repo.RegistryStr(), repo.RepositoryStr()
	if m := c.mirrorFor(r); m != "" {
		h, prefix, _ := strings.Cut(m, "/")
		host = h
		if prefix != "" {
			path = prefix + "/" + path
		}
	}
	opts := []name.Option{name.StrictValidation}
	if IsLoopback(host) {
		opts = append(opts, name.Insecure)
	}
	switch {
	case r.Digest != "":
		return name.NewDigest(host+"/"+path+"@"+r.Digest, opts...)
	case r.Tag != "":
		return name.NewTag(host+"/"+path+":"+r.Tag, opts...)
	}
	return nil, fmt.Errorf("%s has neither tag nor digest; nothing to look up", r.Original)
}

// Check asks the registry whether r exists.
func (c *Checker) Check(ctx context.Context, r Ref) Result {
	res := Result{Ref: r.Original, Status: Unknown}
	target, err := c.Target(r)
	if err != nil {
		res.Err = err
		return res
	}
	res.Contacted = target.String()
	host := target.Context().RegistryStr()
	if v, ok := c.down.Load(host); ok {
		res.Err = v.(error)
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	desc, err := remote.Head(target, remote.Reuse(c.puller), remote.WithContext(ctx))
	if err == nil {
		res.Status, res.Digest = Exists, desc.Digest.String()
		return res
	}
	res.Err = err
	switch {
	case isNotFound(err):
		res.Status = Missing
	case isRefused(err):
		e := fmt.Errorf("registry %s is unreachable: %w", host, err)
		c.down.Store(host, e)
		res.Err = e
	}
	return res
}

// CheckAll checks every distinct reference (by Original) with at most Jobs
// checks in flight, and returns one result per distinct reference, in the
// order of first appearance.
func (c *Checker) CheckAll(ctx context.Context, refs []Ref) []Result {
	seen := map[string]int{}
	var uniq []Ref
	for _, r := range refs {
		if _, ok := seen[r.Original]; !ok {
			seen[r.Original] = len(uniq)
			uniq = append(uniq, r)
		}
	}
	out := make([]Result, len(uniq))
	sem := make(chan struct{}, c.opts.Jobs)
	var wg sync.WaitGroup
	for i, r := range uniq {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = Result{Ref: r.Original, Status: Unknown, Err: ctx.Err()}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = c.Check(ctx, r)
		}()
	}
	wg.Wait()
	return out
}

// isNotFound: the registry answered a manifest request with 404, or named
// the manifest or repository unknown.
func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	// A 404 from the ping or a token server says nothing about the image.
	return te.StatusCode == http.StatusNotFound && te.Request != nil && strings.Contains(te.Request.URL.Path, "/manifests/")
}

// isRefused: the registry cannot be connected to at all: nothing listens,
// the name does not resolve, or the connection attempt timed out. Later
// references to the same host are not tried again (each would wait as
// long), and all of them stay undecided.
func isRefused(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
