package render

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/relkit/relkit/checks/imageref"
)

// leaf is one non-empty scalar of a values file.
type leaf struct {
	path   []string
	value  string
	line   int
	key    string
	parent *yaml.Node // the enclosing mapping; nil inside a sequence
}

// valuesDoc is a parsed values file.
type valuesDoc struct {
	file    string
	root    *yaml.Node
	leaves  []leaf
	defined map[string]bool // lazily, by definedPaths
}

func parseValuesDoc(file string, data []byte) *valuesDoc {
	d := &valuesDoc{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return d
	}
	d.root = doc.Content[0]
	collectLeaves(d.root, nil, nil, "", &d.leaves, 0)
	return d
}

func collectLeaves(n *yaml.Node, p []string, parent *yaml.Node, key string, out *[]leaf, depth int) {
	if depth > 100 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			collectLeaves(n.Content[i+1], append(slices.Clip(p), k), n, k, out, depth+1)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			collectLeaves(c, append(slices.Clip(p), "["+itoa(i)+"]"), nil, "", out, depth+1)
		}
	case yaml.ScalarNode:
		// Empty strings stay: they override lower files even though they
		// never match an image.
		if n.Tag != "!!null" {
			*out = append(*out, leaf{path: p, value: n.Value, line: n.Line, key: key, parent: parent})
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	pos := len(b)
	for ; i > 0; i /= 10 {
		pos--
		b[pos] = byte('0' + i%10)
	}
	return string(b[pos:])
}

// keys turns a path into plain keys: "[3]" becomes "3".
func keys(p []string) []string {
	out := make([]string, len(p))
	for i, s := range p {
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			s = s[1 : len(s)-1]
		}
		out[i] = s
	}
	return out
}

// pathString joins a key path: "images.tags.hss", "containers[0].image".
func pathString(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// docCache parses each chart's values.yaml once, keyed by the chart's
// first file (shared by alias copies).
type docCache map[*chart.File]*valuesDoc

func (dc docCache) own(c *chart.Chart, n *node) *valuesDoc {
	key := firstFile(c)
	if d, ok := dc[key]; ok {
		return d
	}
	var d *valuesDoc
	for _, f := range c.Raw {
		if f.Name == "values.yaml" {
			d = parseValuesDoc(n.file("values.yaml"), f.Data)
			break
		}
	}
	if d == nil {
		d = &valuesDoc{file: n.file("values.yaml")}
	}
	dc[key] = d
	return d
}

// tracer finds the values scalar that sets a rendered image's tag.
type tracer struct {
	tree  *treeIndex
	extra []*valuesDoc
	docs  docCache
}

func newTracer(tree *treeIndex, extra []*valuesDoc, docs docCache) *tracer {
	return &tracer{tree: tree, extra: extra, docs: docs}
}

// scope is one values file as seen from a chart of the tree: its keys
// for that chart sit under prefix.
type scope struct {
	doc    *valuesDoc
	prefix []string
}

// scopes lists the values files that can set values of chart n, highest
// precedence first: the extra files, then the top chart's values down to
// n's own.
func (t *tracer) scopes(n *node) []scope {
	var out []scope
	for i := len(t.extra) - 1; i >= 0; i-- {
		out = append(out, scope{doc: t.extra[i], prefix: n.chain})
	}
	var line []*node
	for a := n; a != nil; a = a.parent {
		line = append(line, a)
	}
	for i := len(line) - 1; i >= 0; i-- {
		a := line[i]
		out = append(out, scope{doc: t.docs.own(a.chart, a), prefix: n.chain[len(a.chain):]})
	}
	return out
}

// rel returns the key path of l as chart n sees it ("global." kept), and
// whether l applies to n at all.
func rel(l leaf, prefix []string, n *node) (string, bool) {
	if len(l.path) > 0 && l.path[0] == "global" {
		return pathString(l.path), true
	}
	if len(l.path) <= len(prefix) || !slices.Equal(l.path[:len(prefix)], prefix) {
		return "", false
	}
	r := l.path[len(prefix):]
	if slices.Contains(n.subKeys, r[0]) {
		return "", false
	}
	return pathString(r), true
}

var repoKeys = []string{"repository", "repo", "image", "name", "imageName", "imageRepository"}

// quality scores how surely leaf l sets image ref (0: not at all).
func quality(l leaf, ref string, r imageref.Ref) (int, Holds) {
	switch {
	case l.value == ref:
		return 50, HoldsRef
	case strings.HasSuffix(ref, l.value) && len(l.value) < len(ref) &&
		(r.Digest != "" && strings.HasSuffix(l.value, "@"+r.Digest) && len(l.value) > len(r.Digest)+1 ||
			r.Digest == "" && r.Tag != "" && strings.HasSuffix(l.value, ":"+r.Tag) && len(l.value) > len(r.Tag)+1):
		return 40, HoldsRef
	case r.Digest != "" && l.value == r.Digest:
		return 30, HoldsDigest
	case r.Tag == "" || l.value != r.Tag:
		return 0, ""
	}
	q := 10
	k := strings.ToLower(l.key)
	if strings.Contains(k, "tag") || strings.Contains(k, "version") {
		q += 10
	}
	if l.parent != nil {
		for i := 0; i+1 < len(l.parent.Content); i += 2 {
			kn, vn := l.parent.Content[i], l.parent.Content[i+1]
			if !slices.Contains(repoKeys, kn.Value) || vn.Kind != yaml.ScalarNode || vn.Value == "" {
				continue
			}
			v := strings.Trim(vn.Value, "/")
			if strings.HasSuffix(r.Name(), v) || strings.HasSuffix(v, r.Repository) {
				q += 15
			} else {
				q -= 8
			}
			break
		}
	}
	return q, HoldsTag
}

// trace fills img's values provenance: the effective scalar (not
// overridden by a file of higher precedence) that best explains the tag,
// else the chart's appVersion when it equals the tag.
func (t *tracer) trace(img *Image, n *node) {
	r, err := imageref.Parse(img.Ref)
	if err != nil {
		return
	}
	type hit struct {
		l     leaf
		file  string
		q     int
		holds Holds
		src   int
	}
	var best []hit
	defined := map[string]bool{}
	for si, sc := range t.scopes(n) {
		var here []string
		for _, l := range sc.doc.leaves {
			p, ok := rel(l, sc.prefix, n)
			if !ok {
				continue
			}
			here = append(here, p)
			if overridden(p, defined) {
				continue
			}
			q, holds := quality(l, img.Ref, r)
			if q <= 0 {
				continue
			}
			h := hit{l: l, file: sc.doc.file, q: q, holds: holds, src: si}
			switch {
			case len(best) == 0 || q > best[0].q:
				best = []hit{h}
			case q == best[0].q:
				best = append(best, h)
			}
		}
		for _, p := range here {
			defined[p] = true
		}
	}
	if av, line := appVersion(n); av != "" && (r.Tag == av || r.Tag == "v"+av) && (len(best) == 0 || best[0].q < 15) {
		img.ValuesFile, img.ValuesLine, img.ValuesPath, img.ValuesHolds = n.file("Chart.yaml"), line, "appVersion", HoldsAppVersion
		img.ValuesKeys = []string{"appVersion"}
		return
	}
	if len(best) == 0 {
		return
	}
	// Several equally good scalars: the highest-precedence file wins; two
	// in that file are ambiguous unless each holds the whole reference.
	first := best[0]
	same := 0
	for _, h := range best {
		if h.src == first.src {
			same++
		}
	}
	if same > 1 && first.q < 40 {
		return
	}
	img.ValuesFile, img.ValuesLine, img.ValuesPath, img.ValuesHolds = first.file, first.l.line, pathString(first.l.path), first.holds
	img.ValuesKeys = keys(first.l.path)
}

// overridden reports whether p or one of its parents is set by a file of
// higher precedence.
func overridden(p string, defined map[string]bool) bool {
	if defined[p] {
		return true
	}
	for i := len(p) - 1; i > 0; i-- {
		if (p[i] == '.' || p[i] == '[') && defined[p[:i]] {
			return true
		}
	}
	return false
}

// appVersion returns the chart's appVersion and its line in Chart.yaml,
// read once per chart node.
func appVersion(n *node) (string, int) {
	if !n.app.done {
		n.app.value, n.app.line = readAppVersion(n)
		n.app.done = true
	}
	return n.app.value, n.app.line
}

func readAppVersion(n *node) (string, int) {
	if n.chart == nil || n.chart.Metadata == nil || n.chart.Metadata.AppVersion == "" {
		return "", 0
	}
	for _, f := range n.chart.Raw {
		if f.Name != "Chart.yaml" {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(f.Data, &doc) != nil || len(doc.Content) == 0 {
			break
		}
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "appVersion" {
				return n.chart.Metadata.AppVersion, m.Content[i+1].Line
			}
		}
	}
	return n.chart.Metadata.AppVersion, 0
}
