package demo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// chartState is the set of values that change through the charts repo's
// history: chart versions and the image tags the charts use. Keys are the
// @@placeholders@@ of the chart templates.
type chartState map[string]string

func (s chartState) with(kv ...string) chartState {
	n := maps.Clone(s)
	for i := 0; i+1 < len(kv); i += 2 {
		n[kv[i]] = kv[i+1]
	}
	return n
}

// fill replaces every @@key@@ in text by its value.
func fill(text string, vals map[string]string) string {
	if !strings.Contains(text, "@@") {
		return text
	}
	args := make([]string, 0, 2*len(vals))
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		args = append(args, "@@"+k+"@@", vals[k])
	}
	out := strings.NewReplacer(args...).Replace(text)
	if i := strings.Index(out, "@@"); i >= 0 {
		panic("demo: unfilled placeholder near " + out[i:min(len(out), i+30)])
	}
	return out
}

// chartFS holds the demo charts' files (files/charts/<dir>/...) and the
// sources of the charts they vendor as packages (files/vendored/<name>/...).
// "all:" keeps templates/_helpers.tpl, which embed would skip for its
// leading underscore.
//
//go:embed all:files
var chartFS embed.FS

// chartDef is one chart of the charts repo; its files are
// files/charts/<Dir>/ with @@placeholders@@ for the values of a
// chartState.
type chartDef struct {
	Dir, Name string
	// VersionKey is the state key of the chart version.
	VersionKey string
	// Vendored are chart packages under the chart's charts/ dir: package
	// file name -> the name of its source under files/vendored.
	Vendored map[string]string
}

var chartDefs = []chartDef{
	{Dir: "omec/omec-control-plane", Name: "omec-control-plane", VersionKey: "cp.version"},
	{Dir: "omec/omec-user-plane", Name: "omec-user-plane", VersionKey: "up.version"},
	{Dir: "roc-api", Name: "roc-api", VersionKey: "api.version"},
	{Dir: "aether-roc-gui", Name: "aether-roc-gui", VersionKey: "gui.version"},
	{Dir: "aether-roc-umbrella", Name: "aether-roc-umbrella", VersionKey: "umb.version"},
	{Dir: "edge-monitoring", Name: "edge-monitoring", VersionKey: "edge.version",
		// The upstream telegraf chart, a minimal real chart whose image
		// tag the parent overrides.
		Vendored: map[string]string{"telegraf-1.8.0.tgz": "telegraf"}},
}

// embedded returns the files under dir of chartFS, by path relative to
// dir. The files are part of the binary, so a read error is a build bug.
func embedded(dir string) map[string]string {
	out := map[string]string{}
	err := fs.WalkDir(chartFS, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := chartFS.ReadFile(p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, dir+"/")] = string(data)
		return nil
	})
	if err != nil || len(out) == 0 {
		panic(fmt.Sprintf("demo: embedded files %s: %v (%d files)", dir, err, len(out)))
	}
	return out
}

// chartTemplates are the files of every chart, as read once from chartFS.
var chartTemplates = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, c := range chartDefs {
		out[c.Dir] = embedded("files/charts/" + c.Dir)
	}
	return out
})

// vendoredPackage is the package of the vendored chart name, built once
// per name (the demo vendors one).
var vendoredPackage = sync.OnceValue(func() map[string][]byte {
	out := map[string][]byte{}
	for _, c := range chartDefs {
		for _, name := range c.Vendored {
			if out[name] == nil {
				out[name] = packChart(name, embedded("files/vendored/"+name))
			}
		}
	}
	return out
})

// chartFiles is the content of the charts repo's chart dirs in state st,
// as repo-relative path -> content.
func chartFiles(st chartState) map[string]string {
	out := map[string]string{}
	for _, c := range chartDefs {
		for rel, text := range chartDirFiles(c, st) {
			out[c.Dir+"/"+rel] = text
		}
	}
	return out
}

// chartDirFiles is one chart's files (chart-relative paths) in state st.
func chartDirFiles(c chartDef, st chartState) map[string]string {
	out := map[string]string{}
	for f, text := range chartTemplates()[c.Dir] {
		out[f] = fill(text, st)
	}
	for file, name := range c.Vendored {
		out["charts/"+file] = string(vendoredPackage()[name])
	}
	return out
}

// packChart makes a chart package (.tgz) the way `helm package` lays it
// out: every file under "<name>/". Fixed modes and times keep the bytes,
// and so the digest, reproducible.
func packChart(name string, files map[string]string) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, f := range slices.Sorted(maps.Keys(files)) {
		body := files[f]
		hdr := &tar.Header{Name: path.Join(name, f), Mode: 0o644, Size: int64(len(body)),
			ModTime: Epoch, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err) // writing to memory
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// Published is one chart package of the static chart repository.
type Published struct {
	Name, Version, APIVersion, AppVersion string
	// File is the package file name inside the chart repository dir.
	File   string
	Digest string // sha256 hex of the file
	// Created is the index's creation time of the entry.
	Created time.Time
}

// chartRepository packages the charts as they were in each published
// state (oldest first) and returns the files of a static chart repository
// (index.yaml and the packages) and the entries.
func chartRepository(states []chartState) (map[string][]byte, []Published) {
	files := map[string][]byte{}
	var pubs []Published
	seen := map[string]bool{}
	created := Epoch.Add(30 * 24 * time.Hour)
	for _, st := range states {
		for _, c := range chartDefs {
			v := st[c.VersionKey]
			if seen[c.Name+"-"+v] {
				continue
			}
			seen[c.Name+"-"+v] = true
			dir := chartDirFiles(c, st)
			meta := chartMeta(dir["Chart.yaml"])
			data := packChart(c.Name, dir)
			sum := sha256.Sum256(data)
			file := c.Name + "-" + v + ".tgz"
			files[file] = data
			created = created.Add(time.Hour)
			pubs = append(pubs, Published{Name: c.Name, Version: v, APIVersion: meta["apiVersion"],
				AppVersion: meta["appVersion"], File: file, Digest: hex.EncodeToString(sum[:]), Created: created})
		}
	}
	files["index.yaml"] = indexYAML(pubs, created.Add(time.Hour))
	return files, pubs
}

// chartMeta reads the top-level scalar keys of a Chart.yaml the demo wrote
// (enough for the index: no nesting needed).
func chartMeta(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == ' ' || line[0] == '#' || line[0] == '-' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v, _, _ = strings.Cut(v, " #")
		m[k] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return m
}

// indexYAML writes index.yaml in Helm's documented layout: entries by
// chart name (sorted), newest version first.
func indexYAML(pubs []Published, generated time.Time) []byte {
	byName := map[string][]Published{}
	for _, p := range pubs {
		byName[p.Name] = append(byName[p.Name], p)
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n")
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		fmt.Fprintf(&b, "  %s:\n", n)
		list := byName[n]
		for i := len(list) - 1; i >= 0; i-- {
			p := list[i]
			fmt.Fprintf(&b, "  - apiVersion: %s\n", p.APIVersion)
			if p.AppVersion != "" {
				fmt.Fprintf(&b, "    appVersion: %q\n", p.AppVersion)
			}
			fmt.Fprintf(&b, "    created: %q\n", p.Created.Format(time.RFC3339Nano))
			fmt.Fprintf(&b, "    digest: %s\n", p.Digest)
			fmt.Fprintf(&b, "    name: %s\n", p.Name)
			fmt.Fprintf(&b, "    urls:\n    - %s\n", p.File)
			fmt.Fprintf(&b, "    version: %s\n", p.Version)
		}
	}
	fmt.Fprintf(&b, "generated: %q\n", generated.Format(time.RFC3339Nano))
	return []byte(b.String())
}
