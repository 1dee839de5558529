// Package imageref parses container image references the way charts write
// them, classifies their tags against the release policy, and asks
// registries whether a reference exists.
package imageref

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Ref is a parsed image reference. Registry and Repository keep the
// spelling of the original; Canonical gives the normalised name.
type Ref struct {
	// Original is the reference exactly as found.
	Original string
	// Registry is the registry host (with port) when the reference names
	// one, "" for the implicit Docker Hub.
	Registry string
	// Repository is the path inside the registry ("omec/hss", "nginx").
	Repository string
	// Tag is "" when the reference has none.
	Tag string
	// Digest ("sha256:...") is "" when the reference has none.
	Digest string
}

// Parse reads an image reference: [registry[:port]/]path[:tag][@digest].
// The first path component is a registry only when it holds a '.' or a ':',
// is "localhost", or has upper-case letters (as docker decides). It returns
// an error naming what is wrong.
func Parse(s string) (Ref, error) {
	r := Ref{Original: s}
	if s == "" {
		return r, fmt.Errorf("empty image reference")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return r, fmt.Errorf("image reference %q contains white space", s)
	}
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		rest, r.Digest = rest[:i], rest[i+1:]
		if r.Digest == "" {
			return r, fmt.Errorf("image reference %q: empty digest after '@'", s)
		}
	}
	slash := strings.LastIndexByte(rest, '/')
	if i := strings.LastIndexByte(rest, ':'); i > slash {
		rest, r.Tag = rest[:i], rest[i+1:]
		if r.Tag == "" {
			return r, fmt.Errorf("image reference %q: empty tag after ':' (a value that rendered empty?)", s)
		}
	}
	if first, path, ok := strings.Cut(rest, "/"); ok && isRegistry(first) {
		r.Registry, r.Repository = first, path
	} else {
		r.Repository = rest
	}
	if r.Repository == "" {
		return r, fmt.Errorf("image reference %q has no repository path", s)
	}
	for _, part := range strings.Split(r.Repository, "/") {
		if part == "" {
			return r, fmt.Errorf("image reference %q: empty path component in %q", s, r.Repository)
		}
	}
	repo, err := name.NewRepository(r.Name())
	if err != nil {
		return r, fmt.Errorf("image reference %q: %v", s, err)
	}
	if r.Tag != "" {
		if _, err := name.NewTag(repo.Name() + ":" + r.Tag); err != nil {
			return r, fmt.Errorf("image reference %q: tag %q: %v", s, r.Tag, err)
		}
	}
	if r.Digest != "" {
		if _, err := name.NewDigest(repo.Name() + "@" + r.Digest); err != nil {
			return r, fmt.Errorf("image reference %q: digest %q: %v", s, r.Digest, err)
		}
	}
	return r, nil
}

// isRegistry says whether the first component of a reference names a
// registry rather than a Docker Hub namespace.
func isRegistry(first string) bool {
	return strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first
}

// Name is the repository with its registry as written, without tag or
// digest ("registry.example.org/omec/hss", "nginx").
func (r Ref) Name() string {
	if r.Registry == "" {
		return r.Repository
	}
	return r.Registry + "/" + r.Repository
}

// String is the reference as found.
func (r Ref) String() string { return r.Original }

// Canonical is the normalised repository name ("index.docker.io/library/nginx"
// for "nginx"), or Name when it does not normalise.
func (r Ref) Canonical() string {
	repo, err := name.NewRepository(r.Name())
	if err != nil {
		return r.Name()
	}
	return repo.Name()
}

// Host is the registry host the reference lives on, normalised
// ("index.docker.io" for Docker Hub references).
func (r Ref) Host() string {
	repo, err := name.NewRepository(r.Name())
	if err != nil {
		return r.Registry
	}
	return repo.RegistryStr()
}

// SameRepository reports whether a repository name written elsewhere (a
// component's image list, a waiver) names the same repository as r, after
// normalising both.
func (r Ref) SameRepository(other string) bool {
	if other == r.Name() {
		return true
	}
	o, err := name.NewRepository(other)
	if err != nil {
		return false
	}
	return o.Name() == r.Canonical()
}

// IsLoopback reports whether a registry host (with optional port) is
// this machine: localhost or a name under .localhost (RFC 6761), or a
// loopback address (127.0.0.0/8, [::1]). Registries there speak plain
// HTTP. It is the one rule for every client relkit makes (image checks,
// chart repositories, image:publish).
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
