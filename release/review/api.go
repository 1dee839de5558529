package review

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/relkit/relkit/release/plan"
)

// Bounds of every API conversation: a run never waits or loops without
// end on a slow or misbehaving server.
const (
	// requestTimeout bounds one HTTP request when Options.HTTPClient is
	// nil.
	requestTimeout = 30 * time.Second
	// readAttempts bounds the tries of a read (GET) that failed on the
	// network or with a server error; writes are never retried blindly.
	readAttempts = 3
	// maxResponse bounds the bytes read from one response.
	maxResponse = 8 << 20
	// maxBody bounds the pull request body relkit sends (GitHub refuses
	// more than 65536 characters).
	maxBody = 60000
)

// APIError is an answer of the hosting API that is not a success.
type APIError struct {
	Host   string // "GitHub", "Gitea", "Gerrit"
	Method string
	URL    string // without query credentials; the token is never in it
	Status int
	// Message is the server's own explanation ("Bad credentials").
	Message string
	// TokenName says where the token came from ("GITHUB_TOKEN").
	TokenName string
	// RateLimited is set when the server said the rate limit is used up.
	RateLimited bool
}

func (e *APIError) Error() string {
	what := fmt.Sprintf("%d %s", e.Status, e.Message)
	if e.Message == "" {
		what = fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	switch {
	case e.RateLimited:
		return fmt.Sprintf("%s's rate limit for %s is used up (%s); wait and run again", e.Host, e.TokenName, what)
	case e.Status == http.StatusUnauthorized:
		return fmt.Sprintf("the %s was refused: %s (%s %s)", e.TokenName, what, e.Method, e.URL)
	case e.Status == http.StatusForbidden:
		return fmt.Sprintf("the %s may not do this: %s (%s %s)", e.TokenName, what, e.Method, e.URL)
	case e.Status == http.StatusNotFound:
		return fmt.Sprintf("%s answered %s for %s %s: no such repository or pull request, or the %s cannot see it", e.Host, what, e.Method, e.URL, e.TokenName)
	}
	return fmt.Sprintf("%s answered %s for %s %s", e.Host, what, e.Method, e.URL)
}

// client talks to one hosting API.
type client struct {
	host      string // for messages
	base      string // API base URL without a trailing slash
	auth      func(*http.Request)
	token     string // only to redact it
	tokenName string
	http      *http.Client
	delay     time.Duration
}

func newClient(opt Options, host string, auth func(*http.Request)) (*client, error) {
	base := strings.TrimRight(strings.TrimSpace(opt.URL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("review.url %q: expected the %s API's base URL (https://...)", redactURL(base), host)
	}
	if u.User != nil {
		return nil, fmt.Errorf("review.url %q: credentials do not belong in the URL; the token is passed apart", redactURL(base))
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: requestTimeout}
	}
	delay := opt.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	return &client{host: host, base: base, auth: auth, token: opt.Token, tokenName: opt.tokenName(), http: hc, delay: delay}, nil
}

// redact removes the token from a text that is about to be shown.
func redact(s, token string) string {
	if len(token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

// redactErr wraps err so its text never shows the token, keeping what it
// wraps reachable for errors.As.
func redactErr(err error, token string) error {
	if err == nil || len(token) < 4 || !strings.Contains(err.Error(), token) {
		return err
	}
	return &redacted{err: err, msg: redact(err.Error(), token)}
}

type redacted struct {
	err error
	msg string
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// do sends one request and decodes a JSON answer into out. query may be
// nil; in, when not nil, is sent as JSON. Reads are retried a few times
// on network and server errors; an unreachable API is "could not decide"
// (plan.Undecided, exit 3). A refusal (4xx) is an *APIError.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in, out any) (http.Header, error) {
	u := c.base + path
	shown := u
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	attempts := 1
	if method == http.MethodGet {
		attempts = readAttempts
	}
	var last error
	for try := range attempts {
		if try > 0 {
			wait := c.delay << (try - 1)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		hdr, retry, err := c.once(ctx, method, u, shown, body, out)
		if err == nil || !retry {
			return hdr, redactErr(err, c.token)
		}
		last = err
	}
	return nil, &plan.Undecided{Err: redactErr(fmt.Errorf("%s did not answer %s %s after %d attempts: %w", c.host, method, shown, attempts, last), c.token)}
}

// once makes one attempt; retry says whether another attempt may help.
func (c *client) once(ctx context.Context, method, u, shown string, body []byte, out any) (http.Header, bool, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "relkit")
	c.auth(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, true, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, true, fmt.Errorf("reading the answer to %s %s: %w", method, shown, err)
	}
	if len(data) > maxResponse {
		return nil, false, fmt.Errorf("%s answered %s %s with more than %d bytes", c.host, method, shown, maxResponse)
	}
	if resp.StatusCode >= 300 {
		apiErr := &APIError{Host: c.host, Method: method, URL: shown, Status: resp.StatusCode,
			Message: redact(errorMessage(data), c.token), TokenName: c.tokenName}
		apiErr.RateLimited = resp.StatusCode == http.StatusTooManyRequests ||
			resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0"
		retry := resp.StatusCode >= 500
		return resp.Header, retry, apiErr
	}
	if out != nil {
		data = bytes.TrimPrefix(data, []byte(")]}'")) // Gerrit's XSSI guard
		if err := json.Unmarshal(data, out); err != nil {
			return nil, false, fmt.Errorf("%s answered %s %s with something that is not the expected JSON: %w", c.host, method, shown, err)
		}
	}
	return resp.Header, false, nil
}

// errorMessage digs the explanation out of an error answer: GitHub's and
// Gitea's {"message": ...} (with GitHub's validation errors), or the first
// line of a plain text body (Gerrit).
func errorMessage(data []byte) string {
	var e struct {
		Message string `json:"message"`
		Errors  []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
			Code    string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		msg := e.Message
		for _, d := range e.Errors {
			switch {
			case d.Message != "":
				msg += ": " + d.Message
			case d.Field != "":
				msg += fmt.Sprintf(": %s %s", d.Field, d.Code)
			}
		}
		return oneLine(msg)
	}
	return oneLine(string(data))
}

// oneLine keeps the first line of s, shortened, for a message.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// isStatus reports whether err is an API answer with one of the codes.
func isStatus(err error, codes ...int) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Status == c {
			return true
		}
	}
	return false
}
