package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Services are the demo's loopback servers.
type Services struct {
	// RegistryHost is the OCI registry's host:port (plain HTTP on
	// 127.0.0.1; go-containerregistry uses HTTP for loopback hosts).
	RegistryHost string
	// ChartRepoURL is the chart repository's base URL; index.yaml and the
	// packages are directly under it.
	ChartRepoURL string
	// Mirrors is what Serve wrote to relkit.yaml images.mirrors.
	Mirrors map[string]string
	// Pushed lists every reference pushed, as loopback references (sorted).
	Pushed []string

	registry, charts *httptest.Server
	once             sync.Once
}

// Close stops both servers. relkit.yaml keeps pointing at them.
func (s *Services) Close() error {
	s.once.Do(func() {
		s.registry.Close()
		s.charts.Close()
	})
	return nil
}

// Mirror maps an image reference as the charts write it to the loopback
// reference Serve pushed for it: the registry replaced by the mirror, the
// path normalised (Docker Hub "busybox" is "library/busybox").
func (s *Services) Mirror(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	path := s.RegistryHost + "/" + r.Context().RepositoryStr()
	if t, ok := tagOf(ref); ok {
		path += ":" + t
	}
	if d, ok := r.(name.Digest); ok {
		path += "@" + d.DigestStr()
	}
	return path, nil
}

// PushList is every image reference (tag form, as written in charts and
// Dockerfiles) the demo registry serves: the chart images, every component
// image at every release, and the Dockerfile parents.
func (w *Workspace) PushList() []string {
	set := map[string]bool{}
	for _, im := range w.Images {
		ref := im.Ref
		if i := strings.IndexByte(ref, '@'); i >= 0 {
			ref = ref[:i]
		}
		set[ref] = true
	}
	for _, c := range w.Components {
		for _, img := range c.Images {
			for _, v := range c.Releases {
				set[img+":"+v] = true
			}
		}
	}
	for _, p := range w.ParentImages {
		set[p] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// Serve starts the chart repository's HTTP server and an in-process OCI
// registry on 127.0.0.1, pushes every image of w.PushList() to the registry,
// and rewrites relkit.yaml so charts.repository is the HTTP URL and
// images.mirrors sends every registry the demo uses to the loopback one.
func Serve(ctx context.Context, w *Workspace) (*Services, error) {
	if _, err := os.Stat(w.ChartRepoDir); err != nil {
		return nil, fmt.Errorf("demo: chart repository: %w", err)
	}
	s := &Services{}
	s.registry = httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	s.charts = httptest.NewServer(http.FileServer(http.Dir(w.ChartRepoDir)))
	s.RegistryHost = strings.TrimPrefix(s.registry.URL, "http://")
	s.ChartRepoURL = s.charts.URL
	s.Mirrors = map[string]string{}
	for _, reg := range Registries {
		s.Mirrors[reg] = s.RegistryHost
	}
	if err := s.push(ctx, w.PushList()); err != nil {
		s.Close()
		return nil, err
	}
	if err := os.WriteFile(w.ConfigFile, []byte(ConfigText(s.ChartRepoURL, s.Mirrors)), 0o644); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Services) push(ctx context.Context, refs []string) error {
	pusher, err := remote.NewPusher(remote.WithContext(ctx))
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return err
		}
		target, err := s.Mirror(ref)
		if err != nil {
			return fmt.Errorf("demo: image %s: %w", ref, err)
		}
		tag, err := name.NewTag(target, name.Insecure)
		if err != nil {
			return fmt.Errorf("demo: image %s: %w", ref, err)
		}
		img, err := DemoImage(ref)
		if err != nil {
			return err
		}
		if err := pusher.Push(ctx, tag, img); err != nil {
			return fmt.Errorf("demo: pushing %s as %s: %w", ref, target, err)
		}
		s.Pushed = append(s.Pushed, target)
	}
	if len(s.Pushed) == 0 {
		return errors.New("demo: nothing to push")
	}
	slices.Sort(s.Pushed)
	return nil
}
