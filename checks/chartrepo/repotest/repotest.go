// Package repotest starts real chart repositories on the loopback interface
// for tests: an HTTP server for an index.yaml and an in-memory OCI registry
// that charts can be pushed to the way helm push stores them.
package repotest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/relkit/relkit/checks/chartrepo"
)

// Media types of a Helm chart in an OCI registry.
const (
	HelmConfigMediaType  = chartrepo.ConfigMediaType
	HelmContentMediaType = chartrepo.ChartLayerMediaType
)

// Index renders an index.yaml listing chart -> versions.
func Index(entries map[string][]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n")
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %s:\n", n)
		for _, v := range entries[n] {
			fmt.Fprintf(&b, "  - apiVersion: v2\n    name: %s\n    version: %q\n    created: \"2024-01-02T09:00:00Z\"\n    digest: 0123abcd\n    urls:\n    - charts/%s-%s.tgz\n", n, v, n, v)
		}
	}
	b.WriteString("generated: \"2024-01-02T09:00:00Z\"\n")
	return b.String()
}

// IndexServer serves body at /charts/index.yaml on 127.0.0.1 and counts
// the requests it got.
type IndexServer struct {
	*httptest.Server
	Requests atomic.Int64
}

// ServeIndex starts an IndexServer; it stops with the test.
func ServeIndex(t testing.TB, body string) *IndexServer {
	t.Helper()
	s := &IndexServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		if r.URL.Path != "/charts/index.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

// Unreachable returns an http URL on 127.0.0.1 that nothing listens on any
// more.
func Unreachable(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// Registry starts an in-memory OCI registry on 127.0.0.1 and returns its
// host:port; it stops with the test.
func Registry(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// PushChart pushes a (tiny, fake-content) chart artifact to
// host/namespace/chart under the tag Helm uses for version.
func PushChart(ctx context.Context, host, namespace, chart, version string) error {
	ref, err := name.NewTag(strings.Trim(host+"/"+namespace, "/")+"/"+chart+":"+chartrepo.Tag(version), name.Insecure)
	if err != nil {
		return err
	}
	content := static.NewLayer(bytes.Repeat([]byte(chart+version), 8), HelmContentMediaType)
	img, err := mutate.AppendLayers(empty.Image, content)
	if err != nil {
		return err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, HelmConfigMediaType)
	return remote.Write(ref, img, remote.WithContext(ctx))
}
