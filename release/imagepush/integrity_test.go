package imagepush

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	rplan "github.com/relkit/relkit/release/plan"
)

// blobFile is the path of blob h in layout dir.
func blobFile(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// flipByte inverts one byte of file at offset off (negative: from the end).
func flipByte(t *testing.T, file string, off int64) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(data))
	}
	data[off] ^= 0xff
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// layoutManifest returns the manifest of the image at layout dir (the
// only image, or the child i of the only index).
func layoutManifest(t testing.TB, dir string, child int) (v1.Descriptor, *v1.Manifest) {
	t.Helper()
	idx, d := layoutTop(t, dir)
	if d.MediaType.IsIndex() {
		inner, err := idx.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := inner.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		d = cm.Manifests[child]
	}
	raw, err := os.ReadFile(blobFile(dir, d.Digest))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return d, m
}

// writeJSONBlob stores v as a blob of the layout and returns its
// descriptor.
func writeJSONBlob(t *testing.T, dir string, v any, mt string) v1.Descriptor {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	h, n, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blobFile(dir, h), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: types.MediaType(mt), Digest: h, Size: n}
}

// setTop rewrites index.json to name d as the layout's only manifest.
func setTop(t *testing.T, dir string, d v1.Descriptor) {
	t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []v1.Descriptor{d}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// registryEmpty asserts that no request wrote to reg and that its
// catalog lists no repository (a repository appears with its first
// manifest).
func registryEmpty(t *testing.T, reg *testReg) {
	t.Helper()
	if n := reg.writes.Load(); n != 0 {
		t.Errorf("%d write requests reached the registry, want 0:\n%s", n, strings.Join(reg.requests(), "\n"))
	}
	resp, err := http.Get("http://" + reg.host + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cat struct{ Repositories []string }
	if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil {
		t.Fatalf("catalog: %v", err)
	}
	if len(cat.Repositories) != 0 {
		t.Errorf("the registry's catalog lists %v after a refused source, want nothing", cat.Repositories)
	}
}

// TestDamagedLayoutIsRefusedBeforeAnyWrite damages one blob of an OCI
// layout in each way a disk, a copy or a broken tool does, and checks
// that the push is refused (exit 1) naming the blob and both digests or
// sizes, with nothing written to the registry.
func TestDamagedLayoutIsRefusedBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		make    func(t *testing.T) (dir string, want []string)
		corrupt bool // ErrCorrupt (bytes do not match) rather than a missing blob
	}{
		{"one flipped byte in a layer", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomImage(t, 3))
			_, m := layoutManifest(t, dir, 0)
			l := m.Layers[1]
			flipByte(t, blobFile(dir, l.Digest), l.Size/2)
			got, _, _ := v1.SHA256(mustOpen(t, blobFile(dir, l.Digest)))
			return dir, []string{"layer 2 of 3", l.Digest.String(), "hashes to " + got.String()}
		}, true},
		{"a truncated layer", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomImage(t, 2))
			_, m := layoutManifest(t, dir, 0)
			l := m.Layers[0]
			if err := os.Truncate(blobFile(dir, l.Digest), l.Size-7); err != nil {
				t.Fatal(err)
			}
			return dir, []string{"layer 1 of 2", l.Digest.String(), fmt.Sprintf("holds %d bytes, the descriptor says %d", l.Size-7, l.Size)}
		}, true},
		{"a padded layer", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomImage(t, 1))
			_, m := layoutManifest(t, dir, 0)
			l := m.Layers[0]
			f, err := os.OpenFile(blobFile(dir, l.Digest), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("x"))
			f.Close()
			return dir, []string{l.Digest.String(), fmt.Sprintf("holds %d bytes", l.Size+1)}
		}, true},
		{"a changed config", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomImage(t, 1))
			_, m := layoutManifest(t, dir, 0)
			flipByte(t, blobFile(dir, m.Config.Digest), 2)
			return dir, []string{"config " + m.Config.Digest.String(), "hashes to sha256:"}
		}, true},
		{"a manifest naming the wrong config digest", func(t *testing.T) (string, []string) {
			// A tool that stored the config under a digest that is not
			// the config's: the manifest and index.json are consistent,
			// the config blob is not what its name says.
			dir := layoutOf(t, randomImage(t, 1))
			_, m := layoutManifest(t, dir, 0)
			real := m.Config.Digest
			wrong, _, _ := v1.SHA256(strings.NewReader("not the config"))
			data, err := os.ReadFile(blobFile(dir, real))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(blobFile(dir, wrong), data, 0o644); err != nil {
				t.Fatal(err)
			}
			m.Config.Digest = wrong
			setTop(t, dir, writeJSONBlob(t, dir, m, string(m.MediaType)))
			return dir, []string{"config " + wrong.String(), "hashes to " + real.String()}
		}, true},
		{"a changed child manifest of an index", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomIndex(t))
			d, _ := layoutManifest(t, dir, 1)
			flipByte(t, blobFile(dir, d.Digest), -3)
			return dir, []string{"manifest " + d.Digest.String(), "hashes to sha256:"}
		}, true},
		{"a flipped layer byte in the third image of an index", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomIndex(t))
			_, m := layoutManifest(t, dir, 2)
			l := m.Layers[1]
			flipByte(t, blobFile(dir, l.Digest), 0)
			return dir, []string{"layer 2 of 2", l.Digest.String(), "hashes to sha256:"}
		}, true},
		{"index.json with the wrong size of the top manifest", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomImage(t, 1))
			_, d := layoutTop(t, dir)
			d.Size--
			setTop(t, dir, d)
			return dir, []string{"manifest " + d.Digest.String(), "the descriptor says"}
		}, true},
		{"a layer missing", func(t *testing.T) (string, []string) {
			dir := layoutOf(t, randomImage(t, 2))
			removeOneLayer(t, dir)
			return dir, []string{"missing from the layout"}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newTestReg(t)
			dir, want := tc.make(t)
			for _, dry := range []bool{true, false} {
				req := request(dir, []string{reg.repo("team/app"), reg.repo("mirror/app")}, "1.0.0", "1.0")
				req.DryRun = dry
				res, err := Push(ctxT(t), req)
				if !errors.Is(err, ErrSource) {
					t.Fatalf("dry run %v: err = %v, want ErrSource\n%s", dry, err, res)
				}
				if dry {
					t.Log(err)
				}
				if errors.Is(err, ErrCorrupt) != tc.corrupt {
					t.Errorf("dry run %v: errors.Is(err, ErrCorrupt) = %v, want %v: %v", dry, !tc.corrupt, tc.corrupt, err)
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("dry run %v: error does not say %q:\n%v", dry, w, err)
					}
				}
				if code := rplan.ExitCode(classify(err)); code != 1 {
					t.Errorf("dry run %v: exit %d, want 1 (refused)", dry, code)
				}
				wantAll(t, res, StatusNotAttempted)
			}
			registryEmpty(t, reg)
		})
	}
}

func mustOpen(t *testing.T, file string) io.Reader {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(data)
}

// savedTarball is a docker save tarball written by hand, as docker does:
// uncompressed layers, a manifest.json, and files named either the
// legacy way (<image id>.json, <n>/layer.tar) or the OCI way docker save
// uses since 25 (blobs/sha256/<digest>).
type savedTarball struct {
	file string
	// offsets of each file's content in the tar, by name.
	offsets map[string]int64
	config  string
	layers  []string
	diffIDs []v1.Hash
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func dockerSave(t *testing.T, img v1.Image, ociNames bool) *savedTarball {
	t.Helper()
	st := &savedTarball{file: filepath.Join(t.TempDir(), "saved.tar"), offsets: map[string]int64{}}
	f, err := os.Create(st.file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cw := &countWriter{w: f}
	tw := tar.NewWriter(cw)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		st.offsets[name] = cw.n
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfgHash, _, _ := v1.SHA256(bytes.NewReader(cfg))
	st.config = cfgHash.Hex + ".json"
	if ociNames {
		st.config = "blobs/sha256/" + cfgHash.Hex
	}
	add(st.config, cfg)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		diff, _, _ := v1.SHA256(bytes.NewReader(data))
		st.diffIDs = append(st.diffIDs, diff)
		p := fmt.Sprintf("%064x/layer.tar", i+1)
		if ociNames {
			p = "blobs/sha256/" + diff.Hex
		}
		st.layers = append(st.layers, p)
		add(p, data)
	}
	m, _ := json.Marshal([]map[string]any{{"Config": st.config, "RepoTags": []string{"registry.example.org/team/app:1.0.0"}, "Layers": st.layers}})
	add("manifest.json", m)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return st
}

// flipAt inverts the byte at off in file.
func flipAt(t *testing.T, file string, off int64) {
	t.Helper()
	flipByte(t, file, off)
}

// TestDamagedTarballIsRefusedBeforeAnyWrite damages docker save tarballs
// (both file-name styles, and go-containerregistry's gzip-layer tarball)
// and checks each is refused with nothing written, while the undamaged
// tarballs push.
func TestDamagedTarballIsRefusedBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	for _, oci := range []bool{false, true} {
		style := map[bool]string{false: "legacy names", true: "blobs/sha256 names"}[oci]
		t.Run(style+": intact pushes", func(t *testing.T) {
			reg := newTestReg(t)
			img := randomImage(t, 2)
			st := dockerSave(t, img, oci)
			res, err := Push(ctxT(t), request(st.file, []string{reg.repo("team/app")}, "1.0.0"))
			if err != nil {
				t.Fatalf("Push: %v\n%s", err, res)
			}
			wantAll(t, res, StatusPushed)
			validateRemote(t, reg.repo("team/app:1.0.0"), false)
		})
		t.Run(style+": one flipped byte in a layer", func(t *testing.T) {
			reg := newTestReg(t)
			st := dockerSave(t, randomImage(t, 2), oci)
			// The layer is a tar whose first 512 bytes are a header;
			// flip a byte of the file data after it.
			flipAt(t, st.file, st.offsets[st.layers[1]]+600)
			_, err := Push(ctxT(t), request(st.file, []string{reg.repo("team/app")}, "1.0.0"))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "layer 2 of 2") || !strings.Contains(err.Error(), st.diffIDs[1].String()) {
				t.Fatalf("err = %v, want ErrCorrupt naming layer 2 and its diff_id %s", err, st.diffIDs[1])
			}
			if !strings.Contains(err.Error(), "to sha256:") {
				t.Errorf("error does not name both digests: %v", err)
			}
			registryEmpty(t, reg)
		})
		t.Run(style+": a changed config", func(t *testing.T) {
			reg := newTestReg(t)
			st := dockerSave(t, randomImage(t, 1), oci)
			// Still JSON, no longer the config its name is the digest of.
			raw, err := os.ReadFile(st.file)
			if err != nil {
				t.Fatal(err)
			}
			key := bytes.Index(raw[st.offsets[st.config]:], []byte(`"created"`))
			if key < 0 {
				t.Fatalf("the config has no created key")
			}
			raw[st.offsets[st.config]+int64(key)+2] = 'R'
			if err := os.WriteFile(st.file, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Push(ctxT(t), request(st.file, []string{reg.repo("team/app")}, "1.0.0"))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "config ("+st.config) || !strings.Contains(err.Error(), "hashes to sha256:") {
				t.Fatalf("err = %v, want ErrCorrupt naming the config %s and both digests", err, st.config)
			}
			registryEmpty(t, reg)
		})
	}
	t.Run("gzip layers: one flipped byte", func(t *testing.T) {
		reg := newTestReg(t)
		img := randomImage(t, 2)
		file := dockerTarball(t, img, "registry.example.org/team/app:1.0.0")
		layers, _ := img.Layers()
		d, _ := layers[0].Digest()
		off := tarOffset(t, file, d.Hex+".tar.gz")
		flipAt(t, file, off+100)
		_, err := Push(ctxT(t), request(file, []string{reg.repo("team/app")}, "1.0.0"))
		if !errors.Is(err, ErrSource) {
			t.Fatalf("err = %v, want ErrSource", err)
		}
		registryEmpty(t, reg)
	})
	t.Run("truncated", func(t *testing.T) {
		reg := newTestReg(t)
		st := dockerSave(t, randomImage(t, 2), false)
		if err := os.Truncate(st.file, st.offsets[st.layers[1]]+700); err != nil {
			t.Fatal(err)
		}
		_, err := Push(ctxT(t), request(st.file, []string{reg.repo("team/app")}, "1.0.0"))
		if !errors.Is(err, ErrSource) {
			t.Fatalf("err = %v, want ErrSource", err)
		}
		if code := rplan.ExitCode(classify(err)); code != 1 {
			t.Errorf("exit %d, want 1 (refused)", code)
		}
		registryEmpty(t, reg)
	})
}

// tarOffset returns the offset of the content of entry name in the tar.
func tarOffset(t *testing.T, file, entry string) int64 {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no entry %s: %v", file, entry, err)
		}
		if hdr.Name == entry {
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				t.Fatal(err)
			}
			return off
		}
	}
}

// TestDamagedStagingBlobFailsThePush serves a staging image whose layer
// bytes are damaged on the way: go-containerregistry verifies each blob
// against its digest as it streams it, so the copy to another registry
// fails (exit 1, not "could not decide") and the release tag is never
// written.
func TestDamagedStagingBlobFailsThePush(t *testing.T) {
	t.Parallel()
	staging := newTestReg(t)
	img := randomImage(t, 2)
	stage(t, staging.repo("staging/app:build-1"), img)
	layers, _ := img.Layers()
	bad, _ := layers[1].Digest()
	// A proxy that flips one byte of that blob.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+staging.host+r.URL.RequestURI(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+bad.String()) && len(body) > 10 {
			body[10] ^= 0xff
		}
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(proxy.Close)
	target := newTestReg(t)
	src := strings.TrimPrefix(proxy.URL, "http://") + "/staging/app:build-1"
	res, err := Push(ctxT(t), request(src, []string{target.repo("release/app")}, "1.0.0"))
	if err == nil {
		t.Fatalf("a damaged staging blob was pushed:\n%s", res)
	}
	if !strings.Contains(err.Error(), bad.String()) {
		t.Errorf("error does not name the damaged blob %s: %v", bad, err)
	}
	if code := rplan.ExitCode(classify(err)); code != 1 {
		t.Errorf("exit %d, want 1: a damaged blob is a failure, not an unreachable registry: %v", code, err)
	}
	if got := headDigest(t, target.repo("release/app:1.0.0")); got != zeroHash {
		t.Errorf("the release tag was written (%s) from a damaged source", got)
	}
	wantAll(t, res, StatusFailed)
}
