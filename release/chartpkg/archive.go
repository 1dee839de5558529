package chartpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	sigsyaml "sigs.k8s.io/yaml"
)

// helmGzipExtra and helmGzipComment are the gzip header fields
// chartutil.Save writes; relkit writes the same ones, but no timestamp.
var helmGzipExtra = []byte("+aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=")

const helmGzipComment = "Helm"

// gzipOS is the OS byte of the gzip header: 255, "unknown", whatever
// machine builds the package.
const gzipOS = 255

// archiveFile is one entry of a chart archive.
type archiveFile struct {
	name string
	data []byte
}

// Archive writes chart c as the .tgz `helm package` would write it (the
// entries and content chartutil.Save writes: Chart.yaml marshalled from
// the metadata, Chart.lock, values.yaml, values.schema.json, templates,
// files, and every subchart as a folder under charts/), reproducibly:
// entries sorted by name, files 0644 owned by uid and gid 0 with empty
// owner names, every file time set to mtime (whole seconds), and a gzip
// header without a timestamp and with a fixed OS byte.
func Archive(c *chart.Chart, mtime time.Time) ([]byte, error) {
	var files []archiveFile
	if err := collect(c, "", &files, 0); err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b archiveFile) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(files); i++ {
		if files[i].name == files[i-1].name {
			return nil, fmt.Errorf("%s: two entries with this name (two subcharts of one name and different versions?)", files[i].name)
		}
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	zw.Header = gzip.Header{Extra: helmGzipExtra, Comment: helmGzipComment, OS: gzipOS}
	tw := tar.NewWriter(zw)
	mt := time.Unix(mtime.Unix(), 0).UTC()
	for _, f := range files {
		h := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.name,
			Mode:     0o644,
			Size:     int64(len(f.data)),
			ModTime:  mt,
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Digest is "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// maxDepth bounds subchart nesting.
const maxDepth = 32

// collect mirrors chartutil's writeTarContents: the same files with the
// same content, under prefix/<chart name>/.
func collect(c *chart.Chart, prefix string, out *[]archiveFile, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("subcharts nested more than %d deep", maxDepth)
	}
	if c.Metadata == nil {
		return fmt.Errorf("%s: chart without metadata", prefix)
	}
	name := c.Name()
	if name == "" || name != path.Base(name) || name == "." || name == ".." || strings.Contains(name, "\\") {
		return fmt.Errorf("chart name %q cannot be a folder name", name)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%s: %w", path.Join(prefix, name), err)
	}
	base := path.Join(prefix, name)
	add := func(n string, data []byte) {
		*out = append(*out, archiveFile{name: path.Join(base, n), data: data})
	}
	meta, err := chartYAML(c.Metadata)
	if err != nil {
		return err
	}
	add("Chart.yaml", meta)
	if c.Metadata.APIVersion == chart.APIVersionV2 && c.Lock != nil {
		ldata, err := sigsyaml.Marshal(c.Lock)
		if err != nil {
			return err
		}
		add("Chart.lock", ldata)
	}
	for _, f := range c.Raw {
		if f.Name == "values.yaml" {
			add("values.yaml", f.Data)
		}
	}
	if c.Schema != nil {
		if !json.Valid(c.Schema) {
			return fmt.Errorf("%s: invalid JSON in values.schema.json", base)
		}
		add("values.schema.json", c.Schema)
	}
	for _, f := range c.Templates {
		add(f.Name, f.Data)
	}
	for _, f := range c.Files {
		add(f.Name, f.Data)
	}
	for _, dep := range c.Dependencies() {
		if err := collect(dep, path.Join(base, "charts"), out, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// chartYAML is Chart.yaml as chartutil.Save writes it: the metadata
// marshalled again (sigs.k8s.io/yaml, keys sorted), without the
// dependencies of an apiVersion v1 chart (they stay in requirements.yaml).
func chartYAML(md *chart.Metadata) ([]byte, error) {
	m := *md
	if m.APIVersion == chart.APIVersionV1 {
		m.Dependencies = nil
	}
	return sigsyaml.Marshal(&m)
}
