package render

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/relkit/relkit/checks/imageref"
)

// valueImage is an image-looking entry of a values file.
type valueImage struct {
	ref      string
	subchart string
	file     string
	line     int
	path     string
	keys     []string
	holds    Holds
}

// scanValueImages finds image-looking entries in the values of every chart
// of the loaded tree (disabled subcharts included) and in the extra values
// files: a string under an "image" key, an image map {registry,
// repository, tag, digest} with a tag or digest, and full references
// (with a tag or digest) anywhere under an "images" key
// (images.tags.hss: registry.example.org/omec/hss:1.2.3).
func scanValueImages(top *chart.Chart, locs map[*chart.File]node, extra []*valuesDoc, docs docCache) []valueImage {
	var out []valueImage
	for i, d := range extra {
		var over []scope
		for _, later := range extra[i+1:] {
			over = append(over, scope{doc: later})
		}
		out = scanDoc(d, "", over, out)
	}
	// ancestors are the values files above the chart being walked, with the
	// chain of subchart keys from each to it.
	type anc struct {
		doc   *valuesDoc
		depth int
	}
	var walk func(c *chart.Chart, chain []string, ancs []anc, depth int)
	walk = func(c *chart.Chart, chain []string, ancs []anc, depth int) {
		if depth > 50 {
			return
		}
		n := locs[firstFile(c)]
		own := docs.own(c, &n)
		var over []scope
		for _, d := range extra {
			over = append(over, scope{doc: d, prefix: chain})
		}
		for _, a := range ancs {
			over = append(over, scope{doc: a.doc, prefix: chain[a.depth:]})
		}
		out = scanDoc(own, strings.Join(chain, "/"), over, out)
		for _, d := range c.Dependencies() {
			walk(d, append(slices.Clone(chain), subchartKey(c, d)), append(slices.Clip(ancs), anc{own, len(chain)}), depth+1)
		}
	}
	walk(top, nil, nil, 0)
	return out
}

// definedPaths is the set of leaf key paths of a values file.
func (d *valuesDoc) definedPaths() map[string]bool {
	if d.defined == nil {
		d.defined = map[string]bool{}
		for _, l := range d.leaves {
			d.defined[pathString(l.path)] = true
		}
	}
	return d.defined
}

// scanDoc adds the image-looking entries of d that no file of higher
// precedence (over) overrides.
func scanDoc(d *valuesDoc, subchart string, over []scope, out []valueImage) []valueImage {
	if d.root == nil {
		return out
	}
	add := func(ref string, line int, p []string, holds Holds) {
		r, err := imageref.Parse(ref)
		if err != nil || r.Tag == "" && r.Digest == "" {
			return
		}
		for _, o := range over {
			if overridden(pathString(append(slices.Clone(o.prefix), p...)), o.doc.definedPaths()) {
				return
			}
		}
		out = append(out, valueImage{ref: ref, subchart: subchart, file: d.file, line: line, path: pathString(p), keys: keys(p), holds: holds})
	}
	var walk func(n *yaml.Node, p []string, underImages bool, depth int)
	walk = func(n *yaml.Node, p []string, underImages bool, depth int) {
		if depth > 100 {
			return
		}
		switch n.Kind {
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, append(slices.Clip(p), "["+itoa(i)+"]"), underImages, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				kp := append(slices.Clip(p), k)
				switch {
				case v.Kind == yaml.ScalarNode && v.Tag != "!!null" && (k == "image" || underImages):
					add(strings.TrimSpace(v.Value), v.Line, kp, HoldsRef)
				case v.Kind == yaml.MappingNode && hasKey(v, "repository"):
					if ref := composeImage(v); ref != "" {
						line, holds, sub := v.Line, HoldsTag, "tag"
						if t := valueNode(v, "tag"); t != nil && t.Value != "" {
							line = t.Line
						} else if dn := valueNode(v, "digest"); dn != nil {
							line, holds, sub = dn.Line, HoldsDigest, "digest"
						}
						add(ref, line, append(kp, sub), holds)
					}
				}
				if v.Kind != yaml.ScalarNode {
					walk(v, kp, underImages || k == "images", depth+1)
				}
			}
		}
	}
	walk(d.root, nil, false, 0)
	return out
}

func hasKey(m *yaml.Node, key string) bool { return valueNode(m, key) != nil }

func valueNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// uncovered returns the values images no rendered image accounts for:
// neither traced to the same line, nor the same reference (possibly behind
// a registry prefix), nor the same repository path and tag. Rendered
// references are indexed by every suffix after a "/", so the cost is
// linear in the images (comparing each pair made 100k images take hours).
func uncovered(vals []valueImage, rendered []Image, chartDir string) []Image {
	type loc struct {
		file string
		line int
	}
	type repoTag struct{ repo, tag, digest string }
	traced := map[loc]bool{}
	refs := map[string]bool{}
	repos := map[repoTag]bool{}
	for _, img := range rendered {
		if img.ValuesFile != "" {
			traced[loc{img.ValuesFile, img.ValuesLine}] = true
		}
		for _, s := range pathSuffixes(img.Ref) {
			refs[s] = true
		}
		if r, err := imageref.Parse(img.Ref); err == nil {
			for _, s := range pathSuffixes(r.Repository) {
				repos[repoTag{s, r.Tag, r.Digest}] = true
			}
		}
	}
	var out []Image
	seen := map[loc]bool{}
	for _, v := range vals {
		l := loc{v.file, v.line}
		if traced[l] || seen[l] {
			continue
		}
		seen[l] = true
		if refs[v.ref] {
			continue
		}
		if vr, err := imageref.Parse(v.ref); err == nil && repos[repoTag{vr.Repository, vr.Tag, vr.Digest}] {
			continue
		}
		img := Image{Ref: v.ref, Chart: chartDir, Subchart: v.subchart, Source: FromValues,
			ValuesFile: v.file, ValuesLine: v.line, ValuesPath: v.path, ValuesKeys: v.keys, ValuesHolds: v.holds}
		if v.holds == HoldsRef {
			img.ValuesRef = v.ref
		}
		out = append(out, img)
	}
	return out
}
