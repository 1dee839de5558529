package imageref

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retryTransport retries requests that a registry refused for now: 429 Too
// Many Requests (waiting what Retry-After says, capped) and 5xx answers
// (exponential backoff with jitter), plus connections the server reset.
// Refused connections are not retried: the registry is down.
type retryTransport struct {
	base      http.RoundTripper
	attempts  int
	baseDelay time.Duration
	maxDelay  time.Duration
	// sleep waits d or until ctx ends; tests replace it to record delays.
	sleep func(ctx context.Context, d time.Duration) error
}

// Sleep waits d or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout ||
		code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported
}

func transientErr(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		retry := err == nil && retryableStatus(resp.StatusCode) || err != nil && transientErr(err)
		if !retry || !replayable || attempt >= t.attempts {
			return resp, err
		}
		delay := t.backoff(attempt)
		if resp != nil {
			if ra, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				delay = ra
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		delay = min(delay, t.maxDelay)
		if err := t.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// backoff is baseDelay * 2^(attempt-1), plus up to 25% jitter.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.baseDelay << min(attempt-1, 16)
	if d <= 0 {
		return 0
	}
	return d + rand.N(d/4+1)
}

// RetryAfter reads a Retry-After header: delay seconds (at most a day)
// or an HTTP date (a date already past is no wait). ok is false when v
// says neither. Every registry client relkit makes waits by it.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, 86400)) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
