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
	// nodes holds each chart node's index of the scalars in effect, built
	// on its first image: scanning every scalar for every image made a
	// chart of n images (and n values lines) cost n².
	nodes map[*node]*nodeTrace
}

func newTracer(tree *treeIndex, extra []*valuesDoc, docs docCache) *tracer {
	return &tracer{tree: tree, extra: extra, docs: docs, nodes: map[*node]*nodeTrace{}}
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

// setter is a values scalar in effect for a chart node.
type setter struct {
	l    *leaf
	file string
	// src is the index of the values file in precedence order, ord the
	// scalar's position over all files (src first).
	src, ord int
	// tagKey: the key names a tag or version; sibling: the repository
	// written next to it (trimmed of "/"), when there is one.
	tagKey     bool
	sibling    string
	hasSibling bool
}

// group is candidates of one quality: the first (in precedence order)
// and how many of them are in the first one's file.
type group struct {
	q     int
	holds Holds
	first *setter
	same  int
}

// sibKey indexes tag scalars that have a repository next to them: by tag
// value, and by the repository ("n:" the whole value, "r:" each suffix of
// it at a path boundary).
type sibKey struct{ value, key string }

// nodeTrace indexes the scalars in effect for one chart node (those no
// file of higher precedence overrides).
type nodeTrace struct {
	byValue map[string][]*setter
	// static are the tag-quality groups of each value computed as if no
	// repository next to it matched the image: with one that matches, the
	// image's own candidates rank higher anyway.
	static map[string][]group
	bySib  map[sibKey][]*setter
}

func (t *tracer) index(n *node) *nodeTrace {
	if nt, ok := t.nodes[n]; ok {
		return nt
	}
	nt := &nodeTrace{byValue: map[string][]*setter{}, static: map[string][]group{}, bySib: map[sibKey][]*setter{}}
	t.nodes[n] = nt
	siblings := map[*yaml.Node]*string{}
	defined := map[string]bool{}
	ord := 0
	for si, sc := range t.scopes(n) {
		var here []string
		for i := range sc.doc.leaves {
			l := &sc.doc.leaves[i]
			p, ok := rel(*l, sc.prefix, n)
			if !ok {
				continue
			}
			here = append(here, p)
			if overridden(p, defined) {
				continue
			}
			k := strings.ToLower(l.key)
			c := &setter{l: l, file: sc.doc.file, src: si, ord: ord, tagKey: strings.Contains(k, "tag") || strings.Contains(k, "version")}
			ord++
			if sib := siblingRepository(l.parent, siblings); sib != nil {
				c.sibling, c.hasSibling = *sib, true
			}
			nt.byValue[l.value] = append(nt.byValue[l.value], c)
			if c.hasSibling {
				nt.bySib[sibKey{l.value, "n:" + c.sibling}] = append(nt.bySib[sibKey{l.value, "n:" + c.sibling}], c)
				for _, suf := range pathSuffixes(c.sibling) {
					nt.bySib[sibKey{l.value, "r:" + suf}] = append(nt.bySib[sibKey{l.value, "r:" + suf}], c)
				}
			}
			q := 10
			if c.tagKey {
				q += 10
			}
			if c.hasSibling {
				q -= 8
			}
			nt.static[l.value] = addGroup(nt.static[l.value], group{q: q, holds: HoldsTag, first: c, same: 1})
		}
		for _, p := range here {
			defined[p] = true
		}
	}
	return nt
}

// addGroup merges g into the groups of its quality: candidates come in
// precedence order, so the first of a quality stays first.
func addGroup(gs []group, g group) []group {
	for i := range gs {
		if gs[i].q == g.q {
			if gs[i].first.src == g.first.src {
				gs[i].same += g.same
			}
			return gs
		}
	}
	return append(gs, g)
}

// siblingRepository is the repository written next to a scalar in its
// mapping (the first of repoKeys with a value), once per mapping.
func siblingRepository(parent *yaml.Node, cache map[*yaml.Node]*string) *string {
	if parent == nil {
		return nil
	}
	if s, ok := cache[parent]; ok {
		return s
	}
	var out *string
	for i := 0; i+1 < len(parent.Content); i += 2 {
		kn, vn := parent.Content[i], parent.Content[i+1]
		if slices.Contains(repoKeys, kn.Value) && vn.Kind == yaml.ScalarNode && vn.Value != "" {
			v := strings.Trim(vn.Value, "/")
			out = &v
			break
		}
	}
	cache[parent] = out
	return out
}

// pathSuffixes lists s and each part of it after a "/".
func pathSuffixes(s string) []string {
	out := []string{s}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' && i+1 < len(s) {
			out = append(out, s[i+1:])
		}
	}
	return out
}

// candidates lists the quality groups of the scalars that can set image
// r: the whole reference (50), a reference ending with its tag or digest
// behind a prefix the template adds (40), the digest (30), or the tag
// (10, +10 under a tag or version key, +15 next to the image's
// repository, -8 next to another).
func (nt *nodeTrace) candidates(ref string, r imageref.Ref) []group {
	var out []group
	each := func(list []*setter, q int, holds Holds) {
		for _, c := range list {
			out = append(out, group{q: q, holds: holds, first: c, same: 1})
		}
	}
	each(nt.byValue[ref], 50, HoldsRef)
	end := ""
	switch {
	case r.Digest != "":
		end = "@" + r.Digest
	case r.Tag != "":
		end = ":" + r.Tag
	}
	if end != "" {
		for i := 1; len(ref)-i > len(end); i++ {
			each(nt.byValue[ref[i:]], 40, HoldsRef)
		}
	}
	if r.Digest != "" {
		each(nt.byValue[r.Digest], 30, HoldsDigest)
	}
	if r.Tag == "" {
		return out
	}
	seen := map[int]bool{}
	keys := []string{"r:" + r.Repository}
	for _, suf := range pathSuffixes(r.Name()) {
		keys = append(keys, "n:"+suf)
	}
	for _, k := range keys {
		for _, c := range nt.bySib[sibKey{r.Tag, k}] {
			if seen[c.ord] {
				continue
			}
			seen[c.ord] = true
			q := 25
			if c.tagKey {
				q += 10
			}
			out = append(out, group{q: q, holds: HoldsTag, first: c, same: 1})
		}
	}
	return append(out, nt.static[r.Tag]...)
}

// trace fills img's values provenance: the effective scalar (not
// overridden by a file of higher precedence) that best explains the tag,
// else the chart's appVersion when it equals the tag.
func (t *tracer) trace(img *Image, n *node) {
	r, err := imageref.Parse(img.Ref)
	if err != nil {
		return
	}
	// The best quality wins; among equals the highest-precedence file,
	// then the first scalar in it. Two of the best in that file are
	// ambiguous unless each holds the whole reference.
	gs := t.index(n).candidates(img.Ref, r)
	var best *group
	for i := range gs {
		if g := &gs[i]; best == nil || g.q > best.q || g.q == best.q && g.first.ord < best.first.ord {
			best = g
		}
	}
	same := 0
	for _, g := range gs {
		if best != nil && g.q == best.q && g.first.src == best.first.src {
			same += g.same
		}
	}
	if av, line := appVersion(n); av != "" && (r.Tag == av || r.Tag == "v"+av) && (best == nil || best.q < 15) {
		img.ValuesFile, img.ValuesLine, img.ValuesPath, img.ValuesHolds = n.file("Chart.yaml"), line, "appVersion", HoldsAppVersion
		img.ValuesKeys = []string{"appVersion"}
		return
	}
	if best == nil || same > 1 && best.q < 40 {
		return
	}
	c := best.first
	img.ValuesFile, img.ValuesLine, img.ValuesPath, img.ValuesHolds = c.file, c.l.line, pathString(c.l.path), best.holds
	img.ValuesKeys = keys(c.l.path)
	if best.holds == HoldsRef {
		img.ValuesRef = c.l.value
	}
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
