package imageref

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestContactRepository(t *testing.T) {
	mirrors := map[string]string{
		"registry.example.org": "proxy.internal:5000",
		"docker.io":            "127.0.0.1:5001",
		"bad.example.org":      "proxy/path",
	}
	for _, tc := range []struct{ in, want, scheme, err string }{
		{"registry.example.org/omec/hss", "proxy.internal:5000/omec/hss", "https", ""},
		{"omecproject/hss", "127.0.0.1:5001/omecproject/hss", "http", ""},
		{"docker.io/library/nginx", "127.0.0.1:5001/library/nginx", "http", ""},
		{"ghcr.io/org/app", "ghcr.io/org/app", "https", ""},
		{"localhost:5000/app", "localhost:5000/app", "http", ""},
		{"[::1]:5000/app", "[::1]:5000/app", "http", ""},
		{"bad.example.org/app", "", "", "expected a host[:port]"},
	} {
		repo, err := name.NewRepository(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ContactRepository(repo, mirrors)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.Name() != tc.want || got.Scheme() != tc.scheme {
			t.Errorf("%s -> %s (%s), %v; want %s (%s)", tc.in, got.Name(), got.Scheme(), err, tc.want, tc.scheme)
		}
	}
}

func TestUnreachableClassifies(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "http://127.0.0.1:5000/v2/", Err: err} }
	opErr := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	terr := func(code int) error { return &transport.Error{StatusCode: code} }
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{urlErr(opErr("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED))), true},
		{urlErr(opErr("dial", &net.DNSError{Err: "no such host", Name: "registry.invalid", IsNotFound: true})), true},
		{urlErr(opErr("read", os.NewSyscallError("read", syscall.ECONNRESET))), true},
		{urlErr(opErr("dial", os.NewSyscallError("connect", syscall.ENETUNREACH))), true},
		{urlErr(io.EOF), true},
		{urlErr(io.ErrUnexpectedEOF), true},
		{urlErr(context.DeadlineExceeded), true},
		{fmt.Errorf("HEAD: %w", context.DeadlineExceeded), true},
		{urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{terr(500), true}, {terr(502), true}, {terr(503), true}, {terr(504), true},
		{terr(408), true}, {terr(429), true}, {terr(401), true}, {terr(403), true},
		{terr(400), false}, {terr(404), false}, {terr(405), false}, {terr(409), false},
		{context.Canceled, false},
		{urlErr(opErr("readfrom", errors.New("error verifying sha256 checksum"))), false},
		{errors.New("sha256:ab: the blob does not match its digest"), false},
		{nil, false},
	} {
		if got := Unreachable(tc.err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
