package imagepush

import (
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// mountable wraps content so that its blobs are offered for a cross-repo
// mount from ref's repository (a repository of the same registry that
// already holds them): the registry links them instead of receiving the
// bytes again. A registry that cannot mount starts a normal upload.
func mountable(t remote.Taggable, from name.Reference) remote.Taggable {
	switch t := t.(type) {
	case v1.ImageIndex:
		return &mountIndex{idx: t, from: from}
	case v1.Image:
		return &mountImage{Image: t, from: from}
	}
	return t
}

type mountImage struct {
	v1.Image
	from name.Reference
}

func (m *mountImage) wrap(l v1.Layer, err error) (v1.Layer, error) {
	if err != nil {
		return nil, err
	}
	if ml, ok := l.(*remote.MountableLayer); ok {
		l = ml.Layer
	}
	return &remote.MountableLayer{Layer: l, Reference: m.from}, nil
}

func (m *mountImage) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i], _ = m.wrap(l, nil)
	}
	return out, nil
}

func (m *mountImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	return m.wrap(m.Image.LayerByDigest(h))
}

func (m *mountImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	return m.wrap(m.Image.LayerByDiffID(h))
}

func (m *mountImage) ConfigLayer() (v1.Layer, error) {
	return m.wrap(partial.ConfigLayer(m.Image))
}

// mountIndex cannot embed v1.ImageIndex: its field would clash with the
// ImageIndex method.
type mountIndex struct {
	idx  v1.ImageIndex
	from name.Reference
}

func (m *mountIndex) MediaType() (types.MediaType, error)       { return m.idx.MediaType() }
func (m *mountIndex) Digest() (v1.Hash, error)                  { return m.idx.Digest() }
func (m *mountIndex) Size() (int64, error)                      { return m.idx.Size() }
func (m *mountIndex) IndexManifest() (*v1.IndexManifest, error) { return m.idx.IndexManifest() }
func (m *mountIndex) RawManifest() ([]byte, error)              { return m.idx.RawManifest() }

func (m *mountIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := m.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return &mountImage{Image: img, from: m.from}, nil
}

func (m *mountIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := m.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &mountIndex{idx: idx, from: m.from}, nil
}

// Manifests keeps the children the wrapped index reports (including
// non-manifest children such as attestation blobs) and wraps the images
// and indexes among them.
func (m *mountIndex) Manifests() ([]partial.Describable, error) {
	children, err := partial.Manifests(m.idx)
	if err != nil {
		return nil, err
	}
	out := make([]partial.Describable, len(children))
	for i, c := range children {
		switch c := c.(type) {
		case v1.ImageIndex:
			out[i] = &mountIndex{idx: c, from: m.from}
		case v1.Image:
			out[i] = &mountImage{Image: c, from: m.from}
		default:
			out[i] = c
		}
	}
	return out, nil
}
