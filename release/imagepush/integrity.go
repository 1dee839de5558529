package imagepush

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Integrity of local sources. A registry checks the digest of every blob
// and manifest it receives, but only against the digest the pusher names,
// and the pusher names what the source claims: a layout whose layer blob
// was damaged on disk is refused by the registry halfway through the push
// (after other blobs and child manifests were written), and a docker
// tarball whose layer no longer matches the config's diff_ids is accepted
// and fails only when a node unpacks it. So every blob of a local source
// is hashed before the first write and compared with the digest (and size)
// that names it. A registry source needs no such pass: go-containerregistry
// verifies every blob and child manifest it reads against its digest while
// it streams it, and the target registry refuses a blob whose bytes do not
// match, so a damaged staging blob fails the push before any tag is
// written.

// ErrCorrupt says a local source's bytes do not match their digests.
var ErrCorrupt = errors.New("the image is corrupted")

// maxManifestBytes bounds the manifests and indexes read from a layout.
const maxManifestBytes = 8 << 20

// verifyLayout hashes every blob reachable from the layout's top
// descriptor d (child manifests of an index, configs, distributable
// layers and other distributable blobs) and compares digest and size.
func verifyLayout(dir string, d v1.Descriptor) error {
	v := &layoutVerifier{dir: dir, seen: map[v1.Hash]bool{}}
	return v.manifest(d, "manifest", 0)
}

type layoutVerifier struct {
	dir  string
	seen map[v1.Hash]bool
}

func (v *layoutVerifier) manifest(d v1.Descriptor, what string, depth int) error {
	if depth > maxIndexDepth {
		return fmt.Errorf("image indexes nested more than %d deep", maxIndexDepth)
	}
	if d.Size > maxManifestBytes {
		return fmt.Errorf("%s %s is %d bytes; a manifest above %d bytes is refused", what, d.Digest, d.Size, maxManifestBytes)
	}
	raw, err := v.blob(d, what, true)
	if err != nil {
		return err
	}
	switch {
	case d.MediaType.IsIndex():
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s %s: %v", what, d.Digest, err)
		}
		for _, c := range im.Manifests {
			switch {
			case c.MediaType.IsIndex() || c.MediaType.IsImage():
				if err := v.manifest(c, "manifest", depth+1); err != nil {
					return err
				}
			case c.MediaType.IsDistributable():
				if _, err := v.blob(c, "blob", false); err != nil {
					return err
				}
			}
		}
	case d.MediaType.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s %s: %v", what, d.Digest, err)
		}
		if _, err := v.blob(m.Config, "config", false); err != nil {
			return err
		}
		for i, l := range m.Layers {
			if !l.MediaType.IsDistributable() {
				continue // a foreign layer: not in the layout, not pushed
			}
			if _, err := v.blob(l, fmt.Sprintf("layer %d of %d", i+1, len(m.Layers)), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// blob checks one blob file against its descriptor, returning its bytes
// when keep is set (manifests, bounded by maxManifestBytes).
func (v *layoutVerifier) blob(d v1.Descriptor, what string, keep bool) ([]byte, error) {
	if v.seen[d.Digest] && !keep {
		return nil, nil
	}
	rel := path.Join("blobs", d.Digest.Algorithm, d.Digest.Hex)
	if !validHex(d.Digest) {
		return nil, fmt.Errorf("%s: digest %q is not a sha256 or sha512 digest", what, d.Digest)
	}
	file := filepath.Join(v.dir, filepath.FromSlash(rel))
	st, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("%s %s is missing from the layout (%s)", what, d.Digest, rel)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s: %s is not a regular file", what, d.Digest, rel)
	}
	if st.Size() != d.Size {
		return nil, fmt.Errorf("%w: %s %s: %s holds %d bytes, the descriptor says %d (truncated or padded)", ErrCorrupt, what, d.Digest, rel, st.Size(), d.Size)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", what, d.Digest, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	var r io.Reader = f
	if keep {
		r = io.TeeReader(f, &buf)
	}
	got, n, err := hashOf(d.Digest.Algorithm, io.LimitReader(r, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading %s: %v", what, d.Digest, rel, err)
	}
	if n != d.Size {
		return nil, fmt.Errorf("%w: %s %s: %s changed while it was read (%d bytes, the descriptor says %d)", ErrCorrupt, what, d.Digest, rel, n, d.Size)
	}
	if got != d.Digest {
		return nil, fmt.Errorf("%w: %s %s: %s hashes to %s, not to %s", ErrCorrupt, what, d.Digest, rel, got, d.Digest)
	}
	v.seen[d.Digest] = true
	return buf.Bytes(), nil
}

var hexRE = regexp.MustCompile(`^[0-9a-f]+$`)

func validHex(h v1.Hash) bool {
	switch h.Algorithm {
	case "sha256":
		return len(h.Hex) == 64 && hexRE.MatchString(h.Hex)
	case "sha512":
		return len(h.Hex) == 128 && hexRE.MatchString(h.Hex)
	}
	return false
}

// hashOf hashes r with algorithm alg.
func hashOf(alg string, r io.Reader) (v1.Hash, int64, error) {
	h, err := v1.Hasher(alg)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	n, err := io.Copy(h, r)
	if err != nil {
		return v1.Hash{}, n, err
	}
	return v1.Hash{Algorithm: alg, Hex: hex.EncodeToString(h.Sum(nil))}, n, nil
}

// digestNameRE matches the file names of a docker tarball that are
// content digests: blobs/<alg>/<hex> (docker save since 25, an OCI layout
// inside the tar) and the config's <hex>.json (the image ID). Older
// <id>/layer.tar names are legacy v1 IDs, not digests.
var digestNameRE = regexp.MustCompile(`^(?:blobs/(sha256|sha512)/([0-9a-f]+)|([0-9a-f]{64})\.json)$`)

// verifyTarball checks the image img read from the docker tarball file
// (the one saved under tag, or its only image): every layer uncompresses
// to the diff_id the config names, and every file whose name is a digest
// hashes to it.
func verifyTarball(file string, tag *name.Tag, img v1.Image) error {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
	if err != nil {
		return err
	}
	desc, err := findTarDescriptor(m, tag)
	if err != nil {
		return err
	}
	if err := verifyTarNames(file, desc); err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return fmt.Errorf("%w: the tarball lists %d layers, the config's rootfs.diff_ids %d", ErrCorrupt, len(layers), len(cfg.RootFS.DiffIDs))
	}
	for i, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return err
		}
		if !mt.IsDistributable() {
			continue
		}
		what := fmt.Sprintf("layer %d of %d", i+1, len(layers))
		if i < len(desc.Layers) {
			what += " (" + desc.Layers[i] + ")"
		}
		want := cfg.RootFS.DiffIDs[i]
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		got, _, err := hashOf(want.Algorithm, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%w: %s does not read back: %v", ErrCorrupt, what, err)
		}
		if got != want {
			return fmt.Errorf("%w: %s uncompresses to %s, the config's diff_id is %s", ErrCorrupt, what, got, want)
		}
	}
	return nil
}

// findTarDescriptor picks the image of the tarball's manifest.json that
// tarball.Image reads: the only one, or the one saved under tag.
func findTarDescriptor(m tarball.Manifest, tag *name.Tag) (*tarball.Descriptor, error) {
	if tag == nil {
		if len(m) != 1 {
			return nil, fmt.Errorf("the tarball holds %d images", len(m))
		}
		return &m[0], nil
	}
	for i := range m {
		for _, rt := range m[i].RepoTags {
			if t, err := name.NewTag(rt); err == nil && t.Name() == tag.Name() {
				return &m[i], nil
			}
		}
	}
	return nil, fmt.Errorf("no image saved as %s in the tarball", tag)
}

// verifyTarNames reads the tarball once and hashes every file of desc
// whose name is a digest.
func verifyTarNames(file string, desc *tarball.Descriptor) error {
	type named struct {
		h    v1.Hash
		what string
	}
	want := map[string]named{}
	for i, p := range append([]string{desc.Config}, desc.Layers...) {
		clean := path.Clean(strings.TrimPrefix(p, "./"))
		what := "config"
		if i > 0 {
			what = fmt.Sprintf("layer %d of %d", i, len(desc.Layers))
		}
		if mm := digestNameRE.FindStringSubmatch(clean); mm != nil {
			h := v1.Hash{Algorithm: mm[1], Hex: mm[2]}
			if mm[3] != "" {
				h = v1.Hash{Algorithm: "sha256", Hex: mm[3]}
			}
			if validHex(h) {
				want[clean] = named{h, what}
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: reading the tarball: %v", ErrCorrupt, err)
		}
		clean := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		n, ok := want[clean]
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue // a link: its target entry is hashed when its own name is a digest, and every layer is checked against its diff_id below
		}
		got, _, err := hashOf(n.h.Algorithm, tr)
		if err != nil {
			return fmt.Errorf("%w: %s (%s) does not read back: %v", ErrCorrupt, n.what, clean, err)
		}
		if got != n.h {
			return fmt.Errorf("%w: %s (%s in the tarball) hashes to %s, not to the %s its name says", ErrCorrupt, n.what, clean, got, n.h)
		}
		delete(want, clean)
	}
}
