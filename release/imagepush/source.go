package imagepush

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/relkit/relkit/checks/imageref"
)

// Source kinds.
const (
	KindLayout   = "oci-layout"
	KindTarball  = "docker-archive"
	KindRegistry = "registry"
)

// Source is an opened image source.
type Source struct {
	// Spec is the source as given.
	Spec string
	// Kind is KindLayout, KindTarball or KindRegistry.
	Kind string
	// Taggable is the content to push: a v1.Image or a v1.ImageIndex.
	Taggable remote.Taggable
	// Digest and MediaType are those of the top manifest.
	Digest    v1.Hash
	MediaType types.MediaType

	// repo is the repository contacted for a registry source.
	repo *name.Repository
}

// mountFrom returns the repository of a registry source when its blobs can
// be mounted into target: another repository of the same (contacted)
// registry.
func (s *Source) mountFrom(target name.Repository) (name.Repository, bool) {
	if s.repo == nil || s.repo.RegistryStr() != target.RegistryStr() || s.repo.RepositoryStr() == target.RepositoryStr() {
		return name.Repository{}, false
	}
	return *s.repo, true
}

type sourceOptions struct {
	mirrors map[string]string
	puller  func(context.Context, name.Registry) ([]remote.Option, error)
}

// SourceOption configures OpenSource.
type SourceOption func(*sourceOptions)

// WithMirrors maps registry hosts of a registry source to the hosts to
// contact.
func WithMirrors(m map[string]string) SourceOption {
	return func(o *sourceOptions) { o.mirrors = m }
}

// withPuller lets a session hand out its per-registry puller.
func withPuller(f func(context.Context, name.Registry) ([]remote.Option, error)) SourceOption {
	return func(o *sourceOptions) { o.puller = f }
}

// OpenSource opens spec as an image source:
//
//   - "oci:DIR", or a directory: an OCI image layout whose index.json names
//     exactly one manifest (an image, or an index that is pushed whole);
//   - "docker-archive:FILE[:REPO:TAG]", or a file: a `docker save` tarball.
//     Without REPO:TAG it must hold exactly one image; with it, the image
//     saved under that name is used ("app.tar:registry.example.org/app:1.2.3").
//   - "docker://REF", or anything else: an image in a registry (a staging
//     registry); an index stays an index.
//
// A spec that names an existing path is read from disk. Nothing is written;
// for local sources every blob the manifests reference must be present and
// hash to its digest (layers of a tarball to their diff_ids), so a broken
// or damaged source fails here, before any push, with an error wrapping
// ErrCorrupt that names the blob and both digests. A registry source is
// verified as it is read, during the push.
func OpenSource(ctx context.Context, spec string, opts ...SourceOption) (*Source, error) {
	var o sourceOptions
	for _, opt := range opts {
		opt(&o)
	}
	src, err := openSource(ctx, spec, &o)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrSource, spec, err)
	}
	src.Spec = spec
	if src.Digest, err = digestOf(src.Taggable); err != nil {
		return nil, fmt.Errorf("%w %q: computing the manifest digest: %v", ErrSource, spec, err)
	}
	if src.MediaType, err = mediaTypeOf(src.Taggable); err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrSource, spec, err)
	}
	return src, nil
}

func openSource(ctx context.Context, spec string, o *sourceOptions) (*Source, error) {
	switch {
	case strings.HasPrefix(spec, "oci:"):
		return openLayout(strings.TrimPrefix(spec, "oci:"))
	case strings.HasPrefix(spec, "docker-archive:"):
		rest := strings.TrimPrefix(spec, "docker-archive:")
		file, tag, _ := strings.Cut(rest, ":")
		if st, err := os.Stat(rest); err == nil && st.Mode().IsRegular() {
			file, tag = rest, ""
		} else if f, t, ok := splitFileTag(rest); ok {
			file, tag = f, t
		}
		return openTarball(file, tag)
	case strings.HasPrefix(spec, "docker://"):
		return openRemote(ctx, strings.TrimPrefix(spec, "docker://"), o)
	}
	if st, err := os.Stat(spec); err == nil {
		if st.IsDir() {
			return openLayout(spec)
		}
		return openTarball(spec, "")
	}
	if f, t, ok := splitFileTag(spec); ok {
		return openTarball(f, t)
	}
	if looksLikePath(spec) {
		return nil, fmt.Errorf("no such file or directory (and not an image reference)")
	}
	return openRemote(ctx, spec, o)
}

// splitFileTag splits "FILE:REPO:TAG" at the first colon whose prefix is an
// existing regular file.
func splitFileTag(s string) (file, tag string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		if st, err := os.Stat(s[:i]); err == nil && st.Mode().IsRegular() {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasSuffix(s, ".tar") || strings.HasSuffix(s, ".tar.gz")
}

func openLayout(dir string) (*Source, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("not an OCI image layout (expected %s): %v", filepath.Join(dir, "index.json"), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", filepath.Join(dir, "index.json"), err)
	}
	if n := len(im.Manifests); n != 1 {
		var names []string
		for _, d := range im.Manifests {
			names = append(names, fmt.Sprintf("%s %s %s", d.MediaType, d.Digest, d.Annotations["org.opencontainers.image.ref.name"]))
		}
		return nil, fmt.Errorf("%s lists %d manifests; expected exactly one image or one index (write a single image or a multi-platform index):\n  %s",
			filepath.Join(dir, "index.json"), n, strings.Join(names, "\n  "))
	}
	d := im.Manifests[0]
	if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
		return nil, fmt.Errorf("index.json names a %q; expected an image manifest or an image index", d.MediaType)
	}
	// Every byte is checked before anything is read for the push: a
	// damaged blob is refused here, before the first write.
	if err := verifyLayout(dir, d); err != nil {
		return nil, err
	}
	src := &Source{Kind: KindLayout}
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		src.Taggable = child
	} else {
		child, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		src.Taggable = child
	}
	return src, nil
}

func openTarball(file, tag string) (*Source, error) {
	var tp *name.Tag
	if tag != "" {
		t, err := name.NewTag(tag)
		if err != nil {
			return nil, fmt.Errorf("%q after the file name is not an image name (REPO:TAG): %v", tag, err)
		}
		tp = &t
	}
	img, err := tarball.ImageFromPath(file, tp)
	if err != nil {
		if m, merr := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) }); merr == nil && tp == nil && len(m) != 1 {
			var names []string
			for _, d := range m {
				names = append(names, strings.Join(d.RepoTags, ", "))
			}
			return nil, fmt.Errorf("the tarball holds %d images; name one as %s:REPO:TAG (saved names: %s)", len(m), file, strings.Join(names, "; "))
		}
		return nil, fmt.Errorf("reading the docker tarball: %v", err)
	}
	// Computing the digest reads (and for uncompressed layers, compresses)
	// every layer: a truncated tarball fails here, before any push.
	if _, err := img.Digest(); err != nil {
		return nil, fmt.Errorf("reading the docker tarball: %w", err)
	}
	if err := verifyTarball(file, tp, img); err != nil {
		return nil, err
	}
	return &Source{Kind: KindTarball, Taggable: img}, nil
}

func openRemote(ctx context.Context, ref string, o *sourceOptions) (*Source, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("not a path and not an image reference: %v", err)
	}
	repo, err := imageref.ContactRepository(r.Context(), o.mirrors)
	if err != nil {
		return nil, err
	}
	var cref name.Reference
	if d, ok := r.(name.Digest); ok {
		cref = repo.Digest(d.DigestStr())
	} else {
		cref = repo.Tag(r.Identifier())
	}
	opts := []remote.Option{remote.WithContext(ctx)}
	if o.puller != nil {
		more, err := o.puller(ctx, repo.Registry)
		if err != nil {
			return nil, &registryError{err}
		}
		opts = append(opts, more...)
	}
	desc, err := remote.Get(cref, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", cref, &registryError{err})
	}
	src := &Source{Kind: KindRegistry, repo: &repo}
	switch {
	case desc.MediaType.IsIndex():
		src.Taggable, err = desc.ImageIndex()
	case desc.MediaType.IsImage():
		src.Taggable, err = desc.Image()
	default:
		return nil, fmt.Errorf("%s is a %q; expected an image or an image index", cref, desc.MediaType)
	}
	if err != nil {
		return nil, err
	}
	return src, nil
}

func digestOf(t remote.Taggable) (v1.Hash, error) {
	if d, ok := t.(interface{ Digest() (v1.Hash, error) }); ok {
		return d.Digest()
	}
	raw, err := t.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(strings.NewReader(string(raw)))
	return h, err
}

func mediaTypeOf(t remote.Taggable) (types.MediaType, error) {
	if m, ok := t.(interface {
		MediaType() (types.MediaType, error)
	}); ok {
		return m.MediaType()
	}
	return types.DockerManifestSchema2, nil
}
