package imagepush

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/relkit/relkit/checks/imageref"
)

// RetryStatusCodes are the HTTP statuses retried (408, 429 and 5xx that
// mean "try again").
var RetryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// Retry bounds the retries of failed registry requests. Requests without a
// body are retried by the transport; blob uploads and manifest writes are
// retried whole (a tag's manifest only after checking the tag again). Each is tried at most Attempts times, waiting Initial,
// then twice as long after each failure; a 429 or 503 with Retry-After
// additionally waits what the registry asks, up to MaxRetryAfter.
type Retry struct {
	Attempts      int           // default 5
	Initial       time.Duration // default 1s
	MaxRetryAfter time.Duration // default 60s
}

// MaxAttempts bounds Retry.Attempts.
const MaxAttempts = 10

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	r.Attempts = min(r.Attempts, MaxAttempts)
	if r.Initial <= 0 {
		r.Initial = time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = time.Minute
	}
	return r
}

// backoff is the library's backoff for r: Steps is the number of attempts.
// No Cap: a capped backoff in go-containerregistry stops after the capped
// sleep without a last attempt.
func (r Retry) backoff() remote.Backoff {
	return remote.Backoff{Duration: r.Initial, Factor: 2, Jitter: 0.1, Steps: r.Attempts}
}

// retryAfter delays a 429 or 503 response that carries Retry-After by the
// time asked for (bounded, and cut short by the request's context), so
// that the retry layered above it comes back when the registry asked.
type retryAfter struct {
	inner http.RoundTripper
	max   time.Duration
}

func (t *retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return resp, err
	}
	d, ok := imageref.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if !ok || d <= 0 {
		return resp, nil
	}
	wait(req.Context(), min(d, t.max))
	return resp, nil
}

// wait returns after d or as soon as ctx ends, whichever comes first;
// the caller looks at ctx itself where that matters.
func wait(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// retryUnlessOnce sends a request through the retrying transport, unless
// its context was made by withoutRetry: then it is sent once and its
// caller decides what to do after a failure (a tag PUT re-checks the tag
// before it tries again).
type retryUnlessOnce struct {
	retrying, once http.RoundTripper
}

type onceKey struct{}

func withoutRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, onceKey{}, true)
}

func (t *retryUnlessOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Value(onceKey{}) != nil {
		return t.once.RoundTrip(req)
	}
	return t.retrying.RoundTrip(req)
}

// unreachable says whether err means that the registry could not be asked
// or would not answer, as opposed to an answer that refuses (a tag holding
// another image, a manifest the registry rejects): the connection was
// refused, reset or timed out, the name did not resolve, TLS failed, the
// registry kept answering 408, 429 or 5xx after the retries, or it refused
// the credentials (401, 403). image:push turns such an error into "could
// not decide" (exit 3): nobody can say whether the push is right.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch c := te.StatusCode; {
		case c >= 500, c == http.StatusRequestTimeout, c == http.StatusTooManyRequests,
			c == http.StatusUnauthorized, c == http.StatusForbidden:
			return true
		}
		return false
	}
	// Not every *net.OpError: a body that failed its digest check while
	// it was being sent is one too ("readfrom tcp ...: error verifying").
	for _, e := range []error{context.DeadlineExceeded, net.ErrClosed, syscall.ECONNREFUSED, syscall.ECONNRESET,
		syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dns *net.DNSError
	var ne net.Error
	var cert *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	if errors.As(err, &dns) || errors.As(err, &cert) || errors.As(err, &rec) || errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// A connection the registry closed. (A local source cut short ends in
	// EOF too: Push asks only about errors of registry requests.)
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// registryError marks an error of a request to a registry (as opposed to
// reading a local source), for unreachable.
type registryError struct{ err error }

func (e *registryError) Error() string { return e.err.Error() }
func (e *registryError) Unwrap() error { return e.err }

// unreachableRegistry says whether err came from a registry request and
// means the registry could not be reached (see unreachable).
func unreachableRegistry(err error) bool {
	var re *registryError
	return errors.As(err, &re) && unreachable(re.err)
}

// contactRepository maps repo to the repository actually contacted: its
// registry replaced by a mirror, plain HTTP for loopback hosts.
func contactRepository(repo name.Repository, mirrors map[string]string) (name.Repository, error) {
	host := repo.RegistryStr()
	m, ok := mirrors[host]
	if !ok && host == name.DefaultRegistry {
		m, ok = mirrors["docker.io"]
	}
	if ok {
		m = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m, "https://"), "http://"), "/")
		if m == "" || strings.Contains(m, "/") {
			return name.Repository{}, fmt.Errorf("mirror %q for %s: expected a host[:port]", mirrors[host], host)
		}
		host = m
	}
	var opts []name.Option
	if imageref.IsLoopback(host) {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(host+"/"+repo.RepositoryStr(), opts...)
}
