package imagepush

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	rplan "github.com/relkit/relkit/release/plan"
)

// closedPort returns a loopback host:port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachableRegistryIsUndecided: every way of not reaching the
// registry makes image:push exit 3 ("could not decide"), before or while
// writing, for the targets and for a staging source; nothing is reported
// pushed.
func TestUnreachableRegistryIsUndecided(t *testing.T) {
	t.Parallel()
	status := func(code int, h http.Header) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(code)
		})
	}
	serve := func(t *testing.T, h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	src := layoutOf(t, randomImage(t, 1))
	for _, tc := range []struct {
		name string
		host func(t *testing.T) string
		ctx  time.Duration // a deadline for the run, when set
		want string
	}{
		{"connection refused", closedPort, 0, "connection refused"},
		{"503 after the retries", func(t *testing.T) string { return serve(t, status(http.StatusServiceUnavailable, nil)) }, 0, "503"},
		{"500 after the retries", func(t *testing.T) string { return serve(t, status(http.StatusInternalServerError, nil)) }, 0, "500"},
		{"credentials refused (401)", func(t *testing.T) string {
			return serve(t, status(http.StatusUnauthorized, http.Header{"Www-Authenticate": {`Basic realm="registry"`}}))
		}, 0, "401"},
		{"forbidden (403)", func(t *testing.T) string {
			return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					return // the ping passes
				}
				w.WriteHeader(http.StatusForbidden)
			}))
		}, 0, "403"},
		{"a registry that never answers", func(t *testing.T) string {
			done := make(chan struct{})
			t.Cleanup(func() { close(done) })
			return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-done:
				}
			}))
		}, 500 * time.Millisecond, "deadline exceeded"},
		{"the connection is cut on every request", func(t *testing.T) string {
			return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }))
		}, 0, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host(t)
			ctx := ctxT(t)
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			res, err := Push(ctx, request(src, []string{host + "/team/app"}, "1.0.0"))
			if err == nil {
				t.Fatalf("push to an unreachable registry succeeded:\n%s", res)
			}
			if code := rplan.ExitCode(classify(err)); code != rplan.ExitUndecided {
				t.Errorf("exit %d, want 3 (could not decide): %v", code, err)
			}
			if !errors.Is(err, ErrCheck) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrCheck saying %q", err, tc.want)
			}
			if n := len(res.With(StatusPushed)); n != 0 {
				t.Errorf("%d targets reported pushed", n)
			}
		})
	}

	t.Run("5xx on every manifest write, after the blobs", func(t *testing.T) {
		reg := newTestReg(t)
		reg.setFault(func(n int64, r *http.Request) (int, http.Header, bool) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				return http.StatusBadGateway, nil, false
			}
			return 0, nil, false
		})
		res, err := Push(ctxT(t), request(src, []string{reg.repo("team/app")}, "1.0.0"))
		if !errors.Is(err, ErrIncomplete) {
			t.Fatalf("err = %v, want ErrIncomplete", err)
		}
		if code := rplan.ExitCode(classify(err)); code != rplan.ExitUndecided {
			t.Errorf("exit %d, want 3: %v", code, err)
		}
		wantAll(t, res, StatusFailed)
	})

	t.Run("staging source unreachable", func(t *testing.T) {
		reg := newTestReg(t)
		_, err := Push(ctxT(t), request(closedPort(t)+"/staging/app:build-1", []string{reg.repo("team/app")}, "1.0.0"))
		if !errors.Is(err, ErrSource) {
			t.Fatalf("err = %v, want ErrSource", err)
		}
		if code := rplan.ExitCode(classify(err)); code != rplan.ExitUndecided {
			t.Errorf("exit %d, want 3: %v", code, err)
		}
		if n := reg.writes.Load(); n != 0 {
			t.Errorf("%d writes", n)
		}
	})
}

// TestRefusalsExitOne: what relkit decided against is exit 1, also when
// the registry is reachable and fine.
func TestRefusalsExitOne(t *testing.T) {
	t.Parallel()
	reg := newTestReg(t)
	repo := reg.repo("team/app")
	if _, err := Push(ctxT(t), request(layoutOf(t, randomImage(t, 1)), []string{repo}, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	other := layoutOf(t, randomImage(t, 1))
	outside := request(other, []string{repo}, "2.0.0")
	outside.Environ = []string{"CI=true"}
	truncated := dockerSave(t, randomImage(t, 2), false)
	if err := os.Truncate(truncated.file, truncated.offsets[truncated.layers[1]]+10); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		req     Request
		refused bool // a *plan.Refused: nothing was written
	}{
		{"tag holds another digest", request(other, []string{repo}, "1.0.0"), true},
		{"outside CI", outside, true},
		{"bad source", request(t.TempDir(), []string{repo}, "3.0.0"), true},
		{"truncated tarball", request(truncated.file, []string{repo}, "3.0.0"), true},
		{"no release tag", request(other, []string{repo}), false}, // PushComponent refuses it before Push
	} {
		_, err := Push(ctxT(t), tc.req)
		if code := rplan.ExitCode(classify(err)); err == nil || code != rplan.ExitFailed {
			t.Errorf("%s: exit %d (%v), want 1", tc.name, code, err)
		}
		var refused *rplan.Refused
		if errors.As(classify(err), &refused) != tc.refused {
			t.Errorf("%s: refusal %v, want %v: %v", tc.name, !tc.refused, tc.refused, err)
		}
	}
}
