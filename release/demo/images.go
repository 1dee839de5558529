package demo

import (
	"fmt"
	"hash/fnv"
	"math/rand"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// Image is one image reference the demo charts render, as the chart
// writes it (Docker Hub short names, a tag plus digest, and so on).
type Image struct {
	Ref string
	// Charts lists the chart dirs that render it (sorted).
	Charts []string
	// Component is the workspace component building the image ("" for an
	// upstream image).
	Component string
	// Waived says a relkit.yaml waiver covers it (its tag is no release).
	Waived bool
}

// Registry hosts the demo references; Serve mirrors each of them to its
// loopback registry.
var Registries = []string{"registry.aetherproject.org", "ghcr.io", "docker.io", "index.docker.io", "registry:5000"}

// Third-party images of the demo (tag form). Their content, like every
// demo image, is derived from the repository path and tag alone, so the
// digests written into charts and Dockerfiles match what Serve pushes.
const (
	imgPodInit     = "registry.aetherproject.org/omecproject/pod-init:rel-1.1.2"
	imgCurl        = "curlimages/curl:7.77.0"
	imgBusybox     = "busybox:1.36.1"
	imgModelReg    = "onosproject/config-model-registry:master-8d5c3a1"
	imgExporter    = "onosproject/aether-roc-exporter:0.4.2"
	imgAudit       = "registry:5000/aether/audit-proxy:1.0.0"
	imgGUIRepo     = "onosproject/aether-roc-gui"
	imgGUITag      = "v2.1.4"
	imgEdgeServer  = "registry.aetherproject.org/aether/edge-monitoring-server"
	imgEdgeApp     = "1.2.1"
	imgTelegrafTag = "1.17.3"

	// Dockerfile parents.
	imgGolang      = "golang:1.22-alpine"
	imgGolangPatch = "golang:1.22.5-alpine"
	imgAlpine      = "alpine:3.20"
	imgUbuntu      = "ubuntu:22.04"
	imgJammy       = "ubuntu:jammy"
	imgGoBuilder   = "registry:5000/aether/go-builder:1.22.5"
)

// DemoImage returns the image the demo serves for ref (tag or digest form;
// a digest is ignored). The content depends only on the repository path
// and the tag, not on the registry, so a name mirrored to another host is
// the same image with the same digest.
func DemoImage(ref string) (v1.Image, error) {
	key, err := imageKey(ref)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return random.Image(256, 1, random.WithSource(rand.NewSource(int64(h.Sum64()))))
}

// imageKey is "repository-path:tag" of a tag reference.
func imageKey(ref string) (string, error) {
	r, err := name.ParseReference(ref, name.WithDefaultTag(""))
	if err != nil {
		return "", fmt.Errorf("demo image %q: %w", ref, err)
	}
	t, ok := r.(name.Tag)
	if !ok {
		// tag@digest parses as a digest; take the tag part back.
		d := r.(name.Digest)
		if tag, ok := tagOf(ref); ok {
			return d.Context().RepositoryStr() + ":" + tag, nil
		}
		return "", fmt.Errorf("demo image %q: a demo image is named by its tag", ref)
	}
	if t.TagStr() == "" {
		return "", fmt.Errorf("demo image %q has no tag", ref)
	}
	return t.Context().RepositoryStr() + ":" + t.TagStr(), nil
}

// tagOf extracts the tag of "repo[:tag][@digest]".
func tagOf(ref string) (string, bool) {
	base := ref
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '@' {
			base = ref[:i]
			break
		}
	}
	for i := len(base) - 1; i >= 0 && base[i] != '/'; i-- {
		if base[i] == ':' {
			return base[i+1:], true
		}
	}
	return "", false
}

var digests sync.Map // ref -> string

// Digest is the digest ("sha256:...") of DemoImage(ref).
func Digest(ref string) (string, error) {
	if d, ok := digests.Load(ref); ok {
		return d.(string), nil
	}
	img, err := DemoImage(ref)
	if err != nil {
		return "", err
	}
	h, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("digest of demo image %s: %w", ref, err)
	}
	digests.Store(ref, h.String())
	return h.String(), nil
}

// mustDigest is Digest for the demo's own constant references.
func mustDigest(ref string) string {
	d, err := Digest(ref)
	if err != nil {
		panic(err)
	}
	return d
}
