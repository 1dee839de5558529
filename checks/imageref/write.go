package imageref

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
)

// What the targets that write to registries (image:push, chart:publish)
// share: which host is contacted for a repository (images.mirrors), how
// failed requests are retried, and which failures mean "the registry could
// not be asked" (exit 3) rather than a refusal.

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
// retried whole (a tag's manifest only after checking the tag again). Each
// is tried at most Attempts times, waiting Initial, then twice as long
// after each failure; a 429 or 503 with Retry-After additionally waits
// what the registry asks, up to MaxRetryAfter.
type Retry struct {
	Attempts      int           // default 5
	Initial       time.Duration // default 1s
	MaxRetryAfter time.Duration // default 60s
}

// MaxAttempts bounds Retry.Attempts.
const MaxAttempts = 10

// WithDefaults fills the zero fields and caps Attempts.
func (r Retry) WithDefaults() Retry {
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

// Backoff is the library's backoff for r: Steps is the number of attempts.
// No Cap: a capped backoff in go-containerregistry stops after the capped
// sleep without a last attempt.
func (r Retry) Backoff() remote.Backoff {
	return remote.Backoff{Duration: r.Initial, Factor: 2, Jitter: 0.1, Steps: r.Attempts}
}

// RemoteOptions are the go-containerregistry options of a puller or
// pusher that retries whole operations (blob uploads, manifest PUTs) the
// way r says.
func (r Retry) RemoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithRetryBackoff(r.Backoff()),
		remote.WithRetryStatusCodes(RetryStatusCodes...),
		remote.WithRetryPredicate(Retryable),
	}
}

// RetryingTransport is the transport registry writers send requests
// through: a 429 or 503 with Retry-After waits what the registry asks (up
// to r.MaxRetryAfter), and requests without a body are retried with r's
// backoff on RetryStatusCodes and Retryable errors.
func RetryingTransport(base http.RoundTripper, r Retry) http.RoundTripper {
	return transport.NewRetry(RetryAfterTransport(base, r.MaxRetryAfter), transport.WithRetryBackoff(r.Backoff()),
		transport.WithRetryStatusCodes(RetryStatusCodes...), transport.WithRetryPredicate(Retryable))
}

// RetryAfterTransport delays a 429 or 503 response that carries
// Retry-After by the time asked for (at most limit, cut short by the
// request's context), so that the retry layered above it comes back when
// the registry asked.
func RetryAfterTransport(inner http.RoundTripper, limit time.Duration) http.RoundTripper {
	return &retryAfterTransport{inner: inner, max: limit}
}

type retryAfterTransport struct {
	inner http.RoundTripper
	max   time.Duration
}

func (t *retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return resp, err
	}
	d, ok := RetryAfter(strings.TrimSpace(resp.Header.Get("Retry-After")), time.Now())
	if !ok || d <= 0 {
		return resp, nil
	}
	timer := time.NewTimer(min(d, t.max))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-req.Context().Done():
	}
	return resp, nil
}

// Retryable says whether a failed request is worth another try: registry
// errors marked temporary (408, 429, 5xx, and their error codes) and
// connections that broke. A refused connection is not retried: the
// registry is not there.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// Unreachable says whether err means that the registry could not be asked
// or would not answer, as opposed to an answer that refuses (a tag holding
// another image, a manifest the registry rejects): the connection was
// refused, reset or timed out, the name did not resolve, TLS failed, the
// registry kept answering 408, 429 or 5xx after the retries, or it refused
// the credentials (401, 403). The writers turn such an error into "could
// not decide" (exit 3): nobody can say whether the write is right.
func Unreachable(err error) bool {
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
	// EOF too: callers ask only about errors of registry requests.)
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// ContactRepository maps repo to the repository actually contacted: its
// registry replaced by its images.mirrors entry (a host[:port]; Docker Hub
// also matches the key docker.io), plain HTTP for loopback hosts.
func ContactRepository(repo name.Repository, mirrors map[string]string) (name.Repository, error) {
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
	if IsLoopback(host) {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(host+"/"+repo.RepositoryStr(), opts...)
}
